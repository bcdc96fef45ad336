"""Saved column mappings and do-not-call (禁止) entries."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel, TimeStampedModel


class SavedMapping(TenantOwnedModel, TimeStampedModel):
    """A column mapping saved for a project, reused by its next imports."""

    project = models.ForeignKey("crm.Project", on_delete=models.CASCADE, related_name="saved_mappings", db_index=False)
    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(_("mapping"), default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "project", "name"], name="savedmapping_unique_name")]


class DoNotCallEntry(TenantOwnedModel, TimeStampedModel):
    """A lead name and/or phone number members of some workgroups (or everyone) must not call.

    Matching uses the normalized keys: `name_key` (legal forms, width, variant kanji folded) and
    `phone` (E.164). No workgroups means the whole company.
    """

    name = models.CharField(_("lead name"), max_length=200, blank=True)
    name_key = models.CharField(max_length=200, blank=True)
    phone_raw = models.CharField(_("phone"), max_length=64, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    workgroups = models.ManyToManyField("tenancy.Workgroup", through="DoNotCallScope", related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    run = models.ForeignKey("pipeline.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)

    class Meta:
        verbose_name = _("do-not-call entry")
        verbose_name_plural = _("do-not-call entries")
        indexes = [
            models.Index(fields=["company", "name_key"], name="dnc_name_key_idx"),
            models.Index(fields=["company", "phone"], name="dnc_phone_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.phone_raw


class DoNotCallScope(TenantOwnedModel):
    entry = models.ForeignKey(DoNotCallEntry, on_delete=models.CASCADE, related_name="scopes", db_index=False)
    workgroup = models.ForeignKey("tenancy.Workgroup", on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        indexes = [models.Index(fields=["company", "workgroup"], name="dncscope_workgroup_idx")]
        constraints = [models.UniqueConstraint(fields=["company", "entry", "workgroup"], name="dncscope_unique")]
