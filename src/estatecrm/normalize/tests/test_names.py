import random
import re
import unicodedata

import jaconv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estatecrm.normalize import (
    Result,
    company_name_key,
    name_key,
    names,
    normalize_name,
    normalize_reading,
    reading_key,
)

# Katakana a reading is made of (no small or rare kana: those have no half-width form).
COMMON_KATAKANA = (
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
)
COMMON_KATAKANA += "ガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポー"
KANA_ISH_TEXT = st.text(
    alphabet=st.sampled_from(
        list(
            COMMON_KATAKANA
            + "ァィゥェォッャュョヮヵヶヴヷヺぁあいうゔゕゝゞ・ｱｶﾞﾊﾟｰ･ﾞﾟ゛゜ \u3000\u3099\u309a山田"
        )
    ),
    max_size=20,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # DOMAIN.md, "Names and readings"
        ("山田　太郎", "山田 太郎"),
        ("山田 太郎", "山田 太郎"),
        ("山田  太郎", "山田 太郎"),
        ("山田太郎", "山田太郎"),
        # more spacing and width
        ("  山田\u3000\u3000太郎 ", "山田 太郎"),
        ("山田 \u3000 太郎", "山田 太郎"),
        ("山田\t太郎\n", "山田 太郎"),
        ("ＹＡＭＡＤＡ　Ｔａｒｏ", "YAMADA Taro"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("髙橋 一郎", "髙橋 一郎"),  # the stored name keeps the variant kanji
        ("", ""),
        ("\u3000", ""),
        (None, ""),
    ],
)
def test_names_keep_one_ascii_space(typed, stored):
    assert normalize_name(typed) == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        # DOMAIN.md
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("やまだ たろう", "ヤマダ タロウ"),
        # width, spaces, marks
        ("ヤマダ　タロウ", "ヤマダ タロウ"),
        ("  やまだ\u3000\u3000たろう ", "ヤマダ タロウ"),
        ("ｻﾄｳ", "サトウ"),
        ("サトー", "サトー"),
        ("ﾊﾟｰｸ", "パーク"),
        ("ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス"),
        ("ジョン・スミス", "ジョン・スミス"),
        ("か゛とう", "ガトウ"),  # spacing dakuten typed after the kana
        ("は゜く", "パク"),
        ("ゔぁいおりん", "ヴァイオリン"),
        ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"),
        ("さゝき", "サヽキ"),
    ],
)
def test_readings_become_full_width_katakana(typed, stored):
    assert normalize_reading(typed) == Result.ok(stored)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("山田", "not_kana"),
        ("yamada", "not_kana"),
        ("ヤマダ1", "not_kana"),
        ("ヤマダ-タロウ", "not_kana"),
        ("ヤマダ（タロウ）", "not_kana"),
        ("゛", "not_kana"),
        ("", "empty"),
        ("\u3000 ", "empty"),
        (None, "empty"),
    ],
)
def test_readings_that_are_not_kana_say_why(typed, reason):
    assert normalize_reading(typed) == Result.invalid(reason)


def test_reading_keys_match_across_scripts():
    # DOMAIN.md: さとう, ｻﾄｳ, サトウ give the same key; サトー stays one character away
    assert reading_key("さとう") == reading_key("ｻﾄｳ") == reading_key("サトウ") == "サトウ"
    assert reading_key("サトー") == "サトー"


@pytest.mark.parametrize(
    ("small", "large"),
    [("ァ", "ア"), ("ィ", "イ"), ("ゥ", "ウ"), ("ェ", "エ"), ("ォ", "オ"), ("ッ", "ツ"), ("ャ", "ヤ"), ("ュ", "ユ"), ("ョ", "ヨ"),
     ("ヮ", "ワ"), ("ヵ", "カ"), ("ヶ", "ケ")],
)  # fmt: skip
def test_reading_keys_make_small_kana_large(small, large):
    assert reading_key(f"カ{small}ト") == f"カ{large}ト"


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("ヴ", "ブ"),
        ("ヂ", "ジ"),
        ("ヅ", "ズ"),
        ("ヴィラ", "ブイラ"),
        ("ちぢみ", "チジミ"),
        ("つづき", "ツズキ"),
        ("ヤマダ タロウ", "ヤマダタロウ"),
        ("やまだ　たろう", "ヤマダタロウ"),
        ("ｷｬｯﾄ", "キヤツト"),
        ("ジョン・スミス", "ジヨンスミス"),
        ("山田", "山田"),  # not kana: folded all the same, never refused
        ("", ""),
        (None, ""),
    ],
)
def test_reading_keys_fold_spelling_variants(typed, key):
    assert reading_key(typed) == key


