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

A splittable job's big run is split after its scan into ranges of rows (`RunRange`, PIPELINE_RANGE_ROWS),
each claimed, beaten, fenced and checkpointed like a run by any worker (`execute_range`); the run's
progress and counts are their sums, and the last range to end ends the run (`end_range`).
"""

import gc
import logging
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.core.scope import company_scope
from estatecrm.core.transactions import batch_turn, batch_waits
from estatecrm.pipeline.bulk import refresh_statistics
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run, RunRange
from estatecrm.pipeline.readers import ReadError

logger = logging.getLogger(__name__)
# Beats per stale period: a beat may be late (a SQLite writer holding the lock, a busy machine)
# three times before the run looks stale.
BEATS_PER_STALE_PERIOD = 4
# How often a run looks for tables whose planner statistics its writes made stale (pipeline.bulk.refresh_statistics).
STATISTICS_SECONDS = 30


def stale_after() -> timezone.timedelta:
    """How long a running run may go without a heartbeat before another worker takes it over."""
    from django.conf import settings

    return timezone.timedelta(seconds=getattr(settings, "PIPELINE_STALE_SECONDS", 60))


def worker_name() -> str:
    """This process as a worker: host and process id (recorded with every claim of a run or range)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def range_rows() -> int:
    """Source rows per range of a splittable run (PIPELINE_RANGE_ROWS; 0: runs are never split)."""
    from django.conf import settings

    return int(getattr(settings, "PIPELINE_RANGE_ROWS", 0) or 0)


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
    # Whether a run of this kind may be split after prepare() into ranges of rows that several workers
    # write at once (`range_bounds`, `batches(after_row, up_to_row)`); its write() must then give the
    # same result whichever range commits first (the lead import looks up the other ranges' leads).
    splittable: ClassVar[bool] = False

    def __init__(self, run: Run):
        self.run = run
        # The range this job instance writes (a split run), None for the whole run.
        self.part: RunRange | None = None
        # Rows per range asked for by the engine before prepare() (0: not split).
        self.range_rows = 0

    def range_bounds(self) -> list[tuple[int, int]]:
        """After prepare(), for a splittable job with `range_rows`: (first row, last row) of each range,
        in order, together covering every row. One range (or none): the run is not split."""
        return []

    @abstractmethod
    def prepare(self) -> int:
        """Read and check the whole input without writing; return its row count. Raise ReadError to refuse."""

    @abstractmethod
    def batches(self, after_row: int) -> Iterator[Batch]:
        """Prepared batches of the rows after `after_row` (the checkpoint). A splittable job takes
        `up_to_row` too: no row beyond it."""

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
    # A split run is never claimed again: its ranges are the units of work (claim_range).
    claimable = (Q(status=RunStatus.PENDING) | Q(status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after())) & ~Q(Exists(split_ranges()))
    # The run's company is not known before the run is read; claiming is by primary key only.
    runs = Run.objects.unscoped().filter(pk=run_id)
    lease = runs.filter(claimable).values_list("lease", flat=True).first()
    if lease is None:
        return None
    claimed = runs.filter(claimable, lease=lease).update(status=RunStatus.RUNNING, heartbeat_at=now, started_at=now, lease=lease + 1,
                                                         worker=worker_name())
    return lease + 1 if claimed else None


def split_ranges():
    """The ranges of the outer query's run (a subquery: a run with any is split)."""
    # A subquery of the outer run's rows, which are of one company (the outer query is scoped or by pk).
    return RunRange.objects.unscoped().filter(run_id=OuterRef("pk"))


def claim_range(range_id: int, *, now=None) -> int | None:
    """Take a range of a split run for this worker, like claim_run: a pending range of a running run, or
    a running range whose worker stopped beating. Returns the lease now held, None when not claimable."""
    now = now or timezone.now()
    claimable = Q(status=RunStatus.PENDING) | Q(status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after())
    # The range's company is not known before it is read; claiming is by primary key only.
    ranges = RunRange.objects.unscoped().filter(pk=range_id, run__status=RunStatus.RUNNING)
    lease = ranges.filter(claimable).values_list("lease", flat=True).first()
    if lease is None:
        return None
    claimed = RunRange.objects.unscoped().filter(claimable, pk=range_id, lease=lease).update(
        status=RunStatus.RUNNING, heartbeat_at=now, started_at=now, lease=lease + 1, worker=worker_name())
    return lease + 1 if claimed else None


