"""How cost grows (issue 15): lead import and the case list at 100,000 / 1,000,000 / 3,000,000 existing cases.

    .venv/bin/python bench/cost_growth.py [--sizes 100000,1000000,3000000] [--import-rows 100000] [--requests 20]
                                          [--workdir DIR] [--out RESULTS.json]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/growth_cost .venv/bin/python bench/cost_growth.py ...
    .venv/bin/python bench/cost_growth.py --plot RESULTS.json [RESULTS.json ...] --png docs/cost-growth.png

Seeds bench/case_list.py's company (set-based: tuples through pipeline.bulk.insert_rows, one transaction per
20,000 cases) to the first size, and at each size measures
- (a) the lead import of one fixed `--import-rows`-row CP932 file (bench/generate_leads.py, seed 2) with the
  duplicate check (`--duplicate-keys name,phone`), in its own process: rows/s and peak memory; then reverts it
  (`estatecrm imports revert`, timed too). A revert trashes the leads it created (they stay in the tables,
  marked deleted): each size carries the trashed rows of the imports before it, counted in the results;
- (b) the case list's pages as bench/case_list.py times them (Django's full stack through the test client,
  logged in; `--requests` per page after 3 warm-ups): p50/p95 wall and CPU;
then grows the company to the next size (the same users, units, ranks and tags) and analyzes.
Database: DATABASE_URL (a PostgreSQL database is dropped and created: name one of your own), default a SQLite
file in the work directory (keep it on /tmp). Results go to `--out` (JSON, rewritten after each size);
`--plot` draws one or more results files (one line per database) to a PNG (matplotlib, Agg).
`--resume LOG` keeps the database of an interrupted run (its log: the import figures of the sizes it had
reached are read from there, not measured twice over a trash that would then hold two imports).
`--snapshot-at SIZE --snapshot DEST` keeps a copy of the database as it is at SIZE, measured (a SQLite file
path, or a PostgreSQL database name, created from it as a template) for bench/load_test.py --reuse.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ESTATECRM, PYTHON, ROOT, fresh_postgres_database, loadavg, measured, run

# The pages timed at each size: those of bench/case_list.py but the side menu's uncached counts (seconds each
# at these sizes; they load after the page and are cached per user).
PAGES = ("list, first page", "list, status + unit filter", "list, name search", "list, phone search", "list, deep keyset page (90%)",
         "list, agent first page", "今日の対応 (due today)", "対応漏れ (overdue)", "case detail", "possible duplicates, first page")
PLOTTED = ("list, first page", "list, name search", "list, deep keyset page (90%)", "case detail")


def table_counts() -> dict:
    from estatecrm.crm.models import Case

    cases = Case.objects.unscoped()
    return {"cases_live": cases.filter(deleted_at__isnull=True).count(), "cases_trashed": cases.filter(deleted_at__isnull=False).count()}


def import_and_revert(leads: Path, rows: int, env: dict) -> dict:
    seconds, peak, cpu, output = measured(ESTATECRM + ["import-leads", str(leads), "--company", "bench", "--project", "growth",
                                                       "--duplicate-keys", "name,phone", "--json"], env)
    summary = json.loads(output.strip().splitlines()[-1])
    result = {"rows": rows, "seconds": round(seconds, 1), "rows_per_s": round(rows / seconds), "peak_mb": round(peak),
              "cpu_s": round(cpu, 1), "summary": summary}
    print(f"  import: {rows:,} rows in {seconds:.1f}s = {rows / seconds:,.0f} rows/s, peak {peak:.0f} MB; {json.dumps(summary, ensure_ascii=False)}",
          flush=True)
    seconds, peak, _cpu, output = measured(ESTATECRM + ["imports", "revert", str(summary["import_id"])], env)
    result["revert"] = {"seconds": round(seconds, 1), "peak_mb": round(peak), "output": output.strip()[-300:]}
    print(f"  revert: {seconds:.1f}s, peak {peak:.0f} MB", flush=True)
    return result


def snapshot(destination: str) -> None:
    """A copy of the database as it is now (the connection closed first: a template database has no sessions)."""
    from django.db import connection

    vendor, name = connection.vendor, connection.settings_dict["NAME"]
    if vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        shutil.copyfile(name, destination)
    else:
        connection.close()
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{destination}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{destination}" TEMPLATE "{name}"')
    print(f"  snapshot: {destination}", flush=True)


def logged_imports(log: Path) -> list[dict]:
    """The import and revert figures an interrupted run printed (import_and_revert's lines), in order."""
    text = log.read_text(encoding="utf-8").replace("\r", "\n")
    imports = re.findall(r"import: ([\d,]+) rows in ([\d.]+)s = ([\d,]+) rows/s, peak (\d+) MB; (\{.*\})", text)
    reverts = re.findall(r"revert: ([\d.]+)s, peak (\d+) MB", text)
    return [{"rows": int(rows.replace(",", "")), "seconds": float(seconds), "rows_per_s": int(per_s.replace(",", "")), "peak_mb": int(peak),
             "summary": json.loads(summary), "revert": {"seconds": float(revert[0]), "peak_mb": int(revert[1])}, "from_log": str(log)}
            for (rows, seconds, per_s, peak, summary), revert in zip(imports, reverts, strict=False)]


def grow(options) -> None:
    sizes = [int(size) for size in options.sizes.split(",")]
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="estatecrm-growth-"))
    workdir.mkdir(parents=True, exist_ok=True)
    logged = logged_imports(options.resume) if options.resume else []
    if options.resume:
        print(f"resuming: {len(logged)} import(s) read from {options.resume}")
    elif "DATABASE_URL" in os.environ:
        fresh_postgres_database(os.environ["DATABASE_URL"])
    else:
        for stale in workdir.glob("cases.sqlite3*"):
            stale.unlink()
    sys.path.insert(0, str(ROOT / "bench"))
    import case_list

    case_list.setup_django(workdir)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    case_list.collect_static()
    env = dict(os.environ)
    print(f"database: {env['DATABASE_URL'].split('@')[-1]}  workdir: {workdir}", flush=True)
    leads = workdir / f"leads-{options.import_rows}.csv"
    if options.import_rows and not leads.exists():
        run([PYTHON, str(ROOT / "bench/generate_leads.py"), str(options.import_rows), str(leads), "--seed", "2"], env)
    results = {"database": connection.vendor, "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
               "command": " ".join(sys.argv), "import_rows": options.import_rows, "requests": options.requests, "sizes": []}
    from estatecrm.tenancy.models import Company

    filled = table_counts()["cases_live"] if Company.objects.filter(code="bench").exists() else 0
    for index, size in enumerate(sizes):
        print(f"growing to {size:,} cases (load {loadavg()})", flush=True)
        started = time.perf_counter()
        if size > filled:
            case_list.fill(size, start=filled)
        seed_seconds = time.perf_counter() - started
        if not filled:
            from estatecrm.crm.actions import do_upsert_project
            from estatecrm.tenancy.models import Company

            do_upsert_project(company=Company.objects.get(code="bench"), name="growth")
        filled = size
        entry = {"cases": size, "seed_seconds": round(seed_seconds, 1), **table_counts(), "load_before": loadavg()}
        connection.close()  # the import and the revert run in their own processes
        if index < len(logged):
            entry["import"] = logged[index]
        elif options.import_rows:
            entry["import"] = import_and_revert(leads, options.import_rows, env)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        entry["load_before_pages"] = loadavg()
        entry["pages"] = case_list.measure(options.requests, only=set(PAGES))
        entry["load_after"] = loadavg()
        results["sizes"].append(entry)
        results["ended"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        options.out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"  {size:,}: seeded in {seed_seconds:.0f}s; results in {options.out}", flush=True)
        if options.snapshot and size == options.snapshot_at:
            snapshot(options.snapshot)


