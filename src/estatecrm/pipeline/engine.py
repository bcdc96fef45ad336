"""The engine every bulk move runs on: batches, checkpoint, abort, resume after a crash.

A job (leads, legacy, vendor...) supplies `prepare()` (read and check the whole input, writing
nothing; returns the row count), `batches(after_row)` and `write(batch)`. The engine claims the
run, then commits each batch together with its ledger entries, the new checkpoint and the counts in
one transaction: a run killed at any point resumes after the last committed batch, and the ledger's
unique (company, source system, source key) makes a second write of a record impossible.

A live run is never taken over: while it runs, a thread of the worker beats (`Heartbeat`, its own
database connection) whatever the worker does (a slow batch, a long prepare(), a throttled run's
sleep). Should a worker still be taken over (a machine frozen past the stale limit), the claim
increments the run's `lease`, and every write of the old owner (a batch, the counts, the end) is made
under `WHERE lease = <its lease>`: it matches nothing, the batch rolls back and the old owner stops.
"""

import gc
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.core.scope import company_scope
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.readers import ReadError

logger = logging.getLogger(__name__)
# Beats per stale period: a beat may be late (a SQLite writer holding the lock, a busy machine)
# three times before the run looks stale.
BEATS_PER_STALE_PERIOD = 4


def stale_after() -> timezone.timedelta:
    """How long a running run may go without a heartbeat before another worker takes it over."""
    from django.conf import settings

    return timezone.timedelta(seconds=getattr(settings, "PIPELINE_STALE_SECONDS", 60))


class RunRefused(Exception):
    """A job refuses to go on (found while running, e.g. a revert whose import was edited meanwhile): the
    run fails with this code and translated message, as with a ReadError."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class LeaseLost(Exception):
    """Another worker claimed the run (this worker's lease is no longer the run's): stop writing."""


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
    # What people call a run of this kind (pages: the dashboard's background jobs); `Run.kind_label`.
    label: ClassVar[str] = ""
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

    def before_finish(self, status: str, counts: Counter) -> None:
        """Called in the transaction that ends the run (completed or aborted; not when it failed): a last
        write that must commit with the run's end (a revert marks what it reverted). May add to `counts`."""
        return None

    def finished(self) -> None:
        """Called once after the run ended (any final status): notifications go here, after commit."""
        return None


def claim_run(run_id: int, *, now=None) -> int | None:
    """Take the run for this worker: a pending run, or a running one whose worker stopped beating.

    Returns the lease this worker now holds (every write of the run must carry it), None when the run
    is not claimable. The claim is a compare-and-set on the lease: of two workers claiming at once,
    one wins."""
    now = now or timezone.now()
    claimable = Q(status=RunStatus.PENDING) | Q(status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after())
    # The run's company is not known before the run is read; claiming is by primary key only.
    runs = Run.objects.unscoped().filter(pk=run_id)
    lease = runs.filter(claimable).values_list("lease", flat=True).first()
    if lease is None:
        return None
    claimed = runs.filter(claimable, lease=lease).update(status=RunStatus.RUNNING, heartbeat_at=now, started_at=now, lease=lease + 1)
    return lease + 1 if claimed else None


def leased(run: Run, lease: int):
    """The run's row, as long as `lease` is still its lease (writes through it match nothing afterwards)."""
    return Run.objects.for_company(run.company_id).filter(pk=run.pk, lease=lease)


def update_leased(run: Run, lease: int, **values) -> None:
    """Update the run's row under the lease; LeaseLost (the caller's transaction rolls back) when lost."""
    if not leased(run, lease).update(**values):
        raise LeaseLost(f"run {run.pk}: lease {lease} was taken over")


class Heartbeat:
    """Beats for a claimed run from a thread with its own database connection, every
    PIPELINE_STALE_SECONDS / 4, independently of the worker's batches; `lost` is set when the run was
    claimed by another worker (the beat matched no row). Not started when the worker's connection
    holds an open transaction (a dry run, a test): no other connection sees that run, nobody can take
    it over, and a beat would wait on the worker's own write lock (SQLite)."""

    def __init__(self, run: Run, lease: int):
        self.run, self.lease = run, lease
        self.stopping = threading.Event()
        self.lost = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> "Heartbeat":
        if not connection.in_atomic_block and not (connection.vendor == "sqlite" and connection.is_in_memory_db()):
            self.thread = threading.Thread(target=self.beat, name=f"run-{self.run.pk}-heartbeat", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()

    def beat(self) -> None:
        from django.db import connection as own_connection  # this thread's own connection

        interval = stale_after().total_seconds() / BEATS_PER_STALE_PERIOD
        try:
            while not self.stopping.wait(interval):
                try:
                    if not leased(self.run, self.lease).filter(status=RunStatus.RUNNING).update(heartbeat_at=timezone.now()):
                        logger.warning("run %s was taken over by another worker (lease %s): stopping", self.run.pk, self.lease)
                        self.lost.set()
                        return
                except DatabaseError:
                    # Locked or briefly unreachable: the next beat tries again; the batches beat too.
                    logger.warning("run %s: heartbeat failed", self.run.pk, exc_info=True)
        finally:
            own_connection.close()

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"run {self.run.pk}: lease {self.lease} was taken over")

    def sleep(self, seconds: float) -> None:
        """Sleep (a throttled run), waking at once when the run is taken over."""
        if seconds > 0:
            self.lost.wait(seconds)
        self.check()


