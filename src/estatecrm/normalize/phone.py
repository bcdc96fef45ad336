"""Phone numbers as typed in Japan -> E.164 (`+819012345678`), and back to a display form."""

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumber, PhoneNumberFormat, ValidationResult

from estatecrm.normalize.result import Result

# Every dash look-alike of DOMAIN.md (U+FF0D and U+FF70 are folded by NFKC already, listed anyway so
# the set reads like the table), whitespace (U+3000 is in \s), dots and brackets separate digit groups.
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2013\u2014\u2015\u2212\u30fc\uff70\uff0d.()\[\]{}]+")
# ASCII digits only: `\d` would accept Arabic-Indic and other digits that NFKC leaves alone, and the
# fast path would then emit them into an "E.164" string.
_PLUS_AND_DIGITS = re.compile(r"\+?[0-9]+")
# Shapes whose E.164 form is certain without the parser: IP phones (050) and mobiles (070/080/090)
# with a fourth digit 1-9. In phonenumbers' JP metadata these are the whole `voip` pattern
# 50[1-9]\d{7} and part of the `mobile` pattern [6-9]0[1-9]\d{7}; 060 is left to the parser because
# versions of phonenumbers that pyproject still allows predate it. test_phone checks the agreement.
_FAST_JAPANESE_NATIONAL = re.compile(r"0[5789]0[1-9][0-9]{7}")
_FAST_JAPANESE_INTERNATIONAL = re.compile(r"\+81[5789]0[1-9][0-9]{7}")
# Other national numbers of 10 or 11 digits (landlines, 0120, 0570...): for these phonenumbers'
# parser always just drops the trunk 0 (no IDD 010, no 00 carrier prefix, and 9-10 digits are a
# possible JP length), so the validity check can run on the digits after it (`_is_valid_japanese`),
# without the parser's cost. Invalid ones still go through the parser, which names the reason.
_JAPANESE_NATIONAL = re.compile(r"0(?:1[1-9]|[2-9][0-9])[0-9]{7,8}")
# The number types phonenumbers' validity check (`_number_type_helper`) tries, as PhoneMetadata names them.
_NUMBER_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
                 "fixed_line", "mobile")
# What normalize_phone stores.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def normalize_phone(raw: str, region: str = "JP") -> Result[str]:
    """The E.164 form of `raw` when phonenumbers says it is a valid number, else why not.

    `region` (ISO 3166 code) is used for numbers without `+`. Full-width digits, every hyphen
    look-alike, brackets, dots, spaces, `+81` and `+81 (0)` are accepted. Reasons: `empty` (nothing
    but spaces and separators, e.g. a `－` placeholder), `not_a_number` (letters or other symbols),
    `too_short`, `too_long`, `invalid_number` (right length, but no such number plan). Never raises.
    """
    cleaned = _clean(raw)
    if not cleaned:
        return Result.invalid("empty")
    if not _PLUS_AND_DIGITS.fullmatch(cleaned):
        return Result.invalid("not_a_number")
    region = (region or "").upper()
    # Bulk imports are mostly clean mobile numbers; parsing costs ~15 µs each, this a regex match.
    if region == "JP" and _FAST_JAPANESE_NATIONAL.fullmatch(cleaned):
        return Result.ok("+81" + cleaned[1:])
    if _FAST_JAPANESE_INTERNATIONAL.fullmatch(cleaned):
        return Result.ok(cleaned)
    if region == "JP" and _JAPANESE_NATIONAL.fullmatch(cleaned) and _is_valid_japanese(cleaned[1:]):
        return Result.ok("+81" + cleaned[1:])
    return _parse(cleaned, region)


def format_phone(e164: str) -> str:
    """Display form of a stored number: national (`090-1234-5678`) for +81, international
    (`+48 601 234 567`) otherwise; text that is not a parseable number comes back unchanged."""
    # Lists show a phone per row and phonenumbers takes about 0.3 ms per number: mobiles and IP
    # phones (most numbers) have one national shape, 0X0-XXXX-XXXX (test_phone checks the agreement).
    if _FAST_JAPANESE_INTERNATIONAL.fullmatch(e164 or ""):
        return f"0{e164[3:5]}-{e164[5:9]}-{e164[9:]}"
    return _format_parsed(e164)


