"""異動・退職 through the API (/api/v1/staff/...): a move's preview, transfer, retirement, bulk reassignment,
a default assignee's successor, and the 担当変更履歴 with its undo.

Rule `staff` (an administrator of every unit concerned, or a company admin) through the same actions as the
pages and `estatecrm staff` (staff.actions), which check every business rule and answer a refusal as an
error body with its code (`default_assignee`, `missing_reassignment`, `not_unit_admin`...; status 400, 403
for `not_unit_admin`). An agent of another company, or a reassignment the caller may not read, is unknown
(404); an unknown id in a body or query is a 422 on its field. Answers of the moves: the counts of
StaffResult (`cases_moved`, `cases_reassigned`, `cases_trashed`, `visits_moved`, `sub_assignments_removed`,
`refused`, `reassignment_id`).
"""

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from estatecrm.core.ids import PathId
from estatecrm.core.pagination import InvalidInput, keyset_page
from estatecrm.crm.choices import ReassignmentKind
from estatecrm.crm.models import Reassignment
from estatecrm.staff import actions, schemas
from estatecrm.staff.selectors import (
    access_reassignment,
    plan_for,
    primary_membership,
    reassignment_items,
    reassignment_list,
)
from estatecrm.tenancy.holds import default_assignee_roles, set_default_assignee_successor
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor, access_user, actor_for

router = Router(tags=["staff"])


def acting(request: HttpRequest) -> Actor:
    return actor_for(request.auth)


def unknown(field: str) -> InvalidInput:
    return InvalidInput("invalid", _("The request is not valid."), fields={field: [_("Unknown value.")]})


def access_agent(actor: Actor, user_id: int) -> User:
    """The company's user `user_id` (else 404), whom the caller may move: rule `staff` on their primary unit (a
    user of no unit: a company admin). The actions check every unit concerned again."""
    agent = access_user(actor, user_id)
    membership = primary_membership(agent)
    # A user of no unit is in nobody's subtree: None is a unit only a company admin administers.
    actions.check_admin_of(actor, [membership.org_unit_id if membership else None])
    return agent


