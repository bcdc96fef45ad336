"""Dashboard and visit calendar latency with a million cases (issue 10: the agent's day).

    .venv/bin/python bench/dashboard.py [--cases 1000000] [--workdir DIR] [--requests 20] [--reuse]

Fills the database as bench/case_list.py does (same company, units and agents; `--reuse` keeps a
filled one, also one filled by case_list.py), then gives a third of the cases a next action spread
over two months around today and books 5,000 visits over the same months (a fifth of them done;
about six a day per agent).
Requests through Django's full stack and prints p50/p95 in milliseconds for: the dashboard of the
company admin (the per-agent and per-unit tables), of an org admin, of an agent (each also uncached:
the overview computed for every request), and the week calendar of a unit and of an agent.
"""

import argparse
import datetime
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import case_list  # the bench folder is not a package: imported from sys.path

VISITS = 5_000


def add_day_data() -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from estatecrm.crm.choices import ActivityKind
    from estatecrm.crm.models import Activity, Case
    from estatecrm.tenancy.models import Company

    company = Company.objects.get(code="bench")
    if Activity.objects.unscoped().filter(company=company, kind=ActivityKind.VISIT_APPOINTMENT).exists():
        return
    rng = random.Random(11)
    now = timezone.now()
    with connection.cursor() as cursor:
        # A third of the cases get a next action within a month of today (one statement).
        if connection.vendor == "sqlite":
            cursor.execute("UPDATE crm_case SET next_action_at = datetime('now', ((abs(random()) % 5184000) - 2592000) || ' seconds') "
                           "WHERE company_id = %s AND abs(random()) % 3 = 0", [company.pk])
        else:
            cursor.execute("UPDATE crm_case SET next_action_at = now() + (random() - 0.5) * interval '60 days' "
                           "WHERE company_id = %s AND random() < 0.33", [company.pk])
    cases = list(Case.objects.unscoped().filter(company=company).values_list("pk", "owning_org_id", "main_assignee_id")[::10])
    with transaction.atomic():
        visits = []
        for _ in range(VISITS):
            case_id, unit_id, agent_id = rng.choice(cases)
            visits.append(Activity(
                company=company, case_id=case_id, kind=ActivityKind.VISIT_APPOINTMENT, actor_id=agent_id, org_unit_id=unit_id,
                occurred_at=now + datetime.timedelta(minutes=rng.randint(-43200, 43200)), is_done=rng.random() < 0.2, subject="来店"))
        Activity.objects.bulk_create(visits, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")


def measure(requests: int) -> None:
    from django.core.cache import cache
    from django.test import Client

    from estatecrm.core import testing
    from estatecrm.tenancy.choices import Role
    from estatecrm.tenancy.models import OrgUnit, User

    admin = User.objects.get(email="admin@bench.example.jp")
    agent = User.objects.get(email="agent00@bench.example.jp")
    store = OrgUnit.objects.unscoped().get(company_id=admin.company_id, code="SBY")
    store_admin = User.objects.filter(email="storeadmin@bench.example.jp").first() or testing.make_user(
        admin.company, store, role=Role.ADMIN, email="storeadmin@bench.example.jp", name="渋谷 店長")
    clients = {}
    for name, user in (("admin", admin), ("store_admin", store_admin), ("agent", agent)):
        clients[name] = Client()
        clients[name].force_login(user)
    # Uncached: the overview (admin tables, summary) computed for every request, as on the first visit of
    # the minute (web.views.OVERVIEW_CACHE_SECONDS); the others as a user reloading the page sees it.
    scenarios = [
        ("dashboard, company admin", "admin", "/", False),
        ("dashboard, company admin, uncached", "admin", "/", True),
        ("dashboard, org admin", "store_admin", "/", False),
        ("dashboard, org admin, uncached", "store_admin", "/", True),
        ("dashboard, agent", "agent", "/", False),
        ("dashboard, agent, uncached", "agent", "/", True),
        ("calendar, unit week", "admin", f"/visits/?unit={store.pk}&agent=all", False),
        ("calendar, agent's week", "agent", "/visits/", False),
    ]
    print(f"{requests} requests per scenario after 3 warm-ups")
    print(f"{'scenario':38} {'p50 ms':>8} {'p95 ms':>8}")
    for name, who, url, uncached in scenarios:
        client = clients[who]
        for _ in range(3):
            client.get(url)
        timings = []
        for _ in range(requests):
            if uncached:
                cache.clear()
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{name:38} {statistics.median(timings):8.1f} {p95:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--reuse", action="store_true", help="keep an existing filled database")
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="estatecrm-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    case_list.setup_django(workdir)
    from django.core.management import call_command

    from estatecrm.tenancy.models import Company

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not (options.reuse and Company.objects.filter(code="bench").exists()):
        case_list.fill(options.cases)
    add_day_data()
    measure(options.requests)


if __name__ == "__main__":
    main()
