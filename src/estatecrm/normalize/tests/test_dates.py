import datetime
import math
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatecrm.normalize import Result, parse_date, parse_datetime
from estatecrm.normalize.dates import ERAS

TOKYO = ZoneInfo("Asia/Tokyo")


def day(iso: str) -> datetime.date:
    return datetime.date.fromisoformat(iso)


def tokyo(iso: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(iso).replace(tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # DOMAIN.md, "Dates"
        ("2024/04/01", "2024-04-01"),
        ("2024-04-01", "2024-04-01"),
        ("2024/4/1", "2024-04-01"),
        ("20240401", "2024-04-01"),
        ("R6.4.1", "2024-04-01"),
        ("R06/04/01", "2024-04-01"),
        ("令和6年4月1日", "2024-04-01"),
        ("令和元年5月1日", "2019-05-01"),
        ("H31.4.30", "2019-04-30"),
        ("平成31年4月30日", "2019-04-30"),
        ("H30/04/01", "2018-04-01"),
        ("S60.1.1", "1985-01-01"),
        ("昭和60年1月1日", "1985-01-01"),
        ("S36.8.6", "1961-08-06"),
        ("T15.12.25", "1926-12-25"),
        ("M45.7.29", "1912-07-29"),
        (45383, "2024-04-01"),
        # more shapes offices type
        ("2024.4.1", "2024-04-01"),
        ("2024年4月1日", "2024-04-01"),
        ("2024 年 4 月 1 日", "2024-04-01"),
        ("西暦2024年4月1日", "2024-04-01"),
        ("２０２４／０４／０１", "2024-04-01"),
        ("  2024/04/01\u3000", "2024-04-01"),
        ("R2.5.10", "2020-05-10"),
        ("r2.5.10", "2020-05-10"),
        ("Ｈ３０．４．１", "2018-04-01"),
        ("h30.4.1", "2018-04-01"),
        ("H30-04-01", "2018-04-01"),
        ("H04/02/08", "1992-02-08"),
        ("R6年4月1日", "2024-04-01"),
        ("令和6/4/1", "2024-04-01"),
        ("令和 6 年 4 月 1 日", "2024-04-01"),
        ("Ｒ元.5.1", "2019-05-01"),
        ("昭和元年12月25日", "1926-12-25"),
        # a time after the date is allowed and ignored
        ("2024/04/01 10:30", "2024-04-01"),
        ("2024-04-01T23:30:00+09:00", "2024-04-01"),
    ],
)
def test_dates_as_offices_type_them(typed, expected):
    assert parse_date(typed) == Result.ok(day(expected))


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        # DOMAIN.md: after the era ended
        ("H31.5.1", "outside_era"),
        ("平成31年5月1日", "outside_era"),
        ("H0.1.1", "outside_era"),
        ("R0.5.1", "outside_era"),
        ("X6.4.1", "unknown_era"),
        ("天保3年1月1日", "unknown_era"),
        ("2024/02/30", "invalid_date"),
        ("2023/02/29", "invalid_date"),
        ("2024/13/01", "invalid_date"),
        ("2024/04-01", "invalid_date"),
        ("2024/04/01 25:00", "invalid_date"),
        ("2024/04/01 of course", "invalid_date"),
        ("H30.13.1", "invalid_date"),
        ("H30.2.30", "invalid_date"),
        ("24/4/1", "invalid_date"),
        ("昨日", "invalid_date"),
        ("45383", "invalid_date"),  # a 5-digit string is a serial only when the caller says so
        ("M5.12.2", "invalid_date"),  # lunisolar calendar: no Gregorian date by arithmetic
        ("", "empty"),
        ("\u3000", "empty"),
        (None, "empty"),
    ],
)
def test_invalid_dates_say_why(typed, reason):
    assert parse_date(typed) == Result.invalid(reason)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        # the first day of each era, and the day before it
        ("M6.1.1", None), ("T1.7.30", None), ("T1.7.29", "outside_era"), ("大正元年7月30日", None),
        ("S1.12.25", None), ("S1.12.24", "outside_era"), ("H1.1.8", None), ("H1.1.7", "outside_era"),
        ("R1.5.1", None), ("R1.4.30", "outside_era"),
        # the last day of each era, and the day after it
        ("M45.7.30", None), ("M45.7.31", "outside_era"), ("T15.12.25", None), ("T15.12.26", "outside_era"),
        ("S64.1.7", None), ("S64.1.8", "outside_era"), ("H31.4.30", None), ("H31.5.1", "outside_era"),
    ],
)  # fmt: skip
def test_era_boundaries(typed, reason):
    assert parse_date(typed).reason == reason


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (45383, "2024-04-01"),
        (45383.75, "2024-04-01"),
        (Decimal("45383.5"), "2024-04-01"),
        (1, "1900-01-01"),
        (59, "1900-02-28"),
        (61, "1900-03-01"),
        (2_958_465, "9999-12-31"),
    ],
)
def test_excel_serial_numbers_are_dates(serial, expected):
    assert parse_date(serial) == Result.ok(day(expected))