def leased(run: Run, lease: int):
    """The run's row, as long as `lease` is still its lease (writes through it match nothing afterwards)."""
    return Run.objects.for_company(run.company_id).filter(pk=run.pk, lease=lease)


def update_leased(run: Run, lease: int, **values) -> None:
    """Update the run's row under the lease; LeaseLost (the caller's transaction rolls back) when lost."""
    if not leased(run, lease).update(**values):
        raise LeaseLost(f"run {run.pk}: lease {lease} was taken over")


def leased_range(part: RunRange, lease: int):
    """The range's row, as long as `lease` is still its lease."""
    return RunRange.objects.for_company(part.company_id).filter(pk=part.pk, lease=lease)


def update_leased_range(part: RunRange, lease: int, **values) -> None:
    """Update the range's row under the lease; LeaseLost when another worker took the range over."""
    if not leased_range(part, lease).update(**values):
        raise LeaseLost(f"range {part.pk} of run {part.run_id}: lease {lease} was taken over")


class Heartbeat:
    """Beats for a claimed run from a thread with its own database connection, every
    PIPELINE_STALE_SECONDS / 4, independently of the worker's batches; `lost` is set when the run was
    claimed by another worker (the beat matched no row). Not started when the worker's connection
    holds an open transaction (a dry run, a test): no other connection sees that run, nobody can take
    it over, and a beat would wait on the worker's own write lock (SQLite)."""

    def __init__(self, run: Run, lease: int, part: RunRange | None = None):
        self.run, self.lease, self.part = run, lease, part
        self.stopping = threading.Event()
        self.lost = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> "Heartbeat":
        if not connection.in_atomic_block and not (connection.vendor == "sqlite" and connection.is_in_memory_db()):
            self.thread = threading.Thread(target=self.beat, name=f"{self.name}-heartbeat", daemon=True)
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
                    rows = leased(self.run, self.lease) if self.part is None else leased_range(self.part, self.lease)
                    if not rows.filter(status=RunStatus.RUNNING).update(heartbeat_at=timezone.now()):
                        if rows.exists():
                            # Still this worker's lease, no longer running: the run (range) ended here, between
                            # its last commit and this thread's stop.
                            return
                        logger.warning("%s was taken over by another worker (lease %s): stopping", self.name, self.lease)
                        self.lost.set()
                        return
                except DatabaseError:
                    # Locked or briefly unreachable: the next beat tries again; the batches beat too.
                    logger.warning("%s: heartbeat failed", self.name, exc_info=True)
        finally:
            own_connection.close()

    @property
    def name(self) -> str:
        return f"run {self.run.pk}" if self.part is None else f"range {self.part.pk} of run {self.run.pk}"

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost(f"{self.name}: lease {self.lease} was taken over")

    def sleep(self, seconds: float) -> None:
        """Sleep (a throttled run), waking at once when the run is taken over."""
        if seconds > 0:
            self.lost.wait(seconds)
        self.check()


