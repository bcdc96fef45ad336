"""How long web writes wait while a lead import writes its batches (issue 15, SQLite).

    .venv/bin/python bench/sqlite_write_wait.py [--cases 20000] [--import-rows 100000] [--workdir DIR] [--reuse]
                                                [--web-workers 2] [--threads 4] [--no-probes] [--out RESULTS.json]

Fills a SQLite database with bench/case_list.py's company (`--cases`), serves it with gunicorn
(`--web-workers` processes of `--threads` threads as `estatecrm serve` runs it; 127.0.0.1 only), starts a lead import of `--import-rows` CP932 rows with the
duplicate check in its own process, and while it runs, until it ends:
- a thread of this process writes as a web request does, one write every 0.2 s, each timed: a session saved
  (a transaction: Django's session store), a user's last log-in (a single UPDATE outside a transaction);
- a second thread logs in through the server every 0.5 s (GET /login/, then POST /login/: the session,
  last_login and the audit event are written), each request timed;
- a third thread reads a page (GET /login/) every 0.5 s, timed (a read-only page stuck behind waiting writes).
Prints per probe: count, failures, p50/p95/max in ms; the import's duration and rows/s, the seconds its
batches waited for the other writers (the engine's log line); the load average.
`--no-probes`: the import alone (its throughput without web writes, for comparison).
"""

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from benchlib import loadavg
from load_test import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASSWORD = "pass-Word-123"  # core.testing.make_user's, which bench/case_list.py's users have


class Probe:
    """Times of one kind of operation and its failures."""

    def __init__(self, name: str):
        self.name, self.times, self.failures, self.errors = name, [], 0, []
        self.slowest_at = 0.0  # seconds after the probe's first operation
        self.started = None

    def timed(self, operation) -> None:
        started = time.perf_counter()
        self.started = self.started or started
        try:
            operation()
        except Exception as error:  # a failure is a result here: counted and shown
            self.failures += 1
            if len(self.errors) < 3:
                self.errors.append(f"{type(error).__name__}: {error}"[:200])
        else:
            self.times.append((time.perf_counter() - started) * 1000)
            if self.times[-1] == max(self.times):
                self.slowest_at = round(started - self.started, 1)

    def summary(self) -> dict:
        times = sorted(self.times)
        if not times:
            return {"count": 0, "failures": self.failures, "errors": self.errors}
        return {"count": len(times), "failures": self.failures, "p50": round(statistics.median(times), 1),
                "p95": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1), "max": round(times[-1], 1),
                "max_at_s": self.slowest_at, "errors": self.errors}


def direct_writes(stop: threading.Event, session_probe: Probe, login_probe: Probe) -> None:
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.utils import timezone

    from estatecrm.tenancy.models import User

    user_pk = User.objects.get(email="admin@bench.example.jp").pk
    while not stop.wait(0.2):
        def save_session():
            store = SessionStore()
            store["probe"] = time.time()
            store.create()

        session_probe.timed(save_session)
        login_probe.timed(lambda: User.objects.filter(pk=user_pk).update(last_login=timezone.now()))
    connection.close()


def logins(url: str, stop: threading.Event, probe: Probe, *, once: bool = False) -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def log_in():
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
        page = opener.open(f"{url}/login/", timeout=120).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"username": "admin@bench.example.jp", "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(f"{url}/login/", data=data, headers={"Referer": f"{url}/login/"})
        try:
            response = opener.open(request, timeout=120)
            status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        if status != 302:
            raise RuntimeError(f"log-in answered {status}")

    if once:
        probe.timed(log_in)
        return
    while not stop.wait(0.5):
        probe.timed(log_in)


