"""`estatecrm worker [db_worker options]`: a background worker (run as many as you like with PostgreSQL).

Before it takes tasks, and every minute after, it re-enqueues pipeline runs (and ranges of split runs)
whose worker died (killed mid-run), so they resume from their checkpoint. A second thread runs the periodic jobs that
apps register (core/periodic.py; the inquiry mailboxes' fetch every INQUIRY_FETCH_SECONDS).
"""

import logging
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from estatecrm.core.periodic import run_periodic_jobs

logger = logging.getLogger(__name__)
SWEEP_SECONDS = 60
# How long a stopping worker waits for a periodic job under way (a fetch stopped later leaves its mail unseen).
PERIODIC_STOP_SECONDS = 10
OPTIMIZE_SECONDS = 3600


def optimize_sqlite() -> None:
    """Keep SQLite's planner statistics fresh (`PRAGMA optimize`, bounded by analysis_limit): without
    them a new index or a big import leaves it choosing slow plans for the case list."""
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("PRAGMA optimize=0x10002")


def sweep_stale_runs(stop: threading.Event, backend: str, seconds: float) -> None:
    import time

    from estatecrm.pipeline.tasks import resume_stale_ranges, resume_stale_runs

    optimized_at = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - optimized_at >= OPTIMIZE_SECONDS:
                optimized_at = time.monotonic()
                optimize_sqlite()
            resumed = resume_stale_runs(backend)
            if resumed:
                logger.warning("resumed runs whose worker stopped: %s", resumed)
            resumed = resume_stale_ranges(backend)
            if resumed:
                logger.warning("resumed ranges of split runs whose worker stopped: %s", resumed)
        except Exception:
            logger.exception("could not sweep stale runs")
        finally:
            close_old_connections()
        stop.wait(seconds)


class Command(BaseCommand):
    help = "Run a background worker (django-tasks-db db_worker) that also resumes interrupted runs."

    def add_arguments(self, parser):
        parser.add_argument("--queue-name", default="default")
        parser.add_argument("--interval", type=float, default=1)
        parser.add_argument("--batch", action="store_true", help="process what is queued, then exit")
        parser.add_argument("--max-tasks", type=int)
        parser.add_argument("--worker-id")
        parser.add_argument("--backend", default="default", help="the TASKS backend alias to serve")

    def handle(self, *args, **options):
        stop = threading.Event()
        from django.conf import settings

        seconds = min(SWEEP_SECONDS, getattr(settings, "PIPELINE_STALE_SECONDS", SWEEP_SECONDS))
        sweeper = threading.Thread(target=sweep_stale_runs, args=(stop, options["backend"], seconds), name="stale-run-sweeper", daemon=True)
        sweeper.start()
        # A --batch worker empties the queue and exits: periodic jobs are for the long-running ones.
        periodic = threading.Thread(target=run_periodic_jobs, args=(stop,), name="periodic-jobs", daemon=True)
        if not options["batch"]:
            periodic.start()
        worker_options = {"queue_name": options["queue_name"], "interval": options["interval"], "reload": False,
                          "startup_delay": False}
        if options["batch"]:
            worker_options["batch"] = True
        if options["max_tasks"]:
            worker_options["max_tasks"] = options["max_tasks"]
        if options["worker_id"]:
            worker_options["worker_id"] = options["worker_id"]
        try:
            # --backend goes on the argument list: argparse would otherwise check db_worker's own
            # default ("default") against the settings, which may name another backend.
            call_command("db_worker", "--backend", options["backend"], **worker_options)
        finally:
            stop.set()
            if periodic.is_alive():
                periodic.join(PERIODIC_STOP_SECONDS)
