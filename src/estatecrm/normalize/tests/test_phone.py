import random
import re
import unicodedata

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumber

from estatecrm.normalize import Result, format_national, format_phone, normalize_phone, phone


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


# The general path, as normalize_phone was before its shortcuts for landlines, cleaning and wrong numbers:
# every number through phonenumbers' parser. The shortcuts must give the same answer for every input.
REFERENCE_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2013\u2014\u2015\u2212\u30fc\uff70\uff0d.()\[\]{}]+")


def reference_normalize(raw, region: str = "JP") -> Result:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = unicodedata.normalize("NFKC", str(raw)).strip() if raw else ""
    if text.startswith("+"):
        text = text.replace("(0)", "", 1)
    cleaned = REFERENCE_SEPARATORS.sub("", text)
    if not cleaned:
        return Result.invalid("empty")
    if not re.fullmatch(r"\+?[0-9]+", cleaned):
        return Result.invalid("not_a_number")
    region = (region or "").upper() or None
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as error:
        too_short = (phonenumbers.NumberParseException.NOT_A_NUMBER, phonenumbers.NumberParseException.TOO_SHORT_NSN,
                     phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD)
        if error.error_type in too_short:
            return Result.invalid("too_short")
        return Result.invalid("too_long" if error.error_type == phonenumbers.NumberParseException.TOO_LONG else "invalid_number")
    if reference_is_valid(cleaned, region):
        return Result.ok(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    possible = phonenumbers.is_possible_number_with_reason(number)
    reasons = {phonenumbers.ValidationResult.TOO_SHORT: "too_short", phonenumbers.ValidationResult.TOO_LONG: "too_long",
               phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "invalid_number"}
    if possible in reasons:
        return Result.invalid(reasons[possible])
    if any(reference_is_valid(cleaned + digit, region) for digit in "0123456789"):
        return Result.invalid("too_short")
    if any(len(cleaned) - cut >= 3 and reference_is_valid(cleaned[:-cut], region) for cut in (1, 2, 3)):
        return Result.invalid("too_long")
    return Result.invalid("invalid_number")


def reference_is_valid(cleaned: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return False
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.is_valid_number(number) and len(e164) - 1 <= 15


def phone_corpus(size: int, seed: int) -> list:
    """Phones as lists hold them, and as they should not: every number type and area-code length of
    Japan's plan, every separator and width, +81 and +81 (0), digits missing or added, letters, empty."""
    rng = random.Random(seed)
    prefixes = [
        "03", "06", "011", "045", "052", "092", "0120", "0466", "0467", "0480", "0555", "0800", "04992", "05769",
        "01456", "050", "060", "070", "080", "090", "0570", "020", "0990", "0900", "0800", "0180", "0170", "00",
        "010", "0", "1", "81", "9",
    ]
    separators = [*DASH_LOOK_ALIKES, " ", "\u3000", ".", "", "", ""]
    corpus: list = ["", " ", "－", "()", "なし", "090-1234-5678 内線12", "tel:0312345678", "+", "+81", "+81 (0)", None]
    while len(corpus) < size:
        prefix = rng.choice(prefixes) if rng.random() < 0.8 else "0" + str(rng.randint(1, 99999))
        # Mostly the lengths of Japanese numbers (10 digits, 11 for mobiles and IP phones), else any.
        length = rng.choice((10, 10, 10, 11, 11, 11, 9, 12, rng.randint(1, 16)))
        digits = prefix + "".join(rng.choice("0123456789") for _ in range(max(1, length - len(prefix))))
        shape = rng.random()
        if shape < 0.5:  # groups: area code, exchange, line
            cut = rng.randint(len(prefix), min(len(prefix) + 4, len(digits)))
            separator = rng.choice(separators)
            typed = f"{digits[:len(prefix)]}{separator}{digits[len(prefix):cut]}{separator}{digits[cut:]}"
            if rng.random() < 0.2:
                typed = f"({digits[:len(prefix)]}){digits[len(prefix):cut]}-{digits[cut:]}"
        else:
            typed = digits
        style = rng.random()
        if style < 0.1:
            typed = "+81" + rng.choice(("", " ", "-", " (0)", "(0)")) + typed[1:]
        elif style < 0.25:
            typed = typed.translate(str.maketrans("0123456789-()", "０１２３４５６７８９－（）"))
        elif style < 0.3:
            typed = typed.replace(typed[rng.randrange(len(typed))], rng.choice("aｘ#*/+"), 1)
        elif style < 0.33:
            typed = rng.choice((" ", "\u3000", "\t")) + typed + rng.choice((" ", "\u3000", ""))
        elif style < 0.35 and typed.isdigit():
            typed = rng.choice((int(typed), float(typed)))  # a number cell
        corpus.append(typed)
    return corpus


def test_japanese_validity_agrees_with_phonenumbers_for_every_five_digit_start():
    # given: every start of a 9- and 10-digit national number (area codes run to 5 digits), a random rest
    rng = random.Random(15)
    numbers = [f"{start}{rng.randrange(10 ** (length - 5)):0{length - 5}d}" for start in range(10000, 100000) for length in (9, 10)]
    # when
    disagreements = [
        number for number in numbers
        if phone._is_valid_japanese(number) != phonenumbers.is_valid_number(PhoneNumber(country_code=81, national_number=int(number)))
    ]
    # then
    assert disagreements == []
    assert 10_000 < sum(map(phone._is_valid_japanese, numbers)) < len(numbers)  # both answers were given


@pytest.mark.parametrize("region", ["JP", "jp", "PL", "US", ""])
def test_normalize_phone_agrees_with_the_parser_on_a_large_corpus(region):
    # given
    corpus = phone_corpus(6000 if region == "JP" else 1500, seed=len(region))
    # when
    disagreements = [(typed, normalize_phone(typed, region), reference_normalize(typed, region)) for typed in corpus
                     if normalize_phone(typed, region) != reference_normalize(typed, region)]
    # then
    assert disagreements == []
    results = [normalize_phone(typed, region) for typed in corpus]
    assert {result.reason for result in results} >= {None, "empty", "not_a_number", "too_short", "invalid_number"}
    if region.upper() == "JP":  # the corpus is mostly Japanese numbers: many valid, every reason
        assert sum(result.is_valid for result in results) > len(corpus) // 5
        assert "too_long" in {result.reason for result in results}


def test_the_answer_for_a_wrong_number_is_the_same_when_it_comes_again():
    # given: the cache of the parser's answers (lists repeat the same wrong numbers)
    first = [normalize_phone(typed) for typed in ("090-1234-567", "0000-00-0000", "03-1234-5678-9")]
    # when
    again = [normalize_phone(typed) for typed in ("090-1234-567", "0000-00-0000", "03-1234-5678-9")]
    # then
    assert first == again == [Result.invalid("too_short"), Result.invalid("invalid_number"), Result.invalid("too_long")]
    assert phone._parse.cache_info().maxsize == 4096
