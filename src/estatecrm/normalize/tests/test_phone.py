import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatecrm.normalize import Result, format_national, format_phone, normalize_phone


def reference_e164(text: str, region: str = "JP") -> str | None:
    """What phonenumbers alone says: the E.164 form when the number is valid, else None."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


DASH_LOOK_ALIKES = [
    "-",
    "\u2010",
    "\u2011",
    "\u2013",
    "\u2014",
    "\u2015",
    "\u2212",
    "\u30fc",
    "\uff70",
    "\uff0d",
]


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        # DOMAIN.md, "Phone numbers"
        ("090-1234-5678", "+819012345678"),
        ("09012345678", "+819012345678"),
        ("０９０－１２３４－５６７８", "+819012345678"),
        ("090ー1234ー5678", "+819012345678"),
        ("(090)1234-5678", "+819012345678"),
        (" 090 1234 5678 ", "+819012345678"),
        ("+81 90 1234 5678", "+819012345678"),
        ("+81-90-1234-5678", "+819012345678"),
        ("+81 (0)90-1234-5678", "+819012345678"),
        ("03-1234-5678", "+81312345678"),
        ("03(1234)5678", "+81312345678"),
        ("０３（１２３４）５６７８", "+81312345678"),
        ("0120-123-456", "+81120123456"),
        ("050-1234-5678", "+815012345678"),
        ("045-123-4567", "+81451234567"),
        # other separators and shapes seen in office spreadsheets
        ("090　1234　5678", "+819012345678"),
        ("090.1234.5678", "+819012345678"),
        ("[090]1234-5678", "+819012345678"),
        ("＋８１　９０　１２３４　５６７８", "+819012345678"),
        ("+81(0)3-1234-5678", "+81312345678"),
        ("+81 3 1234 5678", "+81312345678"),
        ("070-1234-5678", "+817012345678"),
        ("080-1234-5678", "+818012345678"),
        ("0570-123-456", "+81570123456"),
        ("0800-123-4567", "+818001234567"),
        ("06-6123-4567", "+81661234567"),
    ],
)
def test_japanese_numbers_become_e164(typed, e164):
    assert normalize_phone(typed) == Result.ok(e164)


@pytest.mark.parametrize("dash", DASH_LOOK_ALIKES)
def test_every_dash_look_alike_separates_digit_groups(dash):
    assert normalize_phone(f"090{dash}1234{dash}5678") == Result.ok("+819012345678")
    assert normalize_phone(f"03{dash}1234{dash}5678") == Result.ok("+81312345678")


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        # DOMAIN.md: "invalid (reason: too short / not a number)"
        ("123", "too_short"),
        ("0120", "too_short"),
        ("abc-defg", "not_a_number"),
        ("090-1234-567", "too_short"),
        # more of each reason
        ("1", "too_short"),
        ("03-1234-567", "too_short"),
        ("090-1234-56789", "too_long"),
        ("03-1234-5678-9", "too_long"),
        ("1" * 251, "too_long"),
        ("0000-00-0000", "invalid_number"),
        ("+999 1234 5678", "invalid_number"),
        ("電話なし", "not_a_number"),
        ("090-1234-5678 内線12", "not_a_number"),
        ("tel:09012345678", "not_a_number"),
        ("090+1234+5678", "not_a_number"),
        ("+", "not_a_number"),
        ("٠٩٠١٢٣٤٥٦٧٨", "not_a_number"),  # Arabic-Indic digits: NFKC keeps them, so do we not
        ("", "empty"),
        ("   ", "empty"),
        ("\u3000", "empty"),
        ("－", "empty"),  # a dash typed for "no phone"
        ("()", "empty"),
        (None, "empty"),
    ],
)
def test_invalid_numbers_say_why(typed, reason):
    assert normalize_phone(typed) == Result.invalid(reason)


def test_region_of_the_import_is_used_for_numbers_without_plus():
    # DOMAIN.md: `+48 601 234 567` (region PL data)
    assert normalize_phone("+48 601 234 567", "PL") == Result.ok("+48601234567")
    assert normalize_phone("601 234 567", "PL") == Result.ok("+48601234567")
    assert normalize_phone("601 234 567", "pl") == Result.ok("+48601234567")
    assert normalize_phone("+48 601 234 567", "JP") == Result.ok("+48601234567")


def test_fast_path_is_only_for_japan_region():
    # 090... in Poland is not a Japanese mobile; the answer is phonenumbers' own
    assert normalize_phone("09012345678", "PL") == Result.invalid("too_long")


def test_number_cells_lost_their_leading_zero():
    # Excel turns 09012345678 into the number 9012345678; the parser knows JP has no such trunk-less form
    assert normalize_phone(9012345678) == Result.ok("+819012345678")
    assert normalize_phone(9012345678.0) == Result.ok("+819012345678")


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+819012345678", "090-1234-5678"),
        ("+81312345678", "03-1234-5678"),
        ("+81120123456", "0120-123-456"),
        ("+815012345678", "050-1234-5678"),
        ("+81451234567", "045-123-4567"),
        ("+48601234567", "+48 601 234 567"),
        ("not a number", "not a number"),
        ("", ""),
    ],
)
def test_display_format_is_national_for_japan_international_otherwise(e164, shown):
    assert format_phone(e164) == shown


@pytest.mark.parametrize("prefix", [f"0{second}0{fourth}" for second in "5789" for fourth in "123456789"])
def test_fast_path_prefixes_are_valid_for_phonenumbers(prefix):
    # The fast path answers without asking phonenumbers for exactly these 36 prefixes.
    for rest in ("0000000", "9999999", "1234567"):
        assert normalize_phone(prefix + rest) == Result.ok(reference_e164(prefix + rest))
        assert normalize_phone("+81" + prefix[1:] + rest) == Result.ok(reference_e164(prefix + rest))


@settings(max_examples=400, deadline=None)
@given(
    st.from_regex(r"0[5789]0[1-9][0-9]{7}", fullmatch=True)  # the fast path
    | st.from_regex(r"0[1-9][0-9]{8,9}", fullmatch=True)  # the national shortcut, and its neighbours
    | st.from_regex(r"\+810?[1-9][0-9]{8,9}", fullmatch=True)
    | st.from_regex(r"0[0-9]{6,12}", fullmatch=True)
)
def test_shortcuts_agree_with_phonenumbers(digits):
    result = normalize_phone(digits)
    assert result.value == reference_e164(digits)
    assert result.is_valid == (result.value is not None)


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"0[5789]0[1-9][0-9]{7}", fullmatch=True),
    st.sampled_from([*DASH_LOOK_ALIKES, " ", "\u3000", "."]),
)
def test_separators_do_not_change_the_answer(digits, separator):
    typed = f"{digits[:3]}{separator}{digits[3:7]}{separator}{digits[7:]}"
    assert normalize_phone(typed) == Result.ok(reference_e164(digits))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30) | st.from_regex(r"\+?[0-9０-９\-ー() ]{0,20}", fullmatch=True))
def test_never_raises_and_normalized_numbers_normalize_to_themselves(text):
    result = normalize_phone(text)
    assert (result.value is None) == (result.reason is not None)
    if result.is_valid:
        assert normalize_phone(result.value) == result
        assert normalize_phone(format_phone(result.value)) == result


def test_a_number_longer_than_e164_allows_is_too_long_though_phonenumbers_calls_it_valid():
    # given: German numbers that phonenumbers' metadata accepts with 16 and 17 digits (found by
    # test_properties.test_phone_numbers); E.164 allows 15 digits with the country code
    # when / then
    assert normalize_phone("+4920100000000000") == Result.invalid("too_long")
    assert normalize_phone("+49 201 000000000000") == Result.invalid("too_long")
    assert normalize_phone("+49 201 0000000000") == Result.ok("+492010000000000")


@pytest.mark.parametrize(("stored", "shown"), [
    ("+819012345678", "090-1234-5678"),
    ("+81312345678", "03-1234-5678"),
    ("+81451234567", "045-123-4567"),
    ("０９０－１２３４－５６７８", "090-1234-5678"),  # as typed, not yet normalized
    ("0312345678", "03-1234-5678"),
    ("+48601234567", "+48 601 234 567"),
    ("内線12", "内線12"),  # not a number: shown as typed
    ("", ""),
])
def test_national_format_from_e164_or_as_typed(stored, shown):
    assert format_national(stored) == shown


@settings(max_examples=300)
@given(st.sampled_from("5789"), st.integers(min_value=10_000_000, max_value=99_999_999))
def test_fast_display_of_mobiles_agrees_with_phonenumbers(second, rest):
    e164 = f"+81{second}0{rest}"
    expected = phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL)
    assert format_phone(e164) == expected
