"""Fuzzy 名寄せ rules on planted Japanese duplicates, in memory (issue 12, Quality: F1 >= 0.95).

    .venv/bin/python bench/dedup_fuzzy.py [--customers 50000] [--seed 1] [--min-score 0.85] [--without-name-parts] [--json]

Generates `--customers` people with bench/dedup_data.py (planted copies with half-width or hiragana
readings, kanji variants, typos, addresses typed otherwise; same-name strangers as in life), turns each into
the PersonRecord crm stores (normalize.names keys of the name and reading, the postal code as NNN-NNNN, the
address parts joined, `similarity.name_parts` unless `--without-name-parts`), runs
`normalize.similarity.find_matches` with every fuzzy rule, and prints precision, recall and F1 per rule and
overall against the planted NAME duplicates: pairs of one person that share no phone or e-mail (those are
the exact rules' job; a fuzzy pair among them is counted neither right nor wrong). No database.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dedup_data import generate
from dedup_febrl import print_quality, quality

from estatecrm.normalize.email import normalize_email
from estatecrm.normalize.names import name_key, normalize_name, normalize_reading, reading_key
from estatecrm.normalize.phone import normalize_phone
from estatecrm.normalize.postal import normalize_postal_code
from estatecrm.normalize.similarity import FUZZY_RULES, PersonRecord, find_matches, name_parts


def person_record(index: int, person, *, with_name_parts: bool) -> PersonRecord:
    """The PersonRecord of a generated person, as crm fills one from the customer it would store."""
    name = normalize_name(person.name)
    reading = normalize_reading(person.kana) if person.kana else None
    postal = normalize_postal_code(person.postal_code) if person.postal_code else None
    return PersonRecord(
        id=index,
        name_key=name_key(name),
        kana_key=reading_key(reading.value) if reading is not None and reading.is_valid else "",
        birth_date=person.birth_date,
        postal_code=postal.value if postal is not None and postal.is_valid else "",
        address="".join(part.strip() for part in (person.prefecture, person.city, person.street, person.building) if part),
        name_parts=name_parts(name) if with_name_parts else (),
    )


def contact_keys(person) -> set[str]:
    keys = set()
    for phone in person.phones:
        result = normalize_phone(phone)
        if result.is_valid:
            keys.add(f"phone:{result.value}")
    for email in person.emails:
        result = normalize_email(email)
        if result.is_valid:
            keys.add(f"email:{result.value}")
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-score", type=float, default=0.85, help="the companies' fuzzy_min_score (default 0.85)")
    parser.add_argument("--without-name-parts", action="store_true", help="records without name_parts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args()

    dataset = generate(options.customers, seed=options.seed)
    records = [person_record(index, person, with_name_parts=not options.without_name_parts)
               for index, person in enumerate(dataset.people)]  # fmt: skip
    contacts = [contact_keys(person) for person in dataset.people]
    same_person = dataset.true_pairs()
    # A pair of one person sharing a phone or e-mail is the exact rules' to find: left out of the count.
    exact_pairs = {pair for pair in same_person if contacts[pair[0]] & contacts[pair[1]]}
    truth = same_person - exact_pairs

    started = time.perf_counter()
    matches = find_matches(records, rules=FUZZY_RULES, min_score=options.min_score)
    seconds = time.perf_counter() - started

    def counted(pairs):
        return {pair for pair in pairs if pair not in exact_pairs}

    by_rule = {rule: counted((m.id_a, m.id_b) for m in matches if m.rule == rule) for rule in FUZZY_RULES}
    report = {
        "customers": options.customers,
        "seed": options.seed,
        "name_duplicates": len(truth),
        "min_score": options.min_score,
        "name_parts": not options.without_name_parts,
        "seconds": round(seconds, 2),
        "rules": {rule: quality(pairs, truth) for rule, pairs in by_rule.items()},
        "overall": quality(counted((m.id_a, m.id_b) for m in matches), truth),
    }
    if options.json:
        print(json.dumps(report))
        return
    print(f"planted: {options.customers} customers (seed {options.seed}), {len(truth)} name duplicates, "
          f"min_score {options.min_score}, name_parts {report['name_parts']}, find_matches {report['seconds']} s")  # fmt: skip
    print_quality(report)


if __name__ == "__main__":
    main()
