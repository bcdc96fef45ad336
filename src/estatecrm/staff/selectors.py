"""What a transfer or a retirement would do, before anything happens (the confirmation pages, the API's
preview, the actions themselves), and the 担当変更履歴.

"Cases left behind" by a transfer are the agent's live cases (main assignee) that they would no longer
see: owned by the unit they leave or a unit below it, and not by a unit that one of their remaining
memberships or the target unit shows them. Those move with the agent, or need another main assignee. The
cases of units they keep seeing are not touched. A retirement leaves every live case of the agent behind.
Trashed cases keep their main assignee (the history), and merged-away cases are history too.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from estatecrm.crm.choices import ReassignmentKind
from estatecrm.crm.models import Case, CaseAssignee, Customer, Reassignment, ReassignmentCase
from estatecrm.crm.reassignment import open_visits
from estatecrm.tenancy.holds import DefaultAssigneeRole, default_assignee_roles
from estatecrm.tenancy.models import Membership, OrgUnit, User
from estatecrm.tenancy.selectors import Actor, left_behind_unit_ids


def primary_membership(user: User) -> Membership | None:
    return (Membership.objects.for_company(user.company_id).filter(user=user).select_related("org_unit")
            .order_by("-is_primary", "pk").first())


def live_main_cases(user: User, unit_ids=None) -> QuerySet[Case]:
    cases = Case.objects.for_company(user.company_id).filter(main_assignee=user, deleted_at__isnull=True)
    return cases if unit_ids is None else cases.filter(owning_org_id__in=list(unit_ids))


def sub_assigned_cases(user: User, unit_ids=None) -> QuerySet[Case]:
    cases = Case.objects.for_company(user.company_id).filter(
        deleted_at__isnull=True, pk__in=CaseAssignee.objects.for_company(user.company_id).filter(user=user).values("case_id"))
    return cases if unit_ids is None else cases.filter(owning_org_id__in=list(unit_ids))


def unsubscribed_q() -> Q:
    return Q(Exists(Customer.objects.unscoped().filter(pk=OuterRef("customer_id"), is_unsubscribed=True)))


@dataclass
class StaffPlan:
    """What moving `agent` out of `from_unit` (to `to_unit`; None: retiring) finds, before anything changes."""

    agent: User
    from_unit: OrgUnit | None
    to_unit: OrgUnit | None
    roles: list[DefaultAssigneeRole]
    cases: QuerySet[Case]  # the cases left behind (main assignee)
    sub_cases: QuerySet[Case]  # the cases left behind where the agent is a sub-assignee
    case_count: int = 0
    unsubscribed_count: int = 0
    visit_count: int = 0
    sub_case_count: int = 0
    case_units: list[OrgUnit] = field(default_factory=list)

    @property
    def is_blocked(self) -> bool:
        return bool(self.roles)


def plan_for(agent: User, *, to_unit: OrgUnit | None, now: datetime.datetime | None = None) -> StaffPlan:
    """The plan of a transfer of `agent` from their primary unit to `to_unit`, or (None) of their retirement."""
    now = now or timezone.now()
    membership = primary_membership(agent)
    from_unit = membership.org_unit if membership else None
    if to_unit is None:
        unit_ids = None
    elif from_unit is None:
        unit_ids = set()
    else:
        unit_ids = left_behind_unit_ids(agent, from_unit, to_unit)
    cases = live_main_cases(agent, unit_ids)
    sub_cases = sub_assigned_cases(agent, unit_ids)
    counts = cases.aggregate(total=Count("pk"), unsubscribed=Count("pk", filter=unsubscribed_q()))
    unit_counts = dict(cases.values_list("owning_org_id").annotate(count=Count("pk")).values_list("owning_org_id", "count"))
    return StaffPlan(
        agent=agent, from_unit=from_unit, to_unit=to_unit, roles=default_assignee_roles(agent), cases=cases, sub_cases=sub_cases,
        case_count=counts["total"], unsubscribed_count=counts["unsubscribed"],
        visit_count=open_visits(agent.company_id, cases.values("pk"), now=now).filter(actor=agent).count(),
        sub_case_count=sub_cases.count(),
        case_units=list(OrgUnit.objects.for_company(agent.company_id).filter(pk__in=list(unit_counts)).order_by("path")),
    )


# ---------------------------------------------------------------------------------------------
# 担当変更履歴


def reassignment_list(*, actor: Actor, user_id: int | None = None, kind: str | None = None) -> QuerySet[Reassignment]:
    """The company's changes of assignee, newest first: every one for a company admin; for an org admin those
    that touched a case of, or moved an agent out of or into, an administered unit."""
    records = (Reassignment.objects.for_company(actor.company_id)
               .select_related("actor", "agent", "to_user", "from_unit", "to_unit", "undone_by").order_by("-created_at", "-pk"))
    if not actor.is_company_admin:
        units = list(actor.admin_unit_ids)
        touched = ReassignmentCase.objects.for_company(actor.company_id).filter(
            reassignment_id=OuterRef("pk")).filter(Q(from_unit_id__in=units) | Q(to_unit_id__in=units))
        records = records.filter(Q(from_unit_id__in=units) | Q(to_unit_id__in=units) | Exists(touched))
    if user_id is not None:
        involved = ReassignmentCase.objects.for_company(actor.company_id).filter(
            reassignment_id=OuterRef("pk")).filter(Q(from_user_id=user_id) | Q(to_user_id=user_id))
        records = records.filter(Q(agent_id=user_id) | Q(to_user_id=user_id) | Q(actor_id=user_id) | Exists(involved))
    if kind in ReassignmentKind.values:
        records = records.filter(kind=kind)
    return records


def access_reassignment(actor: Actor, reassignment_id) -> Reassignment:
    from estatecrm.core.errors import NotFound

    try:
        return reassignment_list(actor=actor).get(pk=reassignment_id)
    except (Reassignment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def reassignment_items(record: Reassignment) -> QuerySet[ReassignmentCase]:
    return (ReassignmentCase.objects.for_company(record.company_id).filter(reassignment=record)
            .select_related("case__customer", "from_user", "to_user", "from_unit", "to_unit").order_by("case__number", "pk"))
