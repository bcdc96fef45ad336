"""Case list and case detail latency with a million cases (issue: the working CRM, Performance).

    .venv/bin/python bench/case_list.py [--cases 1000000] [--workdir DIR] [--requests 40] [--reuse]

Fills a database (DATABASE_URL, default a SQLite file in the work directory) with one company of
`--cases` cases (one customer each, a phone and an e-mail per customer, every tenth phone shared
with another customer, tags on a third of them, updates spread over two years), then requests pages through Django's full stack (middleware,
access rules, templates) as a logged-in user and prints p50/p95 in milliseconds for: the first
page, a filtered page (status + owning unit), a name search, a phone search, a deep keyset page
(90 % down the list), an agent's first page (access rules applied), the case detail, the
名寄せ候補あり view and the side menu's counts (uncached).
`--reuse` keeps an existing filled database (filling a million cases takes a few minutes).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH = 20_000


def setup_django(workdir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "estatecrm.config.settings.base")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'cases.sqlite3'}")
    os.environ["ESTATECRM_VAR_DIR"] = str(workdir)
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def fill(cases: int) -> None:
    import datetime

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from estatecrm.core import testing
    from estatecrm.crm.actions import customer_keys, do_upsert_rank, do_upsert_tag
    from estatecrm.crm.case_numbers import allocate_case_numbers
    from estatecrm.crm.choices import CaseKind, CaseOrigin, CaseStatus, ContactPointKind
    from estatecrm.crm.demo import FAMILY, GIVEN
    from estatecrm.crm.models import Case, CaseTag, Contact, ContactPoint, Customer
    from estatecrm.tenancy.choices import CaseVisibility, Role

    call_command("migrate", verbosity=0)
    company = testing.make_company("bench", "ベンチ不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    stores = [testing.make_unit(company, code, parent=hq, name=name, visibility=visibility) for code, name, visibility in (
        ("SBY", "渋谷店", CaseVisibility.ORG), ("SJK", "新宿店", CaseVisibility.ASSIGNEES), ("YKH", "横浜店", CaseVisibility.ORG),
        ("KWS", "川崎店", CaseVisibility.ORG))]
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@bench.example.jp", name="管理 太郎")
    agents = [testing.make_user(company, stores[i % 4], email=f"agent{i:02d}@bench.example.jp", name=f"担当 {i:02d}") for i in range(12)]
    ranks = [do_upsert_rank(company=company, name=name, position=i)[0] for i, name in enumerate("SABC")]
    tags = [do_upsert_tag(company=company, name=name, position=i)[0] for i, name in enumerate(["ファミリー", "単身", "ペット", "法人"])]
    rng = random.Random(7)
    now = timezone.now()
    statuses = list(CaseStatus.values)
    keys = {}  # the name/reading keys of each of the few hundred name combinations
    started = time.perf_counter()
    for offset in range(0, cases, BATCH):
        size = min(BATCH, cases - offset)
        with transaction.atomic():
            customers = []
            for _index in range(size):
                family, family_kana = rng.choice(FAMILY)
                given, given_kana = rng.choice(GIVEN)
                name, kana = f"{family} {given}", f"{family_kana} {given_kana}"
                if name not in keys:
                    keys[name] = customer_keys("person", name, kana)
                key, kana_key = keys[name]
                customers.append(Customer(company=company, name=name, name_key=key, kana=kana, kana_key=kana_key))
            Customer.objects.bulk_create(customers, batch_size=5000)
            contacts = Contact.objects.bulk_create([Contact(company=company, customer=c, name=c.name) for c in customers], batch_size=5000)
            points = []
            for index, contact in zip(range(offset, offset + size), contacts, strict=True):
                # Every tenth customer shares the previous one's phone: candidates for 名寄せ, as in real data.
                phone = f"+8190{index - 1 if index and index % 10 == 0 else index:08d}"
                points.append(ContactPoint(company=company, contact=contact, customer_id=contact.customer_id, kind=ContactPointKind.MOBILE,
                                           raw=f"090-{index // 10000:04d}-{index % 10000:04d}", normalized=phone, position=0))
                points.append(ContactPoint(company=company, contact=contact, customer_id=contact.customer_id, kind=ContactPointKind.EMAIL,
                                           raw=f"user{index}@example.jp", normalized=f"user{index}@example.jp", position=1))
            ContactPoint.objects.bulk_create(points, batch_size=5000)
            batch_cases = []
            for customer, number in zip(customers, allocate_case_numbers(company.pk, len(customers)), strict=True):
                agent = rng.choice(agents)
                store = stores[agents.index(agent) % 4]
                batch_cases.append(Case(
                    company=company, number=number, customer=customer, kind=CaseKind.RENT if rng.random() < 0.7 else CaseKind.BUY,
                    status=rng.choice(statuses), rank=rng.choice(ranks + [None]), owning_org=store, main_assignee=agent,
                    origin=rng.choice(CaseOrigin.values), started_on=(now - datetime.timedelta(days=rng.randint(0, 1500))).date(),
                ))
            Case.objects.bulk_create(batch_cases, batch_size=5000)
            CaseTag.objects.bulk_create([CaseTag(company=company, case=case, tag=rng.choice(tags), position=0)
                                         for case in batch_cases if rng.random() < 0.33], batch_size=5000)
        done = offset + size
        print(f"\r  filled {done:,} cases ({done / (time.perf_counter() - started):,.0f}/s)", end="", flush=True)
    print()
    from django.db import connection

    with connection.cursor() as cursor:
        # Spread the last updates over two years (one statement; auto_now would stamp them all "now").
        if connection.vendor == "sqlite":
            cursor.execute("UPDATE crm_case SET updated_at = datetime('now', '-' || (abs(random()) % 63072000) || ' seconds')")
        else:
            cursor.execute("UPDATE crm_case SET updated_at = now() - random() * interval '730 days'")
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")


def measure(requests: int) -> None:
    from django.core.cache import cache
    from django.test import Client

    from estatecrm.crm.filtersets import CaseFilters, encode_cursor, filter_cases
    from estatecrm.crm.models import Case
    from estatecrm.tenancy.models import OrgUnit, User
    from estatecrm.tenancy.selectors import actor_for

    admin = User.objects.get(email="admin@bench.example.jp")
    agent = User.objects.get(email="agent00@bench.example.jp")
    total = Case.objects.unscoped().filter(company_id=admin.company_id).count()
    deep = filter_cases(actor=actor_for(admin), filters=CaseFilters())[int(total * 0.9)]
    store = OrgUnit.objects.unscoped().get(company_id=admin.company_id, code="SBY")
    case_ids = list(Case.objects.unscoped().filter(company_id=admin.company_id).values_list("pk", flat=True)[:: max(1, total // 500)])
    rng = random.Random(3)
    admin_client, agent_client = Client(), Client()
    admin_client.force_login(admin)
    agent_client.force_login(agent)
    scenarios = [
        ("list, first page", admin_client, lambda: "/cases/"),
        ("list, status + unit filter", admin_client, lambda: f"/cases/?status=追客中&org={store.pk}"),
        ("list, name search", admin_client, lambda: "/cases/?q=佐藤"),
        ("list, phone search", admin_client, lambda: f"/cases/?q=090-{rng.randint(0, total // 10000 - 1):04d}-0001"),
        ("list, deep keyset page (90%)", admin_client, lambda: f"/cases/?cursor={encode_cursor('-updated', deep)}"),
        ("list, agent first page", agent_client, lambda: "/cases/"),
        ("case detail", admin_client, lambda: f"/cases/{rng.choice(case_ids)}/"),
        ("possible duplicates, first page", admin_client, lambda: "/cases/?view=duplicates"),
        ("side menu counts (uncached)", admin_client, lambda: cache.clear() or "/cases/counts/"),
    ]
    print(f"{total:,} cases; {requests} requests per scenario after 3 warm-ups")
    print(f"{'scenario':34} {'p50 ms':>8} {'p95 ms':>8}")
    for name, client, url in scenarios:
        for _ in range(3):
            client.get(url())
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url())
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{name:34} {statistics.median(timings):8.1f} {p95:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--reuse", action="store_true", help="keep an existing filled database")
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="estatecrm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    setup_django(workdir)
    from django.core.management import call_command

    from estatecrm.tenancy.models import Company

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not (options.reuse and Company.objects.filter(code="bench").exists()):
        fill(options.cases)
    measure(options.requests)


if __name__ == "__main__":
    main()
