"""Fuzzy 名寄せ rules: are two customers likely the same person, where neither phone nor e-mail matches?

Pure functions on `PersonRecord`s (no Django), shared by the incremental candidate store
(crm.duplicates), the full scan (dedup.scan) and the benchmarks, so that all of them find exactly the
same pairs. Pairs are only compared within a block: records with the same value of one of
`BLOCKS`' fields (columns of Customer, each indexed); a block larger than `MAX_BLOCK_SIZE` is skipped
(a reading or postal code that common names nobody in particular).

One model scores a pair: `match_probability`, Fellegi-Sunter weights (log2 of how much likelier an
agreement level is among true duplicates than among strangers) summed over four comparisons (name and
reading, birth date, address, postal code) and turned into a probability 0..1. A rule is a block, a
condition the pair must meet, and that probability reaching `min_score` (the company's
`DuplicateSettings.fuzzy_min_score`). Rules (crm.choices.DuplicateRule):
- `kana_birth`: the same reading key and the same birth date;
- `kana_address`: the same reading key and a similar address;
- `name_postal`: a similar name (or reading) within the same postal code;
- `name_birth`: a similar name (or reading) with the same birth date;
- `birth_address`: the same birth date and a similar address (a name typed in another script, a
  new surname).

Comparisons are C++ (rapidfuzz): within a block, each record's name (and address, where a rule of the
block needs it) is compared with the rest of the block in one `process.extract` call, so that only
pairs that may meet a condition reach the Python scorer.
"""

import datetime
import enum
import functools
import itertools
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel, JaroWinkler, Levenshtein

from estatecrm.normalize.names import name_key

KANA_BIRTH = "kana_birth"
KANA_ADDRESS = "kana_address"
NAME_POSTAL = "name_postal"
NAME_BIRTH = "name_birth"
BIRTH_ADDRESS = "birth_address"
FUZZY_RULES = (KANA_BIRTH, KANA_ADDRESS, NAME_POSTAL, NAME_BIRTH, BIRTH_ADDRESS)

# The block field -> the rules evaluated on the pairs of one block.
BLOCKS: dict[str, tuple[str, ...]] = {
    "kana_key": (KANA_BIRTH, KANA_ADDRESS),
    "postal_code": (NAME_POSTAL,),
    "birth_date": (NAME_BIRTH, BIRTH_ADDRESS),
}
MAX_BLOCK_SIZE = 200

# A name or reading at least this Jaro-Winkler-similar is "similar" (the conditions of name_postal and
# name_birth); an address at least this similar (normalized Indel) is "similar" (kana_address).
NAME_SIMILAR = 0.85
ADDRESS_SIMILAR = 0.8
# The address similarity of one address that is the other with its building or room added.
BUILDING_LEFT_OUT = 0.9
# A western address (street number first) is compared word by word too when both have this many words:
# a street number and a street name and type, at least.
MIN_ADDRESS_WORDS = 3

# Two name parts at least this Jaro-Winkler-similar, each of at least PART_MIN_LENGTH characters, are one
# part typed twice (`_same_part`).
PART_SIMILAR = 0.9
PART_MIN_LENGTH = 3