@functools.lru_cache(maxsize=4096)
def _format_parsed(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    style = PhoneNumberFormat.NATIONAL if number.country_code == 81 else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def format_national(e164_or_raw: str, region: str = "JP") -> str:
    """A phone for people to read: a stored E.164 number or the text as typed, in its display form
    (format_phone: `090-1234-5678`, `03-1234-5678`); text that is not a valid number comes back as given."""
    if _E164.fullmatch(e164_or_raw or ""):  # stored already: no second parse
        return format_phone(e164_or_raw)
    result = normalize_phone(e164_or_raw, region)
    return format_phone(result.value) if result.is_valid else (e164_or_raw or "")


def _clean(raw: str) -> str:
    """`raw` reduced to what the parser needs: NFKC, `(0)` after a country code dropped, separators gone."""
    if isinstance(raw, float) and raw.is_integer():
        # A number cell ("9012345678.0"): its dot is not a separator between digit groups.
        raw = int(raw)
    if not raw:
        return ""
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if text.startswith("+"):
        # "+81 (0)90-..." writes the trunk prefix that a caller from abroad must leave out.
        text = text.replace("(0)", "", 1)
    # Most cells are ASCII digits and hyphens: then the hyphens are all the separators there are.
    digits = text.replace("-", "")
    if digits.isascii() and digits.isdigit():
        return digits
    return _SEPARATORS.sub("", text)


def _is_valid_japanese(national_number: str) -> bool:
    """What `phonenumbers.is_valid_number` says of +81 `national_number` (ASCII digits, no leading 0): its
    metadata's patterns, matched in one regular expression instead of up to eleven."""
    pattern = _japanese_patterns_by_length().get(len(national_number))
    return pattern is not None and pattern.fullmatch(national_number) is not None


@functools.lru_cache(maxsize=1)
def _japanese_patterns_by_length() -> dict[int, re.Pattern]:
    """For the lengths of `_JAPANESE_NATIONAL` numbers after the trunk 0 (9 and 10), one pattern that matches
    what phonenumbers' JP metadata calls valid (`_number_type_helper` is not UNKNOWN): the general pattern,
    and the pattern of a number type whose possible lengths include the length (a type without lengths takes
    the general ones); None when the general lengths or every type rule the length out. Built from the
    installed phonenumbers' metadata, so it follows its updates; test_phone compares the two on many numbers."""
    metadata = PhoneMetadata.metadata_for_region("JP")
    general = metadata.general_desc
    patterns = {}
    for length in (9, 10):
        patterns[length] = None
        if general.possible_length and length not in general.possible_length:
            continue
        types = [
            description.national_number_pattern
            for description in (getattr(metadata, name, None) for name in _NUMBER_TYPES)
            if description is not None and description.national_number_pattern
            and (not description.possible_length or length in description.possible_length)
        ]
        if types and general.national_number_pattern:
            alternatives = "|".join(f"(?:{pattern})" for pattern in types)
            patterns[length] = re.compile(rf"(?=(?:{general.national_number_pattern})\Z)(?:{alternatives})")
    return patterns


@functools.lru_cache(maxsize=4096)
def _parse(cleaned: str, region: str) -> Result[str]:
    """The parser's answer (~15 µs, far more for a number that is not valid: `_length_reason` tries up
    to 13 more); lists repeat the same wrong numbers (`090-`, a placeholder), hence the cache."""
    try:
        number = phonenumbers.parse(cleaned, region or None)
    except NumberParseException as error:
        return Result.invalid(_parse_error_reason(error))
    if _is_valid_e164(number):
        return Result.ok(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        return Result.invalid("too_short")
    if possible == ValidationResult.TOO_LONG:
        return Result.invalid("too_long")
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return Result.invalid("invalid_number")
    return Result.invalid(_length_reason(cleaned, region))


def _parse_error_reason(error: NumberParseException) -> str:
    # The input is digits with an optional leading '+' by now, so phonenumbers' NOT_A_NUMBER here
    # means "fewer digits than any number has", which a user fixes by typing the rest.
    if error.error_type in (
        NumberParseException.NOT_A_NUMBER,
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return "too_short"
    if error.error_type == NumberParseException.TOO_LONG:
        return "too_long"
    return "invalid_number"


def _length_reason(cleaned: str, region: str) -> str:
    """`too_short` when one more digit makes a valid number, `too_long` when dropping up to three does.

    JP's possible lengths run from 8 to 17 digits (because of 00-prefixed carrier numbers), so
    phonenumbers calls `090-1234-567` "possible"; what the user did wrong is miss a digit.
    """
    for digit in "0123456789":
        if _is_valid(cleaned + digit, region):
            return "too_short"
    for cut in (1, 2, 3):
        if len(cleaned) - cut >= 3 and _is_valid(cleaned[:-cut], region):
            return "too_long"
    return "invalid_number"


def _is_valid(cleaned: str, region: str) -> bool:
    if region == "JP" and _JAPANESE_NATIONAL.fullmatch(cleaned):
        return _is_valid_japanese(cleaned[1:])
    try:
        return _is_valid_e164(phonenumbers.parse(cleaned, region or None))
    except NumberParseException:
        return False


# E.164 allows 15 digits with the country code; phonenumbers' metadata calls some longer numbers valid
# (German ones of 16 and 17 digits), which would not be E.164 strings.
E164_MAX_DIGITS = 15


def _is_valid_e164(number: PhoneNumber) -> bool:
    return phonenumbers.is_valid_number(number) and len(phonenumbers.format_number(number, PhoneNumberFormat.E164)) - 1 <= E164_MAX_DIGITS
