"""名寄せ merge latency: two cases with 1,000 activities each (issue 12: under 300 ms p95).

    .venv/bin/python bench/dedup_merge.py [--activities 1000] [--rounds 30] [--background 2000] [--workdir DIR]

Fills a database (DATABASE_URL, default a fresh SQLite file in the work directory) with one company of
`--background` other customers and cases (a phone and an e-mail each, so the candidate refresh has an index
to search), then pairs of cases sharing a phone with `--activities` activities, 20 introductions, 5 attachments,
20 LINE messages, 3 inquiries and 2 open visit appointments each (the pair in two units), and times through
the action itself (dedup.merge.do_merge_cases as a company admin, the whole transaction and its commit):
`--rounds` merges with 活動履歴を統合する, their undos, and as many links (統合しない). Prints p50/p95/max in ms.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(workdir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "estatecrm.config.settings.base")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'merge.sqlite3'}")
    os.environ["ESTATECRM_VAR_DIR"] = str(workdir)
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def fill(background: int):
    """A company, two units, an admin, and `background` customers with a case each (through the pipeline's bulk writer)."""
    from django.core.management import call_command
    from django.db import transaction

    from estatecrm.core import testing
    from estatecrm.tenancy.choices import Role

    call_command("migrate", verbosity=0)
    company = testing.make_company("bench", "ベンチ不動産株式会社")
    top = testing.make_unit(company, "HQ", name="本社")
    units = [testing.make_unit(company, "SBY", parent=top, name="渋谷店"), testing.make_unit(company, "SJK", parent=top, name="新宿店")]
    admin = testing.make_user(company, top, role=Role.ADMIN, email="admin@bench.example.jp")
    from estatecrm.core.scope import company_scope
    from estatecrm.crm.actions import (
        CaseInput,
        ContactInput,
        CustomerInput,
        do_create_case,
        do_create_customer,
    )
    from estatecrm.crm.choices import CaseKind

    started = time.perf_counter()
    with company_scope(company):
        for start in range(0, background, 1000):
            with transaction.atomic():
                for i in range(start, min(background, start + 1000)):
                    customer = do_create_customer(company=company, data=CustomerInput(
                        name=f"顧客 {i}", kana="コキャク", contacts=[ContactInput(name=f"顧客 {i}", phones=[("mobile", f"090{i:08d}")],
                                                                                emails=[f"c{i}@example.jp"])]), acting_user=None)
                    do_create_case(customer=customer, data=CaseInput(kind=CaseKind.RENT, owning_org=units[i % 2]), acting_user=None)
    print(f"filled {background:,} background cases in {time.perf_counter() - started:.1f} s")
    return company, units, admin


def make_pair(company, units, activities: int, index: int):
    import datetime
    import uuid

    from django.db import transaction

    from estatecrm.core import testing
    from estatecrm.crm.choices import ActivityKind
    from estatecrm.crm.models import Activity, Attachment, Introduction
    from estatecrm.inquiries.choices import Channel, InquiryStatus
    from estatecrm.inquiries.models import Inquiry, LineMessage

    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    pair = []
    with transaction.atomic():
        for side, unit in enumerate(units):
            case = testing.make_case(company, unit, customer_name=f"佐藤 花子{index}", phones=[("mobile", f"080{index:08d}")],
                                     emails=[f"pair{index}-{side}@example.jp"])
            rows = [Activity(company_id=company.pk, case=case, kind=ActivityKind.CALL, occurred_at=when + datetime.timedelta(minutes=i),
                             subject=f"電話 {i}") for i in range(activities)]
            rows += [Activity(company_id=company.pk, case=case, kind=ActivityKind.VISIT_APPOINTMENT, is_done=False, org_unit=unit,
                              occurred_at=when + datetime.timedelta(days=30 + i)) for i in range(2)]
            Activity.objects.bulk_create(rows)
            Introduction.objects.bulk_create([Introduction(company_id=company.pk, case=case, listing_name=f"物件 {i}") for i in range(20)])
            Attachment.objects.bulk_create([Attachment(company_id=company.pk, case=case, file=f"attachments/x{i}.pdf", original_name=f"x{i}.pdf",
                                                       uploaded_at=when) for i in range(5)])
            LineMessage.objects.bulk_create([LineMessage(company_id=company.pk, case=case, retry_key=uuid.uuid4(), line_user_id="U0",
                                                         text=f"メッセージ {i}", sent_at=when) for i in range(20)])
            Inquiry.objects.bulk_create([Inquiry(company_id=company.pk, case=case, customer_id=case.customer_id, channel=Channel.API,
                                                 status=InquiryStatus.CREATED, received_at=when) for _ in range(3)])
            pair.append(case)
    return pair


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   max {ordered[-1] * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--background", type=int, default=2_000)
    parser.add_argument("--workdir")
    options = parser.parse_args()
    workdir = Path(options.workdir or tempfile.mkdtemp(prefix="estatecrm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in workdir.glob("merge.sqlite3*"):
        stale.unlink()
    setup_django(workdir)
    from django.db import connection

    from estatecrm.core.scope import company_scope
    from estatecrm.crm.models import Activity
    from estatecrm.dedup.merge import MergeRequest, do_merge_cases, do_undo_merge

    print(f"database: {connection.vendor}  workdir: {workdir}")
    company, units, admin = fill(options.background)
    timings = {"merge (integrate)": [], "undo": [], "link": []}
    with company_scope(company):
        for round_number in range(options.rounds):
            survivor, other = make_pair(company, units, options.activities, round_number)
            started = time.perf_counter()
            merge = do_merge_cases(acting_user=admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True, fill_empty=True))
            timings["merge (integrate)"].append(time.perf_counter() - started)
            assert Activity.objects.filter(case=survivor).count() == 2 * (options.activities + 2)
            started = time.perf_counter()
            do_undo_merge(acting_user=admin, merge_id=merge.pk)
            timings["undo"].append(time.perf_counter() - started)
            started = time.perf_counter()
            do_merge_cases(acting_user=admin, request=MergeRequest(survivor.pk, [other.pk], integrate=False))
            timings["link"].append(time.perf_counter() - started)
    print(f"{options.rounds} rounds, two cases of {options.activities:,} activities each (+ 2 open visits, 20 introductions, "
          f"5 attachments, 20 LINE messages, 3 inquiries), {options.background:,} other cases")
    for name, samples in timings.items():
        print(f"{name:18} {percentiles(samples)}")


if __name__ == "__main__":
    main()
