"""Load test (issue 15): office staff browsing while a lead import runs, through a real server.

    .venv/bin/python bench/load_test.py [--cases 100000] [--users 50] [--seconds 60] [--import-rows 100000]
                                        [--web-workers 2] [--workdir DIR] [--reuse]

Fills a database with bench/case_list.py's company (`--cases` cases; DATABASE_URL, default a SQLite file in
the work directory; `--reuse` keeps a filled one), serves it with gunicorn (`--web-workers` processes) on a
free port of 127.0.0.1 only, starts a lead import of `--import-rows` CP932 rows with the duplicate check
(bench/generate_leads.py; 0: none) in its own process, and runs locust headless (bench/locustfile.py:
`--users` users logging in, then the case list, a filtered page, name and phone searches and case details,
1-3 s apart) for `--seconds`. Prints per request kind and in all: requests, failures, requests/s, p50, p95
and p99 in ms, and the import's duration. Needs locust (`pip install -e '.[bench]'`). Bounded: locust stops
after `--seconds`, the server and the import are stopped at the end.
"""

import argparse
import csv
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer {url}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--reuse", action="store_true")
    options = parser.parse_args()
    locust = shutil.which("locust", path=f"{BIN}:{os.environ.get('PATH', '')}")
    if locust is None:
        raise SystemExit("locust is not installed: pip install -e '.[bench]'")
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="estatecrm-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="estatecrm.config.settings.base", ESTATECRM_VAR_DIR=str(workdir),
               ALLOWED_HOSTS="127.0.0.1", SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 50))
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'cases.sqlite3'}")
    print(f"database: {env['DATABASE_URL'].split('@')[-1]}  workdir: {workdir}", flush=True)

    started = time.perf_counter()
    fill = [sys.executable, str(ROOT / "bench/case_list.py"), "--cases", str(options.cases), "--workdir", str(workdir), "--requests", "1"]
    subprocess.run(fill + (["--reuse"] if options.reuse else []), env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"database ready in {time.perf_counter() - started:.0f}s ({options.cases:,} cases)", flush=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "gunicorn"), "estatecrm.config.wsgi", "-w", str(options.web_workers), "-b", f"127.0.0.1:{port}",
                               "--timeout", "120", "--log-level", "warning"], env=env)
    importer = None
    try:
        wait_until_up(f"{url}/login/")
        if options.import_rows:
            leads = workdir / f"leads-{options.import_rows}.csv"
            if not leads.exists():
                subprocess.run([sys.executable, str(ROOT / "bench/generate_leads.py"), str(options.import_rows), str(leads)], env=env, check=True)
            setup = ("import django; django.setup()\n"
                     "from estatecrm.crm.actions import do_upsert_project\n"
                     "from estatecrm.tenancy.models import Company\n"
                     "do_upsert_project(company=Company.objects.get(code='bench'), name='load')\n")
            subprocess.run([sys.executable, "-c", setup], env=env, check=True)
            importer = subprocess.Popen([str(BIN / "estatecrm"), "import-leads", str(leads), "--company", "bench", "--project", "load",
                                         "--duplicate-keys", "name,phone", "--json"], env=env, stdout=subprocess.DEVNULL)
            import_started = time.perf_counter()
        low, high = 1, options.cases
        stats = workdir / "load"
        subprocess.run([locust, "-f", str(ROOT / "bench/locustfile.py"), "--headless", "-u", str(options.users),
                        "-r", str(max(1, options.users // 5)), "-t", f"{options.seconds}s", "--host", url, "--csv", str(stats),
                        "--only-summary", "--loglevel", "WARNING"],
                       env={**env, "LOAD_CASE_IDS": f"{low}-{high}"}, check=False)
        if importer is not None:
            state = "still running when the load ended" if importer.poll() is None else f"ended (exit {importer.returncode})"
            print(f"lead import of {options.import_rows:,} rows: {state} after {time.perf_counter() - import_started:.0f}s", flush=True)
        print_table(stats.with_name("load_stats.csv"))
    finally:
        server.terminate()
        server.wait(timeout=30)
        if importer is not None:
            if importer.poll() is None:
                importer.wait()  # the import is measured to its end: its duration under the load
            print(f"lead import ended (exit {importer.returncode}) {time.perf_counter() - import_started:.0f}s after it started")


def print_table(path: Path) -> None:
    print(f"{'request':<22}{'count':>8}{'fail':>6}{'req/s':>8}{'p50':>7}{'p95':>7}{'p99':>7}  (ms)")
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            print(f"{row['Name']:<22}{row['Request Count']:>8}{row['Failure Count']:>6}{float(row['Requests/s']):>8.1f}"
                  f"{row['50%']:>7}{row['95%']:>7}{row['99%']:>7}")


if __name__ == "__main__":
    main()