def plot(paths: list[Path], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (imports, pages, cpu) = plt.subplots(1, 3, figsize=(15, 4.4))
    styles = {"sqlite": "-", "postgresql": "--"}
    for path in paths:
        results = json.loads(path.read_text(encoding="utf-8"))
        database, sizes = results["database"], results["sizes"]
        cases = [entry["cases"] for entry in sizes]
        with_import = [entry for entry in sizes if "import" in entry]
        imports.plot([entry["cases"] for entry in with_import], [entry["import"]["rows_per_s"] for entry in with_import], styles.get(database, ":"),
                     marker="o", label=database)
        for page in PLOTTED:
            pages.plot(cases, [entry["pages"][page]["p95"] for entry in sizes], styles.get(database, ":"), marker="o", label=f"{page} ({database})")
            cpu.plot(cases, [entry["pages"][page]["cpu_p95"] for entry in sizes], styles.get(database, ":"), marker="o", label=f"{page} ({database})")
    imports.set_title(f"lead import, {results['import_rows']:,} CP932 rows, duplicate check")
    imports.set_ylabel("rows/s")
    imports.set_ylim(bottom=0)
    pages.set_title("case list pages, p95 wall (test client, one request at a time)")
    pages.set_ylabel("ms")
    cpu.set_title("the same, p95 CPU of the Django process")
    cpu.set_ylabel("ms (on SQLite includes the database's work)")
    cpu.set_ylim(bottom=0)
    pages.axhline(300, color="grey", linewidth=0.8)
    pages.set_ylim(bottom=0)
    pages.legend(fontsize=6.5)
    imports.legend(fontsize=8)
    for axes in (imports, pages, cpu):
        axes.set_xscale("log")
        axes.set_xlabel("existing cases")
        axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(png, dpi=110)
    print(f"plot written to {png}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000,3000000")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path, default=Path("cost-growth.json"))
    parser.add_argument("--plot", type=Path, nargs="+", help="results files to draw instead of measuring")
    parser.add_argument("--png", type=Path, default=ROOT / "docs/cost-growth.png")
    parser.add_argument("--resume", type=Path, help="the log of an interrupted run whose database is kept")
    parser.add_argument("--snapshot-at", type=int, default=1_000_000)
    parser.add_argument("--snapshot", help="a SQLite file path or a PostgreSQL database name (none by default)")
    options = parser.parse_args()
    if options.plot:
        plot(options.plot, options.png)
    else:
        options.out = options.out.resolve()
        grow(options)


if __name__ == "__main__":
    main()
