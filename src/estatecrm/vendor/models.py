"""A move-in from another vendor: its package, profile, phase runs, per-record outcomes and verdicts."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel, TimeStampedModel
from estatecrm.vendor.choices import Outcome, Phase, Verdict


class MoveIn(TenantOwnedModel, TimeStampedModel):
    """One office's move from another CRM: the package (kept by its runs), the profile that reads it,
    the run of each phase (active data first, then the archive and history) and the client's verdict."""

    vendor = models.CharField(_("vendor"), max_length=100)
    profile = models.CharField(_("profile"), max_length=100)
    profile_text = models.TextField(blank=True)  # the profile as used (a file the operator may change later)
    package_name = models.CharField(_("package"), max_length=255)
    region = models.CharField(_("region"), max_length=2, default="JP")
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("started by"), db_index=False)
    active_run = models.ForeignKey("pipeline.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    archive_run = models.ForeignKey("pipeline.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    options = models.JSONField(default=dict, blank=True)
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices, default=Verdict.PENDING)
    verdict_comment = models.TextField(_("comment"), blank=True)
    verdict_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   db_index=False)
    verdict_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("move-in")
        verbose_name_plural = _("move-ins")
        indexes = [models.Index(fields=["company", "-created_at"], name="vendor_movein_idx")]

    def __str__(self) -> str:
        return f"{self.vendor} ({self.package_name})"


class VerdictRecord(TenantOwnedModel):
    """Every verdict given on a move-in (the latest is on the MoveIn): who, when, after which phase, what."""

    move_in = models.ForeignKey(MoveIn, on_delete=models.CASCADE, related_name="verdicts", db_index=False)
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices)
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    comment = models.TextField(_("comment"), blank=True)
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    given_at = models.DateTimeField(_("given at"))

    class Meta:
        ordering = ["-given_at", "-pk"]
        indexes = [models.Index(fields=["company", "move_in", "-given_at"], name="vendor_verdict_idx")]


class RecordOutcome(TenantOwnedModel):
    """What one source record of one phase became: loaded (the row it became), skipped or failed with a
    reason. Written in the batch transaction that handled the record, so the verification report always
    matches what was written."""

    run = models.ForeignKey("pipeline.Run", on_delete=models.CASCADE, related_name="+", db_index=False)
    entity = models.CharField(max_length=16)
    position = models.PositiveIntegerField()  # the record's place in the phase's processing order
    row_number = models.PositiveIntegerField()  # the line of its file (header = 1) or its place in a JSON file
    source_id = models.CharField(_("source id"), max_length=128)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    detail = models.CharField(max_length=255, blank=True)  # the field and value behind a failure
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        indexes = [
            models.Index(fields=["company", "run", "entity", "position"], name="vendor_outcome_run_idx"),
        ]