def execute_run(run_id: int, *, progress=None, backend: str = "default") -> str | None:
    """Run (or resume) the run to its end. Idempotent: a finished or busy run is left alone.

    `progress(run)` is called after each committed batch (the CLI draws its progress bar with it).
    Returns the run's final status, or None when this worker did not run it to its end (not claimable,
    or taken over by another worker meanwhile: this worker then stops without writing anything more).

    A splittable job's run of more than PIPELINE_RANGE_ROWS rows is split after its scan (`split_run`):
    its ranges are enqueued on `backend` for any worker, and this worker then works through the ranges
    no other worker took; it returns the run's status when the run ended, None when other workers still
    write ranges of it.
    """
    lease = claim_run(run_id)
    if lease is None:
        return None
    run = Run.objects.unscoped().get(pk=run_id)
    is_split = False
    with company_scope(run.company_id), fewer_collections(), bulk_session(), Heartbeat(run, lease) as heartbeat:
        job = JOBS[run.kind](run)
        counts = Counter(run.counts or {})
        try:
            try:
                if run.rows_total is None:
                    # A run inside a transaction (a dry run) has one writer: this one.
                    job.range_rows = range_rows() if job.splittable and not connection.in_atomic_block else 0
                    total = job.prepare()
                    heartbeat.check()
                    bounds = job.range_bounds() if job.range_rows else []
                    if len(bounds) > 1:
                        split_run(run, lease, total, bounds, backend=backend)
                        is_split = True
                    else:
                        update_leased(run, lease, rows_total=total, detected=run.detected)
                    run.rows_total = total
                if not is_split:
                    status = write_batches(job, WorkUnit(run, lease), heartbeat, counts, progress=progress)
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
                           error_message=internal_error_message(error))
        except LeaseLost:
            # Another worker took the run over and goes on with it: its counts, report and mail are its own.
            logger.warning("run %s was taken over by another worker: this worker (lease %s) stopped", run.pk, lease)
            return None
        if not is_split:
            run.refresh_from_db()
            job.finished()
            return run.status
    return work_ranges(run.pk, progress=progress)


@dataclass
class WorkUnit:
    """What a worker writes under the lease it claimed: a whole run, or one range of a split run."""

    run: Run
    lease: int
    part: RunRange | None = None

    @property
    def row(self) -> Run | RunRange:
        return self.run if self.part is None else self.part

    def update(self, **values) -> None:
        """Update the unit's row under the lease (LeaseLost when lost)."""
        if self.part is None:
            update_leased(self.run, self.lease, **values)
        else:
            update_leased_range(self.part, self.lease, **values)

    def is_stopping(self) -> bool:
        """An abort was asked for (a range: or another range of the run failed): stop before the next batch."""
        run = self.run
        if Run.objects.for_company(run.company_id).filter(pk=run.pk, abort_requested_at__isnull=False).exists():
            return True
        return self.part is not None and RunRange.objects.for_company(run.company_id).filter(run=run, status=RunStatus.FAILED).exists()


def write_batches(job: Job, unit: WorkUnit, heartbeat: Heartbeat, counts: Counter, *, progress=None) -> str | None:
    """Write the unit's batches after its checkpoint, each in one transaction with the new checkpoint and
    counts (a range's: and the run's sums). `counts` is kept current (the caller ends the unit with it on
    an error). Returns ABORTED when stopped by an abort, None when every batch was written."""
    waited_before = batch_waits()
    try:
        return write_unit_batches(job, unit, heartbeat, counts, progress=progress)
    finally:
        waited = batch_waits()
        if waited != waited_before:
            # What the web's writes cost the run on SQLite (core/sqlite/turns.py).
            logger.info("run %s: its batches waited %.2f s in all for other writers (%d began before all of them got in)",
                        unit.run.pk, waited[0] - waited_before[0], waited[1] - waited_before[1])