@pytest.mark.parametrize("serial", [60, 0, -1, 0.5, 2_958_466, math.nan, math.inf, Decimal("NaN"), True])
def test_impossible_serial_numbers_are_invalid(serial):
    # 60 is Excel's 1900-02-29, a day that never was
    assert parse_date(serial) == Result.invalid("invalid_date")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("45383", Result.ok(day("2024-04-01"))), ("45383.75", Result.ok(day("2024-04-01"))),
     ("４５３８３", Result.ok(day("2024-04-01"))), ("4538", Result.invalid("invalid_date")),
     ("20240401", Result.ok(day("2024-04-01")))],
)  # fmt: skip
def test_serial_strings_with_allow_serial(typed, expected):
    assert parse_date(typed, allow_serial=True) == expected


def test_dates_and_datetimes_pass_through():
    assert parse_date(datetime.date(2024, 4, 1)) == Result.ok(day("2024-04-01"))
    assert parse_date(datetime.datetime(2024, 4, 1, 23, 59)) == Result.ok(day("2024-04-01"))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024/04/01 10:30:05", "2024-04-01T10:30:05"),
        ("2024/04/01 10:30", "2024-04-01T10:30:00"),
        ("2024/4/1 9:05", "2024-04-01T09:05:00"),
        ("2024-04-01T10:30:00", "2024-04-01T10:30:00"),
        ("2024-04-01 10:30:00.250", "2024-04-01T10:30:00.250000"),
        ("2024-04-01T10:30:00+09:00", "2024-04-01T10:30:00"),
        ("2024-04-01T01:30:00Z", "2024-04-01T10:30:00"),
        ("2024-03-31T20:30:00-05:00", "2024-04-01T10:30:00"),
        ("H30/04/01 09:00", "2018-04-01T09:00:00"),
        ("令和6年4月1日 10:30", "2024-04-01T10:30:00"),
        ("２０２４／０４／０１　１０：３０", "2024-04-01T10:30:00"),
        ("2024/04/01", "2024-04-01T00:00:00"),
        ("R6.4.1", "2024-04-01T00:00:00"),
        (45383.5, "2024-04-01T12:00:00"),
        (45383, "2024-04-01T00:00:00"),
        (datetime.date(2024, 4, 1), "2024-04-01T00:00:00"),
        (datetime.datetime(2024, 4, 1, 10, 30), "2024-04-01T10:30:00"),
        (datetime.datetime(2024, 4, 1, 1, 30, tzinfo=datetime.UTC), "2024-04-01T10:30:00"),
    ],
)
def test_timestamps_are_japan_time(typed, expected):
    result = parse_datetime(typed)
    assert result == Result.ok(tokyo(expected))
    assert result.value.tzinfo == TOKYO


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("2024/04/01 24:00", "invalid_date"), ("2024/04/01 10:60", "invalid_date"), ("2024/04/01 noon", "invalid_date"),
     ("H31.5.1 10:00", "outside_era"), ("X6.4.1 10:00", "unknown_era"), ("2024-04-01T10:30+24:00", "invalid_date"),
     ("9999-12-31T23:00:00-05:00", "invalid_date"), (datetime.datetime.max.replace(tzinfo=datetime.UTC), "invalid_date"),
     ("", "empty"), (None, "empty"), (math.nan, "invalid_date")],
)  # fmt: skip
def test_invalid_timestamps_say_why(typed, reason):
    assert parse_datetime(typed) == Result.invalid(reason)