@pytest.mark.parametrize(
    ("variant", "common"),
    [
        ("髙橋", "高橋"), ("山﨑", "山崎"), ("山嵜", "山崎"), ("渡邊", "渡辺"), ("渡邉", "渡辺"), ("齋藤", "斎藤"), ("齊藤", "斉藤"),
        ("濱田", "浜田"), ("澤田", "沢田"), ("櫻井", "桜井"), ("廣瀬", "広瀬"), ("國分", "国分"), ("藏本", "蔵本"), ("曻", "昇"),
        ("德永", "徳永"), ("惠子", "恵子"), ("眞理", "真理"), ("冨田", "富田"), ("槇原", "槙原"), ("彌生", "弥生"), ("龍也", "竜也"),
    ],
)  # fmt: skip
def test_variant_kanji_fold_in_name_keys(variant, common):
    # DOMAIN.md: every pair of the table
    assert name_key(variant) == common
    assert name_key(common) == common


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("山田　太郎", "山田太郎"),
        ("山田 太郎", "山田太郎"),
        ("山田太郎", "山田太郎"),
        ("髙橋　一郎", "高橋一郎"),
        ("ＹＡＭＡＤＡ Taro", "yamadataro"),
        ("Straße", "strasse"),
        ("", ""),
        (None, ""),
    ],
)
def test_name_keys_ignore_spaces_width_and_case(typed, key):
    assert name_key(typed) == key


@pytest.mark.parametrize(
    "typed",
    [
        "株式会社ABC",
        "(株)ABC",
        "（株）ABC",
        "㈱ＡＢＣ",
        "株式会社 ABC",
        "株式会社　ＡＢＣ",
        "( 株 ) abc",
        "株式會社ABC",
    ],
)
def test_company_keys_fold_kabushiki_kaisha(typed):
    assert company_name_key(typed) == "(株)abc"


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("ABC株式会社", "abc(株)"),
        ("ABC(株)", "abc(株)"),
        ("ABC㈱", "abc(株)"),
        ("有限会社田中", "(有)田中"),
        ("(有)田中", "(有)田中"),
        ("㈲田中", "(有)田中"),
        ("（有）田中", "(有)田中"),
        ("合同会社X", "(同)x"),
        ("(同)X", "(同)x"),
        ("合資会社髙橋商店", "(資)高橋商店"),
        ("㈾髙橋商店", "(資)高橋商店"),
        ("合名会社山田", "(名)山田"),
        ("㈴山田", "(名)山田"),
        ("アクメ不動産", "アクメ不動産"),
    ],
)
def test_company_keys_fold_every_legal_form_where_it_stands(typed, key):
    assert company_name_key(typed) == key


def test_company_keys_keep_legal_forms_and_their_place_apart():
    assert company_name_key("株式会社X") != company_name_key("有限会社X")
    assert company_name_key("株式会社X") != company_name_key("X株式会社")
    assert company_name_key("株式会社X") != company_name_key("X")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30) | KANA_ISH_TEXT)
def test_name_functions_never_raise_and_are_idempotent(text):
    assert normalize_name(normalize_name(text)) == normalize_name(text)
    assert name_key(name_key(text)) == name_key(text)
    assert company_name_key(company_name_key(text)) == company_name_key(text)
    assert reading_key(reading_key(text)) == reading_key(text)
    reading = normalize_reading(text)
    assert (reading.value is None) == (reading.reason is not None)
    if reading.is_valid:
        assert normalize_reading(reading.value) == reading
        assert reading_key(reading.value) == reading_key(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(COMMON_KATAKANA)), min_size=1, max_size=12))
def test_a_reading_in_hiragana_half_width_or_katakana_has_one_key(katakana):
    hiragana = jaconv.kata2hira(katakana)
    half_width = jaconv.z2h(katakana, kana=True, ascii=False, digit=False)
    assert normalize_reading(hiragana) == normalize_reading(half_width) == Result.ok(katakana)
    assert reading_key(hiragana) == reading_key(half_width) == reading_key(katakana)


# The general path: the name functions as they were before their shortcuts (whitespace by regular
# expression, the key's second pass always run, the five legal forms one after the other).
REFERENCE_SPACES = re.compile(r"\s+")
REFERENCE_LEGAL_FORMS = (
    (re.compile(r"株式[会會]社|\(株\)"), "(株)"),
    (re.compile(r"有限[会會]社|\(有\)"), "(有)"),
    (re.compile(r"合同[会會]社|\(同\)"), "(同)"),
    (re.compile(r"合資[会會]社|\(資\)"), "(資)"),
    (re.compile(r"合名[会會]社|\(名\)"), "(名)"),
)