def write_unit_batches(job: Job, unit: WorkUnit, heartbeat: Heartbeat, counts: Counter, *, progress=None) -> str | None:
    row, run = unit.row, unit.run
    rate = float(run.params.get("rate") or 0)  # source rows per second; 0: as fast as possible
    started = time.monotonic()
    done_here = 0
    # The planner's statistics follow the run's writes (PostgreSQL): before its first lookups, then now and then.
    refresh_statistics()
    analyzed_at = time.monotonic()
    if unit.part is None:
        batches = job.batches(run.checkpoint)
    else:
        batches = job.batches(max(unit.part.checkpoint, unit.part.first_row - 1), up_to_row=unit.part.last_row)
    for batch in batches:
        heartbeat.check()
        if unit.is_stopping():
            return RunStatus.ABORTED
        if time.monotonic() - analyzed_at > STATISTICS_SECONDS:
            refresh_statistics()
            analyzed_at = time.monotonic()
        # SQLite: writers waiting for the write lock (a log-in, a saved case) go before the batch (batch_turn).
        with batch_turn(), transaction.atomic():
            # First, under the lease: from here to the commit no other worker can claim the unit
            # (the row is locked on PostgreSQL, the database on SQLite).
            unit.update(heartbeat_at=timezone.now())
            batch_counts = job.write(batch)
            batch_total = counts.copy()
            batch_total.update(batch_counts)
            unit.update(checkpoint=batch.last_row, rows_done=row.rows_done + batch.source_rows, counts=dict(batch_total),
                        heartbeat_at=timezone.now())
            if unit.part is not None:
                add_to_run(run, batch.source_rows)
        counts.update(batch_counts)
        row.checkpoint = batch.last_row
        row.rows_done += batch.source_rows
        if progress is not None:
            if unit.part is not None:
                run.rows_done = Run.objects.for_company(run.company_id).filter(pk=run.pk).values_list("rows_done", flat=True).get()
            progress(run)
        done_here += batch.source_rows
        if rate:
            # Throttled runs leave the database to the office during working hours.
            heartbeat.sleep(done_here / rate - (time.monotonic() - started))
    return None


def internal_error_message(error: Exception) -> str:
    return _("The run stopped because of an internal error: %(error)s") % {"error": str(error)[:500]}


def split_run(run: Run, lease: int, total: int, bounds: list[tuple[int, int]], *, backend: str) -> None:
    """Record the scan's result and the run's ranges in one transaction under the run's lease, and
    enqueue one task per range (in the same transaction on the database task backend: a range is never
    left without its task). From then on the run itself is never claimed again (claim_run)."""
    from estatecrm.pipeline.tasks import run_range

    with transaction.atomic():
        update_leased(run, lease, rows_total=total, detected=run.detected, heartbeat_at=timezone.now())
        parts = RunRange.objects.bulk_create(
            [RunRange(company_id=run.company_id, run=run, first_row=first, last_row=last) for first, last in bounds]
        )
        task = run_range.using(backend=backend)
        range_ids = [part.pk for part in parts]
        if type(task.get_backend()).__module__.startswith("django_tasks_db"):
            for range_id in range_ids:
                task.enqueue(range_id)
        else:  # (a backend that runs the task at once: after the ranges are committed)
            for range_id in range_ids:
                transaction.on_commit(lambda range_id=range_id: task.enqueue(range_id))
    logger.info("run %s split into %s ranges: %s", run.pk, len(bounds), bounds)


def work_ranges(run_id: int, *, progress=None) -> str | None:
    """Execute the ranges of a split run that no other worker holds, in order; the run's status when it
    ended, None when ranges that other workers hold are still running."""
    while True:
        # Ranges are looked for by their run only (the run was claimed by pk).
        waiting = RunRange.objects.unscoped().filter(run_id=run_id, status=RunStatus.PENDING).values_list("pk", flat=True)
        executed = False
        for range_id in list(waiting):
            if execute_range(range_id, progress=progress) is not None:
                executed = True
        if not executed:
            break
    status = Run.objects.unscoped().filter(pk=run_id).values_list("status", flat=True).get()
    return status if status in RunStatus.finished() else None


def execute_range(range_id: int, *, progress=None) -> str | None:
    """Write (or resume) one range of a split run, like execute_run: batches after the range's
    checkpoint up to its last row, each committed with the range's checkpoint and counts and the run's
    sums. Returns the range's final status, None when not claimable or taken over. The worker that ends
    the last range ends the run (`end_range`) and calls the job's `finished()`."""
    lease = claim_range(range_id)
    if lease is None:
        return None
    part = RunRange.objects.unscoped().get(pk=range_id)
    run = Run.objects.unscoped().get(pk=part.run_id)
    ended_run = False
    with company_scope(run.company_id), fewer_collections(), bulk_session(), Heartbeat(run, lease, part) as heartbeat:
        job = JOBS[run.kind](run)
        job.part = part
        counts = Counter(part.counts or {})
        try:
            try:
                status = write_batches(job, WorkUnit(run, lease, part), heartbeat, counts, progress=progress)
                if status is None:
                    status = job.final_status(counts)
                ended_run = end_range(job, part, lease, status, counts)
            except (ReadError, RunRefused) as error:
                ended_run = end_range(job, part, lease, RunStatus.FAILED, counts, error_code=error.code, error_message=error.message)
            except LeaseLost:
                raise
            except Exception as error:
                logger.exception("range %s of run %s failed", part.pk, run.pk)
                ended_run = end_range(job, part, lease, RunStatus.FAILED, counts, error_code="internal_error",
                                      error_message=internal_error_message(error))
        except LeaseLost:
            logger.warning("range %s of run %s was taken over by another worker: this worker (lease %s) stopped", part.pk, run.pk, lease)
            return None
        if ended_run:
            run.refresh_from_db()
            job.finished()
        return part.status