# Fellegi-Sunter weights, log2(m / u) per agreement level: m = how often true duplicates show the level,
# u = how often two different people compared within a block do. A missing value weighs 0. Chosen by a
# coordinate search (0.5-bit steps, levels kept in order) maximizing F1 on planted Japanese duplicates
# (bench/dedup_fuzzy.py) and FEBRL 3 (bench/dedup_febrl.py) together, under the Japanese constraints of
# normalize/tests/test_similarity.py (family members at one address, a common name in one postal code, a
# shared family name and birthday are not one person); the family name alone weighs a quarter bit off the
# grid so that no pair of those tests sits on the 0.85 edge; see docs/performance.md "名寄せ quality".
NAME_WEIGHTS = {
    "exact": 8.0,  # name and reading both equal (or the one both have)
    "variant": 8.0,  # one equal, the other close: a variant kanji or a reading typo
    "one_exact": 4.0,  # one equal, the other not close: a misread reading, a changed surname
    "swapped": 8.0,  # the same parts in another order: family and given name swapped
    "close": 7.0,  # neither equal, the best >= 0.93: a typo
    "same_given": 3.0,  # the given name the same, the family name not: a new surname (marriage), a typo
    "same_family": 0.75,  # the family name the same, the given name not: a family member, or a typo
    "similar": 3.0,  # every key >= NAME_SIMILAR (or one, with no shared part): a typo, or 太郎 / 次郎
    "different": -2.5,
}
BIRTH_WEIGHTS = {
    "exact": 8.5,
    "transposed": 4.0,  # day and month swapped
    "one_digit": 5.0,  # one digit of YYYYMMDD off: a typo
    "different": -2.0,
}
ADDRESS_WEIGHTS = {
    "exact": 6.0,
    "close": 6.0,  # >= 0.9: a typo, the building left out
    "similar": 6.0,  # >= ADDRESS_SIMILAR (with house numbers that agree: never a neighbour)
    "different": -0.5,  # people move: a different address weighs little (a move within the postal code too)
}
POSTAL_WEIGHTS = {
    "exact": 1.0,
    "one_digit": 1.0,
    "different": -2.0,  # a move to another town: with a different address, two pieces of evidence of one move
}
# The log2 odds of a pair of one block being one person before comparing anything.
PRIOR_WEIGHT = -7.0


class Level(enum.StrEnum):
    """How one field of two records compares: the keys of the *_WEIGHTS tables."""

    EXACT = "exact"
    VARIANT = "variant"
    ONE_EXACT = "one_exact"
    SWAPPED = "swapped"
    CLOSE = "close"
    SAME_GIVEN = "same_given"
    SAME_FAMILY = "same_family"
    SIMILAR = "similar"
    DIFFERENT = "different"
    TRANSPOSED = "transposed"
    ONE_DIGIT = "one_digit"


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """What the fuzzy rules read of a customer: its keys as crm stores them (normalize.names), the birth
    date, the postal code as stored (`NNN-NNNN`) and the address (prefecture + city + street + building)."""

    id: int
    name_key: str = ""
    kana_key: str = ""
    birth_date: datetime.date | None = None
    postal_code: str = ""
    address: str = ""
    # The name_key of each space-separated part of the name (family name first, as typed): `name_parts`.
    # Optional; with it a swapped family and given name, or one shared part (a misspelt or changed
    # given name, a surname changed by marriage), is recognized.
    name_parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FuzzyMatch:
    id_a: int  # id_a < id_b
    id_b: int
    rule: str
    score: float
    key: str  # what the block shared (the reading key, the postal code, the birth date as YYYY-MM-DD)


def name_parts(name: str) -> tuple[str, ...]:
    """The PersonRecord.name_parts of a stored name: `山田 太郎` -> (`山田`, `太郎`), `髙橋　一郎` ->
    (`高橋`, `一郎`); a name typed without a space is one part."""
    return tuple(key for key in (name_key(part) for part in (name or "").split()) if key)


def name_similarity(a: str, b: str) -> float:
    """Jaro-Winkler similarity 0..1 of two keys; 0 when one is empty."""
    if not a or not b:
        return 0.0
    return JaroWinkler.similarity(a, b)


_ADDRESS_IGNORED = re.compile(r"[\s,.、。・()\[\]「」'\"#/]+")
_ADDRESS_DASHES = re.compile(r"[\-\u2010\u2011\u2013\u2014\u2015\u2212\u30fc\uff70]+|丁目|番地|番|号|の(?=\d)")
_KANJI_NUMBER = re.compile(r"([一二三四五六七八九十]+)(?=丁目)")
_KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _kanji_number(match: re.Match) -> str:
    text = match.group(1)
    if "十" not in text:
        return "".join(str(_KANJI_DIGITS[char]) for char in text)
    tens, _, ones = text.partition("十")
    return str(_KANJI_DIGITS.get(tens, 1) * 10 + _KANJI_DIGITS.get(ones, 0))


@functools.lru_cache(maxsize=2**18)
def address_key(address: str) -> str:
    """The form addresses are compared in: NFKC, case-folded, without spaces or punctuation, 丁目/番地/番/号
    (and the numbers' dashes) as one `-`, kanji 丁目 numbers as digits: `西新宿二丁目8番1号` and
    `西新宿2-8-1` share a key. Idempotent."""
    if not address:
        return ""
    text = unicodedata.normalize("NFKC", address).casefold()
    text = _KANJI_NUMBER.sub(_kanji_number, text)
    text = _ADDRESS_IGNORED.sub("", text)
    return _ADDRESS_DASHES.sub("-", text).strip("-")


