"""Keyset (cursor) pagination for API lists: no OFFSET, so a deep page costs what the first one costs.

A cursor is an opaque URL-safe string holding the sort values of the last row of the previous page.
Every order must end with the primary key so that the position is unique.
"""

import base64
import datetime
import json
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidInput(ApplicationError):
    """A request parameter is not valid: answered like a schema validation error (422)."""

    status_code = 422


def invalid_cursor() -> InvalidInput:
    message = _("The cursor is not valid; start again from the first page.")
    return InvalidInput("invalid", _("The request is not valid."), fields={"cursor": [message]})


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None


def _plain(value):
    return value.isoformat() if isinstance(value, datetime.datetime | datetime.date) else value


def _value_of(row, name: str):
    return getattr(row, "pk" if name == "pk" else name)


def encode_position(values: list) -> str:
    raw = json.dumps([_plain(value) for value in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_position(cursor: str, queryset: QuerySet, names: list[str]) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(names):
            raise ValueError
        model = queryset.model
        fields = [model._meta.pk if name == "pk" else model._meta.get_field(name) for name in names]
        return [field.to_python(value) for field, value in zip(fields, values, strict=True)]
    except Exception:
        raise invalid_cursor() from None


def keyset_page(queryset: QuerySet, *, order: tuple[str, ...], cursor: str | None, limit: int | None) -> KeysetPage:
    """One page of `queryset` in `order` (e.g. ("-occurred_at", "-pk")) after `cursor`."""
    limit = max(1, min(limit or DEFAULT_LIMIT, MAX_LIMIT))
    names = [item.lstrip("-") for item in order]
    if names[-1] != "pk":
        raise ValueError("a keyset order ends with pk")
    queryset = queryset.order_by(*order)
    if cursor:
        values = decode_position(cursor, queryset, names)
        after = Q()
        for index, (item, name) in enumerate(zip(order, names, strict=True)):
            lookup = "lt" if item.startswith("-") else "gt"
            condition = Q(**{f"{name}__{lookup}": values[index]})
            for earlier, value in zip(names[:index], values[:index], strict=False):
                condition &= Q(**{earlier: value})
            after |= condition
        queryset = queryset.filter(after)
    rows = list(queryset[: limit + 1])
    next_cursor = encode_position([_value_of(rows[limit - 1], name) for name in names]) if len(rows) > limit else None
    return KeysetPage(items=rows[:limit], next_cursor=next_cursor)
