import datetime
import itertools
import random

import pytest

from estatecrm.normalize import similarity
from estatecrm.normalize.names import name_key, reading_key
from estatecrm.normalize.similarity import (
    BIRTH_ADDRESS,
    FUZZY_RULES,
    KANA_ADDRESS,
    KANA_BIRTH,
    NAME_BIRTH,
    NAME_POSTAL,
    FuzzyMatch,
    PersonRecord,
    address_base,
    address_key,
    birth_level,
    find_matches,
    match_pair,
    match_probability,
    name_level,
    name_parts,
)


def person(id, name="", kana="", birth=None, postal="", address=""):
    """A PersonRecord filled the way crm fills one from a customer."""
    return PersonRecord(
        id=id, name_key=name_key(name), kana_key=reading_key(kana), birth_date=birth, postal_code=postal,
        address=address, name_parts=name_parts(name),
    )  # fmt: skip


def rules_of(matches):
    return [(match.id_a, match.id_b, match.rule) for match in matches]


BIRTH = datetime.date(1980, 3, 14)
ADDRESS = "東京都新宿区西新宿二丁目8番1号"


# -- rule by rule ------------------------------------------------------------------------------


def test_kana_birth_same_reading_and_birth_date_with_kanji_typed_differently():
    # given: 斉藤 / 斎藤 (not folded: both are common spellings), the reading in hiragana and half-width
    a = person(1, "斉藤 美咲", "さいとう みさき", BIRTH, "160-0023", ADDRESS)
    b = person(2, "斎藤 美咲", "ｻｲﾄｳ ﾐｻｷ", BIRTH)

    # when
    matches = find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)

    # then: the reading is one key, the kanji names are close but not equal
    assert a.kana_key == b.kana_key == "サイトウミサキ"
    assert name_level(a, b) == "variant"
    assert matches == [
        FuzzyMatch(1, 2, KANA_BIRTH, 0.9986, "サイトウミサキ"),
        FuzzyMatch(1, 2, NAME_BIRTH, 0.9986, "1980-03-14"),
    ]


def test_kana_birth_needs_the_same_birth_date():
    a = person(1, "斉藤 美咲", "サイトウ ミサキ", BIRTH)
    b = person(2, "斎藤 美咲", "サイトウ ミサキ", datetime.date(1985, 7, 2))

    assert find_matches([a, b], rules=FUZZY_RULES, min_score=0.85) == []


def test_kana_address_same_reading_and_the_address_written_another_way():
    # given: no birth dates; 二丁目8番1号 and 2-8-1, full-width digits, the building left out
    a = person(1, "渡辺 健一", "ワタナベ ケンイチ", None, "160-0023", "東京都新宿区西新宿二丁目８番１号　メゾン西新宿101")
    b = person(2, "渡部 健一", "ワタナベ ケンイチ", None, "160-0023", "東京都新宿区西新宿2-8-1")

    matches = find_matches([a, b], rules=[KANA_ADDRESS], min_score=0.85)

    assert address_key(b.address) == "東京都新宿区西新宿2-8-1"
    assert rules_of(matches) == [(1, 2, KANA_ADDRESS)]
    assert matches[0].key == "ワタナベケンイチ"


def test_kana_address_not_for_a_different_address():
    a = person(1, "渡辺 健一", "ワタナベ ケンイチ", None, "160-0023", "東京都新宿区西新宿2-8-1")
    b = person(2, "渡辺 健一", "ワタナベ ケンイチ", None, "530-0001", "大阪府大阪市北区梅田3-1-1")

    assert find_matches([a, b], rules=FUZZY_RULES, min_score=0.85) == []


