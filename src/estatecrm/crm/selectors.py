"""Every read of customers and cases goes through these, with the acting user's access rules."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, ExpressionWrapper, F, IntegerField, OuterRef, Q, QuerySet
from django.utils import timezone

from estatecrm.core.errors import NotFound
from estatecrm.crm.choices import ActivityKind, CaseOrigin, CaseStatus, ContactPointKind
from estatecrm.crm.models import (
    Activity,
    Case,
    Contact,
    ContactPoint,
    Customer,
    DesiredConditions,
    DuplicateCandidate,
)
from estatecrm.normalize import format_national, normalize_email, normalize_phone
from estatecrm.tenancy.models import Membership, OrgUnit, User
from estatecrm.tenancy.selectors import Actor, subtree_ids


def visible_cases(*, actor: Actor, include_trashed: bool = False, include_merged: bool = False) -> QuerySet[Case]:
    """The cases of the actor's company that the access rules let the actor see: live ones, with
    `include_trashed` those in the trash too, with `include_merged` also those merged away (名寄せ)."""
    cases = Case.objects.for_company(actor.company_id).filter(actor.case_visibility_q())
    if include_merged:
        return cases
    if include_trashed:
        return cases.filter(merged_into__isnull=True)
    return cases.filter(deleted_at__isnull=True)


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


def survivor_of_merged_case(*, actor: Actor, case_id: int) -> int | None:
    """For a case merged away by 名寄せ that the actor sees: the live case it ended in (following merges of
    its survivor in turn), when the actor sees that one too; None for any other case."""
    cases = visible_cases(actor=actor, include_merged=True)
    seen = set()
    current = case_id
    while current not in seen:
        seen.add(current)
        row = cases.filter(pk=current).values_list("merged_into_id", "deleted_at").first()
        if row is None:
            return None
        merged_into_id, deleted_at = row
        if merged_into_id is None:
            return current if deleted_at is None and current != case_id else None
        current = merged_into_id
    return None


def visible_customers(*, actor: Actor, include_trashed: bool = False) -> QuerySet[Customer]:
    """Customers of the company that have a case the actor sees (company admins see every customer);
    never a customer merged into another (名寄せ)."""
    customers = Customer.objects.for_company(actor.company_id)
    customers = customers.filter(merged_into__isnull=True) if include_trashed else customers.filter(deleted_at__isnull=True)
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
        "open_appointments": visible_visits(actor=actor).filter(is_done=False).count(),
    }


def open_visit_appointments(*, actor: Actor, limit: int = 10) -> list[Activity]:
    """The next open visit appointments of cases the actor sees, soonest first."""
    return list(visible_visits(actor=actor).filter(is_done=False)
                .select_related("case__customer", "org_unit").order_by("occurred_at", "pk")[:limit])


def week_of(day: datetime.date) -> tuple[datetime.date, datetime.datetime, datetime.datetime]:
    """The Monday of `day`'s week and the week's bounds (Monday 00:00 to the next Monday 00:00, TIME_ZONE)."""
    monday = day - datetime.timedelta(days=day.weekday())
    start = timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))
    return monday, start, timezone.make_aware(datetime.datetime.combine(monday + datetime.timedelta(days=7), datetime.time.min))


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """`day` from 00:00 to the next day's 00:00 in TIME_ZONE (Asia/Tokyo)."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))


def calendar_unit_ids(actor: Actor) -> set[int]:
    """The units whose visit calendar the actor may open: an admin's administered units, an agent's
    units and those below them (a company admin: every unit)."""
    if actor.is_company_admin:
        return set(actor.unit_paths)
    return set(actor.admin_unit_ids | actor.org_visible_unit_ids | actor.assignee_visible_unit_ids)


def calendar_staff(*, actor: Actor, unit_id: int) -> QuerySet[User]:
    """The active users with a membership in the unit or below it (whose visits its calendar can show)."""
    units = subtree_ids(actor.unit_paths, [unit_id])
    members = Membership.objects.for_company(actor.company_id).filter(org_unit_id__in=units).values("user_id")
    return User.objects.filter(company_id=actor.company_id, is_active=True, pk__in=members).order_by("name", "pk")


def staff_unit_id(*, actor: Actor, user_id: int, allowed: set[int]) -> int | None:
    """A unit of the user whose calendar the actor may open (their primary unit first), for a link to their visits."""
    memberships = Membership.objects.for_company(actor.company_id).filter(user_id=user_id, org_unit_id__in=allowed)
    return memberships.order_by("-is_primary", "org_unit_id").values_list("org_unit_id", flat=True).first()


