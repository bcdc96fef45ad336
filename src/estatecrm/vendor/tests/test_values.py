import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from estatecrm.vendor import values

TOKYO = ZoneInfo("Asia/Tokyo")
WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.mark.parametrize(("text", "options", "expected"), [
    ("98000", {}, Decimal("98000")),
    ("489000.50", {}, Decimal("489000.50")),
    ("98,000", {}, Decimal("98000")),
    ("98,000円", {}, Decimal("98000")),
    ("￥58,000,000", {}, Decimal("58000000")),
    ("¥ 58,000,000", {}, Decimal("58000000")),
    ("12万円", {}, Decimal("120000")),
    ("5800万円", {}, Decimal("58000000")),
    ("9.8", {"unit": "man_yen"}, Decimal("98000.0")),
    ("98,000円", {"unit": "man_yen"}, Decimal("98000")),  # the written 円 wins over the unit
    ("１２万円", {}, Decimal("120000")),  # full-width digits
    ("1 250 000,50 zł", {"decimal_comma": True}, Decimal("1250000.50")),
    ("1\u00a0250\u00a0000,50 zł", {"decimal_comma": True}, Decimal("1250000.50")),
    ("1\u202f250,00 PLN", {"decimal_comma": True}, Decimal("1250.00")),
    ("1.250.000 zł", {"decimal_comma": True}, Decimal("1250000")),
    ("2750,5", {"decimal_comma": True}, Decimal("2750.5")),
    ("489000.50", {"decimal_comma": True}, Decimal("489000.50")),  # not grouped by thousands: a decimal point
    ("1,250,000.75", {"decimal_comma": True}, Decimal("1250000.75")),  # both marks: the last one is the decimal
    ("-1500", {}, Decimal("-1500")),
    ("", {}, None),
    ("   ", {}, None),
])
def test_parse_money_reads_yen_man_yen_and_zloty(text, options, expected):
    # when
    amount = values.parse_money(text, **options)
    # then
    assert amount == expected


@pytest.mark.parametrize("text", ["abc", "12,5", "1,2,3", "98000円円x", "万円", "1.2.3", "--5"])
def test_parse_money_refuses_what_is_not_an_amount(text):
    with pytest.raises(ValueError):
        values.parse_money(text)


def test_parse_integer_reads_whole_numbers_and_refuses_fractions():
    assert values.parse_integer("5") == 5
    assert values.parse_integer("５") == 5
    assert values.parse_integer("1,998") == 1998
    assert values.parse_integer("") is None
    with pytest.raises(ValueError):
        values.parse_integer("5.5")
    with pytest.raises(ValueError):
        values.parse_integer("five")


@pytest.mark.parametrize(("text", "tz", "formats", "expected"), [
    ("2026-10-01T12:00:00+09:00", TOKYO, (), datetime.datetime(2026, 10, 1, 3, 0, tzinfo=datetime.UTC)),
    ("2024-03-05T10:15:00.000+0000", TOKYO, (), datetime.datetime(2024, 3, 5, 10, 15, tzinfo=datetime.UTC)),
    ("2026-10-01 12:00", TOKYO, (), datetime.datetime(2026, 10, 1, 12, 0, tzinfo=TOKYO)),
    ("2026-10-01", WARSAW, (), datetime.datetime(2026, 10, 1, 0, 0, tzinfo=WARSAW)),
    ("05.10.2026 10:15", WARSAW, ("%d.%m.%Y %H:%M",), datetime.datetime(2026, 10, 5, 10, 15, tzinfo=WARSAW)),
    ("2026/3/5 9:30", TOKYO, (), datetime.datetime(2026, 3, 5, 9, 30, tzinfo=TOKYO)),
    ("令和6年3月5日", TOKYO, (), datetime.datetime(2024, 3, 5, 0, 0, tzinfo=TOKYO)),
    ("R6.3.5", TOKYO, (), datetime.datetime(2024, 3, 5, 0, 0, tzinfo=TOKYO)),
])
def test_parse_when_reads_iso_salesforce_listed_formats_and_era_dates(text, tz, formats, expected):
    # when
    moment = values.parse_when(text, tz=tz, formats=formats)
    # then
    assert moment == expected
    assert moment.tzinfo is not None


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "05.10.2026", "H31.5.1"])
def test_parse_when_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        values.parse_when(text, tz=TOKYO)


def test_split_list_drops_empty_parts_and_spaces():
    assert values.split_list(" 渋谷区; 新宿区;;", ";") == ["渋谷区", "新宿区"]
    assert values.split_list("", ";") == []


def test_time_zone_and_decimal_comma_follow_the_region():
    assert values.time_zone("JP") == TOKYO
    assert values.time_zone("PL") == WARSAW
    assert values.time_zone("PL", "Asia/Tokyo") == TOKYO
    assert values.decimal_comma_for("PL") is True
    assert values.decimal_comma_for("JP") is False
