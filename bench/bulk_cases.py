"""The case list's bulk change on 1,000 selected cases (issue 9, finding 19: it runs inside the request).

    .venv/bin/python bench/bulk_cases.py [--cases 1000] [--repeat 5] [--workdir DIR] [--per-case]

Fills a database (DATABASE_URL, default a new SQLite file in the work directory; a PostgreSQL
database must exist) with one new company of `--cases` cases (two tags each), then times
`do_bulk_update_cases` on all of them for each operation, as the page calls it: reassign (between two
agents), set status (back and forth), remove the first tag (the others are renumbered), add it back,
and trash (the cases are put back, untimed, between repeats). Every timed change changes every case.
Prints the median and the slowest of `--repeat` runs and the statements of one run.
`--per-case` times the loop over the per-case actions that the set-based change replaced (the
"before" figures of docs/performance.md).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import StatementCounter  # noqa: E402


def setup_django(workdir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "estatecrm.config.settings.base")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bulk.sqlite3'}")
    os.environ["ESTATECRM_VAR_DIR"] = str(workdir)
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def fill(cases: int):
    from estatecrm.core import testing
    from estatecrm.crm.actions import customer_keys, do_upsert_tag
    from estatecrm.crm.case_numbers import allocate_case_numbers
    from estatecrm.crm.models import Case, CaseTag, Customer
    from estatecrm.tenancy.choices import Role

    code = f"bulk{time.time_ns() % 10**9}"
    company = testing.make_company(code, "ベンチ不動産株式会社")
    store = testing.make_unit(company, "SBY", name="渋谷店")
    admin = testing.make_user(company, store, role=Role.ADMIN, email=f"admin@{code}.example.jp", name="管理 太郎")
    agents = [testing.make_user(company, store, email=f"agent{i}@{code}.example.jp", name=f"担当 {i}") for i in range(2)]
    tags = [do_upsert_tag(company=company, name=name)[0] for name in ("ペット", "単身")]
    key, kana_key = customer_keys("person", "佐藤 花子", "サトウ ハナコ")
    customers = Customer.objects.bulk_create(
        [Customer(company=company, name="佐藤 花子", name_key=key, kana="サトウ ハナコ", kana_key=kana_key) for _ in range(cases)], batch_size=5000)
    numbers = allocate_case_numbers(company.pk, len(customers))
    created = Case.objects.bulk_create([Case(company=company, number=number, customer=customer, owning_org=store, main_assignee=agents[0],
                                             status="追客中") for customer, number in zip(customers, numbers, strict=True)], batch_size=5000)
    CaseTag.objects.bulk_create([CaseTag(company=company, case=case, tag=tag, position=position)
                                 for case in created for position, tag in enumerate(tags)], batch_size=5000)
    return admin, agents, tags, [case.pk for case in created]


def per_case_bulk_change(actor, case_ids, operation, value) -> int:
    """The bulk change before it became set-based: the per-case actions, case by case (for the "before" figures;
    adding a tag a case has already keeps it, as the set-based change does, where the old loop removed it)."""
    from django.db import transaction

    from estatecrm.crm.actions import (
        BulkOperation,
        _trash_case,
        administered_cases,
        do_set_case_tags,
        do_update_case,
    )
    from estatecrm.crm.models import CaseTag

    with transaction.atomic():
        cases = list(administered_cases(actor).filter(pk__in=list(case_ids), deleted_at__isnull=True).select_for_update().order_by("pk"))
        changed = 0
        for case in cases:
            if operation == BulkOperation.REASSIGN:
                changed += do_update_case(case=case, changes={"main_assignee": value}, acting_user=actor.user)
            elif operation == BulkOperation.SET_STATUS:
                changed += do_update_case(case=case, changes={"status": value}, acting_user=actor.user)
            elif operation == BulkOperation.TRASH:
                changed += _trash_case(case=case, acting_user=actor.user)
            else:
                tags = [link.tag for link in CaseTag.objects.for_company(actor.company_id).filter(case=case).select_related("tag").order_by("position")]
                wanted = (tags if value in tags else [*tags, value]) if operation == BulkOperation.ADD_TAG else [t for t in tags if t != value]
                changed += do_set_case_tags(case=case, tags=wanted, acting_user=actor.user)
        return changed


def measure(cases: int, repeat: int, per_case: bool) -> None:
    from django.db import connection

    from estatecrm.crm.actions import BulkOperation, do_bulk_update_cases
    from estatecrm.crm.models import Case
    from estatecrm.tenancy.selectors import actor_for

    admin, agents, tags, case_ids = fill(cases)
    actor = actor_for(admin)
    change = per_case_bulk_change if per_case else (
        lambda actor, case_ids, operation, value: do_bulk_update_cases(actor=actor, case_ids=case_ids, operation=operation, value=value))
    rounds = {
        "reassign": lambda i: (BulkOperation.REASSIGN, agents[(i + 1) % 2]),
        "set status": lambda i: (BulkOperation.SET_STATUS, ("申込中", "追客中")[i % 2]),
        "remove first tag": lambda i: (BulkOperation.REMOVE_TAG, tags[i % 2]),
        "add tag": lambda i: (BulkOperation.ADD_TAG, tags[i % 2]),
        "trash": lambda i: (BulkOperation.TRASH, None),
    }
    print(f"{connection.vendor}, {cases:,} cases, {'per-case actions (before)' if per_case else 'set-based (after)'}, {repeat} runs each")
    print(f"{'operation':18} {'median s':>9} {'max s':>7} {'statements':>11}")
    timings = {name: [] for name in rounds}
    statements = {}
    for i in range(repeat):
        for name, round_ in rounds.items():
            operation, value = round_(i)
            count = StatementCounter()
            with connection.execute_wrapper(count):
                started = time.perf_counter()
                changed = change(actor, case_ids, operation, value)
                timings[name].append(time.perf_counter() - started)
            assert changed == cases, (name, changed)
            statements[name] = count.statements
            if operation == BulkOperation.TRASH:
                Case.objects.for_company(admin.company_id).filter(pk__in=case_ids).update(deleted_at=None)
    for name, values in timings.items():
        print(f"{name:18} {statistics.median(values):9.3f} {max(values):7.3f} {statements[name]:11}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--per-case", action="store_true", help="time the per-case loop the set-based change replaced")
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="estatecrm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    setup_django(workdir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    measure(options.cases, options.repeat, options.per_case)


if __name__ == "__main__":
    main()