@functools.lru_cache(maxsize=2**18)
def sorted_address_key(address: str) -> str:
    """For an address written the western way (its key starts with the street number): the `address_key`
    of its space-separated words in sorted order, so that words written in another order share it. Empty
    for the others: a Japanese address goes from the prefecture down, in one order."""
    if not address_key(address)[:1].isdigit():
        return ""
    return address_key(" ".join(sorted(unicodedata.normalize("NFKC", address).casefold().split())))


@functools.lru_cache(maxsize=2**18)
def address_words(address: str) -> str:
    """For an address written the western way (see `sorted_address_key`) of at least MIN_ADDRESS_WORDS
    words: its NFKC, case-folded words without punctuation, space-separated; empty for the others."""
    if not sorted_address_key(address):
        return ""
    words = _ADDRESS_IGNORED.sub(" ", unicodedata.normalize("NFKC", address).casefold()).split()
    return " ".join(words) if len(words) >= MIN_ADDRESS_WORDS else ""


def address_words_similarity(a: str, b: str) -> float:
    """The rapidfuzz token-set similarity 0..1 of two `address_words` (0 when one is empty): words one
    address adds (a second address line, a suburb) or leaves out do not count against the pair."""
    words_a, words_b = address_words(a), address_words(b)
    if not words_a or not words_b:
        return 0.0
    return fuzz.token_set_ratio(words_a, words_b) / 100


_NUMBERS = re.compile(r"[0-9]+")
_ADDRESS_BASE = re.compile(r"\D+[0-9][0-9-]*")


@functools.lru_cache(maxsize=2**18)
def address_base(address: str) -> str:
    """The `address_key` up to the end of its first numbers: the place without a building or room
    (`東京都新宿区西新宿2-8-1メゾン西新宿101` -> `東京都新宿区西新宿2-8-1`); empty when the key starts with a
    number (a street number first, as abroad) or has none."""
    match = _ADDRESS_BASE.match(address_key(address))
    return match.group().rstrip("-") if match else ""


@functools.lru_cache(maxsize=2**18)
def _address_numbers(address: str) -> tuple[str, ...]:
    return tuple(_NUMBERS.findall(address_key(address)))


def _numbers_agree(a: str, b: str) -> bool:
    """Whether the numbers of two addresses (丁目, 番地, 号, the room) can be one place: the same, one list
    the start of the other (a room number added), or one number mistyped by one digit. In one town,
    addresses differ only by their numbers: the text alone would find neighbours similar."""
    numbers_a, numbers_b = _address_numbers(a), _address_numbers(b)
    shorter = min(len(numbers_a), len(numbers_b))
    if numbers_a[:shorter] == numbers_b[:shorter]:
        return True
    if len(numbers_a) != len(numbers_b):
        return False
    differing = [(x, y) for x, y in zip(numbers_a, numbers_b, strict=True) if x != y]
    return len(differing) == 1 and Levenshtein.distance(*differing[0], score_cutoff=1) <= 1


def address_similarity(a: str, b: str) -> float:
    """Similarity 0..1 of two addresses: the normalized Indel similarity of their `address_key`s, or of
    their `sorted_address_key`s and the `address_words_similarity` (where both are western) when higher; at
    least BUILDING_LEFT_OUT when one is the other without its building (the same `address_base`); halved
    when their numbers disagree (`_numbers_agree`); 0 when one is empty. The blocks' prefilter relies on it
    being no higher than those three similarities unless the bases are equal."""
    key_a, key_b = address_key(a), address_key(b)
    if not key_a or not key_b:
        return 0.0
    if key_a == key_b:
        return 1.0
    similarity = Indel.normalized_similarity(key_a, key_b)
    sorted_a, sorted_b = sorted_address_key(a), sorted_address_key(b)
    if sorted_a and sorted_b:
        similarity = max(similarity, Indel.normalized_similarity(sorted_a, sorted_b), address_words_similarity(a, b))
    if not _numbers_agree(a, b):
        return similarity / 2
    base = address_base(a)
    if base and base == address_base(b) and base in (key_a, key_b):
        return max(BUILDING_LEFT_OUT, similarity)  # the building left out
    return similarity