def body_user(actor: Actor, user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(company_id=actor.company_id, pk=user_id).first()
    if user is None:
        raise unknown(field)
    return user


def body_unit(actor: Actor, unit_id: int | None, field: str) -> OrgUnit | None:
    if unit_id is None:
        return None
    unit = OrgUnit.objects.for_company(actor.company_id).filter(pk=unit_id).first()
    if unit is None:
        raise unknown(field)
    return unit


def role_out(role) -> dict:
    return {"key": role.key, "label": role.label, "settings_url": role.settings_url, "org_unit_id": role.org_unit_id,
            "org_unit_name": role.org_unit_name}


# ---------------------------------------------------------------------------------------------
# Moves


class PlanQuery(Schema):
    to_unit: int | None = Field(None, ge=1, description="The target unit of a transfer; omitted: the plan of a retirement")


@router.get("/staff/users/{user_id}/plan", response=schemas.PlanOut)
def get_plan(request, user_id: PathId, query: Query[PlanQuery]):
    """What a transfer to `to_unit` (or a retirement) of the agent would do, changing nothing: the cases left
    behind (unsubscribed customers' included), their open visit appointments, the sub-assignee roles, and the
    default-assignee roles that block it (each with its settings page)."""
    actor = acting(request)
    agent = access_agent(actor, user_id)
    to_unit = body_unit(actor, query.to_unit, "to_unit")
    plan = plan_for(agent, to_unit=to_unit)
    return {
        "user_id": agent.pk, "from_unit_id": plan.from_unit.pk if plan.from_unit else None, "to_unit_id": to_unit.pk if to_unit else None,
        "cases": plan.case_count, "unsubscribed_cases": plan.unsubscribed_count, "open_visits": plan.visit_count,
        "sub_assignee_cases": plan.sub_case_count, "case_unit_ids": [unit.pk for unit in plan.case_units], "blocked": plan.is_blocked,
        "roles": [role_out(role) for role in plan.roles],
    }


@router.post("/staff/users/{user_id}/transfer", response=schemas.StaffResultOut, openapi_extra={"responses": {
    "400": {"description": "Refused (`code`): `default_assignee`, `missing_reassignment`, `same_unit`, `successor_cannot_see`..."},
    "403": {"description": "`not_unit_admin`: the caller does not administer both units."},
}})
def transfer(request, user_id: PathId, payload: schemas.TransferIn):
    """異動: the agent moves to `to_unit`; the cases left behind move with them (`with_cases`) or go to
    `reassign_to`, with their open visit appointments and the handover note."""
    actor = acting(request)
    agent = access_agent(actor, user_id)
    to_unit = body_unit(actor, payload.to_unit, "to_unit")
    reassign_to = body_user(actor, payload.reassign_to, "reassign_to")
    result = actions.do_transfer_agent(actor=actor, agent=agent, to_unit=to_unit, with_cases=payload.with_cases, reassign_to=reassign_to,
                                       remove_sub_assignments=payload.remove_sub_assignments, handover_note=payload.handover_note)
    return result.as_json()


@router.post("/staff/users/{user_id}/retire", response=schemas.StaffResultOut, openapi_extra={"responses": {
    "400": {"description": "Refused (`code`): `default_assignee`, `missing_reassignment`, `cannot_retire_self`, `agent_inactive`..."},
    "403": {"description": "`not_unit_admin`: the caller does not administer every unit of the agent and of their cases."},
}})
def retire(request, user_id: PathId, payload: schemas.RetireIn):
    """退職: every live case goes to `reassign_to` or to the trash (`trash_cases`); the account is deactivated
    (no log-in, tokens revoked), never deleted."""
    actor = acting(request)
    agent = access_agent(actor, user_id)
    reassign_to = body_user(actor, payload.reassign_to, "reassign_to")
    result = actions.do_retire_agent(actor=actor, agent=agent, reassign_to=reassign_to, trash_cases=payload.trash_cases,
                                     handover_note=payload.handover_note)
    return result.as_json()


@router.post("/staff/reassign", response=schemas.StaffResultOut, openapi_extra={"responses": {
    "400": {"description": "Refused (`code`): `not_main_assignee` (a case is not a live case of `from_user`), `successor_invalid`..."},
    "403": {"description": "`not_unit_admin`: a case is of a unit the caller does not administer."},
}})
def reassign(request, payload: schemas.ReassignIn):
    """担当者変更 in bulk: `from_user`'s live cases (`cases`: those only) go to `to_user` with their open visit
    appointments; `to_user` gets 担当者変更のお知らせ. Undo it within 30 days (POST /staff/reassignments/{id}/undo)."""
    actor = acting(request)
    require(actor, "staff")
    from_user = body_user(actor, payload.from_user, "from_user")
    to_user = body_user(actor, payload.to_user, "to_user")
    result = actions.do_reassign_cases(actor=actor, from_user=from_user, to_user=to_user, case_ids=payload.cases,
                                       handover_note=payload.handover_note)
    return result.as_json()


@router.post("/staff/users/{user_id}/successor", response=schemas.RolesOut, openapi_extra={"responses": {
    "400": {"description": "The successor cannot hold the role (`settings_invalid`: deactivated, cannot see the unit's cases)."},
    "403": {"description": "The role's settings are a company administrator's (rule `inquiry_settings`)."},
}})
def set_successor(request, user_id: PathId, payload: schemas.SuccessorIn):
    """Give one of the agent's default-assignee roles (`role`: a key of the plan's `roles`) to `successor`,
    through the role's own settings action; answers the roles the agent still holds."""
    actor = acting(request)
    agent = access_agent(actor, user_id)
    if payload.role not in {role.key for role in default_assignee_roles(agent)}:
        raise unknown("role")
    successor = body_user(actor, payload.successor, "successor")
    with transaction.atomic():
        set_default_assignee_successor(company_id=actor.company_id, key=payload.role, successor=successor, acting_user=actor.user)
    roles = default_assignee_roles(agent)
    return {"blocked": bool(roles), "roles": [role_out(role) for role in roles]}


# ---------------------------------------------------------------------------------------------
# 担当変更履歴


def reassignment_out(record: Reassignment) -> dict:
    undoable = record.kind == ReassignmentKind.REASSIGN and record.undone_at is None
    return {
        "id": record.pk, "kind": record.kind, "actor_id": record.actor_id, "agent_id": record.agent_id, "to_user_id": record.to_user_id,
        "from_unit_id": record.from_unit_id, "to_unit_id": record.to_unit_id, "handover_note": record.handover_note,
        "cases_moved": record.cases_moved, "cases_reassigned": record.cases_reassigned, "cases_trashed": record.cases_trashed,
        "visits_moved": record.visits_moved, "sub_assignments_removed": record.sub_assignments_removed, "created_at": record.created_at,
        "undone_at": record.undone_at, "undone_by_id": record.undone_by_id, "undo_until": record.undo_deadline if undoable else None,
    }


def detail(record: Reassignment) -> dict:
    return {**reassignment_out(record), "cases": [{
        "case_id": item.case_id, "case_number": item.case.number, "customer_name": item.case.customer.name, "outcome": item.outcome,
        "from_user_id": item.from_user_id, "to_user_id": item.to_user_id, "from_unit_id": item.from_unit_id, "to_unit_id": item.to_unit_id,
        "visit_ids": list(item.visit_ids or []),
    } for item in reassignment_items(record)]}


class ReassignmentQuery(Schema):
    user: int | None = Field(None, ge=1, description="Only the changes that concern this user (agent, old or new assignee, actor)")
    kind: ReassignmentKind | None = None
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


@router.get("/staff/reassignments", response=schemas.ReassignmentPage)
def list_reassignments(request, query: Query[ReassignmentQuery]):
    """担当変更履歴: transfers, retirements and reassignments the caller may read (a company admin: all; an org
    admin: those touching an administered unit), newest first, keyset pages (follow `next_cursor`)."""
    actor = acting(request)
    require(actor, "staff")
    if query.user is not None and not User.objects.filter(company_id=actor.company_id, pk=query.user).exists():
        raise unknown("user")
    records = reassignment_list(actor=actor, user_id=query.user, kind=query.kind)
    page = keyset_page(records, order=("-created_at", "-pk"), cursor=query.cursor, limit=query.limit)
    return {"items": [reassignment_out(record) for record in page.items], "next_cursor": page.next_cursor}


@router.get("/staff/reassignments/{reassignment_id}", response=schemas.ReassignmentDetailOut)
def get_reassignment(request, reassignment_id: PathId):
    """One change of assignee with its cases (from whom to whom, which unit, the visit appointments moved)."""
    actor = acting(request)
    require(actor, "staff")
    return detail(access_reassignment(actor, reassignment_id))


@router.post("/staff/reassignments/{reassignment_id}/undo", response=schemas.StaffResultOut, openapi_extra={"responses": {
    "400": {"description": "Refused (`code`): not a reassignment, undone already, older than 30 days, cases reassigned since..."},
    "403": {"description": "`not_unit_admin`: a case is now of a unit the caller does not administer."},
}})
def undo_reassignment(request, reassignment_id: PathId):
    """Give the cases of a bulk reassignment back to their previous main assignee (within 30 days, while the
    cases were not reassigned again since), with the visit appointments that went with them."""
    actor = acting(request)
    require(actor, "staff")
    record = access_reassignment(actor, reassignment_id)
    return actions.do_undo_reassignment(actor=actor, reassignment=record).as_json()
