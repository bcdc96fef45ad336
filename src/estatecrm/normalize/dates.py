"""Dates as Japanese offices type them: ISO, `YYYY/MM/DD`, `YYYYMMDD`, `YYYY年M月D日`, era dates
(`R6.4.1`, `令和元年5月1日`), Excel serial numbers; and timestamps in Japan time."""

import datetime
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from estatecrm.normalize.result import Result


@dataclass(frozen=True, slots=True)
class Era:
    letter: str
    name: str
    first_day: datetime.date
    last_day: datetime.date | None


# An era changes on the day an emperor dies (or, for 令和, the day after the abdication), so until
# 1989 the day of the change belongs to both eras: 1912-07-30 is 明治45年 and 大正元年,
# 1926-12-25 is 大正15年 and 昭和元年. 明治 counts from lunisolar New Year (1868-01-25).
ERAS = (
    Era("M", "明治", datetime.date(1868, 1, 25), datetime.date(1912, 7, 30)),
    Era("T", "大正", datetime.date(1912, 7, 30), datetime.date(1926, 12, 25)),
    Era("S", "昭和", datetime.date(1926, 12, 25), datetime.date(1989, 1, 7)),
    Era("H", "平成", datetime.date(1989, 1, 8), datetime.date(2019, 4, 30)),
    Era("R", "令和", datetime.date(2019, 5, 1), None),
)
_ERA_BY_LETTER_OR_NAME = {key: era for era in ERAS for key in (era.letter, era.name)}
# Japan kept the lunisolar calendar until 明治5年12月2日; earlier era dates are not Gregorian
# dates, and converting them by arithmetic would silently give the wrong day.
_FIRST_GREGORIAN_DAY = datetime.date(1873, 1, 1)

# The text is NFKC'd and upper-cased before these run. Separators must agree (2024/04/01,
# 2024-04-01, 2024.4.1, 2024年4月1日) so that a stray mix is not taken for a date.
_SPACE = r"[ \t]*"
_WESTERN_DATE = re.compile(
    rf"(?P<year>[0-9]{{4}})(?:(?P<separator>[/.-])(?P<month>[0-9]{{1,2}})(?P=separator)(?P<day>[0-9]{{1,2}})"
    rf"|{_SPACE}年{_SPACE}(?P<month_kanji>[0-9]{{1,2}}){_SPACE}月{_SPACE}(?P<day_kanji>[0-9]{{1,2}}){_SPACE}日)"
)
_COMPACT_DATE = re.compile(r"(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})")
_ERA_DATE = re.compile(
    rf"(?P<era>[A-Z]|[\u4e00-\u9fff]{{2}}){_SPACE}(?P<era_year>元|[0-9]{{1,2}})"
    rf"(?:{_SPACE}年{_SPACE}(?P<month_kanji>[0-9]{{1,2}}){_SPACE}月{_SPACE}(?P<day_kanji>[0-9]{{1,2}}){_SPACE}日"
    rf"|(?P<separator>[/.-])(?P<month>[0-9]{{1,2}})(?P=separator)(?P<day>[0-9]{{1,2}}))"
)
# What may follow a date: a time, optionally with seconds, a fraction and an offset.
_TIME = re.compile(
    r"(?:T|[ \t]+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6})[0-9]*)?)?"
    r"[ \t]*(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2}(?::?[0-9]{2})?)?"
)
_SERIAL_TEXT = re.compile(r"[0-9]{5}(?:\.[0-9]+)?")
# The 1900 date system: serial 1 is 1900-01-01, and Excel counts a 1900-02-29 (serial 60) that
# never was, so from serial 61 on the day is this epoch plus the serial.
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_EXCEL_FAKE_LEAP_DAY = 60
_EXCEL_LAST_SERIAL = 2_958_465  # 9999-12-31
TOKYO = ZoneInfo("Asia/Tokyo")


