"""Every read of customers and cases goes through these, with the acting user's access rules."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from estatecrm.core.errors import NotFound
from estatecrm.crm.choices import ActivityKind, CaseOrigin, CaseStatus, ContactPointKind
from estatecrm.crm.models import Activity, Case, ContactPoint, Customer, DesiredConditions
from estatecrm.normalize import format_national, normalize_email, normalize_phone
from estatecrm.tenancy.selectors import Actor


def visible_cases(*, actor: Actor, include_trashed: bool = False) -> QuerySet[Case]:
    """The cases of the actor's company that the access rules let the actor see."""
    cases = Case.objects.for_company(actor.company_id).filter(actor.case_visibility_q())
    return cases if include_trashed else cases.filter(deleted_at__isnull=True)


def case_list(*, actor: Actor, filters: dict | None = None) -> QuerySet[Case]:
    """The case list as the actor sees it: `filters` are CaseFilters fields (crm/filtersets.py, the one
    filter vocabulary of the page and the API), plus `trashed=True` for the trash."""
    from estatecrm.crm.filtersets import CaseFilters, View, filter_cases

    filters = dict(filters or {})
    view = View.TRASH if filters.pop("trashed", False) else filters.pop("view", View.ALL)
    return filter_cases(actor=actor, filters=CaseFilters(view=view, **filters))


def access_case(actor: Actor, case_id, *, for_write: bool = False, include_trashed: bool = False,
                related: tuple[str, ...] = ()) -> Case:
    """The case when the actor may see it; NotFound otherwise (never revealing that it exists elsewhere).

    Writing needs the same visibility: an agent who sees a case may work on it. `related` adds
    relations to load in the same query (a page shows the assignee, rank, ...).
    """
    try:
        queryset = visible_cases(actor=actor, include_trashed=include_trashed)
        if for_write:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.select_related("customer", "owning_org", *related).get(pk=int(case_id))
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def visible_customers(*, actor: Actor, include_trashed: bool = False) -> QuerySet[Customer]:
    """Customers of the company that have a case the actor sees (company admins see every customer)."""
    customers = Customer.objects.for_company(actor.company_id)
    if not include_trashed:
        customers = customers.filter(deleted_at__isnull=True)
    if actor.is_company_admin:
        return customers
    return customers.filter(Exists(visible_cases(actor=actor, include_trashed=True).filter(customer_id=OuterRef("pk"))))


def access_customer(actor: Actor, customer_id, *, include_trashed: bool = False) -> Customer:
    try:
        return visible_customers(actor=actor, include_trashed=include_trashed).get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def dashboard_summary(*, actor: Actor) -> dict:
    """This month's new cases by origin (registrations exclude imports and migrations), cases by status."""
    cases = visible_cases(actor=actor)
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    by_origin = dict(cases.filter(created_at__gte=month_start).values_list("origin").annotate(count=Count("pk")).order_by())
    by_status = dict(cases.values_list("status").annotate(count=Count("pk")).order_by())
    bulk = set(CaseOrigin.bulk_origins())
    return {
        "new_registrations": sum(count for origin, count in by_origin.items() if origin not in bulk),
        "brought_in": sum(count for origin, count in by_origin.items() if origin in bulk),
        "by_origin": [{"value": value, "label": label, "count": by_origin.get(value, 0)} for value, label in CaseOrigin.choices],
        "by_status": [{"value": value, "label": label, "count": by_status.get(value, 0)} for value, label in CaseStatus.choices],
        "open_appointments": Activity.objects.for_company(actor.company_id)
        .filter(kind=ActivityKind.VISIT_APPOINTMENT, is_done=False, case__in=cases)
        .count(),
    }


def open_visit_appointments(*, actor: Actor, limit: int = 10) -> list[Activity]:
    """The next open visit appointments of cases the actor sees, soonest first."""
    return list(
        Activity.objects.for_company(actor.company_id)
        .filter(kind=ActivityKind.VISIT_APPOINTMENT, is_done=False, case__in=visible_cases(actor=actor))
        .select_related("case__customer", "org_unit").order_by("occurred_at", "pk")[:limit]
    )


def first_phones(*, actor: Actor, customer_ids) -> dict[int, str]:
    """Per customer, its first phone or mobile in display form (`090-1234-5678`): one query for a
    page's customers, on the (company, customer) index."""
    phones: dict[int, str] = {}
    points = (ContactPoint.objects.for_company(actor.company_id)
              .filter(customer_id__in=list(customer_ids), kind__in=[ContactPointKind.PHONE, ContactPointKind.MOBILE])
              .order_by("customer_id", "position", "pk").values_list("customer_id", "normalized", "raw"))
    for customer_id, normalized, raw in points:
        if customer_id not in phones:
            phones[customer_id] = format_national(normalized or raw)
    return phones


def cases_sharing_contact(*, actor: Actor, phone: str = "", email: str = "") -> list[Case]:
    """Visible cases whose customer has this phone or e-mail (normalized), for the duplicate warning."""
    values = [result.value for result in (normalize_phone(phone) if phone else None, normalize_email(email) if email else None)
              if result is not None and result.is_valid]
    if not values:
        return []
    customer_ids = ContactPoint.objects.for_company(actor.company_id).filter(normalized__in=values).values("customer_id")
    cases = visible_cases(actor=actor).filter(customer_id__in=customer_ids).select_related("customer", "main_assignee")
    return list(cases.order_by("-updated_at")[:10])


# Activities whose events a stale refusal can name: adding one moves the case's version; the newest are enough.
HISTORY_ACTIVITIES = 200


def case_history(case: Case) -> Q:
    """The audit events that change a case's version: the case itself (fields, tags, sub-assignees),
    its desired conditions and its newest activities (adding one moves the case's `updated_at`).

    Every condition is on (object_type, object_id), the audit index: no scan of the company's events.
    """
    desired_ids = [str(pk) for pk in DesiredConditions.objects.for_company(case.company_id).filter(case_id=case.pk).values_list("pk", flat=True)]
    activity_ids = [str(pk) for pk in Activity.objects.for_company(case.company_id).filter(case_id=case.pk).order_by("-pk")
                    .values_list("pk", flat=True)[:HISTORY_ACTIVITIES]]
    return (Q(object_type="crm.case", object_id=str(case.pk)) | Q(object_type="crm.desiredconditions", object_id__in=desired_ids)
            | Q(object_type="crm.activity", object_id__in=activity_ids))


def customer_history(customer: Customer) -> Q:
    """The audit events that change a customer's version: its own."""
    return Q(object_type="crm.customer", object_id=str(customer.pk))