def add_to_run(run: Run, source_rows: int) -> None:
    """In a range's batch transaction, last: the run's progress and counts become the sums of its ranges'
    (the UPDATE holds the run's row until commit, so the ranges' batches add up one after the other)."""
    runs = Run.objects.for_company(run.company_id).filter(pk=run.pk)
    runs.update(rows_done=F("rows_done") + source_rows, heartbeat_at=timezone.now())
    runs.update(counts=dict(sum_counts(run)))


def sum_counts(run: Run) -> Counter:
    total: Counter = Counter()
    for counts in RunRange.objects.for_company(run.company_id).filter(run=run).values_list("counts", flat=True):
        total.update(counts or {})
    return total


def end_range(job: Job, part: RunRange, lease: int, status: str, counts: Counter, *, error_code: str = "", error_message: str = "") -> bool:
    """End the range under its lease and, when it was the run's last range still going, the run: in one
    transaction holding the run's row, so of two ranges ending at once exactly one ends the run. The run
    fails when a range failed (with that range's error), is aborted when a range was, and otherwise ends
    as the job says for the summed counts (`before_finish` in this transaction). True when this call
    ended the run."""
    run = job.run
    now = timezone.now()
    with transaction.atomic():
        update_leased_range(part, lease, status=status, counts=dict(counts), finished_at=now, heartbeat_at=now,
                            error_code=error_code, error_message=error_message)
        part.status = status
        locked = Run.objects.for_company(run.company_id).select_for_update().filter(pk=run.pk, status=RunStatus.RUNNING).first()
        ranges = RunRange.objects.for_company(run.company_id).filter(run=run)
        if locked is None or ranges.exclude(status__in=RunStatus.finished()).exists():
            return False
        total = sum_counts(run)
        failed = ranges.filter(status=RunStatus.FAILED).order_by("first_row").first()
        if failed is not None:
            run_status, error_code, error_message = RunStatus.FAILED, failed.error_code, failed.error_message
        else:
            run_status = RunStatus.ABORTED if ranges.filter(status=RunStatus.ABORTED).exists() else job.final_status(total)
            error_code, error_message = "", ""
            job.before_finish(run_status, total)
        Run.objects.for_company(run.company_id).filter(pk=run.pk).update(
            status=run_status, counts=dict(total), finished_at=now, heartbeat_at=now, error_code=error_code, error_message=error_message)
        run.status = run_status
    return True


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
    """Runs whose worker died: running without a heartbeat for STALE_AFTER (split runs: see stale_range_ids)."""
    now = now or timezone.now()
    # Recovery is a maintenance sweep over every company's runs.
    return list(
        Run.objects.unscoped().filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after())
        .exclude(Exists(split_ranges())).values_list("pk", flat=True)
    )


def stale_range_ids(*, now=None) -> list[int]:
    """Ranges of split runs whose worker died: running without a heartbeat for STALE_AFTER."""
    now = now or timezone.now()
    # Recovery is a maintenance sweep over every company's ranges.
    return list(
        RunRange.objects.unscoped().filter(status=RunStatus.RUNNING, heartbeat_at__lt=now - stale_after(), run__status=RunStatus.RUNNING)
        .values_list("pk", flat=True)
    )