def reference_normalize_name(raw) -> str:
    return REFERENCE_SPACES.sub(" ", unicodedata.normalize("NFKC", str(raw))).strip() if raw else ""


def reference_normalize_reading(raw) -> Result:
    if not raw or not str(raw).strip():
        return Result.invalid("empty")
    reading = REFERENCE_SPACES.sub(" ", names._to_katakana(str(raw))).strip()
    return Result.ok(reading) if names._READING.fullmatch(reading) else Result.invalid("not_kana")


def reference_name_key(name) -> str:
    if not name:
        return ""
    text = str(name)
    for _ in range(8):
        again = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        again = REFERENCE_SPACES.sub("", again).translate(names._VARIANT_KANJI)
        if again == text:
            return text
        text = again
    return text


def reference_company_name_key(name) -> str:
    key = reference_name_key(name)
    for pattern, token in REFERENCE_LEGAL_FORMS:
        key = pattern.sub(token, key)
    return key


def name_corpus(size: int, seed: int) -> list[str]:
    """Names as lists hold them and as they should not: kanji with their old variants, every spelling of
    every legal form where it stands, spaces of every width and kind, full-width Latin, letters that case
    folding changes, kana of every script with spacing and combining sound marks, brackets, stray symbols."""
    rng = random.Random(seed)
    pieces = [
        "佐藤", "髙橋", "山﨑", "渡邊", "渡邉", "齋藤", "濱田", "澤", "櫻井", "廣瀬", "國", "德", "眞", "冨", "龍",
        "株式会社", "株式會社", "(株)", "（株）", "㈱", "有限会社", "㈲", "(有)", "合同会社", "(同)", "合資会社", "㈾",
        "合名会社", "㈴", "(名)", "(資)", "会社", "社", "株", "(", ")", "（", "）", "ＡＢＣ", "abc", "ABC", "ß", "ﬁ", "Σς",
        "İ", "ǅ", "ﾔﾏﾀﾞ", "ﾀﾛｳ", "やまだ", "ヤマダ", "か\u309b", "か\u3099", "\u3099", "ｶﾞ", "ヴ", "ゔ", "・", "ー", "ｰ",
        "１２３", "123", "&", "〒", "①", "㍻", "\u00ad", "\u200b",
    ]
    spaces = [" ", "  ", "\u3000", "\t", "\n", "\xa0", "\u2003", "\u202f", "\u3000\u3000", ""]
    corpus = ["", " ", "\u3000", "株式会社", "(株)"]
    while len(corpus) < size:
        parts = [rng.choice(pieces) for _ in range(rng.randint(1, 5))]
        text = "".join(part + (rng.choice(spaces) if rng.random() < 0.4 else "") for part in parts)
        if rng.random() < 0.1:
            text = text[: rng.randrange(len(text) + 1)] + chr(rng.randrange(0x20, 0x3100)) + text[rng.randrange(len(text) + 1):]
        corpus.append(rng.choice(spaces) + text if rng.random() < 0.2 else text)
    return corpus


def test_split_and_the_regular_expression_see_the_same_whitespace_in_every_code_point():
    # given: every character
    characters = [chr(point) for point in range(0x110000)]
    # when
    differences = [
        character for character in characters
        if (REFERENCE_SPACES.fullmatch(character) is not None) != (len(f"a{character}b".split()) == 2)
    ]
    # then
    assert differences == []
    assert sum(len(f"a{character}b".split()) == 2 for character in characters) > 20  # U+3000 and others


@pytest.mark.parametrize(("function", "reference", "answers"), [
    (normalize_name, reference_normalize_name, 1000),
    (normalize_reading, reference_normalize_reading, 50),  # most of the corpus is not kana
    (name_key, reference_name_key, 1000),
    (company_name_key, reference_company_name_key, 1000),
])
def test_name_functions_agree_with_the_general_path_on_a_large_corpus(function, reference, answers):
    # given
    corpus = name_corpus(20_000, seed=15)
    # when
    disagreements = [(text, function(text), reference(text)) for text in corpus if function(text) != reference(text)]
    # then
    assert disagreements == []
    assert len({function(text) for text in corpus}) > answers  # the corpus is varied, not one answer


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30) | KANA_ISH_TEXT)
def test_name_functions_agree_with_the_general_path_on_any_text(text):
    assert normalize_name(text) == reference_normalize_name(text)
    assert normalize_reading(text) == reference_normalize_reading(text)
    assert name_key(text) == reference_name_key(text)
    assert company_name_key(text) == reference_company_name_key(text)
