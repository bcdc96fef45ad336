"""Lead import benchmark (issue: spreadsheet lead import, Performance).

    .venv/bin/python bench/lead_import.py [--rows 1000000] [--existing 1000000] [--xlsx] [--workdir DIR]
                                          [--range-rows N --workers W]

Generates a CP932 CSV of realistic leads (bench/generate_leads.py), creates a company, imports a
first list of `--existing` rows (so the duplicate check has that many existing contacts to match),
then imports the measured list with the duplicate check on (`--duplicate-keys name,phone`). The
measured import runs in its own process: rows/s and its peak memory (ru_maxrss) are printed.
Database: DATABASE_URL (default: a fresh SQLite file in the work directory). `--xlsx` measures the
XLSX path (write the list as .xlsx first; the issue asks for 100,000 rows there).
`--range-rows N --workers W` (issue 15): the measured import is split into ranges of N rows
(PIPELINE_RANGE_ROWS) and W `estatecrm worker` processes, started before it, write ranges beside the
command; the time is until the run ended (the command may return before the other workers' ranges end).
"""

import argparse
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from benchlib import ESTATECRM, PYTHON, ROOT, environment, measured, run


def to_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    import csv

    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    sheet = workbook.add_worksheet("リスト")
    with csv_path.open(encoding="cp932", newline="") as handle:
        for row_index, row in enumerate(csv.reader(handle)):
            for column_index, value in enumerate(row):
                sheet.write_string(row_index, column_index, value)
    workbook.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--existing", type=int, default=1_000_000)
    parser.add_argument("--xlsx", action="store_true")
    parser.add_argument("--workdir")
    parser.add_argument("--range-rows", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0)
    options = parser.parse_args()
    workdir, env = environment(options.workdir)
    env["PIPELINE_RANGE_ROWS"] = "0"

    existing_csv, measured_csv = workdir / "existing.csv", workdir / "leads.csv"
    started = time.perf_counter()
    if options.existing:
        run([PYTHON, str(ROOT / "bench/generate_leads.py"), str(options.existing), str(existing_csv), "--seed", "1"], env)
    run([PYTHON, str(ROOT / "bench/generate_leads.py"), str(options.rows), str(measured_csv), "--seed", "2"], env)
    source = measured_csv
    if options.xlsx:
        source = workdir / "leads.xlsx"
        to_xlsx(measured_csv, source)
    print(f"generated files in {time.perf_counter() - started:.1f}s ({source.stat().st_size / 1e6:.0f} MB measured file)")

    if env["DATABASE_URL"].startswith("postgres"):
        run(ESTATECRM + ["flush", "--noinput"], env, stdout=subprocess.DEVNULL)
    run(ESTATECRM + ["migrate", "-v0"], env)
    setup = (
        "import django; django.setup()\n"
        "from estatecrm.core import testing\n"
        "from estatecrm.tenancy.choices import Role\n"
        "from estatecrm.crm.actions import do_upsert_custom_field, do_upsert_project\n"
        "c = testing.make_company('bench', 'ベンチ不動産'); u = testing.make_unit(c, 'HQ')\n"
        "testing.make_user(c, u, role=Role.ADMIN, email='admin@bench.example.jp')\n"
        "f, _ = do_upsert_custom_field(company=c, name='所有物件数', field_type='number')\n"
        "do_upsert_project(company=c, name='bench', custom_fields=[f])\n"
    )
    run([PYTHON, "-c", setup], env)
    common = ["--company", "bench", "--project", "bench", "--json"]
    if options.existing:
        seconds, peak, _cpu, output = measured(ESTATECRM + ["import-leads", str(existing_csv), *common], env)
        print(f"seeded {options.existing:,} rows in {seconds:.1f}s ({options.existing / seconds:,.0f} rows/s, peak {peak:.0f} MB)")
    cpu = None
    if options.range_rows:
        seconds, peak, result = measured_split(ESTATECRM + ["import-leads", str(source), *common, "--duplicate-keys", "name,phone"],
                                               {**env, "PIPELINE_RANGE_ROWS": str(options.range_rows)}, options.workers, workdir)
    else:
        seconds, peak, cpu, output = measured(ESTATECRM + ["import-leads", str(source), *common, "--duplicate-keys", "name,phone"], env)
        result = json.loads(output.strip().splitlines()[-1])
    print(json.dumps(result, ensure_ascii=False))
    print(f"measured import: {options.rows:,} rows in {seconds:.1f}s = {options.rows / seconds:,.0f} rows/s end to end, "
          f"peak memory {peak:.0f} MB ({'xlsx' if options.xlsx else 'cp932 csv'}, duplicate check on against "
          f"{options.existing:,} existing rows)" + (f"; CPU {cpu:.1f} s (the command and its reading process)" if cpu is not None else ""))


def measured_split(command, env, workers: int, workdir: Path) -> tuple[float, float, dict]:
    """The import split into ranges, with `workers` worker processes beside the command: (seconds until the
    run ended, the command's peak RSS in MB, the run's summary)."""
    logs = [(workdir / f"worker-{number}.log").open("ab") for number in range(workers)]
    processes = [subprocess.Popen(ESTATECRM + ["worker", "--interval", "0.2"], env=env, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    time.sleep(5)  # (the workers are polling the queue)
    try:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        process.stdout.read()
        _pid, _status, usage = os.wait4(process.pid, 0)
        wait = ("import django, time; django.setup()\n"
                "from estatecrm.pipeline.models import Run, RunRange\n"
                "run = Run.objects.unscoped().latest('pk')\n"
                "while not run.is_finished:\n    time.sleep(0.2); run.refresh_from_db()\n"
                "import json; print(json.dumps({'status': run.status, 'rows_done': run.rows_done, 'counts': run.counts,\n"
                "    'ranges': list(RunRange.objects.unscoped().filter(run=run).values_list('first_row', 'last_row', 'worker', 'status'))}, ensure_ascii=False))\n")
        output = subprocess.run([PYTHON, "-c", wait], env=env, check=True, stdout=subprocess.PIPE).stdout.decode()
        seconds = time.perf_counter() - started
    finally:
        for worker in processes:
            worker.send_signal(signal.SIGTERM)
        for worker in processes:
            worker.wait(timeout=60)
    return seconds, usage.ru_maxrss / 1024, json.loads(output.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
