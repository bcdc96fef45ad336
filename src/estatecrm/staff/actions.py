"""Every staff move: transfer (異動), retirement (退職), reassignment of cases (担当者変更) and its undo.

Rule `staff` (tenancy.permissions): an administrator of every unit concerned (the unit the agent leaves and
the one they join; the units of the cases), or a company admin. Each action checks its rule and every
business rule before it writes, so a refusal (ApplicationError with a code of staff/error_codes.py) writes
nothing; the pages, the API and `estatecrm staff` reach the same actions. The cases themselves change
through crm.reassignment (history, visits, handover note, audit, 担当者変更のお知らせ).
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from estatecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from estatecrm.crm.choices import ReassignmentKind
from estatecrm.crm.models import Case, Reassignment
from estatecrm.crm.reassignment import CaseRow, Plan, apply_plan, check_undo, lock_cases, undo_plan
from estatecrm.staff import error_codes
from estatecrm.staff.selectors import plan_for
from estatecrm.tenancy.holds import default_assignee_roles
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.permissions import allows, can_place_case
from estatecrm.tenancy.selectors import Actor, actor_for

HANDOVER_NOTE_MAX_LENGTH = 2000


@dataclass
class StaffResult:
    """What a staff move did; `as_json` is the command's `--json` and the API's answer."""

    reassignment: Reassignment | None = None
    cases_moved: int = 0
    cases_reassigned: int = 0
    cases_trashed: int = 0
    visits_moved: int = 0
    sub_assignments_removed: int = 0
    refused: str | None = None

    @classmethod
    def of(cls, record: Reassignment | None) -> "StaffResult":
        if record is None:
            return cls()
        return cls(reassignment=record, cases_moved=record.cases_moved, cases_reassigned=record.cases_reassigned,
                   cases_trashed=record.cases_trashed, visits_moved=record.visits_moved,
                   sub_assignments_removed=record.sub_assignments_removed)

    def as_json(self) -> dict:
        return {
            "cases_moved": self.cases_moved, "cases_reassigned": self.cases_reassigned, "cases_trashed": self.cases_trashed,
            "visits_moved": self.visits_moved, "sub_assignments_removed": self.sub_assignments_removed, "refused": self.refused,
            "reassignment_id": self.reassignment.pk if self.reassignment else None,
        }


# ---------------------------------------------------------------------------------------------
# Checks


def _name(user: User) -> str:
    return user.name or user.email


def check_admin_of(actor: Actor, unit_ids) -> None:
    """PermissionDenied (code `not_unit_admin`) unless the actor administers every unit of `unit_ids`."""
    if not allows(actor, "staff"):
        raise _not_admin()
    for unit_id in unit_ids:
        if not actor.can_admin_unit(unit_id):
            raise _not_admin()


def _not_admin() -> PermissionDenied:
    error = PermissionDenied(_("Only an administrator of the agent's unit (or a company administrator) can do this."))
    error.code = error_codes.NOT_UNIT_ADMIN
    return error


def check_no_default_assignee(agent: User) -> None:
    """Refuse (code `default_assignee`) while the agent is the default assignee of a source or of the LINE channel."""
    roles = default_assignee_roles(agent)
    if roles:
        raise ApplicationError(error_codes.DEFAULT_ASSIGNEE, _(
            "%(name)s is the default assignee of %(roles)s: set a successor there first.") % {
            "name": _name(agent), "roles": ", ".join(role.label for role in roles)})


def check_successor(actor: Actor, agent: User | None, successor: User, unit_ids) -> None:
    """Refuse a successor who is not an active user of the company, is the agent, or would not see the cases
    of `unit_ids` (a case whose main assignee cannot see it is lost)."""
    if successor.company_id != actor.company_id or not successor.is_active:
        raise ApplicationError(error_codes.SUCCESSOR_INVALID, _("Choose an active user of the company as the new main assignee."))
    if agent is not None and successor.pk == agent.pk:
        raise ApplicationError(error_codes.SUCCESSOR_INVALID, _("Choose someone else than %(name)s as the new main assignee.") % {
            "name": _name(agent)})
    successor_actor = actor_for(successor)
    blind = [unit_id for unit_id in unit_ids if not can_place_case(successor_actor, unit_id)]
    if blind:
        names = ", ".join(OrgUnit.objects.for_company(actor.company_id).filter(pk__in=blind).order_by("path").values_list("name", flat=True))
        raise ApplicationError(error_codes.SUCCESSOR_CANNOT_SEE, _(
            "%(name)s cannot see the cases of %(units)s: choose a member of the unit or of a unit above it.") % {
            "name": _name(successor), "units": names})


def check_handover_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > HANDOVER_NOTE_MAX_LENGTH:
        message = _("The handover note has at most %(count)d characters.") % {"count": HANDOVER_NOTE_MAX_LENGTH}
        raise ApplicationError(error_codes.HANDOVER_NOTE_TOO_LONG, message, fields={"handover_note": [message]})
    return note


def _locked(cases) -> list[CaseRow]:
    return lock_cases(cases)


def _agent_units(agent: User) -> list[int]:
    from estatecrm.tenancy.models import Membership

    return list(Membership.objects.for_company(agent.company_id).filter(user=agent).values_list("org_unit_id", flat=True))


# ---------------------------------------------------------------------------------------------
# Transfer (異動)


@transaction.atomic
def do_transfer_agent(
    *, actor: Actor, agent: User, to_unit: OrgUnit, with_cases: bool = False, reassign_to: User | None = None,
    remove_sub_assignments: bool = False, handover_note: str = "",
) -> StaffResult:
    """Move `agent`'s primary membership (with its role) to `to_unit`; their other memberships stay.

    The cases left behind (staff.selectors) move with them (`with_cases`: owning unit -> `to_unit`), or go to
    `reassign_to`; without either, refused (`missing_reassignment`) while any is left. Refused while the agent
    is a default assignee, unless the actor administers both units, for the last company administrator.
    `remove_sub_assignments`: drop their sub-assignee roles on the cases left behind (else kept). Their
    sending address does not change. One Reassignment (kind transfer), audited; atomic."""
    from estatecrm.tenancy.actions import check_company_keeps_admin, do_set_primary_membership
    from estatecrm.tenancy.models import Membership

    note = check_handover_note(handover_note)
    if with_cases and reassign_to is not None:
        raise ApplicationError(error_codes.CONFLICTING_CHOICE, _("Either move the cases with the agent or reassign them, not both."))
    if agent.company_id != actor.company_id:
        raise NotFound()
    if to_unit.company_id != actor.company_id:
        raise NotFound()
    agent = User.objects.select_for_update().get(pk=agent.pk)
    plan = plan_for(agent, to_unit=to_unit)
    if plan.from_unit is None:
        raise ApplicationError(error_codes.NO_UNIT, _("%(name)s belongs to no unit; add a membership instead.") % {"name": _name(agent)})
    check_admin_of(actor, [plan.from_unit.pk, to_unit.pk])
    if not agent.is_active:
        raise ApplicationError(error_codes.AGENT_INACTIVE, _("%(name)s is deactivated.") % {"name": _name(agent)})
    if plan.from_unit.pk == to_unit.pk:
        raise ApplicationError(error_codes.SAME_UNIT, _("%(name)s is in %(unit)s already.") % {"name": _name(agent), "unit": to_unit.name})
    check_no_default_assignee(agent)
    membership = Membership.objects.for_company(agent.company_id).select_for_update().get(user=agent, org_unit=plan.from_unit)
    if to_unit.parent_id is not None:
        check_company_keeps_admin(agent.company_id, without_membership_id=membership.pk)
    cases = _locked(plan.cases)
    if cases and not with_cases and reassign_to is None:
        raise ApplicationError(error_codes.MISSING_REASSIGNMENT, ngettext(
            "%(name)s is the main assignee of %(count)d case that would stay behind: move it with them or give it another main assignee first.",
            "%(name)s is the main assignee of %(count)d cases that would stay behind: move them with them or give them another main assignee first.",
            len(cases)) % {"name": _name(agent), "count": len(cases)})
    if reassign_to is not None:
        check_successor(actor, agent, reassign_to, {case.owning_org_id for case in cases})
    sub_cases = _locked(plan.sub_cases) if remove_sub_assignments else []
    record = apply_plan(Plan(
        company_id=actor.company_id, kind=ReassignmentKind.TRANSFER, cases=cases, acting_user=actor.user, agent=agent,
        to_user=reassign_to, to_unit=to_unit if with_cases else None, from_unit=plan.from_unit, sub_cases=sub_cases,
        handover_note=note,
    ))
    # The role goes with the agent; the old membership goes (it is not primary any more once the new one is).
    do_set_primary_membership(user=agent, org_unit=to_unit, role=membership.role, acting_user=actor.user)
    from estatecrm.audit.actions import record_event, snapshot

    membership.refresh_from_db()
    record_event(company_id=agent.company_id, actor=actor.user, verb="delete", instance=membership, before=snapshot(membership))
    membership.delete()
    return StaffResult.of(record)


# ---------------------------------------------------------------------------------------------
# Retirement (退職)


@transaction.atomic
def do_retire_agent(
    *, actor: Actor, agent: User, reassign_to: User | None = None, trash_cases: bool = False, handover_note: str = "",
) -> StaffResult:
    """Retire `agent`: every live case of theirs goes to `reassign_to`, or to the trash (`trash_cases`,
    restorable for TRASH_RETENTION_DAYS); their sub-assignee roles on live cases are removed; the account is
    deactivated (no log-in, API tokens revoked), never deleted, so the history keeps the name.

    Refused: without a choice while they have cases (`missing_reassignment`), with both, while a default
    assignee, retiring oneself, the last company administrator, unless the actor administers every unit of
    theirs and of their cases. One Reassignment (kind retire), audited; atomic."""
    from estatecrm.tenancy.actions import check_company_keeps_admin, do_set_user_active
    from estatecrm.tenancy.tokens import revoke_user_tokens

    note = check_handover_note(handover_note)
    if reassign_to is not None and trash_cases:
        raise ApplicationError(error_codes.CONFLICTING_CHOICE, _("Either reassign the cases or move them to the trash, not both."))
    if agent.company_id != actor.company_id:
        raise NotFound()
    agent = User.objects.select_for_update().get(pk=agent.pk)
    plan = plan_for(agent, to_unit=None)
    cases = _locked(plan.cases)
    check_admin_of(actor, set(_agent_units(agent)) | {case.owning_org_id for case in cases})
    if not actor.is_company_admin and not _agent_units(agent):
        raise _not_admin()
    if agent.pk == actor.user.pk:
        raise ApplicationError(error_codes.CANNOT_RETIRE_SELF, _("You cannot retire yourself."))
    if not agent.is_active:
        raise ApplicationError(error_codes.AGENT_INACTIVE, _("%(name)s is deactivated.") % {"name": _name(agent)})
    check_no_default_assignee(agent)
    check_company_keeps_admin(agent.company_id, without_user_id=agent.pk)
    if cases and reassign_to is None and not trash_cases:
        raise ApplicationError(error_codes.MISSING_REASSIGNMENT, ngettext(
            "%(name)s is the main assignee of %(count)d case: reassign it to someone or move it to the trash.",
            "%(name)s is the main assignee of %(count)d cases: reassign them to someone or move them to the trash.",
            len(cases)) % {"name": _name(agent), "count": len(cases)})
    if reassign_to is not None:
        check_successor(actor, agent, reassign_to, {case.owning_org_id for case in cases})
    record = apply_plan(Plan(
        company_id=actor.company_id, kind=ReassignmentKind.RETIRE, cases=cases, acting_user=actor.user, agent=agent,
        to_user=reassign_to, trash=trash_cases, sub_cases=_locked(plan.sub_cases), handover_note=note,
    ))
    do_set_user_active(user=agent, is_active=False, acting_user=None if actor is None else actor.user)
    revoke_user_tokens(user=agent, acting_user=actor.user)
    return StaffResult.of(record)


# ---------------------------------------------------------------------------------------------
# Reassignment (担当者変更) and its undo


@transaction.atomic
def do_reassign_cases(
    *, actor: Actor, from_user: User, to_user: User, case_ids=None, handover_note: str = "",
) -> StaffResult:
    """Give `from_user`'s live cases (`case_ids`: those only; None: all of the administered units) to `to_user`.
    Refused (`not_unit_admin`) when they have live cases but none in the administered units.

    Refused, writing nothing: a case of `case_ids` that is not a live case of `from_user`
    (`not_main_assignee`) or not of an administered unit (`not_unit_admin`), a successor who would not see
    a case. Their open visit appointments go with them; `to_user` gets 担当者変更のお知らせ. One Reassignment
    (kind reassign, undoable for 30 days), audited; atomic. Nothing to reassign: no record, zero counts."""
    from estatecrm.crm.actions import administered_cases

    note = check_handover_note(handover_note)
    if not allows(actor, "staff"):
        raise _not_admin()
    if from_user.company_id != actor.company_id or to_user.company_id != actor.company_id:
        raise NotFound()
    administered = administered_cases(actor).filter(deleted_at__isnull=True)
    if case_ids is None:
        cases = _locked(administered.filter(main_assignee=from_user))
        # Cases of the agent, none of them in the administered units: not this administrator's to give away.
        if not cases and Case.objects.for_company(actor.company_id).filter(main_assignee=from_user, deleted_at__isnull=True).exists():
            raise _not_admin()
    else:
        wanted = sorted({int(pk) for pk in case_ids})
        cases = _locked(administered.filter(pk__in=wanted, main_assignee=from_user))
        if len(cases) != len(wanted):
            missing = set(wanted) - {case.pk for case in cases}
            others = Case.objects.for_company(actor.company_id).filter(pk__in=missing, deleted_at__isnull=True)
            if others.exclude(main_assignee=from_user).exists() or others.count() != len(missing):
                raise ApplicationError(error_codes.NOT_MAIN_ASSIGNEE, _(
                    "Some of these cases are not live cases of %(name)s; nothing was changed.") % {"name": _name(from_user)})
            raise _not_admin()
    check_successor(actor, from_user, to_user, {case.owning_org_id for case in cases})
    if not cases:
        return StaffResult()
    record = apply_plan(Plan(
        company_id=actor.company_id, kind=ReassignmentKind.REASSIGN, cases=cases, acting_user=actor.user, agent=from_user,
        to_user=to_user, handover_note=note,
    ))
    return StaffResult.of(record)


@transaction.atomic
def do_undo_reassignment(*, actor: Actor, reassignment: Reassignment) -> StaffResult:
    """Undo a reassignment (crm.reassignment.check_undo says when it cannot be). The actor must administer
    the current unit of every case. Audited; atomic. The result counts the cases given back as reassigned."""
    from estatecrm.crm.choices import ReassignmentOutcome
    from estatecrm.crm.models import ReassignmentCase

    if not allows(actor, "staff"):
        raise _not_admin()
    record = Reassignment.objects.for_company(actor.company_id).select_for_update().get(pk=reassignment.pk)
    items = ReassignmentCase.objects.for_company(actor.company_id).filter(reassignment=record, outcome=ReassignmentOutcome.REASSIGNED)
    _locked(Case.objects.for_company(actor.company_id).filter(pk__in=items.values("case_id")))
    check_admin_of(actor, set(Case.objects.for_company(actor.company_id).filter(pk__in=items.values("case_id"))
                              .values_list("owning_org_id", flat=True)))
    check_undo(record, now=timezone.now())
    count = items.count()
    visits = sum(len(ids) for ids in items.values_list("visit_ids", flat=True))
    undo_plan(record, acting_user=actor.user)
    return StaffResult(reassignment=record, cases_reassigned=count, visits_moved=visits)
