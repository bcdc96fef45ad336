"""Case list and case detail latency with a million cases (issue: the working CRM, Performance).

    .venv/bin/python bench/case_list.py [--cases 1000000] [--workdir DIR] [--requests 40] [--reuse]

Fills a database (DATABASE_URL, default a SQLite file in the work directory) with one company of
`--cases` cases (one customer each, a phone and an e-mail per customer, every tenth phone shared
with another customer, tags on a third of them, updates spread over two years) in batches of
tuples (pipeline.bulk.insert_rows), then requests pages through Django's full stack (middleware,
access rules, templates) as a logged-in user and prints p50/p95 in milliseconds for: the first
page, a filtered page (status + owning unit), a name search, a phone search, a deep keyset page
(90 % down the list), an agent's first page (access rules applied), the follow-up lists (今日の対応,
対応漏れ, 未対応の新規 and 未対応の新規反響; as an admin and as an agent), the next-action sort, the case detail, the
名寄せ候補あり view and the side menu's counts (uncached). Cases carry follow-up data: 40 % a next
action (from a month back to two months ahead), 80 % a last contact.
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


def collect_static() -> None:
    """collectstatic (templates need its manifest), once per work directory: whitenoise's compression of
    every file takes minutes on a busy 2-core machine."""
    from django.conf import settings
    from django.core.management import call_command

    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)


def fill(cases: int, start: int = 0) -> None:
    """Set-based: rows as tuples through `pipeline.bulk.insert_rows` (executemany on SQLite, COPY on
    PostgreSQL), ids allocated up front, one transaction per BATCH cases; about a minute per million
    cases on SQLite instead of a quarter of an hour through the ORM. `start` > 0 grows an existing
    company of `start` cases to `cases` (bench/cost_growth.py): the same users, units, ranks and tags,
    phones numbered on from `start`."""
    import datetime

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from estatecrm.core import testing
    from estatecrm.crm.actions import customer_keys, do_upsert_rank, do_upsert_tag
    from estatecrm.crm.bulk_columns import CASE_COLUMNS, CONTACT_COLUMNS, CUSTOMER_COLUMNS, POINT_COLUMNS
    from estatecrm.crm.case_numbers import allocate_case_numbers
    from estatecrm.crm.choices import CaseOrigin, CaseStatus
    from estatecrm.crm.demo import FAMILY, GIVEN
    from estatecrm.crm.models import Case, CaseTag, Contact, ContactPoint, Customer
    from estatecrm.pipeline.bulk import allocate_ids, insert_rows
    from estatecrm.tenancy.choices import CaseVisibility, Role
    from estatecrm.tenancy.models import Company, OrgUnit, User

    call_command("migrate", verbosity=0)
    store_codes = (("SBY", "渋谷店", CaseVisibility.ORG), ("SJK", "新宿店", CaseVisibility.ASSIGNEES), ("YKH", "横浜店", CaseVisibility.ORG),
                   ("KWS", "川崎店", CaseVisibility.ORG))
    if start:
        company = Company.objects.get(code="bench")
        stores = [OrgUnit.objects.unscoped().get(company=company, code=code) for code, _name, _visibility in store_codes]
        agents = [User.objects.get(email=f"agent{i:02d}@bench.example.jp") for i in range(12)]
    else:
        company = testing.make_company("bench", "ベンチ不動産株式会社")
        hq = testing.make_unit(company, "HQ", name="本社")
        stores = [testing.make_unit(company, code, parent=hq, name=name, visibility=visibility) for code, name, visibility in store_codes]
        testing.make_user(company, hq, role=Role.ADMIN, email="admin@bench.example.jp", name="管理 太郎")
        agents = [testing.make_user(company, stores[i % 4], email=f"agent{i:02d}@bench.example.jp", name=f"担当 {i:02d}") for i in range(12)]
    ranks = [do_upsert_rank(company=company, name=name, position=i)[0].pk for i, name in enumerate("SABC")]
    tags = [do_upsert_tag(company=company, name=name, position=i)[0].pk for i, name in enumerate(["ファミリー", "単身", "ペット", "法人"])]
    rng = random.Random(7 + start)
    now = timezone.now()
    names = [(f"{family} {given}", f"{family_kana} {given_kana}") for family, family_kana in FAMILY for given, given_kana in GIVEN]
    names = [(name, kana, *customer_keys("person", name, kana)) for name, kana in names]
    statuses, origins, kinds = list(CaseStatus.values), list(CaseOrigin.values), ["rent"] * 7 + ["buy"] * 3
    seconds_in_two_years = 2 * 365 * 86400
    stamps = {"company_id": company.pk, "created_at": now, "updated_at": now, "deleted_at": None}

    def constants(columns, varying, values):
        return {name: values[name] for name in columns if name not in varying}

    customer_varying = ("id", "name", "name_key", "kana", "kana_key")
    customer_constants = constants(CUSTOMER_COLUMNS, customer_varying, {
        **stamps, "kind": "person", "gender": "", "birth_date": None, "postal_code": "", "prefecture": "", "city": "", "street": "",
        "building": "", "employer": "", "annual_income": None, "household_size": None, "homepage": "", "line_link_number": "",
        "line_user_id": "", "is_unsubscribed": False, "custom_values": {}})
    contact_varying = ("id", "customer_id", "name", "kana")
    contact_constants = constants(CONTACT_COLUMNS, contact_varying, {**stamps, "position": 0})
    point_varying = ("contact_id", "customer_id", "kind", "raw", "normalized", "position")
    point_constants = constants(POINT_COLUMNS, point_varying, {"company_id": company.pk, "invalid_reason": ""})
    # Follow-up as an office has it: 40 % of the cases with a next action (a month back to two months
    # ahead, so about 1 % due on any day and a third of them overdue), 80 % contacted at least once.
    case_varying = ("id", "number", "customer_id", "kind", "status", "rank_id", "owning_org_id", "main_assignee_id", "origin", "started_on",
                    "next_action_at", "next_action", "last_contact_at", "updated_at")
    case_constants = constants(CASE_COLUMNS, case_varying, {
        **stamps, "sub_status_id": None, "project_id": None, "source_system": "", "source_id": "", "first_inquiry_date": None,
        "first_inquiry_source": "", "first_inquiry_listing_ref": "", "first_inquiry_listing_name": "", "auto_intro_mail": False,
        "other_info": "", "needs_review": False, "review_messages": [], "custom_values": {}})
    started = time.perf_counter()
    for offset in range(start, cases, BATCH):
        size = min(BATCH, cases - offset)
        with transaction.atomic():
            customer_ids, contact_ids, case_ids = allocate_ids(Customer, size), allocate_ids(Contact, size), allocate_ids(Case, size)
            customers, contacts, points, case_rows, tag_rows = [], [], [], [], []
            numbers = iter(allocate_case_numbers(company.pk, size))
            for index, customer_id, contact_id, case_id in zip(range(offset, offset + size), customer_ids, contact_ids, case_ids, strict=True):
                name, kana, key, kana_key = rng.choice(names)
                customers.append((customer_id, name, key, kana, kana_key))
                contacts.append((contact_id, customer_id, name, kana))
                # Every tenth customer shares the previous one's phone: candidates for 名寄せ, as in real data.
                phone = f"+8190{index - 1 if index and index % 10 == 0 else index:08d}"
                points.append((contact_id, customer_id, "mobile", f"090-{index // 10000:04d}-{index % 10000:04d}", phone, 0))
                points.append((contact_id, customer_id, "email", f"user{index}@example.jp", f"user{index}@example.jp", 1))
                agent_index = rng.randrange(len(agents))
                has_next = rng.random() < 0.4
                next_at = now + datetime.timedelta(minutes=rng.randint(-30 * 1440, 60 * 1440)) if has_next else None
                contacted = now - datetime.timedelta(seconds=rng.randrange(seconds_in_two_years)) if rng.random() < 0.8 else None
                case_rows.append((
                    case_id, next(numbers), customer_id, rng.choice(kinds), rng.choice(statuses), rng.choice(ranks + [None]), stores[agent_index % 4].pk,
                    agents[agent_index].pk, rng.choice(origins), (now - datetime.timedelta(days=rng.randint(0, 1500))).date(),
                    next_at, "電話で内見の日程を確認" if has_next else "", contacted,
                    # Last updates spread over two years (auto_now would stamp them all "now").
                    now - datetime.timedelta(seconds=rng.randrange(seconds_in_two_years)),
                ))
                if rng.random() < 0.33:
                    tag_rows.append((company.pk, case_id, rng.choice(tags), 0))
            insert_rows(Customer, customer_varying, customers, constants=customer_constants)
            insert_rows(Contact, contact_varying, contacts, constants=contact_constants)
            insert_rows(ContactPoint, point_varying, points, constants=point_constants)
            insert_rows(Case, case_varying, case_rows, constants=case_constants)
            insert_rows(CaseTag, ("company_id", "case_id", "tag_id", "position"), tag_rows)
        done = offset + size
        print(f"\r  filled {done:,} cases ({(done - start) / (time.perf_counter() - started):,.0f}/s)", end="", flush=True)
    print()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")


def measure(requests: int, only: set[str] | None = None) -> dict:
    """Print and return p50/p95 (wall and CPU, ms) per scenario; `only`: the names of the scenarios to
    time (all, and the 未対応の新規反響 count's plan, if None)."""
    from django.core.cache import cache
    from django.test import Client

    from estatecrm.crm.filtersets import CaseFilters, encode_cursor, filter_cases
    from estatecrm.crm.models import Case
    from estatecrm.tenancy.models import OrgUnit, User
    from estatecrm.tenancy.selectors import actor_for

    admin = User.objects.get(email="admin@bench.example.jp")
    agent = User.objects.get(email="agent00@bench.example.jp")
    # Live cases: an import reverted (bench/cost_growth.py) leaves its cases in the trash.
    live = Case.objects.unscoped().filter(company_id=admin.company_id, deleted_at__isnull=True)
    total = live.count()
    deep = filter_cases(actor=actor_for(admin), filters=CaseFilters())[int(total * 0.9)]
    store = OrgUnit.objects.unscoped().get(company_id=admin.company_id, code="SBY")
    case_ids = list(live.values_list("pk", flat=True)[:: max(1, total // 500)])
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
        ("今日の対応 (due today)", admin_client, lambda: "/cases/?follow_up=today&sort=next_action"),
        ("対応漏れ (overdue)", admin_client, lambda: "/cases/?follow_up=overdue&sort=next_action"),
        ("未対応の新規 (new, not contacted)", admin_client, lambda: "/cases/?follow_up=new_uncontacted"),
        ("未対応の新規反響 (new inquiries)", admin_client, lambda: "/cases/?follow_up=new_inquiries"),
        ("今日の対応, recently updated first", admin_client, lambda: "/cases/?follow_up=today"),
        ("対応漏れ, recently updated first", admin_client, lambda: "/cases/?follow_up=overdue"),
        ("next action sort, whole list", admin_client, lambda: "/cases/?sort=next_action"),
        ("agent 今日の対応", agent_client, lambda: "/cases/?follow_up=today&sort=next_action"),
        ("agent 対応漏れ", agent_client, lambda: "/cases/?follow_up=overdue&sort=next_action"),
        ("agent 未対応の新規", agent_client, lambda: "/cases/?follow_up=new_uncontacted"),
        ("agent 未対応の新規反響", agent_client, lambda: "/cases/?follow_up=new_inquiries"),
        ("case detail", admin_client, lambda: f"/cases/{rng.choice(case_ids)}/"),
        ("possible duplicates, first page", admin_client, lambda: "/cases/?view=duplicates"),
        ("side menu counts (uncached)", admin_client, lambda: cache.clear() or "/cases/counts/"),
    ]
    if only is not None:
        scenarios = [scenario for scenario in scenarios if scenario[0] in only]
    print(f"{total:,} cases; {requests} requests per scenario after 3 warm-ups")
    # CPU time of this process beside the wall time: on SQLite the database works in this process, so
    # on a machine shared with other work the CPU figures are what the request costs.
    print(f"{'scenario':40} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'CPU p95':>8}")

    def percentiles(values):
        values = sorted(values)
        return statistics.median(values), values[max(0, int(len(values) * 0.95) - 1)]

    results = {}
    for name, client, url in scenarios:
        for _ in range(3):
            client.get(url())
        timings, cpu = [], []
        for _ in range(requests):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url())
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        (p50, p95), (cpu_p50, cpu_p95) = percentiles(timings), percentiles(cpu)
        results[name] = {"p50": round(p50, 1), "p95": round(p95, 1), "cpu_p50": round(cpu_p50, 1), "cpu_p95": round(cpu_p95, 1)}
        print(f"{name:40} {p50:8.1f} {p95:8.1f} {cpu_p50:8.1f} {cpu_p95:8.1f}", flush=True)
    if only is not None:
        return results
    # 未対応の新規反響's count as the side menu runs it: the plan names the partial index case_new_inquiry_idx.
    from django.db import connection

    from estatecrm.crm.filtersets import FollowUp, _live_cases, follow_up_q

    for label, user in (("admin", admin), ("agent", agent)):
        counted = _live_cases(actor_for(user)).filter(follow_up_q(FollowUp.NEW_INQUIRIES))
        sql, params = counted.values("pk").query.sql_with_params()
        sql = "SELECT COUNT(*) FROM (" + sql + ") counted"
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(sql, params)
            number = cursor.fetchone()[0]
            took = (time.perf_counter() - started) * 1000
            cursor.execute(("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql, params)
            plan = " | ".join(" ".join(str(value) for value in row) for row in cursor.fetchall())
        print(f"未対応の新規反響 count, {label}: {number:,} cases in {took:.1f} ms; plan: {plan}")
    return results


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
    collect_static()
    if not (options.reuse and Company.objects.filter(code="bench").exists()):
        fill(options.cases)
    measure(options.requests)


if __name__ == "__main__":
    main()
