"""Load test (issue 15): office staff browsing while a lead import runs, through a real server.

    .venv/bin/python bench/load_test.py [--cases 100000] [--users 50] [--warmup 40] [--seconds 60] [--import-rows 100000]
                                        [--web-workers 2] [--workdir DIR] [--reuse] [--out RESULTS.json]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/load_pg .venv/bin/python bench/load_test.py ...

Fills a database with bench/case_list.py's company (`--cases` cases; DATABASE_URL, default a SQLite file in
the work directory; a PostgreSQL database named there is dropped and created for each run; `--reuse` keeps a
filled one), serves it with gunicorn (`--web-workers` processes of `--web-threads` threads, as `estatecrm serve`) on a
free port of 127.0.0.1 only, starts a lead import of `--import-rows` CP932 rows with the duplicate check
(bench/generate_leads.py; 0: none) in its own process when the measured window begins, and runs locust headless (bench/locustfile.py:
`--users` users logging in, then the case list, a filtered page, name and phone searches and case details,
1-3 s apart). The users start (and log in: an argon2 hash each) over the first half of a `--warmup` of
seconds; the measured window is the `--seconds` after it. Prints per phase (warm-up, window) and request
kind: requests, failures, requests/s, p50, p95 and p99 in ms, the import's duration and the load average;
writes them as JSON to `--out` (default: load-results.json in the work directory). Needs locust (`pip install -e '.[bench]'`). Bounded: locust stops
after `--seconds`, the server and the import are stopped at the end.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchlib import fresh_postgres_database, loadavg

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


class ImportInWindow(threading.Thread):
    """The import, started `delay` seconds from now (when the measured window begins); `seconds`: its duration
    once it ended."""

    def __init__(self, command: list[str], env: dict, *, delay: float):
        super().__init__(daemon=True)
        self.command, self.env, self.delay = command, env, delay
        self.process: subprocess.Popen | None = None
        self.seconds: float | None = None
        self.start()

    def run(self) -> None:
        time.sleep(self.delay)
        started = time.perf_counter()
        self.process = subprocess.Popen(self.command, env=self.env, stdout=subprocess.DEVNULL)
        self.process.wait()
        self.seconds = time.perf_counter() - started

    def state(self) -> str:
        if self.process is None:
            return "not started"
        if self.seconds is None:
            return "still running when the window ended"
        return f"ended (exit {self.process.returncode}) after {self.seconds:.0f}s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=40, help="seconds for the users to start and log in, reported apart")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4, help="threads per web process (as `estatecrm serve`)")
    # gunicorn's threaded workers close a kept-alive connection after --keep-alive seconds idle (2 by default): a user
    # pausing 1-3 s sends its next request on a connection the server is closing and gets "connection reset" (a browser
    # retries such a request on a new connection; locust's client does not). Longer than the pauses: no such race.
    parser.add_argument("--keep-alive", type=int, default=5, help="seconds a kept-alive connection may idle (gunicorn --keep-alive)")
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
    if not options.reuse:
        fresh_postgres_database(env["DATABASE_URL"])
    print(f"database: {env['DATABASE_URL'].split('@')[-1]}  workdir: {workdir}", flush=True)

    started = time.perf_counter()
    fill = [sys.executable, str(ROOT / "bench/case_list.py"), "--cases", str(options.cases), "--workdir", str(workdir), "--requests", "1"]
    if options.reuse:
        # A filled database (bench/cost_growth.py --snapshot, or an earlier run): its schema as the code wants it.
        subprocess.run([str(BIN / "estatecrm"), "migrate", "-v0"], env=env, check=True)
    else:
        subprocess.run(fill, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"database ready in {time.perf_counter() - started:.0f}s ({options.cases:,} cases)", flush=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "gunicorn"), "estatecrm.config.wsgi", "-w", str(options.web_workers), "--threads", str(options.web_threads),
                               "--keep-alive", str(options.keep_alive), "-b", f"127.0.0.1:{port}",
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
            # The import starts with the measured window (after the warm-up's log-ins) and its end is noted: the window
            # is measured "while an import runs" as far as the import lasts (reported).
            importer = ImportInWindow([str(BIN / "estatecrm"), "import-leads", str(leads), "--company", "bench", "--project", "load",
                                       "--duplicate-keys", "name,phone", "--json"], env, delay=options.warmup)
        low, high = 1, options.cases
        stats, out = workdir / "load", options.out or workdir / "load-results.json"
        # The users start over the first half of the warm-up (their log-ins spread), the rest lets the queue drain.
        spawn_rate = options.users / max(1, options.warmup / 2)
        load_at_start = loadavg()
        subprocess.run([locust, "-f", str(ROOT / "bench/locustfile.py"), "--headless", "-u", str(options.users),
                        "-r", f"{spawn_rate:.2f}", "-t", f"{options.warmup + options.seconds}s", "--host", url, "--csv", str(stats),
                        "--only-summary", "--loglevel", "WARNING"],
                       env={**env, "LOAD_CASE_IDS": f"{low}-{high}", "LOAD_WARMUP": str(options.warmup), "LOAD_RESULTS": str(out)},
                       check=False)
        results = json.loads(out.read_text(encoding="utf-8"))
        results.update(database=env["DATABASE_URL"].split(":")[0], cases=options.cases, users=options.users, web_workers=options.web_workers, web_threads=options.web_threads, keep_alive=options.keep_alive,
                       import_rows=options.import_rows, load_at_start=load_at_start, load_at_end=loadavg(),
                       date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        if importer is not None:
            state = importer.state()
            results["import_state_at_end"] = state
            results["import_seconds_of_window"] = round(min(importer.seconds or options.seconds, options.seconds))
            print(f"lead import of {options.import_rows:,} rows (started with the window): {state}; it ran through "
                  f"{results['import_seconds_of_window']} s of the {options.seconds} s window", flush=True)
        print(f"load average at the start {load_at_start}, at the end {results['load_at_end']}")
        out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        print_table(results)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # requests still queued when the load ended (an overloaded server)
            server.kill()
            server.wait()
        if importer is not None:
            importer.join()  # the import is measured to its end (the rest of it without the users)
            print(f"lead import {importer.state()}")
            if options.import_rows and out.exists():
                results = json.loads(out.read_text(encoding="utf-8"))
                results["import"] = {"rows": options.import_rows, "exit": importer.process.returncode, "seconds": round(importer.seconds)}
                out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


def print_table(results: dict) -> None:
    for phase, kinds in results["phases"].items():
        seconds = results["warmup_seconds"] if phase == "warm-up" else results["window_seconds"]
        print(f"{phase} ({seconds:.0f} s)")
        print(f"  {'request':<24}{'count':>8}{'fail':>6}{'req/s':>8}{'p50':>7}{'p95':>7}{'p99':>7}  (ms)")
        for name, row in kinds.items():
            print(f"  {name:<24}{row['requests']:>8}{row['failures']:>6}{row['per_s']:>8.1f}{row['p50']!s:>7}{row['p95']!s:>7}{row['p99']!s:>7}")


if __name__ == "__main__":
    main()
