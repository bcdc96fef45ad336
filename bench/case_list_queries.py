"""One case list URL per role on a filled database: the page's time and its SQL, statement by statement.

    .venv/bin/python bench/case_list_queries.py --workdir DIR [--query 'status=追客中'] [--users admin,agent00,agent01]
        [--requests 30] [--explain] [--checkout PATH]

For a database that bench/case_list.py filled (DATABASE_URL, default the SQLite file in DIR; `--reuse` there keeps it),
requests `/cases/?<query>` through Django's full stack as each user (admin@bench.example.jp, agentNN@...: agent00 is
in a store whose members see all its cases, agent01 in one whose cases only their assignees see) and prints the p50 /
p95 wall time and the p50 CPU time of this process (on SQLite the database works in it), then each statement of the
last request with its time. `--explain`: the plan of the page's list statement (the one reading crm_case in order),
on PostgreSQL with its planning and execution times (median of 9 `EXPLAIN ANALYZE`), on SQLite `EXPLAIN QUERY PLAN`
and the best of 5 full fetches. `--checkout`: import estatecrm from another checkout's `src` (`git archive <commit>
src | tar -x -C PATH`: older code on the same database; nothing here migrates).
"""

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--query", action="append", help="a query string; repeat for several (default status=追客中)")
    parser.add_argument("--users", default="admin,agent00,agent01")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--checkout", type=Path, help="import estatecrm from this checkout's src instead")
    options = parser.parse_args()
    import case_list

    if options.checkout:
        case_list.ROOT = options.checkout.resolve()  # setup_django puts ROOT/src first on the path

    case_list.setup_django(options.workdir)
    import logging

    from django.db import connection
    from django.test import Client

    from estatecrm.tenancy.models import User

    logging.disable(logging.WARNING)  # axes logs every log-in
    statements = []  # (sql, params, ms) of the current request

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql, params, (time.perf_counter() - started) * 1000))

    for query in options.query or ["status=追客中"]:
        for name in options.users.split(","):
            client = Client()
            client.force_login(User.objects.get(email=f"{name}@bench.example.jp"))
            url = f"/cases/?{query}"
            for _ in range(2):
                assert client.get(url).status_code == 200
            timings, cpu = [], []
            for _ in range(options.requests):
                statements.clear()
                started, started_cpu = time.perf_counter(), time.process_time()
                with connection.execute_wrapper(timed):
                    response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                assert response.status_code == 200, response.status_code
            timings.sort()
            print(f"{url} as {name}: p50 {statistics.median(timings):.1f} ms, p95 {timings[max(0, int(len(timings) * 0.95) - 1)]:.1f} ms, "
                  f"CPU p50 {statistics.median(cpu):.1f} ms; {len(statements)} statements")
            # SQLite's time here is the first step only (rows are read as they are fetched); the plan below says more.
            for sql, _params, took in statements:
                print(f"  {took:7.1f} ms  {sql[:140]}")
            if options.explain:
                [(sql, params, _took)] = [statement for statement in statements if 'FROM "crm_case"' in statement[0] and "ORDER BY" in statement[0]][:1]
                print("  the list statement:")
                for line in explain(connection, sql, params):
                    print(f"    {line}")


def explain(connection, sql: str, params) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            planning, execution = [], []
            for _ in range(9):
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                lines = [row[0] for row in cursor.fetchall()]
                text = "\n".join(lines)
                planning.append(float(re.search(r"Planning Time: ([\d.]+)", text).group(1)))
                execution.append(float(re.search(r"Execution Time: ([\d.]+)", text).group(1)))
            return [f"planning {statistics.median(planning):.2f} ms, execution {statistics.median(execution):.2f} ms (medians of 9)", *lines]
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        lines = [row[3] for row in cursor.fetchall()]
        fetches = []
        for _ in range(5):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            fetches.append((time.perf_counter() - started) * 1000)
        return [f"best of 5 fetches {min(fetches):.2f} ms", *lines]


if __name__ == "__main__":
    main()
