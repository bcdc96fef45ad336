"""Reading a vendor's values: money, numbers, dates, lists. Pure functions, no database.

Each reader returns the value, or raises `ValueError` when the text cannot be read (the profile turns
that into a `Problem`); empty text is None everywhere. The common shapes take a fast path (a plain
number, an ISO timestamp) because a package holds hundreds of thousands of them.
"""

import datetime
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from estatecrm.normalize.dates import parse_datetime

MONEY_UNITS = ("yen", "man_yen", "major")
TEN_THOUSAND = Decimal(10_000)
# Regions that write 1 234,50 (a decimal comma): the default of a profile's `decimal_comma: auto`.
DECIMAL_COMMA_REGIONS = frozenset({
    "PL", "DE", "AT", "FR", "BE", "NL", "IT", "ES", "PT", "CZ", "SK", "HU", "RO", "BG", "HR", "SI", "LT", "LV", "EE",
    "FI", "SE", "NO", "DK", "RU", "UA", "TR", "GR", "BR", "AR", "CL", "CO", "ID", "VN",
})
TIME_ZONES = {"JP": "Asia/Tokyo", "PL": "Europe/Warsaw", "DE": "Europe/Berlin", "GB": "Europe/London", "US": "America/New_York",
              "FR": "Europe/Paris", "KR": "Asia/Seoul", "TW": "Asia/Taipei", "SG": "Asia/Singapore"}

_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_GROUPED = {".": re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{3})+"), ",": re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+")}
# Currency words and signs around an amount (after NFKC: ￥ is ¥). 万円 and 万 multiply by 10,000.
_CURRENCY_SUFFIXES = ("万円", "万", "円", "zł", "zl", "pln", "jpy", "eur", "usd", "€", "$", "¥", "yen")
_CURRENCY_PREFIXES = ("¥", "$", "€", "pln", "jpy", "zł")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\u3000'\t")


def time_zone(region: str, name: str | None = None) -> datetime.tzinfo:
    """The zone naive datetimes of a package are in: `name` when the profile sets one, else the region's."""
    return ZoneInfo(name or TIME_ZONES.get((region or "").upper(), "UTC"))


def decimal_comma_for(region: str) -> bool:
    return (region or "").upper() in DECIMAL_COMMA_REGIONS


def parse_number(text: str, *, decimal_comma: bool = False) -> Decimal | None:
    """A Decimal for `12`, `35.5`, `1,250,000` (or `1 250 000,50`, `1.250.000` with `decimal_comma`),
    full-width digits, a leading minus. When both `.` and `,` appear the last one is the decimal mark."""
    text = text.strip()
    if not text:
        return None
    if _PLAIN_NUMBER.fullmatch(text) and not (decimal_comma and _GROUPED["."].fullmatch(text)):
        return Decimal(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = text.translate(_SPACES).replace("\u2212", "-")
    comma, dot = text.rfind(","), text.rfind(".")
    if comma >= 0 and dot >= 0:
        decimal_mark, thousands = (",", ".") if comma > dot else (".", ",")
        text = text.replace(thousands, "").replace(decimal_mark, ".")
    elif comma >= 0:
        if _GROUPED[","].fullmatch(text) and not decimal_comma:
            text = text.replace(",", "")
        elif decimal_comma and text.count(",") == 1:
            text = text.replace(",", ".")
        else:
            raise ValueError(text)
    elif dot >= 0 and decimal_comma and _GROUPED["."].fullmatch(text):
        text = text.replace(".", "")
    if not _PLAIN_NUMBER.fullmatch(text):
        raise ValueError(text)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None


def parse_money(text: str, *, unit: str = "major", decimal_comma: bool = False) -> Decimal | None:
    """An amount in the package's currency (yen for JPY). `unit` says what a bare number counts:
    `yen`/`major` (as written) or `man_yen` (万円: times 10,000). A written suffix wins over the unit:
    `12万円` is 120,000, `98,000円` is 98,000 whatever the unit; `zł`, `PLN`, `¥` are dropped."""
    text = text.strip()
    if not text:
        return None
    multiplier = TEN_THOUSAND if unit == "man_yen" else None
    if not _PLAIN_NUMBER.fullmatch(text):
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        lowered = text.lower().strip()
        changed = True
        while changed:
            changed = False
            for suffix in _CURRENCY_SUFFIXES:
                if lowered.endswith(suffix) and len(lowered) > len(suffix):
                    lowered = lowered[: -len(suffix)].rstrip()
                    if suffix in ("万円", "万"):
                        multiplier = TEN_THOUSAND
                    elif suffix in ("円", "yen"):
                        multiplier = None
                    changed = True
                    break
            for prefix in _CURRENCY_PREFIXES:
                if lowered.startswith(prefix):
                    lowered = lowered[len(prefix):].lstrip()
                    changed = True
                    break
        text = lowered
    amount = parse_number(text, decimal_comma=decimal_comma)
    if amount is None:
        raise ValueError(text)
    return amount * multiplier if multiplier is not None else amount


def parse_integer(text: str) -> int | None:
    """A whole number (`5`, `５`, `1,998`, `5.0`); a fraction is not one."""
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    number = parse_number(text)
    if number is None or number != number.to_integral_value():
        raise ValueError(text)
    return int(number)


def parse_when(text: str, *, tz: datetime.tzinfo, formats: tuple[str, ...] = ()) -> datetime.datetime | None:
    """An aware datetime: ISO 8601 (with Salesforce's `2024-03-05T10:15:00.000+0000`), then the
    profile's strptime `formats` in order, then what normalize.parse_datetime reads (`2024/3/5 10:15`,
    `令和6年3月5日`, ...). Naive times are wall-clock time in `tz`; aware ones keep their instant."""
    text = text.strip()
    if not text:
        return None
    moment = None
    if text[:4].isdigit() and len(text) >= 10 and text[4] == "-":
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            moment = None
    if moment is None:
        for date_format in formats:
            try:
                moment = datetime.datetime.strptime(text, date_format)
                break
            except ValueError:
                continue
    if moment is None:
        result = parse_datetime(text, tz=tz)
        if not result.is_valid:
            raise ValueError(text)
        return result.value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def split_list(text: str, separator: str) -> list[str]:
    """The non-empty, trimmed parts of `text` between `separator`s."""
    if not text:
        return []
    return [part for part in (piece.strip() for piece in text.split(separator)) if part]