def test_name_postal_variant_kanji_folded_within_the_postal_code():
    # given: 髙橋 / 高橋 and 﨑 / 崎 share a name key; no reading on one of them
    a = person(1, "髙橋 一郎", "タカハシ イチロウ", None, "150-0002", "東京都渋谷区渋谷1-2-3 渋谷ハイツ201")
    b = person(2, "高橋 一郎", "", None, "150-0002", "東京都渋谷区渋谷1-2-3")

    matches = find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)

    assert a.name_key == b.name_key == "高橋一郎"
    assert rules_of(matches) == [(1, 2, NAME_POSTAL)]
    assert matches[0].key == "150-0002"


def test_name_birth_typo_in_the_name_and_the_reading():
    # given: 一郎 / 一朗 and イチロウ / イチロー, the same birth date, moved (other postal code and address)
    a = person(1, "佐藤 一郎", "サトウ イチロウ", BIRTH, "150-0002", "東京都渋谷区渋谷1-2-3")
    b = person(2, "佐藤 一朗", "サトウ イチロー", BIRTH, "231-0023", "神奈川県横浜市中区山下町10")

    matches = find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)

    assert name_level(a, b) == "close"
    assert rules_of(matches) == [(1, 2, NAME_BIRTH)]
    assert matches[0].key == "1980-03-14"


def test_birth_address_name_in_latin_letters():
    # given: a portal form typed in romaji, the same birth date and address
    a = person(1, "山田 太郎", "ヤマダ タロウ", BIRTH, "160-0023", ADDRESS)
    b = person(2, "Taro Yamada", "", BIRTH, "160-0023", "東京都新宿区西新宿2-8-1")

    matches = find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)

    assert name_level(a, b) == "different"
    assert rules_of(matches) == [(1, 2, BIRTH_ADDRESS)]


def test_swapped_family_and_given_name():
    a = person(1, "山田 太郎", "", BIRTH)
    b = person(2, "太郎 山田", "", BIRTH)

    assert name_level(a, b) == "swapped"
    assert rules_of(find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)) == [(1, 2, NAME_BIRTH)]


def test_new_surname_with_the_same_birth_date_and_address():
    # given: married: the given name, the birth date and the address remain
    a = person(1, "鈴木 花子", "スズキ ハナコ", BIRTH, "150-0002", "東京都渋谷区渋谷1-2-3")
    b = person(2, "田中 花子", "タナカ ハナコ", BIRTH, "150-0002", "東京都渋谷区渋谷1丁目2番3号")
    # moved as well: a stranger with the same given name and birthday looks the same (not enough)
    c = person(3, "田中 花子", "タナカ ハナコ", BIRTH, "231-0023", "神奈川県横浜市中区山下町10")

    assert name_level(a, b) == "same_given"
    assert rules_of(find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)) == [
        (1, 2, BIRTH_ADDRESS), (1, 2, NAME_BIRTH), (1, 2, NAME_POSTAL),
    ]
    assert find_matches([a, c], rules=FUZZY_RULES, min_score=0.85) == []


@pytest.mark.parametrize(
    ("birth_a", "birth_b", "level"),
    [
        (datetime.date(1980, 3, 4), datetime.date(1980, 3, 4), "exact"),
        (datetime.date(1980, 3, 4), datetime.date(1980, 4, 3), "transposed"),
        (datetime.date(1980, 3, 14), datetime.date(1980, 3, 24), "one_digit"),
        (datetime.date(1980, 3, 14), datetime.date(1986, 3, 14), "one_digit"),
        (datetime.date(1980, 3, 14), datetime.date(1980, 5, 24), "different"),
        (datetime.date(1980, 3, 14), None, None),
    ],
)
def test_birth_levels(birth_a, birth_b, level):
    assert birth_level(birth_a, birth_b) == level
    assert birth_level(birth_b, birth_a) == level


def test_transposed_birth_date_still_found_by_reading_and_address():
    a = person(1, "中村 優子", "ナカムラ ユウコ", datetime.date(1975, 6, 8), "160-0023", ADDRESS)
    b = person(2, "中村 優子", "ナカムラ ユウコ", datetime.date(1975, 8, 6), "160-0023", ADDRESS)

    matches = find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)

    assert rules_of(matches) == [(1, 2, KANA_ADDRESS), (1, 2, NAME_POSTAL)]
    assert match_probability(a, b) == 0.9998  # -7 + 8 (name) + 4 (transposed) + 6 (address) + 1 (postal) = 12