def _one_substitution(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def name_level(a: PersonRecord, b: PersonRecord) -> Level | None:
    """How the names and readings compare (a key of NAME_WEIGHTS); None when no pair of keys is there."""
    similarities = [name_similarity(x, y) for x, y in ((a.name_key, b.name_key), (a.kana_key, b.kana_key)) if x and y]
    if not similarities:
        return None
    best, worst = max(similarities), min(similarities)
    if best == 1.0:
        if worst == 1.0:
            return Level.EXACT
        return Level.VARIANT if worst >= NAME_SIMILAR or _one_edit(a, b) else Level.ONE_EXACT
    if len(a.name_parts) > 1 and sorted(a.name_parts) == sorted(b.name_parts):
        return Level.SWAPPED
    if best >= 0.93:
        return Level.CLOSE
    if worst >= NAME_SIMILAR:  # every key similar: a typo in the name and its reading (浅野健介 / 浅野謙介)
        return Level.SIMILAR
    if _share_part(a, b):  # one part the same, the other not similar as a whole: 山田太郎 / 山田花子
        return Level.SAME_FAMILY if _same_part(a.name_parts[0], b.name_parts[0]) else Level.SAME_GIVEN
    return Level.SIMILAR if best >= NAME_SIMILAR else Level.DIFFERENT


def _one_edit(a: PersonRecord, b: PersonRecord) -> bool:
    """Name keys and reading keys (where both are there) at most one character apart: 斉藤 / 斎藤."""
    return all(Levenshtein.distance(x, y, score_cutoff=1) <= 1
               for x, y in ((a.name_key, b.name_key), (a.kana_key, b.kana_key)) if x and y)  # fmt: skip


def _same_part(a: str, b: str) -> bool:
    """Whether two name parts are one: equal, or (parts of PART_MIN_LENGTH characters or more) at least
    PART_SIMILAR Jaro-Winkler-similar, a typo (Harriet / Harroet, スズキ / スズギ); 2-character kanji parts
    one character apart (山田 / 山口) are other names."""
    return a == b or (min(len(a), len(b)) >= PART_MIN_LENGTH and JaroWinkler.similarity(a, b) >= PART_SIMILAR)


def _share_part(a: PersonRecord, b: PersonRecord) -> bool:
    """Both names have several parts and one of them is the same (`_same_part`: 山田 太郎 / 山田 次郎,
    太郎 山田 / 山田 太郎)."""
    return (len(a.name_parts) > 1 and len(b.name_parts) > 1
            and any(_same_part(x, y) for x in a.name_parts for y in b.name_parts))  # fmt: skip


def birth_level(a: datetime.date | None, b: datetime.date | None) -> Level | None:
    """How two birth dates compare (a key of BIRTH_WEIGHTS); None when one is missing."""
    if a is None or b is None:
        return None
    if a == b:
        return Level.EXACT
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return Level.TRANSPOSED
    if _one_substitution(a.strftime("%Y%m%d"), b.strftime("%Y%m%d")):
        return Level.ONE_DIGIT
    return Level.DIFFERENT


def address_level(a: str, b: str) -> Level | None:
    """How two addresses compare (a key of ADDRESS_WEIGHTS); None when one is missing."""
    similarity = address_similarity(a, b)
    if not similarity and not (address_key(a) and address_key(b)):
        return None
    if similarity == 1.0:
        return Level.EXACT
    if similarity >= 0.9:
        return Level.CLOSE
    return Level.SIMILAR if similarity >= ADDRESS_SIMILAR else Level.DIFFERENT


def postal_level(a: str, b: str) -> Level | None:
    """How two postal codes compare (a key of POSTAL_WEIGHTS); None when one is missing."""
    if not a or not b:
        return None
    if a == b:
        return Level.EXACT
    return Level.ONE_DIGIT if _one_substitution(a, b) else Level.DIFFERENT


def match_weight(a: PersonRecord, b: PersonRecord) -> float:
    """The Fellegi-Sunter match weight of a pair: the log2 odds that they are one person."""
    weight = PRIOR_WEIGHT
    for level, weights in (
        (name_level(a, b), NAME_WEIGHTS),
        (birth_level(a.birth_date, b.birth_date), BIRTH_WEIGHTS),
        (address_level(a.address, b.address), ADDRESS_WEIGHTS),
        (postal_level(a.postal_code, b.postal_code), POSTAL_WEIGHTS),
    ):
        if level is not None:
            weight += weights[level]
    return weight


def match_probability(a: PersonRecord, b: PersonRecord) -> float:
    """The model's probability 0..1 that two records are one person, rounded to 4 places; symmetric."""
    return round(1.0 / (1.0 + 2.0 ** -match_weight(a, b)), 4)


def _similar_names(a: PersonRecord, b: PersonRecord) -> bool:
    """The name condition of name_postal and name_birth: a similar name or reading, or a shared name part."""
    return (name_similarity(a.name_key, b.name_key) >= NAME_SIMILAR
            or name_similarity(a.kana_key, b.kana_key) >= NAME_SIMILAR or _share_part(a, b))  # fmt: skip


def match_pair(a: PersonRecord, b: PersonRecord, *, rules: Collection[str], min_score: float) -> list[tuple[str, float, str]]:
    """The fuzzy rules of `rules` that say these two may be one person: [(rule, score 0..1, key)], in
    FUZZY_RULES order. Every rule's score is the model's probability; a rule holds when its block is
    shared, its condition is met and the probability reaches `min_score`."""
    same_kana = bool(a.kana_key) and a.kana_key == b.kana_key
    same_postal = bool(a.postal_code) and a.postal_code == b.postal_code
    same_birth = a.birth_date is not None and a.birth_date == b.birth_date
    conditions = {
        KANA_BIRTH: same_kana and same_birth,
        KANA_ADDRESS: same_kana and address_similarity(a.address, b.address) >= ADDRESS_SIMILAR,
        NAME_POSTAL: same_postal and _similar_names(a, b),
        NAME_BIRTH: same_birth and _similar_names(a, b),
        BIRTH_ADDRESS: same_birth and address_similarity(a.address, b.address) >= ADDRESS_SIMILAR,
    }
    held = [rule for rule in FUZZY_RULES if rule in rules and conditions[rule]]
    if not held:
        return []
    score = match_probability(a, b)
    if score < min_score:
        return []
    keys = {KANA_BIRTH: a.kana_key, KANA_ADDRESS: a.kana_key, NAME_POSTAL: a.postal_code,
            NAME_BIRTH: a.birth_date.isoformat() if a.birth_date else "",
            BIRTH_ADDRESS: a.birth_date.isoformat() if a.birth_date else ""}  # fmt: skip
    return [(rule, score, keys[rule]) for rule in held]


def _close_indices(queries: list[str | None], keys: list[str | None], index: int, start: int, scorer,
                   cutoff: float) -> Iterator[int]:
    """The indices from `start` on whose key is at least `cutoff` similar to queries[index] by `scorer`
    (None keys, the missing ones, are skipped by rapidfuzz)."""
    if queries[index] is None:
        return
    for _, _, position in process.extract(queries[index], keys[start:], scorer=scorer, score_cutoff=cutoff, limit=None):
        yield start + position


def _long_part(member: PersonRecord, position: int) -> str | None:
    """The name part at `position` of a name of several parts, if it may be one typo off another
    (`_same_part`); None otherwise."""
    parts = member.name_parts
    if len(parts) > 1 and position < len(parts) and len(parts[position]) >= PART_MIN_LENGTH:
        return parts[position]
    return None


def _prefilter(field: str, members: list[PersonRecord]):
    """What a pair of a block must share to be worth scoring, by the conditions of the block's rules:
    [(query keys, keys, scorer, cutoff)] compared by similarity, and per member the exact tokens (a name
    part, the birth date, the address base) compared by equality."""
    # Cutoffs below the conditions': with a cutoff, rapidfuzz's C++ scorers drop some pairs right at it
    # (JaroWinkler 0.85 exactly scores 0 with score_cutoff=0.85); the conditions are checked again exactly.
    name_cutoff, address_cutoff = NAME_SIMILAR - 0.01, ADDRESS_SIMILAR - 0.01
    similar: list[tuple[list[str | None], list[str | None], object, float]] = []
    tokens: list[set[str]] = [set() for _ in members]
    if field in ("postal_code", "birth_date"):  # name_postal, name_birth: similar names, a shared part
        for keys in ([member.name_key or None for member in members], [member.kana_key or None for member in members]):
            similar.append((keys, keys, JaroWinkler.similarity, name_cutoff))
        for member, member_tokens in zip(members, tokens, strict=True):
            if len(member.name_parts) > 1:
                member_tokens.update(f"name:{part}" for part in member.name_parts)
        # Parts one typo apart (`_same_part`): the parts at each position against those at every position.
        positions = max((len(member.name_parts) for member in members), default=0)
        long_parts = [[_long_part(member, position) for member in members] for position in range(positions)]
        for queries, keys in itertools.product(long_parts, repeat=2):
            similar.append((queries, keys, JaroWinkler.similarity, PART_SIMILAR - 0.01))
    if field in ("kana_key", "birth_date"):  # kana_address, birth_address: similar addresses
        for address_form, scorer, cutoff in ((address_key, Indel.normalized_similarity, address_cutoff),
                                             (sorted_address_key, Indel.normalized_similarity, address_cutoff),
                                             (address_words, fuzz.token_set_ratio, 100 * address_cutoff)):  # fmt: skip
            keys = [address_form(member.address) or None for member in members]
            similar.append((keys, keys, scorer, cutoff))
        for member, member_tokens in zip(members, tokens, strict=True):
            if address_base(member.address):
                member_tokens.add(f"address:{address_base(member.address)}")
    if field == "kana_key":  # kana_birth: the same birth date
        for member, member_tokens in zip(members, tokens, strict=True):
            if member.birth_date is not None:
                member_tokens.add(f"birth:{member.birth_date.isoformat()}")
    return similar, tokens


def _candidate_pairs(field: str, members: list[PersonRecord], only: set[int] | None) -> Iterator[tuple[int, int]]:
    """Index pairs (i < j) of a block worth scoring: those that may meet a condition of the block's rules
    (`_prefilter`), a superset of the pairs match_pair takes. With `only`: the pairs touching it."""
    size = len(members)
    queries = range(size) if only is None else [i for i in range(size) if members[i].id in only]
    similar, tokens = _prefilter(field, members)
    by_token: dict[str, list[int]] = {}
    for index, member_tokens in enumerate(tokens):
        for token in member_tokens:
            by_token.setdefault(token, []).append(index)
    seen = set()
    for i in queries:
        # Without `only` each pair is found from its lower index; with it, from every member of `only`.
        start = i + 1 if only is None else 0
        sharing = (j for token in tokens[i] for j in by_token[token] if j >= start)
        close = (j for queries, keys, scorer, cutoff in similar
                 for j in _close_indices(queries, keys, i, start, scorer, cutoff))  # fmt: skip
        for j in itertools.chain(close, sharing):
            pair = (min(i, j), max(i, j))
            if i != j and pair not in seen:
                seen.add(pair)
                yield pair


def find_matches(records: Iterable[PersonRecord], *, rules: Collection[str], min_score: float,
                 only_ids: Collection[int] | None = None) -> list[FuzzyMatch]:
    """Every fuzzy match among `records` (with `only_ids`: the pairs with at least one of those ids),
    comparing within blocks only; one FuzzyMatch per pair and rule, sorted by (id_a, id_b, rule).
    Deterministic: the same records in any order give the same matches."""
    by_id = {record.id: record for record in records}
    only = set(only_ids) if only_ids is not None else None
    found: dict[tuple[int, int, str], FuzzyMatch] = {}
    for field, block_rules in BLOCKS.items():
        active = [rule for rule in block_rules if rule in rules]
        if not active:
            continue
        blocks: dict[object, list[PersonRecord]] = {}
        for record in by_id.values():
            value = getattr(record, field)
            if value:
                blocks.setdefault(value, []).append(record)
        for members in blocks.values():
            if len(members) < 2 or len(members) > MAX_BLOCK_SIZE:
                continue
            if only is not None and not any(member.id in only for member in members):
                continue
            members.sort(key=lambda record: record.id)
            for i, j in _candidate_pairs(field, members, only):
                a, b = members[i], members[j]
                for rule, score, key in match_pair(a, b, rules=active, min_score=min_score):
                    found[(a.id, b.id, rule)] = FuzzyMatch(a.id, b.id, rule, score, key)
    return sorted(found.values(), key=lambda match: (match.id_a, match.id_b, match.rule))
