"""One bounded parse for object ids and integer filters from the outside (URLs, query strings, tokens).

The database's ids are 64-bit signed integers. PostgreSQL refuses a larger number in a query with an
error (a 500) where SQLite quietly finds nothing, so every id that comes from outside goes through
`parse_id` (query parameters, token parts), the `id` path converter (page routes), `PathId` (API
path parameters) or `BodyId` (ids in API bodies):
ASCII digits only (`"²".isdigit()` is true but `int("²")` raises), 1 to MAX_ID.
"""

from typing import Annotated

from ninja import Path
from pydantic import Field

MAX_ID = 2**63 - 1
# A JSON id in an API body: out of range is a 422 on that field, like any other invalid value.
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
# An id in an API path: out of range (or not a number) is a 404 like an unknown id (config/api.py).
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


def parse_id(value) -> int | None:
    """The id written in `value` (surrounding spaces ignored), or None when it is not one."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


class IdConverter:
    """`<id:case_id>` in page routes: an id, else the route does not match (404)."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)  # Django's resolver takes this as "no match": 404
        return number

    def to_url(self, value) -> str:
        return str(int(value))
