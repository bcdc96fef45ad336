"""名寄せ merges: what one merge did, enough to show it, audit it and undo it exactly."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel
from estatecrm.dedup.choices import MergeMode


class Merge(TenantOwnedModel):
    """One 名寄せ of cases into a survivor (dedup.merge.do_merge_cases), undoable for MERGE_UNDO_DAYS.

    `integrate`: the other cases' history moved to the survivor and they went to the merged state
    (Case.merged_into); `link`: every case stays, the cases now share the survivor's customer.
    `snapshot` holds every row and field the merge changed, as it was (what the undo writes back)."""

    survivor = models.ForeignKey("crm.Case", on_delete=models.PROTECT, related_name="merges", verbose_name=_("survivor"),
                                 db_index=False)
    mode = models.CharField(_("mode"), max_length=12, choices=MergeMode.choices)
    acting_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("merged by"), db_index=False)
    # A merge nobody asked for: the LINE intake's automatic merge by link number.
    is_automatic = models.BooleanField(_("automatic"), default=False)
    created_at = models.DateTimeField(_("merged at"))
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("undone by"), db_index=False)
    snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["company", "-created_at", "-id"], name="merge_created_idx"),
            models.Index(fields=["company", "survivor"], name="merge_survivor_idx"),
        ]


class MergeCase(TenantOwnedModel):
    """A case a merge took besides the survivor (one row each), to find a case's merges by index."""

    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="merge_cases", db_index=False)
    case = models.ForeignKey("crm.Case", on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "merge", "case"], name="mergecase_unique")]
        indexes = [models.Index(fields=["company", "case"], name="mergecase_case_idx")]



