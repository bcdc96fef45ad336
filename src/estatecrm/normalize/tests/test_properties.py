"""Every normalizer against hostile text: one outcome, never an exception, idempotent on its values.

The per-module tests hold the examples and the format-specific properties; this module feeds every
public function of estatecrm.normalize the same hostile strategy: any code point (lone surrogates from
JSON `\\udXXX` escapes, NUL and other controls, combining marks, full-width forms), characters these
normalizers treat specially, numbers of any size and dates/datetimes, so a new normalizer joins by
being added to the tables below.
"""

import datetime
import decimal
import os
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from estatecrm.normalize import (
    MESSAGES,
    PREFECTURES,
    Result,
    clean_text,
    company_name_key,
    format_phone,
    lookup_address,
    name_key,
    neutralize_formula,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_prefecture,
    normalize_reading,
    parse_date,
    parse_datetime,
    reading_key,
    split_prefecture,
)

# CI runs a bounded number of examples; a deeper hunt: ESTATECRM_PROPERTY_EXAMPLES=5000 pytest -k properties.
EXAMPLES = int(os.environ.get("ESTATECRM_PROPERTY_EXAMPLES", "150"))
BOUNDED = settings(max_examples=EXAMPLES, deadline=None)

# Characters the normalizers look for, so that the generated text often looks almost right.
SPECIAL = (
    "0123456789０１２３４５６７８９+＋-－ー―‐()（）. 　\t\r\n@＠_%〒年月日時分秒/:T"
    "明治大正昭和平成令和元MTSHRmtshrｍｔｓｈｒ株式会社有限会社(株)㈱アイウｱｲｳあいうゔヴ゙゚"
    "東京都大阪府北海道京都沖縄県\x00\x1b\u200b\ufeff\u0301\ud800\udfff"
)
HOSTILE_TEXT = (
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
    | st.text(alphabet=st.sampled_from(SPECIAL), max_size=30)
    | st.from_regex(r"[+＋]?[0-9０-９\-ー() ]{0,24}", fullmatch=True)
    | st.from_regex(r"[A-Za-z0-9._%+\-]{0,20}[@＠][A-Za-z0-9.\-]{0,20}", fullmatch=True)
    | st.from_regex(r"[MTSHR明大昭平令]?[0-9０-９]{1,5}[./\-年][0-9]{1,3}[./\-月][0-9]{1,3}日?( [0-9]{1,2}:[0-9]{2})?", fullmatch=True)
)
ANY_CELL = (
    HOSTILE_TEXT
    | st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.dates()
    | st.datetimes(timezones=st.none() | st.timezones())
)

E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def assert_one_outcome(result: Result) -> None:
    assert isinstance(result, Result)
    assert (result.value is None) != (result.reason is None), result
    if result.reason is not None:
        assert result.reason in MESSAGES, result.reason


@BOUNDED
@given(HOSTILE_TEXT)
@example("\ud800")
@example("090\x001234\x005678")
def test_phone_numbers(text):
    result = normalize_phone(text)
    assert_one_outcome(result)
    if result.is_valid:
        assert E164.fullmatch(result.value), result.value
        assert normalize_phone(result.value) == result
        assert isinstance(format_phone(result.value), str)


@BOUNDED
@given(HOSTILE_TEXT)
@example("a@b.c\ud800")
def test_email_addresses(text):
    result = normalize_email(text)
    assert_one_outcome(result)
    if result.is_valid:
        assert normalize_email(result.value) == result
        assert "\x00" not in result.value


@BOUNDED
@given(HOSTILE_TEXT)
def test_names_readings_and_matching_keys(text):
    for function in (normalize_name, name_key, company_name_key, reading_key):
        value = function(text)
        assert isinstance(value, str)
        assert function(value) == value, function.__name__
    reading = normalize_reading(text)
    assert_one_outcome(reading)
    if reading.is_valid:
        assert normalize_reading(reading.value) == reading


@BOUNDED
@given(HOSTILE_TEXT)
@example("１５０－０００２")
def test_postal_codes(text):
    result = normalize_postal_code(text)
    assert_one_outcome(result)
    if result.is_valid:
        assert normalize_postal_code(result.value) == result
        address = lookup_address(result.value)
        assert address is None or address.prefecture in PREFECTURES


@BOUNDED
@given(HOSTILE_TEXT)
def test_prefectures(text):
    result = normalize_prefecture(text)
    assert_one_outcome(result)
    if result.is_valid:
        assert result.value in PREFECTURES
        assert normalize_prefecture(result.value) == result
    prefecture, rest = split_prefecture(text)
    assert prefecture in ("", *PREFECTURES)
    assert split_prefecture(prefecture + rest)[0] == prefecture


@BOUNDED
@given(ANY_CELL)
@example(float("nan"))
@example(decimal.Decimal("-Infinity"))
@example(10**30)
@example("R9999年1月1日")
def test_dates_and_datetimes(raw):
    day = parse_date(raw)
    assert_one_outcome(day)
    if day.is_valid:
        assert isinstance(day.value, datetime.date)
        assert parse_date(day.value.isoformat()) == day
    serial_day = parse_date(raw, allow_serial=True)
    assert_one_outcome(serial_day)
    moment = parse_datetime(raw)
    assert_one_outcome(moment)
    if moment.is_valid:
        assert moment.value.tzinfo is not None
        assert parse_datetime(moment.value.isoformat()) == moment


@BOUNDED
@given(ANY_CELL)
def test_free_text(raw):
    cleaned = clean_text(raw)
    assert isinstance(cleaned, str)
    assert "\x00" not in cleaned
    assert clean_text(cleaned) == cleaned
    if isinstance(raw, str):
        neutral = neutralize_formula(raw)
        assert neutralize_formula(neutral) in (neutral, "'" + neutral)
        assert not neutral.startswith(("=", "+", "-", "@", "\t", "\r"))