# -- what must not be one person -----------------------------------------------------------------


def test_family_members_at_one_address_are_not_one_person():
    # given: husband, wife and son at one address (the son's name differs from the father's by one kanji)
    father = person(1, "山田 太郎", "ヤマダ タロウ", datetime.date(1970, 4, 1), "160-0023", ADDRESS)
    mother = person(2, "山田 花子", "ヤマダ ハナコ", datetime.date(1972, 9, 9), "160-0023", ADDRESS)
    son = person(3, "山田 次郎", "ヤマダ ジロウ", datetime.date(2001, 1, 20), "160-0023", ADDRESS)
    mother_without_birth = person(4, "山田 花子", "ヤマダ ハナコ", None, "160-0023", ADDRESS)

    assert find_matches([father, mother, son], rules=FUZZY_RULES, min_score=0.85) == []
    assert find_matches([father, mother_without_birth], rules=FUZZY_RULES, min_score=0.85) == []


def test_one_character_apart_at_one_address_without_birth_dates_is_a_candidate():
    # given: 太郎 / 次郎 and タロウ / ジロウ look like a typo in the name and its reading (which is how
    # duplicates are typed far more often than brothers ask the same office): a candidate, a user may say 別人
    father = person(1, "山田 太郎", "ヤマダ タロウ", None, "160-0023", ADDRESS)
    son = person(2, "山田次郎", "ヤマダジロウ", None, "160-0023", ADDRESS)

    assert name_level(father, son) == "similar"
    assert find_matches([father, son], rules=FUZZY_RULES, min_score=0.85) == [FuzzyMatch(1, 2, NAME_POSTAL, 0.8889, "160-0023")]


def test_a_common_name_in_one_postal_code_alone_is_not_enough():
    a = person(1, "山田 太郎", "ヤマダ タロウ", None, "160-0023", "")
    b = person(2, "山田 太郎", "ヤマダ タロウ", None, "160-0023", "")

    assert match_probability(a, b) == 0.8  # -7 + 8 (name) + 1 (postal) = 2 bits
    assert find_matches([a, b], rules=FUZZY_RULES, min_score=0.85) == []


def test_a_shared_family_name_and_birthday_alone_is_not_enough():
    # given: two 佐藤 born on one day, nothing else known (a birth date block of a big company holds many)
    a = person(1, "佐藤 健一", "サトウ ケンイチ", BIRTH)
    b = person(2, "佐藤 美咲", "サトウ ミサキ", BIRTH)

    assert name_level(a, b) == "same_family"
    assert match_probability(a, b) == 0.8263  # -7 + 0.75 + 8.5 = 2.25 bits
    assert find_matches([a, b], rules=FUZZY_RULES, min_score=0.85) == []


def test_a_shared_family_name_birthday_and_postal_code_at_another_address_is_a_candidate():
    # given: one family name and birth date in one postal code, two addresses (a move within the town, one
    # person's record typed with another given name); strangers share all three far more rarely
    a = person(1, "佐藤 健一", "サトウ ケンイチ", BIRTH, "150-0002", "東京都渋谷区渋谷1-2-3")
    b = person(2, "佐藤 美咲", "サトウ ミサキ", BIRTH, "150-0002", "東京都渋谷区渋谷3-10-2")
    moved_away = person(3, "佐藤 美咲", "サトウ ミサキ", BIRTH, "231-0023", "神奈川県横浜市中区山下町10")

    assert match_probability(a, b) == 0.8706  # -7 + 0.75 + 8.5 - 0.5 (address) + 1 (postal) = 2.75 bits
    assert rules_of(find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)) == [(1, 2, NAME_BIRTH), (1, 2, NAME_POSTAL)]
    assert find_matches([a, moved_away], rules=FUZZY_RULES, min_score=0.85) == []


