"""名寄せ scan at scale, and how right it is: `estatecrm dedup scan` over 1,000,000 planted customers.

    .venv/bin/python bench/dedup_scan.py [--customers 1000000] [--seed 1] [--workdir DIR] [--reuse] [--json]

Generates `--customers` Japanese customers with planted duplicates (bench/dedup_data.py), writes them into
a fresh SQLite database (DATABASE_URL to use another) the way the pipeline's bulk writers do (rows as tuples
through `pipeline.bulk.insert_rows`, ids allocated up front; names, readings, postal codes, phones and
e-mails normalized by the same functions as the crm actions; one case per customer), then times
`dedup.scan.scan_company` with `rules="exact"` and with `rules="all"` (pairs file written, as the command
does) and compares the candidate rows with the planted truth:
- per rule: precision (its pairs that are one real person) and recall (the pairs planted for that rule
  that it found), F1;
- exact rules together on the planted phone/e-mail pairs, fuzzy rules together on the planted name pairs.
`--reuse` keeps a filled database of the same size and seed (filling 1,000,000 takes a few minutes).
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH = 20_000
EXACT = ("phone", "email")


def setup_django(workdir: Path, name: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "estatecrm.config.settings.base")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / name}")
    os.environ["ESTATECRM_VAR_DIR"] = str(workdir)
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "bench"))
    import django

    django.setup()


def fill(data) -> list[int]:
    """Write the people as customers (with a contact, its points and one case each); returns the case id of
    each person, by index."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from estatecrm.core import testing
    from estatecrm.crm.actions import customer_keys
    from estatecrm.crm.case_numbers import allocate_case_numbers
    from estatecrm.crm.models import Case, Contact, ContactPoint, Customer
    from estatecrm.normalize.email import normalize_email
    from estatecrm.normalize.names import normalize_name, normalize_reading
    from estatecrm.normalize.phone import normalize_phone
    from estatecrm.normalize.postal import normalize_postal_code
    from estatecrm.pipeline.bulk import allocate_ids, insert_rows

    call_command("migrate", verbosity=0)
    company = testing.make_company("bench", "ベンチ不動産株式会社")
    unit = testing.make_unit(company, "HQ", name="本社")
    now = timezone.now()
    stamps = {"company_id": company.pk, "created_at": now, "updated_at": now, "deleted_at": None}
    customer_columns = ("id", "name", "name_key", "kana", "kana_key", "birth_date", "postal_code", "prefecture", "city", "street", "building")
    customer_constants = {**stamps, "kind": "person", "gender": "", "employer": "", "annual_income": None, "household_size": None,
                          "homepage": "", "line_link_number": "", "line_user_id": "", "is_unsubscribed": False, "custom_values": {}}
    contact_constants = {"company_id": company.pk, "created_at": now, "updated_at": now, "position": 0}
    point_columns = ("contact_id", "customer_id", "kind", "raw", "normalized", "invalid_reason", "position")
    case_columns = ("id", "number", "customer_id")
    case_constants = {**stamps, "kind": "rent", "status": "following", "sub_status_id": None, "rank_id": None, "owning_org_id": unit.pk,
                      "main_assignee_id": None, "project_id": None, "origin": "manual", "source_system": "", "source_id": "",
                      "started_on": now.date(), "first_inquiry_date": None, "first_inquiry_source": "", "first_inquiry_listing_ref": "",
                      "first_inquiry_listing_name": "", "auto_intro_mail": False, "other_info": "", "needs_review": False,
                      "review_messages": [], "custom_values": {}, "next_action_at": None, "next_action": "", "last_contact_at": None}
    case_of: list[int] = []
    started = time.perf_counter()
    people = data.people
    for offset in range(0, len(people), BATCH):
        batch = people[offset:offset + BATCH]
        with transaction.atomic():
            customer_ids, contact_ids, case_ids = (allocate_ids(model, len(batch)) for model in (Customer, Contact, Case))
            numbers = allocate_case_numbers(company.pk, len(batch))
            customers, contacts, points, cases = [], [], [], []
            for person, customer_id, contact_id, case_id, number in zip(batch, customer_ids, contact_ids, case_ids, numbers, strict=True):
                name = normalize_name(person.name)
                reading = normalize_reading(person.kana) if person.kana else None
                kana = reading.value if reading is not None and reading.is_valid else ""
                key, kana_key = customer_keys("person", name, kana)
                postal = normalize_postal_code(person.postal_code) if person.postal_code else None
                customers.append((customer_id, name, key, kana, kana_key, person.birth_date, postal.value if postal and postal.is_valid else "",
                                  person.prefecture, person.city, person.street, person.building))
                contacts.append((contact_id, customer_id, name, kana))
                position = 0
                for kind, raws, normalize in (("mobile", person.phones, normalize_phone), ("email", person.emails, normalize_email)):
                    for raw in raws:
                        result = normalize(raw)
                        points.append((contact_id, customer_id, kind, raw, result.value if result.is_valid else "",
                                       "" if result.is_valid else result.reason, position))
                        position += 1
                cases.append((case_id, number, customer_id))
                case_of.append(case_id)
            insert_rows(Customer, customer_columns, customers, constants=customer_constants)
            insert_rows(Contact, ("id", "customer_id", "name", "kana"), contacts, constants=contact_constants)
            insert_rows(ContactPoint, point_columns, points, constants={"company_id": company.pk})
            insert_rows(Case, case_columns, cases, constants=case_constants)
        done = offset + len(batch)
        print(f"\r  filled {done:,} customers ({done / (time.perf_counter() - started):,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
    return case_of


def scores(found: set, truth: set, planted: set) -> dict:
    """precision of `found` against every true pair, recall against the `planted` ones, F1."""
    precision = len(found & truth) / len(found) if found else 1.0
    if not planted:
        return {"pairs": len(found), "planted": 0, "precision": round(precision, 4), "recall": None, "f1": None}
    recall = len(found & planted) / len(planted)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(found), "planted": len(planted), "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate(company, data, case_of: list[int]) -> dict:
    from estatecrm.crm.models import DuplicateCandidate

    person_of = {case_id: index for index, case_id in enumerate(case_of)}
    truth = data.true_pairs()
    planted: dict[str, set] = {}
    for pair in data.truth:
        planted.setdefault(pair.rule, set()).add((pair.a, pair.b))
    found: dict[str, set] = {}
    for a, b, rule in DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule").iterator(chunk_size=20_000):
        x, y = sorted((person_of[a], person_of[b]))
        found.setdefault(rule, set()).add((x, y))

    def union(rules, table):
        return set().union(*(table.get(rule, set()) for rule in rules))

    from estatecrm.crm.choices import FUZZY_DUPLICATE_RULES as FUZZY

    # A rule nothing was planted for (the generator plants for the five first rules) has no recall.
    report = {rule: scores(found.get(rule, set()), truth, planted.get(rule, set())) for rule in EXACT + FUZZY}
    report["exact"] = scores(union(EXACT, found), truth, union(EXACT, planted))
    report["fuzzy"] = scores(union(FUZZY, found), truth, union(FUZZY, planted))
    report["all"] = scores(union(EXACT + FUZZY, found), truth, union(EXACT + FUZZY, planted))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=str(ROOT / "var" / "bench"))
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    workdir = Path(options.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    name = f"dedup_{options.customers}_{options.seed}.sqlite3"
    database = workdir / name
    if database.exists() and not options.reuse:
        database.unlink()
    reused = database.exists()
    setup_django(workdir, name)
    import dedup_data

    from estatecrm.core.scope import company_scope
    from estatecrm.crm.models import Case
    from estatecrm.dedup.scan import scan_company
    from estatecrm.tenancy.models import Company

    started = time.perf_counter()
    data = dedup_data.generate(options.customers, seed=options.seed)
    generated = time.perf_counter() - started
    print(f"generated {len(data.people):,} people, {len(data.truth):,} planted pairs in {generated:.1f} s", file=sys.stderr)
    started = time.perf_counter()
    if reused:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        company = Company.objects.get(code="bench")
        case_of = list(Case.objects.for_company(company).order_by("pk").values_list("pk", flat=True))
    else:
        case_of = fill(data)
        company = Company.objects.get(code="bench")
    filled = time.perf_counter() - started
    timings, cpu_times, reports = {}, {}, {}
    with company_scope(company):
        for rules in ("exact", "all"):
            started, cpu = time.perf_counter(), time.process_time()
            result = scan_company(company, rules=rules, pairs_path=workdir / f"pairs_{rules}.csv")
            timings[rules] = round(time.perf_counter() - started, 2)
            cpu_times[rules] = round(time.process_time() - cpu, 2)
            print(f"scan --rules {rules}: {timings[rules]:.2f} s (CPU {cpu_times[rules]:.2f} s)  groups {result.groups:,}  cases_in_groups {result.cases_in_groups:,}  "
                  f"pairs {result.pairs:,}", file=sys.stderr)
            reports[rules] = evaluate(company, data, case_of)
    summary = {"customers": options.customers, "seed": options.seed, "machine": f"{platform.machine()} {os.cpu_count()} cpu",
               "python": platform.python_version(), "fill_s": round(filled, 1), "reused": reused, "scan_s": timings, "scan_cpu_s": cpu_times,
               "quality": reports["all"], "quality_exact_scan": reports["exact"]}
    if options.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    print(f"{options.customers:,} customers (seed {options.seed}); scan exact {timings['exact']:.2f} s (CPU {cpu_times['exact']:.2f} s), "
          f"all {timings['all']:.2f} s (CPU {cpu_times['all']:.2f} s)")
    print(f"{'rule':<14}{'pairs':>9}{'planted':>9}{'precision':>11}{'recall':>9}{'F1':>8}")
    for rule, line in reports["all"].items():
        recall, f1 = (f"{line['recall']:>9.4f}", f"{line['f1']:>8.4f}") if line["planted"] else (f"{'-':>9}", f"{'-':>8}")
        print(f"{rule:<14}{line['pairs']:>9,}{line['planted']:>9,}{line['precision']:>11.4f}{recall}{f1}")


if __name__ == "__main__":
    main()