def parse_date(
    raw: str | int | float | datetime.date | None, *, allow_serial: bool = False
) -> Result[datetime.date]:
    """The calendar date `raw` stands for, or why not (`empty`, `invalid_date`, `outside_era`,
    `unknown_era`).

    Text: `2024-04-01`, `2024/4/1`, `2024.4.1`, `20240401`, `2024年4月1日`, era dates with a letter
    (M/T/S/H/R, any case or width) or a name and `.`/`/`/`-` or 年月日 (`H30/04/01`, `令和元年5月1日`),
    optionally followed by a valid time, which is ignored. Era dates outside their era (`H31.5.1`) are
    `outside_era`. A number (an Excel number cell) is a serial date in the 1900 date system, its
    fraction (the time) ignored; a string of 5 digits is one only with `allow_serial`. A datetime
    gives its own date. Never raises.
    """
    if raw is None:
        return Result.invalid("empty")
    if isinstance(raw, datetime.datetime):
        return Result.ok(raw.date())
    if isinstance(raw, datetime.date):
        return Result.ok(raw)
    if isinstance(raw, bool):
        return Result.invalid("invalid_date")
    if isinstance(raw, int | float | Decimal):
        return _date_from_serial(raw)
    text = _prepare(raw)
    if not text:
        return Result.invalid("empty")
    if allow_serial and _SERIAL_TEXT.fullmatch(text):
        return _date_from_serial(Decimal(text))
    day, rest = _split_date(text)
    if day.is_valid and rest:
        time = _TIME.fullmatch(rest)
        if time is None or not _combine(day.value, time, datetime.UTC).is_valid:
            return Result.invalid("invalid_date")
    return day


def parse_datetime(
    raw: str | int | float | datetime.date | None, *, tz: datetime.tzinfo = TOKYO
) -> Result[datetime.datetime]:
    """An aware datetime in `tz` for `raw`, or why not (the reasons of `parse_date`).

    Text: any date `parse_date` reads, alone (midnight) or followed by `HH:MM`, `HH:MM:SS` or an
    ISO time (`2024-04-01T10:30:00+09:00`); times without an offset are wall-clock time in `tz`,
    with one they are converted to `tz`. A number is an Excel serial date and time. A naive
    datetime is taken as `tz` time, an aware one converted; a date is midnight. Never raises.
    """
    if isinstance(raw, datetime.datetime):
        return _in_zone(raw, tz) if raw.tzinfo else Result.ok(raw.replace(tzinfo=tz))
    if raw is None or isinstance(raw, bool | datetime.date):
        day = parse_date(raw)
        return Result(None, day.reason) if not day.is_valid else Result.ok(_midnight(day.value, tz))
    if isinstance(raw, int | float | Decimal):
        return _datetime_from_serial(raw, tz)
    text = _prepare(raw)
    if not text:
        return Result.invalid("empty")
    day, rest = _split_date(text)
    if not day.is_valid:
        return Result(None, day.reason)
    if not rest:
        return Result.ok(_midnight(day.value, tz))
    time = _TIME.fullmatch(rest)
    if time is None:
        return Result.invalid("invalid_date")
    return _combine(day.value, time, tz)


def _prepare(raw: object) -> str:
    # 西暦 ("Western calendar") is sometimes written before a Gregorian year.
    return unicodedata.normalize("NFKC", str(raw)).strip().upper().removeprefix("西暦").lstrip()


def _split_date(text: str) -> tuple[Result[datetime.date], str]:
    """The date at the start of `text`, and what follows it (a time, perhaps)."""
    for pattern in (_ERA_DATE, _WESTERN_DATE, _COMPACT_DATE):
        match = pattern.match(text)
        if match is None:
            continue
        rest = text[match.end() :].rstrip()
        month = int(match.group("month") or match.group("month_kanji"))
        day = int(match.group("day") or match.group("day_kanji"))
        if pattern is _ERA_DATE:
            return _era_date(match.group("era"), match.group("era_year"), month, day), rest
        return _calendar_date(int(match.group("year")), month, day), rest
    return Result.invalid("invalid_date"), text


