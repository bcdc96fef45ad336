"""Runs of the one pipeline (imports, migrations), their ledger and their row-level issues."""

import os
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import models
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel, TimeStampedModel
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus


def run_file_path(instance: "Run", filename: str) -> str:
    return f"runs/{instance.company_id}/{instance.token}/{filename}"


class Run(TenantOwnedModel, TimeStampedModel):
    """One bulk move of data into a company: its input, options, progress, outcome and counts.

    The worker advances `checkpoint` (the last source row fully handled) in the same transaction as
    each batch's writes and ledger entries, so a run killed mid-way resumes exactly after it. While it
    runs, the worker beats (`heartbeat_at`) from a thread of its own; `lease` fences out a worker whose
    run was taken over.
    """

    kind = models.CharField(_("kind"), max_length=32)
    status = models.CharField(_("status"), max_length=32, choices=RunStatus.choices, default=RunStatus.PENDING)
    token = models.CharField(max_length=32, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("started by"), db_index=False)
    source_name = models.CharField(_("file name"), max_length=255, blank=True)
    source_file = models.FileField(upload_to=run_file_path, max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    detected = models.JSONField(default=dict, blank=True)
    is_dry_run = models.BooleanField(_("dry run"), default=False)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    checkpoint = models.PositiveBigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    abort_requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Incremented by every claim of the run (engine.claim_run): a worker writes the run's batches,
    # counts and end only while the lease it claimed is still the run's, so a worker that was taken
    # over (its heartbeat looked stale) is fenced out instead of writing beside the new one.
    lease = models.PositiveIntegerField(default=0, editable=False)
    # The worker (host:pid) of the last claim: which of several workers ran it (a split run: the one
    # that scanned it; its ranges name their own).
    worker = models.CharField(max_length=100, blank=True, default="", db_default="", editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    reverted_at = models.DateTimeField(null=True, blank=True)
    reverted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        indexes = [
            models.Index(fields=["company", "kind", "-created_at"], name="run_kind_idx"),
            models.Index(fields=["company", "status"], name="run_status_idx"),
        ]

    @property
    def kind_label(self) -> str:
        """What people call this kind of run (the job's label; the kind itself for a kind without a job here)."""
        from estatecrm.pipeline.engine import JOBS

        job = JOBS.get(self.kind)
        return str(job.label) if job is not None and job.label else self.kind

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in RunStatus.finished()

    def keep_source_file(self, path, file_name: str, *, link: bool = False) -> None:
        """Give the run its own copy of its input (`source_file`; the run reads it, and resumes from
        it, after the caller's file is gone). `link`: `path` is a file of our own storage that nothing
        changes (an upload): a hard link instead of a copy when the storage is a local file system on
        the same device (a bundle of hundreds of MB: instant). Never for a user's file, which its
        owner may still edit in place."""
        storage = self.source_file.storage
        if not link:
            with Path(path).open("rb") as handle:
                self.source_file.save(file_name, File(handle), save=False)
            return
        name = storage.get_available_name(self.source_file.field.generate_filename(self, file_name), max_length=self.source_file.field.max_length)
        try:
            target = Path(storage.path(name))
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
        except (NotImplementedError, OSError):  # no local paths, another device, or the name was just taken
            with Path(path).open("rb") as handle:
                self.source_file.save(file_name, File(handle), save=False)
            return
        self.source_file.name = name


class RunRange(TenantOwnedModel):
    """Rows `first_row`..`last_row` (source row numbers) of a run split after its scan (engine.split_run):
    a unit of work of its own that any worker may claim, with its own checkpoint, counts, heartbeat and
    lease, exactly as a run has them. The run's `rows_done` and `counts` are the sums of its ranges'; the
    run ends once, with the last of its ranges to end (engine.end_range)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="ranges", db_index=False)
    first_row = models.PositiveBigIntegerField()
    last_row = models.PositiveBigIntegerField()
    status = models.CharField(max_length=32, choices=RunStatus.choices, default=RunStatus.PENDING)
    checkpoint = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    lease = models.PositiveIntegerField(default=0, editable=False)
    worker = models.CharField(max_length=100, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["first_row"]
        constraints = [models.UniqueConstraint(fields=["company", "run", "first_row"], name="runrange_unique_first_row")]
        indexes = [models.Index(fields=["company", "status", "heartbeat_at"], name="runrange_status_idx")]

    def __str__(self) -> str:
        return f"run #{self.run_id} rows {self.first_row}-{self.last_row} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in RunStatus.finished()


class LedgerEntry(TenantOwnedModel):
    """What one source record became: (company, source system, source key) is unique, so the same
    record is never written twice, and a revert knows exactly what to remove or restore."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="ledger", db_index=False)
    source_system = models.CharField(max_length=64)
    source_key = models.CharField(max_length=128)
    row_number = models.PositiveBigIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=LedgerOutcome.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "source_system", "source_key"], name="ledger_unique_source"),
        ]
        # Entries are found by run or by source key only (no index on the target: one less per row written).
        indexes = [
            models.Index(fields=["company", "run", "row_number"], name="ledger_run_idx"),
        ]


class RowIssue(TenantOwnedModel):
    """A problem with one source row and field: the row was not written (or written with a warning).

    `message` is rendered in the run's language when reported; `cells` keep the original row.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="issues", db_index=False)
    row_number = models.PositiveBigIntegerField()
    field = models.CharField(max_length=100, blank=True)
    code = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    cells = models.JSONField(null=True, blank=True)
    is_failure = models.BooleanField(default=True)

    class Meta:
        ordering = ["row_number", "pk"]
        indexes = [models.Index(fields=["company", "run", "row_number"], name="rowissue_run_idx")]


class WriteLock(TenantOwnedModel):
    """A point where the writers of one company that check before they write wait for each other (the
    lead import's duplicate check: pipeline/lock_objects.py). A writer's transaction increments
    `version` first, which holds the row (PostgreSQL; SQLite has one writer anyway) until it commits;
    a reader that noted the version before looking something up knows, from the version it finds
    under the lock, whether another writer committed since."""

    name = models.CharField(max_length=64)
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="writelock_unique_name")]