def test_name_parts_one_typo_apart_are_one_part():
    # given: a romaji name typed twice, a new family name and a typo in the given name
    a = person(1, "Hage Harriet", "", BIRTH, "150-0002", "東京都渋谷区渋谷1-2-3")
    b = person(2, "Pegg Harroet", "", BIRTH, "150-0002", "東京都渋谷区渋谷3-10-2")
    # 2-character kanji parts one character apart are other names: 山田 / 山口
    c = person(3, "山田 太郎", "", BIRTH)
    d = person(4, "山口 花子", "", BIRTH)

    assert name_level(a, b) == "same_given"
    assert rules_of(find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)) == [(1, 2, NAME_BIRTH), (1, 2, NAME_POSTAL)]
    assert name_level(c, d) == "different"
    assert find_matches([c, d], rules=FUZZY_RULES, min_score=0.85) == []


def test_western_addresses_compared_word_by_word():
    # given: a street address with and without its second line and suburb, and a neighbour
    a = "29 Nemarang Crescent New Farm TAS"
    b = "29 nemarang crescent yellow dam westmead tas"

    assert similarity.address_words(a) == "29 nemarang crescent new farm tas"
    assert similarity.address_similarity(a, b) == similarity.address_words_similarity(a, b) >= 0.8
    assert similarity.address_similarity(a, "31 nemarang crescent new farm tas") < 0.5  # house numbers differ
    assert similarity.address_words("東京都 新宿区 西新宿2-8-1") == ""  # a Japanese address: one order


def test_same_name_born_on_other_days_is_not_one_person():
    a = person(1, "山田 太郎", "ヤマダ タロウ", datetime.date(1970, 4, 1), "160-0023", ADDRESS)
    b = person(2, "山田 太郎", "ヤマダ タロウ", datetime.date(1988, 11, 23), "160-0023", "東京都新宿区西新宿6-5-1")

    assert find_matches([a, b], rules=FUZZY_RULES, min_score=0.85) == []


# -- scores and thresholds ---------------------------------------------------------------------


def test_score_is_the_model_probability_and_min_score_is_inclusive():
    a = person(1, "斉藤 美咲", "サイトウ ミサキ", BIRTH)
    b = person(2, "斎藤 美咲", "サイトウ ミサキ", BIRTH)
    score = match_probability(a, b)

    assert score == 0.9986  # -7 + 8 (variant) + 8.5 (birth) = 9.5 bits
    assert match_pair(a, b, rules=[KANA_BIRTH], min_score=score) == [(KANA_BIRTH, 0.9986, "サイトウミサキ")]
    assert match_pair(a, b, rules=[KANA_BIRTH], min_score=0.9987) == []
    assert match_pair(a, b, rules=[KANA_ADDRESS], min_score=0.0) == []  # no address: the condition fails


def test_only_the_requested_rules():
    a = person(1, "斉藤 美咲", "サイトウ ミサキ", BIRTH)
    b = person(2, "斎藤 美咲", "サイトウ ミサキ", BIRTH)

    assert rules_of(find_matches([a, b], rules=[NAME_BIRTH], min_score=0.85)) == [(1, 2, NAME_BIRTH)]
    assert find_matches([a, b], rules=[NAME_POSTAL, KANA_ADDRESS], min_score=0.85) == []


def test_blocks_over_the_cap_are_skipped(monkeypatch):
    # given: four customers of one postal code with one name (a block of 4)
    records = [person(id, "高橋 一郎", "", None, "150-0002", "東京都渋谷区渋谷1-2-3") for id in range(1, 5)]

    # when the cap is the block's size, every pair is found; one less, the block is skipped
    monkeypatch.setattr(similarity, "MAX_BLOCK_SIZE", 4)
    assert len(find_matches(records, rules=FUZZY_RULES, min_score=0.85)) == 6
    monkeypatch.setattr(similarity, "MAX_BLOCK_SIZE", 3)
    assert find_matches(records, rules=FUZZY_RULES, min_score=0.85) == []