def test_timestamps_in_another_zone():
    utc = ZoneInfo("UTC")
    assert parse_datetime("2024/04/01 10:30", tz=utc) == Result.ok(
        datetime.datetime(2024, 4, 1, 10, 30, tzinfo=utc)
    )
    assert parse_datetime("2024-04-01T10:30:00+09:00", tz=utc) == Result.ok(
        datetime.datetime(2024, 4, 1, 1, 30, tzinfo=utc)
    )


def era_spelling(value: datetime.date) -> list[str]:
    """Every way `value` is written in the eras it belongs to."""
    spellings = []
    for era in ERAS:
        if value < era.first_day or (era.last_day is not None and value > era.last_day):
            continue
        year = value.year - era.first_day.year + 1
        spellings += [f"{era.letter}{year}.{value.month}.{value.day}", f"{era.letter.lower()}{year:02d}/{value.month:02d}/{value.day:02d}",
                      f"{era.name}{'元' if year == 1 else year}年{value.month}月{value.day}日"]  # fmt: skip
    return spellings


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=datetime.date(1873, 1, 1), max_value=datetime.date(2099, 12, 31)))
def test_every_spelling_of_a_date_parses_to_it(value):
    spellings = [value.isoformat(), value.strftime("%Y/%m/%d"), value.strftime("%Y%m%d"),
                 f"{value.year}/{value.month}/{value.day}", f"{value.year}年{value.month}月{value.day}日", *era_spelling(value)]  # fmt: skip
    assert len(spellings) >= 8
    midnight = datetime.datetime.combine(value, datetime.time(), tzinfo=TOKYO)
    for spelling in spellings:
        assert parse_date(spelling) == Result.ok(value), spelling
        assert parse_datetime(spelling) == Result.ok(midnight), spelling


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=datetime.date(1900, 3, 1), max_value=datetime.date(9999, 12, 31)))
def test_excel_serials_count_days_from_the_1900_epoch(value):
    serial = (value - datetime.date(1899, 12, 30)).days
    assert parse_date(serial) == Result.ok(value)
    assert parse_date(serial + 0.999) == Result.ok(value)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=25)
    | st.from_regex(r"[MTSHR令平昭]?[0-9]{1,4}[/.年-][0-9]{1,2}[/.月-][0-9]{1,2}日?", fullmatch=True)
)
def test_never_raises_and_parsed_dates_parse_to_themselves(text):
    for allow_serial in (False, True):
        result = parse_date(text, allow_serial=allow_serial)
        assert (result.value is None) == (result.reason is not None)
        if result.is_valid:
            assert parse_date(result.value) == result
            assert parse_date(result.value.isoformat()) == result
    moment = parse_datetime(text)
    if moment.is_valid:
        assert moment.value.tzinfo == TOKYO
        assert parse_datetime(moment.value) == moment
        assert parse_datetime(moment.value.isoformat()) == moment


@settings(max_examples=200, deadline=None)
@given(
    st.floats()
    | st.integers()
    | st.decimals()
    | st.datetimes()
    | st.datetimes(timezones=st.just(datetime.UTC))
    | st.dates()
)
def test_numbers_and_datetimes_never_raise(number):
    assert parse_date(number).is_valid == (parse_date(number).reason is None)
    assert parse_datetime(number).is_valid == (parse_datetime(number).reason is None)