def _calendar_date(year: int, month: int, day: int) -> Result[datetime.date]:
    try:
        return Result.ok(datetime.date(year, month, day))
    except ValueError:
        return Result.invalid("invalid_date")


def _era_date(era_key: str, era_year_text: str, month: int, day: int) -> Result[datetime.date]:
    era = _ERA_BY_LETTER_OR_NAME.get(era_key)
    if era is None:
        return Result.invalid("unknown_era")
    era_year = 1 if era_year_text == "元" else int(era_year_text)
    if era_year < 1:
        return Result.invalid("outside_era")
    day_in_calendar = _calendar_date(era.first_day.year + era_year - 1, month, day)
    if not day_in_calendar.is_valid:
        return day_in_calendar
    value = day_in_calendar.value
    if value < era.first_day or (era.last_day is not None and value > era.last_day):
        return Result.invalid("outside_era")
    if value < _FIRST_GREGORIAN_DAY:
        return Result.invalid("invalid_date")
    return Result.ok(value)


def _date_from_serial(serial: int | float | Decimal) -> Result[datetime.date]:
    if not (serial.is_finite() if isinstance(serial, Decimal) else math.isfinite(serial)):
        return Result.invalid("invalid_date")
    whole = math.floor(serial)
    if whole < 1 or whole > _EXCEL_LAST_SERIAL or whole == _EXCEL_FAKE_LEAP_DAY:
        return Result.invalid("invalid_date")
    if whole < _EXCEL_FAKE_LEAP_DAY:
        whole += 1
    return Result.ok(_EXCEL_EPOCH + datetime.timedelta(days=whole))


def _datetime_from_serial(serial: int | float | Decimal, tz: datetime.tzinfo) -> Result[datetime.datetime]:
    day = _date_from_serial(serial)
    if not day.is_valid:
        return Result(None, day.reason)
    # Excel stores the time as a binary fraction of a day: round to the second it displays.
    seconds = round((Decimal(str(serial)) % 1) * 86400)
    try:
        moment = datetime.datetime.combine(day.value, datetime.time()) + datetime.timedelta(seconds=seconds)
    except OverflowError:  # the last second of 9999-12-31 rounded up
        return Result.invalid("invalid_date")
    return Result.ok(moment.replace(tzinfo=tz))


def _combine(day: datetime.date, time: re.Match[str], tz: datetime.tzinfo) -> Result[datetime.datetime]:
    fraction = time.group("fraction") or ""
    try:
        moment = datetime.datetime.combine(
            day,
            datetime.time(
                int(time.group("hour")),
                int(time.group("minute")),
                int(time.group("second") or 0),
                int(fraction.ljust(6, "0")) if fraction else 0,
            ),
        )
    except ValueError:
        return Result.invalid("invalid_date")
    offset = time.group("offset")
    if offset is None:
        return Result.ok(moment.replace(tzinfo=tz))
    if offset == "Z":
        return _in_zone(moment.replace(tzinfo=datetime.UTC), tz)
    # Seconds appear in isoformat() of local mean time offsets (Asia/Tokyo is +09:18:59 before 1888).
    digits = offset[1:].replace(":", "")
    delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]), seconds=int(digits[4:] or 0))
    if delta >= datetime.timedelta(hours=24):
        return Result.invalid("invalid_date")
    sign = -1 if offset[0] == "-" else 1
    return _in_zone(moment.replace(tzinfo=datetime.timezone(sign * delta)), tz)


def _in_zone(moment: datetime.datetime, tz: datetime.tzinfo) -> Result[datetime.datetime]:
    try:
        return Result.ok(moment.astimezone(tz))
    except OverflowError:  # within hours of year 1 or 9999, the other zone's wall clock has no year
        return Result.invalid("invalid_date")


def _midnight(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=tz)