def test_address_key_forms():
    assert address_key("東京都新宿区西新宿二丁目８番１号") == "東京都新宿区西新宿2-8-1"
    assert address_key("東京都新宿区西新宿２－８－１") == "東京都新宿区西新宿2-8-1"
    assert address_key("札幌市中央区北一条西十二丁目3番地") == "札幌市中央区北一条西12-3"
    assert address_key("") == ""
    assert address_base("東京都新宿区西新宿2-8-1 メゾン西新宿101") == "東京都新宿区西新宿2-8-1"
    assert address_base("49 daintree crescent") == ""


# -- a planted sample: quality, determinism, the prefilter against brute force -------------------

FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("髙橋", "タカハシ"), ("田中", "タナカ"), ("渡邊", "ワタナベ"),
          ("伊藤", "イトウ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("齋藤", "サイトウ"),
          ("山﨑", "ヤマザキ"), ("濱田", "ハマダ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ")]  # fmt: skip
GIVEN = [("太郎", "タロウ"), ("次郎", "ジロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("美咲", "ミサキ"),
         ("健一", "ケンイチ"), ("優子", "ユウコ"), ("翔太", "ショウタ"), ("陽子", "ヨウコ"), ("大輔", "ダイスケ"),
         ("直樹", "ナオキ"), ("恵子", "ケイコ"), ("拓也", "タクヤ"), ("真理", "マリ"), ("浩二", "コウジ")]  # fmt: skip
TOWNS = [("160-0023", "東京都新宿区西新宿"), ("150-0002", "東京都渋谷区渋谷"), ("530-0001", "大阪府大阪市北区梅田"),
         ("231-0023", "神奈川県横浜市中区山下町"), ("460-0008", "愛知県名古屋市中区栄")]  # fmt: skip
FOLDED = str.maketrans({"髙": "高", "邊": "辺", "齋": "斎", "﨑": "崎", "濱": "浜"})


def planted_sample(seed: int, people: int, duplicates: int):
    """`people` random customers and `duplicates` planted copies with what people type differently (variant
    kanji, readings in hiragana or half-width or with ー, 丁目 forms, a dropped building, a typo in the
    birth date, a missing field); returns (records, true pairs)."""
    rng = random.Random(seed)
    originals = []
    for id in range(1, people + 1):
        (family, family_kana), (given, given_kana) = rng.choice(FAMILY), rng.choice(GIVEN)
        postal, town = rng.choice(TOWNS)
        chome, ban, go = rng.randint(1, 9), rng.randint(1, 30), rng.randint(1, 20)
        birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(60 * 365))
        originals.append((id, f"{family} {given}", f"{family_kana} {given_kana}", birth, postal,
                          f"{town}{chome}-{ban}-{go}", f"{town}{'一二三四五六七八九'[chome - 1]}丁目{ban}番{go}号"))  # fmt: skip
    records = [person(id, name, kana, birth, postal, address) for id, name, kana, birth, postal, address, _ in originals]
    truth = set()
    for number, original in enumerate(rng.sample(originals, duplicates)):
        id, name, kana, birth, postal, address, written_out = original
        copy_id = people + 1 + number
        kind = number % 6
        if kind == 0:  # variant kanji folded, reading in hiragana, 丁目 written out
            name, kana, address = name.translate(FOLDED), "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ン" else c for c in kana), written_out
        elif kind == 1:  # half-width reading, a long mark for ウ, the building added
            kana, address = kana.replace("ウ", "ー"), address + " コーポ桜101"
            kana = kana.translate(str.maketrans("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン", "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ"))
        elif kind == 2:  # day and month swapped (when both are months), no address
            birth = datetime.date(birth.year, birth.day, birth.month) if birth.day <= 12 else birth
            address = ""
        elif kind == 3:  # one digit of the birth date typed wrong, the reading missing
            birth, kana = birth + datetime.timedelta(days=10 if birth.day < 19 else -10), ""
        elif kind == 4:  # a kanji typo in the given name, no birth date
            name, birth = name[:-1] + "朗" if not name.endswith("朗") else name[:-1] + "郎", None
        else:  # moved: another postal code and address
            postal, address = "980-0811", "宮城県仙台市青葉区一番町4-1-1"
        records.append(person(copy_id, name, kana, birth, postal, address))
        truth.add((id, copy_id))
    return records, truth


