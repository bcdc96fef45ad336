"""What each source case of a migration run became: the run's reconciliation, one row per case."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel
from estatecrm.legacy.choices import Outcome


class CaseOutcome(TenantOwnedModel):
    """The outcome of one source case (追客番号) in one run: migrated (with the case and customer it
    became), skipped or failed (with the reason code). Written in the batch transaction that handled
    the case, so the reconciliation report always matches what was written. The pipeline ledger, not
    this table, guarantees that a source case is migrated at most once per company."""

    run = models.ForeignKey("pipeline.Run", on_delete=models.CASCADE, related_name="+", db_index=False)
    row_number = models.PositiveIntegerField()
    source_id = models.CharField(_("follow-up number"), max_length=64)
    customer_source_id = models.CharField(_("customer number"), max_length=64, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    needs_review = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("migration outcome")
        verbose_name_plural = _("migration outcomes")
        ordering = ["row_number", "pk"]
        indexes = [
            models.Index(fields=["company", "run", "row_number"], name="legacy_outcome_run_idx"),
            models.Index(fields=["company", "case_id"], name="legacy_outcome_case_idx"),
        ]
