"""The append-only audit trail."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantManager, TenantOwnedModel, TenantQuerySet


class AppendOnlyQuerySet(TenantQuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only.")

    def delete(self):
        raise TypeError("Audit events are append-only.")


class AuditEventManager(TenantManager.from_queryset(AppendOnlyQuerySet)):
    pass


class AuditEvent(TenantOwnedModel):
    """One change: who did what to which object, with the fields before and after.

    Written by actions in the transaction of the change. Never updated or deleted (the queryset
    refuses); deleting a company removes its events with it.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("actor"), db_index=False)
    verb = models.CharField(_("action"), max_length=32)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    run_id = models.PositiveBigIntegerField(_("run"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    objects = AuditEventManager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["company", "object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["company", "-created_at"], name="audit_created_idx"),
            models.Index(fields=["company", "run_id"], name="audit_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        # The one invariant of the model, not business logic: an event, once written, stays as written.
        if not self._state.adding:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)