def visible_visits(*, actor: Actor) -> QuerySet[Activity]:
    """Visit appointments (open or done) of the live cases the actor sees: a visit of a case they
    cannot see shows nowhere."""
    # The access rule as a join on the case (not `case IN (visible cases)`): the week's visits are read
    # from the visit index and each joined to its case, whatever the number of cases the actor sees.
    return Activity.objects.for_company(actor.company_id).filter(
        actor.case_visibility_q(prefix="case__"), kind=ActivityKind.VISIT_APPOINTMENT, case__deleted_at__isnull=True)


def visits_between(*, actor: Actor, start, end, unit_id: int | None = None, staff_id: int | None = None) -> list[Activity]:
    """The visits from `start` (included) to `end` (excluded), soonest first: held by the unit or a unit
    below it, and/or those of one staff member (who booked them)."""
    visits = visible_visits(actor=actor).filter(occurred_at__gte=start, occurred_at__lt=end)
    if unit_id is not None:
        visits = visits.filter(org_unit_id__in=subtree_ids(actor.unit_paths, [unit_id]))
    if staff_id is not None:
        visits = visits.filter(actor_id=staff_id)
    return list(visits.select_related("case__customer", "org_unit", "actor").order_by("occurred_at", "pk"))


def access_visit(actor: Actor, activity_id) -> Activity:
    """The visit appointment when the actor sees its case; NotFound otherwise (the actions lock it)."""
    try:
        return visible_visits(actor=actor).select_related("case__customer", "org_unit", "actor").get(pk=int(activity_id))
    except (Activity.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


@dataclass(frozen=True)
class DayBounds:
    """Today and this week in TIME_ZONE, as the dashboard counts them."""

    now: datetime.datetime
    today: datetime.date
    today_start: datetime.datetime
    tomorrow_start: datetime.datetime
    monday: datetime.date
    week_start: datetime.datetime
    week_end: datetime.datetime

    @classmethod
    def at(cls, now: datetime.datetime) -> "DayBounds":
        today = timezone.localdate(now)
        monday, week_start, week_end = week_of(today)
        return cls(now, today, *day_bounds(today), monday, week_start, week_end)


DAY_NUMBERS = ("next_today", "overdue", "visits_today", "visits_week", "new_week")


def _grouped(queryset: QuerySet, key: str | None, aggregates: dict) -> dict:
    """`aggregates` over the whole queryset, or per value of `key` (one GROUP BY query either way)."""
    if key is None:
        return queryset.aggregate(**aggregates)
    # Grouped by an expression, not the column itself: SQLite would walk an index in the column's order
    # (every case of the company) instead of the filter's index range.
    grouped = queryset.annotate(group=ExpressionWrapper(F(key) + 0, output_field=IntegerField())).values("group")
    return {row.pop("group"): row for row in grouped.annotate(**aggregates).order_by()}


def _case_numbers(cases: QuerySet[Case], key: str | None, day: DayBounds) -> dict:
    """Next actions due today and overdue, cases started this week. Two queries, each one range of an
    index (next_action_at, started_on): an OR of both ranges in one query scans every case on SQLite."""
    due = _grouped(cases.filter(next_action_at__lt=day.tomorrow_start), key, {
        "next_today": Count("pk", filter=Q(next_action_at__gte=day.today_start)),
        "overdue": Count("pk", filter=Q(next_action_at__lt=day.now)),
    })
    started = _grouped(cases.filter(started_on__gte=day.monday, started_on__lte=day.monday + datetime.timedelta(days=6)), key,
                       {"new_week": Count("pk")})
    if key is None:
        return {**due, **started}
    return {value: {**due.get(value, {}), **started.get(value, {})} for value in due.keys() | started.keys()}


def _visit_numbers(visits: QuerySet[Activity], key: str | None, day: DayBounds) -> dict:
    """Visits today and this week: one query (GROUP BY `key` when given)."""
    return _grouped(visits.filter(occurred_at__gte=day.week_start, occurred_at__lt=day.week_end), key, {
        "visits_today": Count("pk", filter=Q(occurred_at__gte=day.today_start, occurred_at__lt=day.tomorrow_start)),
        "visits_week": Count("pk"),
    })


def agent_day_numbers(*, actor: Actor, day: DayBounds) -> dict:
    """The acting user's five numbers: next actions due today and overdue on the cases they are the main
    assignee of, their visits (booked by them) today and this week, their cases started this week."""
    return {**_case_numbers(visible_cases(actor=actor).filter(main_assignee_id=actor.user.pk), None, day),
            **_visit_numbers(visible_visits(actor=actor).filter(actor_id=actor.user.pk), None, day)}


def admin_day_tables(*, actor: Actor, day: DayBounds) -> tuple[list[dict], list[dict]]:
    """For an admin, the five numbers per agent (the users of the administered units) and per unit (each
    unit's own cases and the visits it holds). Three GROUP BY queries per table (two of cases, one of
    visits), whatever the number of rows."""
    unit_ids = calendar_unit_ids(actor) if actor.is_company_admin else set(actor.admin_unit_ids)
    units = list(OrgUnit.objects.for_company(actor.company_id).filter(pk__in=unit_ids).order_by("path"))
    members = Membership.objects.for_company(actor.company_id).filter(org_unit_id__in=unit_ids).values("user_id")
    agents = list(User.objects.filter(company_id=actor.company_id, is_active=True, pk__in=members).order_by("name", "pk"))
    cases = visible_cases(actor=actor)
    visits = visible_visits(actor=actor)
    if not actor.is_company_admin:
        cases, visits = cases.filter(owning_org_id__in=unit_ids), visits.filter(org_unit_id__in=unit_ids)
    zero = dict.fromkeys(DAY_NUMBERS, 0)
    by_agent = [_case_numbers(cases, "main_assignee_id", day), _visit_numbers(visits, "actor_id", day)]
    by_unit = [_case_numbers(cases, "owning_org_id", day), _visit_numbers(visits, "org_unit_id", day)]
    agent_rows = [{"agent": agent, **zero, **by_agent[0].get(agent.pk, {}), **by_agent[1].get(agent.pk, {})} for agent in agents]
    unit_rows = [{"unit": unit, **zero, **by_unit[0].get(unit.pk, {}), **by_unit[1].get(unit.pk, {})} for unit in units]
    return agent_rows, unit_rows


def next_actions_due(*, actor: Actor, day: DayBounds, limit: int = 50) -> list[Case]:
    """The acting user's cases (main assignee) with a next action due today, soonest first, each with
    `phone`: the customer's first phone or mobile in national format (as typed when it could not be
    normalized), one more query for all of them."""
    cases = list(visible_cases(actor=actor).filter(
        main_assignee_id=actor.user.pk, next_action_at__gte=day.today_start, next_action_at__lt=day.tomorrow_start,
    ).select_related("customer").order_by("next_action_at", "pk")[:limit])
    phones = first_phones(actor=actor, customer_ids={case.customer_id for case in cases})
    for case in cases:
        case.phone = phones.get(case.customer_id, "")
    return cases


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


def case_numbers(*, actor: Actor, case_ids) -> dict[int, int]:
    """The company's case number (#) of each of these cases the actor sees, by id (pages show numbers, not ids)."""
    return dict(visible_cases(actor=actor, include_trashed=True).filter(pk__in=list(case_ids)).values_list("pk", "number"))


def access_contact(actor: Actor, customer: Customer, contact_id) -> Contact:
    """A contact of `customer` (reached through a case the actor sees); NotFound for any other id."""
    try:
        return Contact.objects.for_company(actor.company_id).get(pk=int(contact_id), customer=customer)
    except Contact.DoesNotExist:
        raise NotFound() from None


def cases_sharing_customer_contacts(*, actor: Actor, customer) -> list[Case]:
    """Visible cases of other customers that share a normalized phone or e-mail with `customer`: the
    duplicate warning of a case page, checked again whenever the page shows the contacts."""
    values = ContactPoint.objects.for_company(actor.company_id).filter(customer=customer).exclude(normalized="").values("normalized")
    customer_ids = ContactPoint.objects.for_company(actor.company_id).filter(normalized__in=values).exclude(customer=customer).values("customer_id")
    cases = visible_cases(actor=actor).filter(customer_id__in=customer_ids).select_related("customer", "main_assignee")
    return list(cases.order_by("-updated_at")[:10])


def duplicate_candidate_cases(*, actor: Actor, case: Case, limit: int = 10) -> list[Case]:
    """The cases the actor sees that a 名寄せ candidate pairs with this case (crm.duplicates keeps the rows),
    newest first: the case page's 「重複するお客様がいます」. No query when the case is not flagged."""
    if not case.has_duplicates:
        return []
    paired = {case_id for pair in DuplicateCandidate.objects.for_company(actor.company_id).filter(Q(case_a=case) | Q(case_b=case))
              .values_list("case_a_id", "case_b_id") for case_id in pair} - {case.pk}
    return list(visible_cases(actor=actor).filter(pk__in=sorted(paired))
                .select_related("customer", "main_assignee").order_by("-pk")[:limit])


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
