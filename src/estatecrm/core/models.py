"""Plumbing for tenant-owned models. No domain models live here."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from estatecrm.core.scope import current_company_id


class TenantQuerySet(models.QuerySet):
    def for_company(self, company_or_id) -> "TenantQuerySet":
        return self.filter(company_id=getattr(company_or_id, "pk", company_or_id))


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Fails closed: rows of the company in scope only, and no rows when no company is in scope.

    `for_company()` reads one named company whatever the scope (selectors pass the actor's company).
    `unscoped()` reads every company; each call site says why on the line above.
    """

    def get_queryset(self) -> TenantQuerySet:
        queryset = super().get_queryset()
        company_id = current_company_id()
        if company_id is None:
            return queryset.none()
        return queryset.filter(company_id=company_id)

    def unscoped(self) -> TenantQuerySet:
        return super().get_queryset()

    def for_company(self, company_or_id) -> TenantQuerySet:
        return self.unscoped().for_company(company_or_id)


class TenantOwnedModel(models.Model):
    """A row that belongs to one company. Every index on a tenant table starts with `company`."""

    company = models.ForeignKey("tenancy.Company", on_delete=models.CASCADE, related_name="+", verbose_name=_("company"), db_index=False)

    objects = TenantManager()

    class Meta:
        abstract = True
        # Foreign-key access (case.customer) goes through Django's plain base manager: the parent row
        # was already reached through a scoped query.


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True
