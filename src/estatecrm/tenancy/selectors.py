"""Who may see what: the access rules of DESIGN.md, computed once per request as an `Actor`.

- Company admin (an admin membership on a top-level unit): everything in the company.
- Org admin: the subtree of each unit where the user is admin.
- Agent: a case is visible when its owning unit is one of the agent's units or below one
  ("a member of the unit or above it"), and, when that unit's visibility is `assignees`, the agent
  is the case's main or a sub-assignee.
"""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet

from estatecrm.core.errors import NotFound, PermissionDenied
from estatecrm.tenancy.choices import CaseVisibility, Role
from estatecrm.tenancy.models import Company, Membership, OrgUnit, User, Workgroup


@dataclass(frozen=True)
class Actor:
    """A user acting inside their company, with the unit sets the access rules need."""

    user: User
    company: Company
    is_company_admin: bool
    primary_unit_id: int | None
    member_unit_ids: frozenset[int]
    admin_unit_ids: frozenset[int]  # units the user administers, subtrees expanded
    org_visible_unit_ids: frozenset[int]  # as a member: units whose cases are visible to every member
    assignee_visible_unit_ids: frozenset[int]  # as a member: units where only assignees see a case
    unit_paths: dict[int, str] = field(repr=False, default_factory=dict)

    @property
    def company_id(self) -> int:
        return self.company.pk

    @property
    def is_admin(self) -> bool:
        return self.is_company_admin or bool(self.admin_unit_ids)

    def can_admin_unit(self, unit_id: int) -> bool:
        return self.is_company_admin or unit_id in self.admin_unit_ids

    def case_visibility_q(self, prefix: str = "") -> Q:
        """The filter that keeps the cases this actor may see (`prefix` for a related path)."""
        if self.is_company_admin:
            return Q()
        from estatecrm.crm.models import CaseAssignee

        owning = f"{prefix}owning_org_id__in"
        # The company too: the sub-assignee links are indexed (company, case, user); without it the test of each
        # case scans the index (SQLite without statistics) or skips through it company by company.
        assigned = Q(**{f"{prefix}main_assignee_id": self.user.pk}) | Exists(
            CaseAssignee.objects.unscoped().filter(company_id=self.company_id, case_id=OuterRef(f"{prefix}pk" if prefix else "pk"),
                                                   user_id=self.user.pk)
        )
        return (
            Q(**{owning: self.admin_unit_ids})
            | Q(**{owning: self.org_visible_unit_ids})
            | (Q(**{owning: self.assignee_visible_unit_ids}) & assigned)
        )


def subtree_ids(unit_paths: dict[int, str], root_ids) -> set[int]:
    """Every unit at or below one of `root_ids`, from a map of unit pk to materialized path."""
    prefixes = tuple(unit_paths[root_id] for root_id in root_ids if root_id in unit_paths)
    if not prefixes:
        return set()
    return {unit_id for unit_id, path in unit_paths.items() if path.startswith(prefixes)}


def actor_for(user: User) -> Actor:
    """Build the actor for a user of a company. Two queries. Raises PermissionDenied without a company."""
    if user.company_id is None or not user.is_active:
        raise PermissionDenied()
    units = list(OrgUnit.objects.for_company(user.company_id).values_list("pk", "path", "parent_id", "case_visibility"))
    unit_paths = {pk: path for pk, path, _, _ in units}
    visibility = {pk: case_visibility for pk, _, _, case_visibility in units}
    roots = {pk for pk, _, parent_id, _ in units if parent_id is None}
    memberships = list(
        Membership.objects.for_company(user.company_id).filter(user=user).values_list("org_unit_id", "role", "is_primary")
    )
    admin_roots = {unit_id for unit_id, role, _ in memberships if role == Role.ADMIN}
    member_units = {unit_id for unit_id, _, _ in memberships}
    member_visible = subtree_ids(unit_paths, member_units)
    return Actor(
        user=user,
        company=user.company,
        is_company_admin=bool(admin_roots & roots),
        primary_unit_id=next((unit_id for unit_id, _, is_primary in memberships if is_primary), None),
        member_unit_ids=frozenset(member_units),
        admin_unit_ids=frozenset(subtree_ids(unit_paths, admin_roots)),
        org_visible_unit_ids=frozenset(u for u in member_visible if visibility[u] == CaseVisibility.ORG),
        assignee_visible_unit_ids=frozenset(u for u in member_visible if visibility[u] == CaseVisibility.ASSIGNEES),
        unit_paths=unit_paths,
    )


def org_unit_list(*, actor: Actor) -> QuerySet[OrgUnit]:
    """Every unit of the actor's company, in tree order (units are not secret inside a company)."""
    return OrgUnit.objects.for_company(actor.company_id).order_by("path")


def access_org_unit(actor: Actor, unit_id: int, *, for_write: bool = False) -> OrgUnit:
    """The unit, or NotFound when it is not the actor's company's; for_write needs admin rights over it."""
    try:
        unit = OrgUnit.objects.for_company(actor.company_id).get(pk=unit_id)
    except (OrgUnit.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if for_write and not actor.can_admin_unit(unit.pk):
        raise PermissionDenied()
    return unit


def user_list(*, actor: Actor) -> QuerySet[User]:
    return User.objects.filter(company_id=actor.company_id).order_by("email")


def access_user(actor: Actor, user_id: int) -> User:
    try:
        return User.objects.filter(company_id=actor.company_id).get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def workgroup_list(*, actor: Actor) -> QuerySet[Workgroup]:
    return Workgroup.objects.for_company(actor.company_id).order_by("name")


def unit_member_ids(unit: OrgUnit, *, include_ancestors: bool = True) -> set[int]:
    """Users who are members of the unit, or (include_ancestors) of a unit above it."""
    unit_ids = [int(part) for part in unit.path.strip("/").split("/") if part] if include_ancestors else [unit.pk]
    return set(
        Membership.objects.for_company(unit.company_id).filter(org_unit_id__in=unit_ids).values_list("user_id", flat=True)
    )


def left_behind_unit_ids(user: User, from_unit: OrgUnit, to_unit: OrgUnit | None) -> set[int]:
    """The units whose cases `user` no longer sees after leaving `from_unit` (for `to_unit`; None: for no unit):
    those at or below `from_unit` that none of their other memberships, nor `to_unit`, shows them. Staff moves
    (staff/) and membership removal (tenancy.actions) find the cases that would be left behind with it."""
    paths = dict(OrgUnit.objects.for_company(user.company_id).values_list("pk", "path"))
    kept = set(Membership.objects.for_company(user.company_id).filter(user=user).exclude(org_unit_id=from_unit.pk)
               .values_list("org_unit_id", flat=True)) | ({to_unit.pk} if to_unit is not None else set())
    return subtree_ids(paths, [from_unit.pk]) - subtree_ids(paths, kept)
