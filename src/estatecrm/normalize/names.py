"""Names and readings (フリガナ): the forms stored for display and the keys duplicate checks compare."""

import re
import unicodedata
from collections.abc import Callable

import jaconv

from estatecrm.normalize.result import Result

# Runs of whitespace (U+3000, the ideographic space, included) are folded with str.split(): it splits on
# the characters that the regular expression \s matches (both ask str.isspace; test_names checks every
# code point), at half the cost of a substitution.

_READING_SEPARATORS = re.compile(r"[\s・]+")
# Katakana (small ones, ヴ, ヷ-ヺ and the iteration marks ヽヾ included), the long mark ー, the
# middle dot of foreign names and single spaces. ゠ (U+30A0) and ヿ (U+30FF) are not readings.
_READING = re.compile(r"[\u30a1-\u30fa\u30fc-\u30fe・ ]+")
_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
# Voiced kana that sound (and are typed) like their common spelling: ヴ/ブ, ヂ/ジ, ヅ/ズ, ヷ/バ...
_VOICED_FOLDS = str.maketrans("ヴヂヅヷヸヹヺ", "ブジズバビベボ")
# Old and variant kanji folded to the common form for matching; the stored name keeps the original.
# NFKC does not fold these: they are unified ideographs, or (﨑) one of the compatibility ideographs
# that have no decomposition.
_VARIANT_KANJI = str.maketrans(
    {
        "髙": "高", "﨑": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "齋": "斎", "齊": "斉", "濱": "浜", "澤": "沢",
        "櫻": "桜", "廣": "広", "國": "国", "藏": "蔵", "曻": "昇", "德": "徳", "惠": "恵", "眞": "真", "冨": "富",
        "槇": "槙", "彌": "弥", "龍": "竜",
    }
)  # fmt: skip
_ANY_VARIANT_KANJI = re.compile("[" + re.escape("".join(map(chr, _VARIANT_KANJI))) + "]")
# Legal forms, written out or abbreviated, folded to one token where they stand (prefix or suffix:
# 前株 and 後株 are different legal names). Applied to a name key: NFKC has turned （株） and ㈱ into
# (株), spaces are gone, and the abbreviations are the tokens already. 會 is the old form of 会 in older
# registrations. One pattern for all five (their spellings cannot overlap: one pass replaces what five would).
_LEGAL_FORM_TOKENS = {"株式": "(株)", "有限": "(有)", "合同": "(同)", "合資": "(資)", "合名": "(名)"}
_LEGAL_FORMS = re.compile(r"(株式|有限|合同|合資|合名)[会會]社")


def normalize_name(raw: str) -> str:
    """The name for storage: NFKC, each run of half- or full-width spaces made one ASCII space,
    trimmed. `山田　太郎` and `山田  太郎` -> `山田 太郎`; `山田太郎` stays (no space to guess).
    Idempotent, never raises."""
    if not raw:
        return ""
    return " ".join(unicodedata.normalize("NFKC", str(raw)).split())


def normalize_reading(raw: str) -> Result[str]:
    """The reading for storage: full-width katakana, one space between family and given name
    (`ﾔﾏﾀﾞ ﾀﾛｳ`, `やまだ　たろう` -> `ヤマダ タロウ`), ー and ・ kept; `empty`, or `not_kana` when
    anything else is left. Idempotent, never raises."""
    if not raw or not str(raw).strip():
        return Result.invalid("empty")
    reading = " ".join(_to_katakana(str(raw)).split())
    if not _READING.fullmatch(reading):
        return Result.invalid("not_kana")
    return Result.ok(reading)


def reading_key(reading: str) -> str:
    """The key that exact and fuzzy duplicate rules compare readings by: katakana without spaces or
    ・, small kana made large, ヴ/ヂ/ヅ (and ヷ-ヺ) folded to ブ/ジ/ズ (バ-ボ).

    Accepts stored or raw readings (`さとう`, `ｻﾄｳ`, `サトウ` -> `サトウ`); text that is not kana
    is folded the same way rather than refused, so a key always exists. ー is kept: `サトー` stays
    one character away from `サトウ`. Idempotent, never raises."""
    if not reading:
        return ""
    return _until_stable(_reading_key_pass, _to_katakana(str(reading)))


def name_key(name: str) -> str:
    """The key that duplicate rules compare names by: NFKC, case-folded, all spaces removed, old
    and variant kanji folded (髙->高, 﨑->崎, 邊->辺, 齋->斎 ... see DOMAIN.md). Idempotent, never raises."""
    if not name:
        return ""
    key = _name_key_pass(str(name))
    # Nearly always the first pass gives NFKC, case-folded text without spaces, whose kanji are folded
    # already (the folds' results are not folded again): a second pass would change nothing.
    if unicodedata.is_normalized("NFKC", key) and key.casefold() == key:
        return key
    return _until_stable(_name_key_pass, str(name))


def company_name_key(name: str) -> str:
    """Like `name_key`, with 株式会社/(株)/（株）/㈱ folded to one token, and likewise
    有限会社/(有)/㈲, 合同会社/(同), 合資会社/(資)/㈾, 合名会社/(名)/㈴, wherever they stand:
    `株式会社ABC`, `(株)ABC`, `㈱ＡＢＣ`, `株式会社 ABC` share a key. Idempotent, never raises."""
    key = name_key(name)
    if "社" in key:  # most names have no written-out legal form: no search
        key = _LEGAL_FORMS.sub(_legal_form_token, key)
    return key


def _legal_form_token(match: re.Match[str]) -> str:
    return _LEGAL_FORM_TOKENS[match[1]]


def _to_katakana(text: str) -> str:
    # A spacing ゛/゜ typed after a kana means the combining mark; NFKC would otherwise turn it
    # into a space plus the mark. h2z joins half-width kana with their marks (ﾀﾞ -> ダ).
    text = text.replace("\u309b", "\u3099").replace("\u309c", "\u309a")
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    return jaconv.hira2kata(unicodedata.normalize("NFKC", text))


def _reading_key_pass(text: str) -> str:
    text = unicodedata.normalize("NFKC", _READING_SEPARATORS.sub("", text))
    return text.translate(_SMALL_TO_LARGE).translate(_VOICED_FOLDS)


def _name_key_pass(text: str) -> str:
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(text.split())
    # translate() looks up every character: only for a name that has one of the variants.
    return text.translate(_VARIANT_KANJI) if _ANY_VARIANT_KANJI.search(text) else text


def _until_stable(one_pass: Callable[[str], str], text: str) -> str:
    """Apply `one_pass` until the text stops changing, so that keys are idempotent.

    One pass is not always enough: removing a space can put a combining mark (from NFKC of ゛) next
    to the kana before it, and case folding can leave text that NFKC composes. After the first pass
    the text is NFKC, so a later pass that changes anything composes, removes or reorders
    characters; the loop ends quickly (the cap only guards against the unforeseen).
    """
    for _ in range(8):
        again = one_pass(text)
        if again == text:
            return text
        text = again
    return text
