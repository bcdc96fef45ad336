"""Fuzzy 名寄せ rules: are two customers likely the same person, where neither phone nor e-mail matches?

Pure functions on `PersonRecord`s (no Django), shared by the incremental candidate store
(crm.duplicates), the full scan (dedup.scan) and the benchmarks, so that all of them find exactly the
same pairs. Pairs are only compared within a block: records with the same value of one of
`BLOCKS`' fields (columns of Customer, each indexed); a block larger than `MAX_BLOCK_SIZE` is skipped
(a reading or postal code that common names nobody in particular).

Rules (crm.choices.DuplicateRule):
- `kana_birth`: the same reading key and the same birth date;
- `kana_address`: the same reading key and a similar address;
- `name_postal`: a similar name within the same postal code.
"""

import datetime
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler
from rapidfuzz.fuzz import ratio

KANA_BIRTH = "kana_birth"
KANA_ADDRESS = "kana_address"
NAME_POSTAL = "name_postal"
FUZZY_RULES = (KANA_BIRTH, KANA_ADDRESS, NAME_POSTAL)

# The block field -> the rules evaluated on the pairs of one block.
BLOCKS: dict[str, tuple[str, ...]] = {
    "kana_key": (KANA_BIRTH, KANA_ADDRESS),
    "postal_code": (NAME_POSTAL,),
}
MAX_BLOCK_SIZE = 200


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """What the fuzzy rules read of a customer: its keys as crm stores them (normalize.names), the birth
    date, the postal code (7 digits, no hyphen) and the address (prefecture + city + street + building)."""

    id: int
    name_key: str = ""
    kana_key: str = ""
    birth_date: datetime.date | None = None
    postal_code: str = ""
    address: str = ""


@dataclass(frozen=True, slots=True)
class FuzzyMatch:
    id_a: int  # id_a < id_b
    id_b: int
    rule: str
    score: float
    key: str  # what the block shared (the reading key, the postal code)


def name_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return JaroWinkler.similarity(a, b)


def address_similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return ratio(a, b) / 100.0


def match_pair(a: PersonRecord, b: PersonRecord, *, rules: Collection[str], min_score: float) -> list[tuple[str, float, str]]:
    """The fuzzy rules of `rules` that say these two may be one person: [(rule, score 0..1, key)]."""
    found = []
    same_kana = bool(a.kana_key) and a.kana_key == b.kana_key
    if KANA_BIRTH in rules and same_kana and a.birth_date is not None and a.birth_date == b.birth_date:
        found.append((KANA_BIRTH, round(0.9 + 0.1 * name_similarity(a.name_key, b.name_key), 4), a.kana_key))
    if KANA_ADDRESS in rules and same_kana:
        score = address_similarity(a.address, b.address)
        if score >= min_score:
            found.append((KANA_ADDRESS, round(score, 4), a.kana_key))
    if NAME_POSTAL in rules and a.postal_code and a.postal_code == b.postal_code:
        score = name_similarity(a.name_key, b.name_key)
        if score >= min_score:
            found.append((NAME_POSTAL, round(score, 4), a.postal_code))
    return found


def find_matches(records: Iterable[PersonRecord], *, rules: Collection[str], min_score: float,
                 only_ids: Collection[int] | None = None) -> list[FuzzyMatch]:
    """Every fuzzy match among `records` (with `only_ids`: the pairs with at least one of those ids),
    comparing within blocks only; one FuzzyMatch per pair and rule, the best score. Deterministic."""
    records = list(records)
    only = set(only_ids) if only_ids is not None else None
    best: dict[tuple[int, int, str], FuzzyMatch] = {}
    for field, block_rules in BLOCKS.items():
        active = [rule for rule in block_rules if rule in rules]
        if not active:
            continue
        blocks: dict[object, list[PersonRecord]] = {}
        for record in records:
            value = getattr(record, field)
            if value:
                blocks.setdefault(value, []).append(record)
        for members in blocks.values():
            if len(members) < 2 or len(members) > MAX_BLOCK_SIZE:
                continue
            members.sort(key=lambda record: record.id)
            for index, a in enumerate(members):
                for b in members[index + 1:]:
                    if a.id == b.id or (only is not None and a.id not in only and b.id not in only):
                        continue
                    for rule, score, key in match_pair(a, b, rules=active, min_score=min_score):
                        known = best.get((a.id, b.id, rule))
                        if known is None or score > known.score:
                            best[(a.id, b.id, rule)] = FuzzyMatch(a.id, b.id, rule, score, key)
    return sorted(best.values(), key=lambda match: (match.id_a, match.id_b, match.rule))