def reads(url: str, stop: threading.Event, probe: Probe) -> None:
    def read_page():
        with urllib.request.urlopen(f"{url}/login/", timeout=120) as response:
            response.read()

    while not stop.wait(0.5):
        probe.timed(read_page)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (estatecrm serve's default: 4)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--reuse", action="store_true", help="keep an existing filled database (its imported leads stay)")
    parser.add_argument("--no-probes", action="store_true", help="the import alone")
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="estatecrm-sqlwait-"))
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "cases.sqlite3"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="estatecrm.config.settings.base", ESTATECRM_VAR_DIR=str(workdir),
               ALLOWED_HOSTS="127.0.0.1", SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 50),
               DATABASE_URL=f"sqlite:///{database}", LOG_LEVEL="WARNING")
    snapshot = workdir / "filled.sqlite3"
    if not (options.reuse and snapshot.exists()):
        for stale in workdir.glob("*.sqlite3*"):
            stale.unlink()
        subprocess.run([sys.executable, str(ROOT / "bench/case_list.py"), "--cases", str(options.cases), "--workdir", str(workdir),
                        "--requests", "1"], env=env, check=True, stdout=subprocess.DEVNULL)
        setup = ("import django; django.setup()\n"
                 "from estatecrm.crm.actions import do_upsert_project\n"
                 "from estatecrm.tenancy.models import Company\n"
                 "from django.db import connection\n"
                 "do_upsert_project(company=Company.objects.get(code='bench'), name='load')\n"
                 "connection.cursor().execute('PRAGMA wal_checkpoint(TRUNCATE)')\n")
        subprocess.run([sys.executable, "-c", setup], env=env, check=True)
        subprocess.run(["cp", str(database), str(snapshot)], check=True)
    else:
        for stale in workdir.glob("cases.sqlite3*"):
            stale.unlink()
        subprocess.run(["cp", str(snapshot), str(database)], check=True)
    leads = workdir / f"leads-{options.import_rows}.csv"
    if not leads.exists():
        subprocess.run([sys.executable, str(ROOT / "bench/generate_leads.py"), str(options.import_rows), str(leads)], env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "gunicorn"), "estatecrm.config.wsgi", "-w", str(options.web_workers), "-b", f"127.0.0.1:{port}",
                               "--threads", str(options.threads), "--timeout", "120", "--log-level", "warning"], env=env)
    probes = {name: Probe(name) for name in ("session save (transaction)", "last_login update (autocommit)", "log-in (GET+POST)",
                                             "read page (GET /login/)")}
    stop = threading.Event()
    threads = []
    try:
        wait_until_up(f"{url}/login/")
        # Every worker process has loaded the application (its first request) before anything is timed.
        warm_up = Probe("warm-up")
        for _ in range(3 * options.web_workers):
            logins(url, threading.Event(), warm_up, once=True)
        load_at_start = loadavg()
        started = time.perf_counter()
        importer = subprocess.Popen([str(BIN / "estatecrm"), "import-leads", str(leads), "--company", "bench", "--project", "load",
                                     "--duplicate-keys", "name,phone", "--json"], env={**env, "LOG_LEVEL": "INFO"},
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if not options.no_probes:
            names = list(probes)
            threads = [threading.Thread(target=direct_writes, args=(stop, probes[names[0]], probes[names[1]])),
                       threading.Thread(target=logins, args=(url, stop, probes[names[2]])),
                       threading.Thread(target=reads, args=(url, stop, probes[names[3]]))]
            for thread in threads:
                thread.start()
        output, log = importer.communicate()
        took = time.perf_counter() - started
        stop.set()
        for thread in threads:
            thread.join()
        load_at_end = loadavg()
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=60)
    report = json.loads(output.decode() or "{}")
    waited = re.search(r"batches waited ([0-9.]+) s in all for other writers \((\d+) began", log.decode())
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cases": options.cases, "import_rows": options.import_rows,
               "web_workers": options.web_workers, "threads": options.threads, "import_exit": importer.returncode, "import_seconds": round(took, 1),
               "import_rows_per_s": round(options.import_rows / took), "import_status": report.get("status"),
               "import_counts": report.get("counts"),
               "import_waited_for_writers_s": float(waited.group(1)) if waited else 0.0,
               "import_batches_begun_before_writers_got_in": int(waited.group(2)) if waited else 0, "load_at_start": load_at_start, "load_at_end": load_at_end,
               "probes": {} if options.no_probes else {name: probe.summary() for name, probe in probes.items()}}
    out = options.out or workdir / "sqlite-write-wait.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"import of {options.import_rows:,} rows: exit {importer.returncode}, status {results['import_status']}, {took:.1f} s "
          f"({results['import_rows_per_s']:,} rows/s), its batches waited {results['import_waited_for_writers_s']} s for other writers "
          f"({results['import_batches_begun_before_writers_got_in']} batches began before all got in); load average {load_at_start} -> {load_at_end}")
    print(f"  {'probe':<34}{'count':>6}{'fail':>6}{'p50':>9}{'p95':>9}{'max':>9}  (ms; the slowest at s)")
    for name, row in results["probes"].items():
        print(f"  {name:<34}{row['count']:>6}{row['failures']:>6}{row.get('p50', '-')!s:>9}{row.get('p95', '-')!s:>9}{row.get('max', '-')!s:>9}  {row.get('max_at_s', '-')}")
        for error in row["errors"]:
            print(f"      {error}")


if __name__ == "__main__":
    main()
