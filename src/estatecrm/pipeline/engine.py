"""The engine every bulk move runs on: batches, checkpoint, abort, resume after a crash.

A job (leads, legacy, vendor...) supplies `prepare()` (read and check the whole input, writing
nothing; returns the row count), `batches(after_row)` and `write(batch)`. The engine claims the
run, then commits each batch together with its ledger entries, the new checkpoint and the counts in
one transaction: a run killed at any point resumes after the last committed batch, and the ledger's
unique (company, source system, source key) makes a second write of a record impossible.
"""

import gc
import logging
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.core.scope import company_scope
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.readers import ReadError

logger = logging.getLogger(__name__)

def stale_after() -> timezone.timedelta:
    """How long a running run may go without a heartbeat before another worker takes it over."""
    from django.conf import settings

    return timezone.timedelta(seconds=getattr(settings, "PIPELINE_STALE_SECONDS", 60))
JOBS: dict[str, type["Job"]] = {}


def register_job(job_class: type["Job"]) -> type["Job"]:
    JOBS[job_class.kind] = job_class
    return job_class


@dataclass
class Batch:
    """Prepared rows of one transaction; `last_row` becomes the checkpoint once it commits."""

    rows: list
    last_row: int
    source_rows: int
    lookups: object = None  # what the producer looked up in the database for the writer (job-specific)


@dataclass
class JobResult:
    counts: Counter = field(default_factory=Counter)


class Job(ABC):
    kind: ClassVar[str]
    # Who may read, abort and revert runs of this kind: a rule of tenancy/permissions.py, and the
    # params key naming the unit a unit-scoped rule is checked against.
    permission_rule: ClassVar[str] = "run_abort"
    unit_param: ClassVar[str | None] = None

    def __init__(self, run: Run):
        self.run = run

    @abstractmethod
    def prepare(self) -> int:
        """Read and check the whole input without writing; return its row count. Raise ReadError to refuse."""

    @abstractmethod
    def batches(self, after_row: int) -> Iterator[Batch]:
        """Prepared batches of the rows after `after_row` (the checkpoint)."""

    @abstractmethod
    def write(self, batch: Batch) -> Counter:
        """Write one batch and its ledger entries (the engine holds the transaction); return counts."""

    def final_status(self, counts: Counter) -> str:
        return RunStatus.COMPLETED_WITH_FAILURES if counts.get("failed") else RunStatus.COMPLETED

    def finished(self) -> None:
        """Called once after the run ended (any final status): notifications go here, after commit."""
        return None


def claim_run(run_id: int, *, now=None) -> bool:
    """Take the run for this worker: a pending run, or a running one whose worker stopped beating."""
    now = now or timezone.now()
    # The run's company is not known before the run is read; claiming is by primary key only.
    return bool(
        Run.objects.unscoped()
        .filter(pk=run_id)
        .filter(Q(status=RunStatus.PENDING) | Q(status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after()))
        .update(status=RunStatus.RUNNING, heartbeat_at=now, started_at=now)
    )


def execute_run(run_id: int, *, progress=None) -> str | None:
    """Run (or resume) the run to its end. Idempotent: a finished or busy run is left alone.

    `progress(run)` is called after each committed batch (the CLI draws its progress bar with it).
    """
    if not claim_run(run_id):
        return None
    run = Run.objects.unscoped().get(pk=run_id)
    with company_scope(run.company_id), fewer_collections(), bulk_session():
        job = JOBS[run.kind](run)
        counts = Counter(run.counts or {})
        try:
            if run.rows_total is None:
                total = job.prepare()
                Run.objects.for_company(run.company_id).filter(pk=run.pk).update(rows_total=total, detected=run.detected)
                run.rows_total = total
            status = None
            rate = float(run.params.get("rate") or 0)  # source rows per second; 0: as fast as possible
            started = time.monotonic()
            done_here = 0
            for batch in job.batches(run.checkpoint):
                if Run.objects.for_company(run.company_id).filter(pk=run.pk, abort_requested_at__isnull=False).exists():
                    status = RunStatus.ABORTED
                    break
                with transaction.atomic():
                    batch_counts = job.write(batch)
                    counts.update(batch_counts)
                    run.checkpoint = batch.last_row
                    run.rows_done += batch.source_rows
                    Run.objects.for_company(run.company_id).filter(pk=run.pk).update(
                        checkpoint=run.checkpoint, rows_done=run.rows_done, counts=dict(counts), heartbeat_at=timezone.now()
                    )
                if progress is not None:
                    progress(run)
                done_here += batch.source_rows
                if rate:
                    # Throttled runs leave the database to the office during working hours.
                    time.sleep(max(0.0, done_here / rate - (time.monotonic() - started)))
            if status is None:
                status = job.final_status(counts)
            finish_run(run, status, counts)
        except ReadError as error:
            finish_run(run, RunStatus.FAILED, counts, error_code=error.code, error_message=error.message)
        except Exception as error:
            logger.exception("run %s failed", run.pk)
            finish_run(run, RunStatus.FAILED, counts, error_code="internal_error",
                       error_message=_("The run stopped because of an internal error: %(error)s") % {"error": str(error)[:500]})
        run.refresh_from_db()
        job.finished()
        return run.status


@contextmanager
def fewer_collections():
    """A run allocates millions of short-lived tuples: with the default thresholds the collector
    runs every 700 allocations and its full passes walk the whole (growing) heap. Objects alive
    before the run are frozen out of its passes; the thresholds are restored afterwards."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


# SQLite settings of a run's connection (pages of 4 KiB): the write-ahead log is copied back into
# the database every 256 MiB instead of every 4 MiB (a page that many batches touch, such as an index
# page, is copied once instead of once per batch; the log file grows to that size during a run), and
# 128 MiB of page cache instead of 64 (192 MiB measured no faster and costs 78 MB of the run's budget).
RUN_WAL_AUTOCHECKPOINT_PAGES = 65_536
RUN_CACHE_KIB = 131_072


@contextmanager
def bulk_session():
    """Settings of the connection for the length of a run (SQLite only); restored afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        checkpoint_pages = cursor.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute(f"PRAGMA wal_autocheckpoint = {RUN_WAL_AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA cache_size = -{RUN_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")
            cursor.execute(f"PRAGMA cache_size = {int(cache)}")
            if not connection.in_atomic_block:  # (a dry run is inside one: it cannot checkpoint there)
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def finish_run(run: Run, status: str, counts: Counter, *, error_code: str = "", error_message: str = "") -> None:
    now = timezone.now()
    Run.objects.for_company(run.company_id).filter(pk=run.pk).update(
        status=status, counts=dict(counts), finished_at=now, heartbeat_at=now, error_code=error_code, error_message=error_message
    )
    run.status = status


def request_abort(run: Run) -> bool:
    """Ask the worker to stop after the current batch. False when the run already ended."""
    if run.is_finished:
        return False
    updated = Run.objects.for_company(run.company_id).filter(pk=run.pk, abort_requested_at__isnull=True).update(
        abort_requested_at=timezone.now()
    )
    # A run that no worker took yet ends at once.
    Run.objects.for_company(run.company_id).filter(pk=run.pk, status=RunStatus.PENDING).update(
        status=RunStatus.ABORTED, finished_at=timezone.now()
    )
    return bool(updated)


def stale_run_ids(*, now=None) -> list[int]:
    """Runs whose worker died: running without a heartbeat for STALE_AFTER."""
    now = now or timezone.now()
    # Recovery is a maintenance sweep over every company's runs.
    return list(
        Run.objects.unscoped().filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after()).values_list("pk", flat=True)
    )