def test_planted_sample_quality():
    # given: 600 customers (15 x 15 names: many share a name) and 120 planted duplicates
    records, truth = planted_sample(seed=12, people=600, duplicates=120)

    # when
    found = {(match.id_a, match.id_b) for match in find_matches(records, rules=FUZZY_RULES, min_score=0.85)}

    # then: F1 >= 0.95 (the target on the planted name duplicates)
    true_positives = len(found & truth)
    precision, recall = true_positives / len(found), true_positives / len(truth)
    assert 2 * precision * recall / (precision + recall) >= 0.95, (precision, recall)


def test_find_matches_is_deterministic_and_independent_of_order():
    records, _ = planted_sample(seed=3, people=200, duplicates=40)
    shuffled = list(records)
    random.Random(1).shuffle(shuffled)

    first = find_matches(records, rules=FUZZY_RULES, min_score=0.85)

    assert find_matches(shuffled, rules=FUZZY_RULES, min_score=0.85) == first
    assert find_matches(reversed(records), rules=FUZZY_RULES, min_score=0.85) == first


def test_prefilter_finds_what_every_pair_of_every_block_gives():
    # given: the brute force: every pair sharing a block field, through match_pair
    records, _ = planted_sample(seed=5, people=200, duplicates=60)
    expected = {}
    for a, b in itertools.combinations(sorted(records, key=lambda record: record.id), 2):
        for field, block_rules in similarity.BLOCKS.items():
            if getattr(a, field) and getattr(a, field) == getattr(b, field):
                for rule, score, key in match_pair(a, b, rules=block_rules, min_score=0.5):
                    expected[(a.id, b.id, rule)] = FuzzyMatch(a.id, b.id, rule, score, key)

    # when / then
    assert find_matches(records, rules=FUZZY_RULES, min_score=0.5) == sorted(expected.values(), key=lambda m: (m.id_a, m.id_b, m.rule))


def test_only_ids_gives_the_pairs_touching_them():
    records, _ = planted_sample(seed=7, people=200, duplicates=60)
    every = find_matches(records, rules=FUZZY_RULES, min_score=0.5)
    only = {record.id for record in records[::7]}

    touching = find_matches(records, rules=FUZZY_RULES, min_score=0.5, only_ids=only)

    assert touching == [match for match in every if match.id_a in only or match.id_b in only]
    assert touching != []


def test_match_probability_is_symmetric():
    records, _ = planted_sample(seed=9, people=50, duplicates=20)
    for a, b in itertools.combinations(records, 2):
        assert match_probability(a, b) == match_probability(b, a)


def test_a_name_right_at_the_similarity_threshold_is_compared():
    # given: 赤川翔彦 / 赤河翔彦 are exactly NAME_SIMILAR apart (rapidfuzz's cutoff would drop them)
    a = person(1, "赤川 翔彦", "アカカワ ショウヒコ", datetime.date(1983, 8, 16), "600-1291", "京都府緑町柳坂2-1-16ベルメゾン柳坂3 704")
    b = person(2, "赤河翔彦", "", None, "600-1291", "京都府緑町柳坂2-1-16")

    assert similarity.name_similarity(a.name_key, b.name_key) == pytest.approx(0.85)
    assert rules_of(find_matches([a, b], rules=FUZZY_RULES, min_score=0.85)) == [(1, 2, NAME_POSTAL)]
