"""異動・退職 in bulk: one agent's 10,000 live cases reassigned, and transferred with the agent (issue 13: under 5 s on SQLite).

    .venv/bin/python bench/staff_reassign.py [--cases 10000] [--visits 1000] [--unsubscribed 1000] [--workdir DIR]

Fills a database (DATABASE_URL, default a fresh SQLite file in a temporary ESTATECRM_VAR_DIR) with one company
(本社 > 渋谷店, 新宿店), an administrator and two agents of 渋谷店; the first agent is the main assignee of
`--cases` live cases (`--unsubscribed` of their customers unsubscribed from mail, `--visits` of them with an open
visit appointment next month). Then times, each as one transaction with its commit:

1. `estatecrm staff reassign --from agent0 --to agent1 --json` as a separate process (the whole command: start-up,
   the action, the JSON), and the action alone, in-process (`staff.actions.do_reassign_cases`), back again;
2. `estatecrm staff transfer agent1 --to SJK --with-cases --json` (the agent and their 10,000 cases move to 新宿店)
   as a separate process, and the action alone (`do_transfer_agent`) back to 渋谷店.

Each prints wall and CPU seconds (the process's with its children; a loaded machine stretches the wall time,
not the CPU time) and the statements of the in-process action; the e-mail (担当者変更のお知らせ) is a task
enqueued after commit, not timed.
"""

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import ESTATECRM, ROOT, StatementCounter, environment, measured


def setup_django(env: dict) -> None:
    os.environ.update({key: env[key] for key in ("DATABASE_URL", "ESTATECRM_VAR_DIR", "DJANGO_SETTINGS_MODULE")})
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def fill(cases: int, visits: int, unsubscribed: int):
    """The company, its units and users, and the first agent's cases, written in bulk (no per-case actions)."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from estatecrm.core import testing
    from estatecrm.crm.actions import customer_keys
    from estatecrm.crm.case_numbers import allocate_case_numbers
    from estatecrm.crm.choices import ActivityKind
    from estatecrm.crm.models import Activity, Case, Customer
    from estatecrm.tenancy.choices import Role

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    company = testing.make_company("bench", "ベンチ不動産株式会社")
    top = testing.make_unit(company, "HQ", name="本社")
    sby = testing.make_unit(company, "SBY", parent=top, name="渋谷店")
    sjk = testing.make_unit(company, "SJK", parent=top, name="新宿店")
    admin = testing.make_user(company, top, role=Role.ADMIN, email="admin@bench.example.jp", name="管理 太郎")
    agents = [testing.make_user(company, sby, email=f"agent{i}@bench.example.jp", name=f"担当 {i}") for i in range(2)]
    key, kana_key = customer_keys("person", "佐藤 花子", "サトウ ハナコ")
    with transaction.atomic():
        customers = Customer.objects.bulk_create([
            Customer(company=company, name="佐藤 花子", name_key=key, kana="サトウ ハナコ", kana_key=kana_key, is_unsubscribed=i < unsubscribed)
            for i in range(cases)], batch_size=5000)
        numbers = allocate_case_numbers(company.pk, len(customers))
        created = Case.objects.bulk_create([
            Case(company=company, number=number, customer=customer, owning_org=sby, main_assignee=agents[0], status="追客中")
            for customer, number in zip(customers, numbers, strict=True)], batch_size=5000)
        when = timezone.now() + datetime.timedelta(days=30)
        Activity.objects.bulk_create([
            Activity(company=company, case=case, kind=ActivityKind.VISIT_APPOINTMENT, is_done=False, occurred_at=when, actor=agents[0],
                     org_unit=sby, subject="内見") for case in created[:visits]], batch_size=5000)
    print(f"filled {cases:,} cases ({unsubscribed:,} unsubscribed, {visits:,} open visits) in {time.perf_counter() - started:.1f} s")
    return company, admin, agents, sby, sjk


def timed(action):
    from django.db import connection

    counter = StatementCounter()
    with connection.execute_wrapper(counter):
        started, cpu = time.perf_counter(), time.process_time()
        result = action()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, counter.statements, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=1_000)
    parser.add_argument("--unsubscribed", type=int, default=1_000)
    parser.add_argument("--workdir")
    options = parser.parse_args()
    _workdir, env = environment(options.workdir)
    setup_django(env)
    from django.db import connection

    from estatecrm.core.scope import company_scope
    from estatecrm.crm.models import Case
    from estatecrm.staff.actions import do_reassign_cases, do_transfer_agent
    from estatecrm.tenancy.selectors import actor_for

    company, admin, agents, sby, sjk = fill(options.cases, options.visits, options.unsubscribed)
    connection.close()  # the commands below write from their own process
    rows = []

    def command(*args) -> tuple[float, float, dict]:
        seconds, _rss, cpu, output = measured([*ESTATECRM, "staff", *args, "--company", "bench", "--as", "admin@bench.example.jp", "--json"], env)
        return seconds, cpu, json.loads(output)

    def check(result: dict, key: str) -> None:
        assert (result[key], result["refused"]) == (options.cases, None), result

    # 1. reassignment: the command, then the action back
    seconds, cpu, result = command("reassign", "--from", "agent0@bench.example.jp", "--to", "agent1@bench.example.jp")
    check(result, "cases_reassigned")
    rows.append(("estatecrm staff reassign (process)", seconds, cpu, None, result["visits_moved"]))
    with company_scope(company):
        seconds, cpu, statements, back = timed(lambda: do_reassign_cases(actor=actor_for(admin), from_user=agents[1], to_user=agents[0]))
    check(back.as_json(), "cases_reassigned")
    rows.append(("do_reassign_cases (action)", seconds, cpu, statements, back.visits_moved))
    # 2. transfer with cases: the command (agent0 and their cases to 新宿店), then the action back to 渋谷店
    connection.close()
    seconds, cpu, result = command("transfer", "agent0@bench.example.jp", "--to", "SJK", "--with-cases")
    check(result, "cases_moved")
    rows.append(("estatecrm staff transfer --with-cases (process)", seconds, cpu, None, result["visits_moved"]))
    with company_scope(company):
        agents[0].refresh_from_db()
        seconds, cpu, statements, back = timed(lambda: do_transfer_agent(actor=actor_for(admin), agent=agents[0], to_unit=sby, with_cases=True))
        check(back.as_json(), "cases_moved")
        assert Case.objects.for_company(company).filter(owning_org=sby, main_assignee=agents[0]).count() == options.cases
    rows.append(("do_transfer_agent with cases (action)", seconds, cpu, statements, back.visits_moved))

    print(f"{connection.vendor}, {options.cases:,} cases of one agent ({options.unsubscribed:,} unsubscribed, {options.visits:,} open visits)")
    print(f"{'what':48} {'wall s':>7} {'CPU s':>6} {'statements':>11} {'visits':>7}")
    for name, seconds, cpu, statements, visits in rows:
        print(f"{name:48} {seconds:7.2f} {cpu:6.2f} {'' if statements is None else statements:>11} {visits:>7}")


if __name__ == "__main__":
    main()