def execute_run(run_id: int, *, progress=None) -> str | None:
    """Run (or resume) the run to its end. Idempotent: a finished or busy run is left alone.

    `progress(run)` is called after each committed batch (the CLI draws its progress bar with it).
    Returns the run's final status, or None when this worker did not run it to its end (not claimable,
    or taken over by another worker meanwhile: this worker then stops without writing anything more).
    """
    lease = claim_run(run_id)
    if lease is None:
        return None
    run = Run.objects.unscoped().get(pk=run_id)
    with company_scope(run.company_id), fewer_collections(), bulk_session(), Heartbeat(run, lease) as heartbeat:
        job = JOBS[run.kind](run)
        counts = Counter(run.counts or {})
        try:
            try:
                if run.rows_total is None:
                    total = job.prepare()
                    heartbeat.check()
                    update_leased(run, lease, rows_total=total, detected=run.detected)
                    run.rows_total = total
                status = None
                rate = float(run.params.get("rate") or 0)  # source rows per second; 0: as fast as possible
                started = time.monotonic()
                done_here = 0
                for batch in job.batches(run.checkpoint):
                    heartbeat.check()
                    if Run.objects.for_company(run.company_id).filter(pk=run.pk, abort_requested_at__isnull=False).exists():
                        status = RunStatus.ABORTED
                        break
                    with transaction.atomic():
                        # First, under the lease: from here to the commit no other worker can claim the run
                        # (the row is locked on PostgreSQL, the database on SQLite).
                        update_leased(run, lease, heartbeat_at=timezone.now())
                        batch_counts = job.write(batch)
                        batch_total = counts.copy()
                        batch_total.update(batch_counts)
                        update_leased(run, lease, checkpoint=batch.last_row, rows_done=run.rows_done + batch.source_rows,
                                      counts=dict(batch_total), heartbeat_at=timezone.now())
                    counts = batch_total
                    run.checkpoint = batch.last_row
                    run.rows_done += batch.source_rows
                    if progress is not None:
                        progress(run)
                    done_here += batch.source_rows
                    if rate:
                        # Throttled runs leave the database to the office during working hours.
                        heartbeat.sleep(done_here / rate - (time.monotonic() - started))
                if status is None:
                    status = job.final_status(counts)
                with transaction.atomic():
                    update_leased(run, lease, heartbeat_at=timezone.now())
                    job.before_finish(status, counts)
                    finish_run(run, status, counts, lease=lease)
            except (ReadError, RunRefused) as error:
                finish_run(run, RunStatus.FAILED, counts, error_code=error.code, error_message=error.message, lease=lease)
            except LeaseLost:
                raise
            except Exception as error:
                logger.exception("run %s failed", run.pk)
                finish_run(run, RunStatus.FAILED, counts, error_code="internal_error", lease=lease,
                           error_message=_("The run stopped because of an internal error: %(error)s") % {"error": str(error)[:500]})
        except LeaseLost:
            # Another worker took the run over and goes on with it: its counts, report and mail are its own.
            logger.warning("run %s was taken over by another worker: this worker (lease %s) stopped", run.pk, lease)
            return None
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
    """Settings of the connection for the length of a run; restored afterwards. PostgreSQL: the planner's
    (pipeline.bulk.run_settings)."""
    if connection.vendor != "sqlite":
        from estatecrm.pipeline.bulk import run_settings

        with run_settings():
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


def finish_run(run: Run, status: str, counts: Counter, *, lease: int, error_code: str = "", error_message: str = "") -> None:
    """End the run under this worker's `lease` (LeaseLost, nothing written, when it was taken over)."""
    now = timezone.now()
    update_leased(run, lease, status=status, counts=dict(counts), finished_at=now, heartbeat_at=now, error_code=error_code,
                  error_message=error_message)
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
