"""担当変更: the one engine that changes whose cases are whose, and its undo.

Every door that changes a case's main assignee or moves an agent's cases comes here: a transfer (異動) or a
retirement (退職) from staff/, a reassignment of many cases (the staff pages, API and command; the case list's
bulk reassign) and one case's edit. So every such change, whatever its door:
- is one `Reassignment` with a `ReassignmentCase` per case (the 担当変更履歴 page reads them), and one
  audit event per case plus one for the record, written in the caller's transaction;
- takes the open work with it: the case's open visit appointments from now on that its previous main
  assignee held go to the new one (and, when the case moves to another unit, from the old unit's calendar
  to the new one's); the next action is the case's own and follows it;
- writes the handover note (引継ぎメモ), when there is one, on each case's timeline;
- mails the new main assignee (担当者変更のお知らせ) after commit, unless they made the change themselves or
  turned those mails off.

Set-based: the cases are updated in chunks of UPDATE ... WHERE pk IN, the records, audit events and notes
in bulk inserts, so 10,000 cases take a fixed, small number of statements per chunk. The callers lock the
cases (pk order) and check every rule before calling; this module writes and refuses nothing but what
`check_undo` says about an undo.
"""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import audit_event, bulk_record_events, record_event
from estatecrm.audit.models import AuditEvent
from estatecrm.core.bulk import insert_rows
from estatecrm.core.errors import ApplicationError
from estatecrm.core.transactions import enqueue_on_commit
from estatecrm.crm import error_codes
from estatecrm.crm.choices import ActivityKind, ReassignmentKind, ReassignmentOutcome
from estatecrm.crm.duplicates import refresh_customers as refresh_duplicates
from estatecrm.crm.models import (
    REASSIGNMENT_UNDO_DAYS,
    Activity,
    Case,
    CaseAssignee,
    Reassignment,
    ReassignmentCase,
)

CHUNK = 2000


class CaseRow(NamedTuple):
    """What the engine reads of a case: a locked row without a model instance (10,000 instances cost seconds)."""

    pk: int
    customer_id: int
    main_assignee_id: int | None
    owning_org_id: int


def lock_cases(cases) -> list[CaseRow]:
    """The cases of the queryset locked (SELECT ... FOR UPDATE, pk order) and read as CaseRow."""
    return [CaseRow(*row) for row in cases.select_for_update(of=("self",)).order_by("pk")
            .values_list("pk", "customer_id", "main_assignee_id", "owning_org_id")]


def _case_repr(case) -> str:
    return f"Case object ({case.pk})"


@dataclass
class Plan:
    """What one 担当変更 does. `cases`: live cases (Case or CaseRow), locked by the caller, in pk order.

    - `to_user`: the new main assignee of every case (None: keep it);
    - `to_unit`: the new owning unit of every case (None: keep it);
    - `trash`: move the cases to the trash instead (restorable for TRASH_RETENTION_DAYS);
    - `sub_cases`: other cases on which `agent`'s sub-assignee role is removed;
    - `notify`: mail the new main assignee after commit (False: the demo's own history);
    - `audit_cases`: write an audit event per case (False: the caller writes its own, as the case page's and the
      case list's `update` events do; the record's event is written either way).
    """

    company_id: int
    kind: str
    cases: Sequence[Case]
    acting_user: object = None
    agent: object = None
    to_user: object = None
    to_unit: object = None
    from_unit: object = None
    trash: bool = False
    sub_cases: Sequence[Case] = ()
    handover_note: str = ""
    audit_cases: bool = True
    notify: bool = True
    extra: dict = field(default_factory=dict)


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def open_visits(company_id: int, case_ids, *, now: datetime.datetime):
    """The open visit appointments of the cases from `now` on: what goes with a case to its new holder."""
    return Activity.objects.for_company(company_id).filter(
        case_id__in=case_ids, kind=ActivityKind.VISIT_APPOINTMENT, is_done=False, occurred_at__gte=now)


def apply_plan(plan: Plan, *, now: datetime.datetime | None = None) -> Reassignment:
    """Write the plan (see the module's docstring). Returns the Reassignment with its counts."""
    now = now or timezone.now()
    company_id = plan.company_id
    actor = plan.acting_user if getattr(plan.acting_user, "pk", None) else None
    note = (plan.handover_note or "").strip()
    cases = list(plan.cases)
    case_ids = [case.pk for case in cases]
    record = Reassignment.objects.create(
        company_id=company_id, kind=plan.kind, actor=actor, agent=plan.agent, to_user=plan.to_user, from_unit=plan.from_unit,
        to_unit=plan.to_unit, handover_note=note, created_at=now,
    )
    items: dict[int, ReassignmentCase] = {}
    for case in cases:
        if plan.trash:
            outcome = ReassignmentOutcome.TRASHED
        elif plan.to_user is not None and plan.to_user.pk != case.main_assignee_id:
            outcome = ReassignmentOutcome.REASSIGNED
        else:
            outcome = ReassignmentOutcome.MOVED
        items[case.pk] = ReassignmentCase(
            company_id=company_id, reassignment=record, case_id=case.pk, outcome=outcome,
            from_user_id=case.main_assignee_id, to_user_id=case.main_assignee_id if plan.to_user is None else plan.to_user.pk,
            from_unit_id=case.owning_org_id, to_unit_id=case.owning_org_id if plan.to_unit is None else plan.to_unit.pk,
        )
    cases_table = Case.objects.for_company(company_id)
    if plan.trash:
        for chunk in _chunks(case_ids):
            cases_table.filter(pk__in=chunk, deleted_at__isnull=True).update(deleted_at=now)
        refresh_duplicates(company_id, {case.customer_id for case in cases})
    else:
        changes = {}
        if plan.to_user is not None:
            changes["main_assignee_id"] = plan.to_user.pk
        if plan.to_unit is not None:
            changes["owning_org_id"] = plan.to_unit.pk
        if changes:
            for chunk in _chunks(case_ids):
                cases_table.filter(pk__in=chunk).update(**changes, updated_at=now)
        if plan.to_user is not None:
            # A main assignee is never a sub-assignee of the same case (crm.actions.check_sub_assignees).
            links = CaseAssignee.objects.for_company(company_id).filter(user_id=plan.to_user.pk)
            for chunk in _chunks(case_ids):
                dropped = list(links.filter(case_id__in=chunk).values_list("case_id", flat=True))
                if dropped:
                    links.filter(case_id__in=dropped).delete()
                    for case_id in dropped:
                        items[case_id].to_user_was_sub_assignee = True
        _move_visits(plan, cases, items, now=now)
    removed = _remove_sub_assignments(plan, record, now=now)
    insert_rows(ReassignmentCase, ITEM_COLUMNS, [
        (item.case_id, item.outcome, item.from_user_id, item.to_user_id, item.from_unit_id, item.to_unit_id, item.visit_ids,
         item.to_user_was_sub_assignee) for item in [*items.values(), *removed]
    ], constants={"company_id": company_id, "reassignment_id": record.pk})
    if note and cases:
        insert_rows(Activity, ["case_id"], [(case.pk,) for case in cases], constants={
            "company_id": company_id, "kind": ActivityKind.HANDOVER, "direction": "", "occurred_at": now,
            "actor_id": actor.pk if actor else None, "subject": handover_subject(plan), "body": note, "is_done": True,
            "org_unit_id": None, "is_migrated": False, "created_at": now, "updated_at": now,
        })
    record.cases_moved = sum(item.outcome == ReassignmentOutcome.MOVED and item.from_unit_id != item.to_unit_id for item in items.values())
    record.cases_reassigned = sum(item.outcome == ReassignmentOutcome.REASSIGNED for item in items.values())
    record.cases_trashed = sum(item.outcome == ReassignmentOutcome.TRASHED for item in items.values())
    record.visits_moved = sum(len(item.visit_ids) for item in items.values())
    record.sub_assignments_removed = len(removed)
    record.save(update_fields=["cases_moved", "cases_reassigned", "cases_trashed", "visits_moved", "sub_assignments_removed"])
    _audit(plan, record, cases, items, removed, actor=actor, now=now)
    if plan.notify and record.cases_reassigned and (actor is None or plan.to_user.pk != actor.pk):
        from estatecrm.crm.tasks import mail_reassignment

        enqueue_on_commit(mail_reassignment, company_id, record.pk)
    return record


ITEM_COLUMNS = ("case_id", "outcome", "from_user_id", "to_user_id", "from_unit_id", "to_unit_id", "visit_ids", "to_user_was_sub_assignee")


def _person(user) -> str:
    return user.name or user.email


def handover_subject(plan: Plan) -> str:
    """The handover note's subject on the timeline: who handed over to whom (or where the agent moved)."""
    if plan.to_user is not None:
        return f"{_person(plan.agent)} → {_person(plan.to_user)}" if plan.agent is not None else f"→ {_person(plan.to_user)}"
    if plan.to_unit is not None and plan.from_unit is not None and plan.agent is not None:
        return f"{_person(plan.agent)}: {plan.from_unit.name} → {plan.to_unit.name}"
    return _("Handover at the %(kind)s") % {"kind": ReassignmentKind(plan.kind).label}


def _move_visits(plan: Plan, cases: list[Case], items: dict[int, ReassignmentCase], *, now) -> None:
    """Open visits from now on go with the case: to its new main assignee when the previous one held them,
    and to the new unit's calendar when the old unit held them."""
    by_case = {case.pk: case for case in cases}
    moves: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)  # (new actor, new unit) -> visit ids
    for chunk in _chunks(list(by_case)):
        for pk, case_id, actor_id, unit_id in open_visits(plan.company_id, chunk, now=now).values_list(
                "pk", "case_id", "actor_id", "org_unit_id"):
            case = by_case[case_id]
            new_actor = plan.to_user.pk if plan.to_user is not None and actor_id == case.main_assignee_id else actor_id
            new_unit = plan.to_unit.pk if plan.to_unit is not None and unit_id == case.owning_org_id else unit_id
            if (new_actor, new_unit) != (actor_id, unit_id):
                moves[(new_actor, new_unit)].append(pk)
                items[case_id].visit_ids.append(pk)
    visits = Activity.objects.for_company(plan.company_id)
    for (actor_id, unit_id), visit_ids in moves.items():
        for chunk in _chunks(visit_ids):
            visits.filter(pk__in=chunk).update(actor_id=actor_id, org_unit_id=unit_id, updated_at=now)


def _remove_sub_assignments(plan: Plan, record: Reassignment, *, now) -> list[ReassignmentCase]:
    if not plan.sub_cases or plan.agent is None:
        return []
    case_ids = [case.pk for case in plan.sub_cases]
    links = CaseAssignee.objects.for_company(plan.company_id).filter(user_id=plan.agent.pk)
    for chunk in _chunks(case_ids):
        links.filter(case_id__in=chunk).delete()
        Case.objects.for_company(plan.company_id).filter(pk__in=chunk).update(updated_at=now)
    return [
        ReassignmentCase(company_id=plan.company_id, reassignment=record, case_id=case.pk, outcome=ReassignmentOutcome.SUB_REMOVED,
                         from_user_id=case.main_assignee_id, to_user_id=case.main_assignee_id, from_unit_id=case.owning_org_id,
                         to_unit_id=case.owning_org_id)
        for case in plan.sub_cases
    ]


def _audit(plan: Plan, record: Reassignment, cases, items, removed, *, actor, now) -> None:
    """One event per case (unless the caller writes its own) and per removed sub-assignee role, as record_event
    would write them (object `crm.case`, the case's repr), inserted in one statement; then one for the record."""
    rows = []
    for case in cases if plan.audit_cases else ():
        item = items[case.pk]
        if item.outcome == ReassignmentOutcome.TRASHED:
            rows.append(("trash", str(case.pk), _case_repr(case), None, {"deleted_at": now.isoformat(), "reassignment": record.pk}))
            continue
        before, after = {}, {}
        if item.from_user_id != item.to_user_id:
            before["main_assignee_id"], after["main_assignee_id"] = item.from_user_id, item.to_user_id
        if item.from_unit_id != item.to_unit_id:
            before["owning_org_id"], after["owning_org_id"] = item.from_unit_id, item.to_unit_id
        if item.visit_ids:
            after["visits_moved"] = item.visit_ids
        if before or item.visit_ids:
            rows.append((plan.kind, str(case.pk), _case_repr(case), before, {**after, "reassignment": record.pk}))
    for item in removed:
        rows.append((plan.kind, str(item.case_id), f"Case object ({item.case_id})", {"sub_assignee": plan.agent.pk},
                     {"sub_assignee": None, "reassignment": record.pk}))
    insert_rows(AuditEvent, ("verb", "object_id", "object_repr", "before", "after"), rows, constants={
        "company_id": plan.company_id, "actor_id": actor.pk if actor else None, "object_type": "crm.case", "run_id": None,
        "created_at": now,
    })
    record_event(company_id=plan.company_id, actor=actor, verb=plan.kind, instance=record, after={
        "agent": record.agent_id, "to_user": record.to_user_id, "from_unit": record.from_unit_id, "to_unit": record.to_unit_id,
        "cases_moved": record.cases_moved, "cases_reassigned": record.cases_reassigned, "cases_trashed": record.cases_trashed,
        "visits_moved": record.visits_moved, "sub_assignments_removed": record.sub_assignments_removed,
        **({"handover_note": record.handover_note} if record.handover_note else {}), **plan.extra,
    })


# ---------------------------------------------------------------------------------------------
# Undo


def later_changes(record: Reassignment):
    """The items of this record whose case was reassigned again since: by a later 担当変更 not undone, or
    because its main assignee is no longer the one this record set (a case edit, a merge...)."""
    items = ReassignmentCase.objects.for_company(record.company_id).filter(reassignment=record, outcome=ReassignmentOutcome.REASSIGNED)
    later = ReassignmentCase.objects.for_company(record.company_id).filter(
        case_id=OuterRef("case_id"), pk__gt=OuterRef("pk"), reassignment__undone_at__isnull=True,
    ).exclude(outcome=ReassignmentOutcome.SUB_REMOVED)
    changed = Case.objects.for_company(record.company_id).filter(pk=OuterRef("case_id")).filter(
        ~Q(main_assignee_id=OuterRef("to_user_id")) | Q(deleted_at__isnull=False))
    return items.filter(Exists(later) | Exists(changed))


def check_undo(record: Reassignment, *, now: datetime.datetime | None = None) -> None:
    """Refuse (ApplicationError with a stable code) an undo that cannot be done: not a reassignment, undone
    already, older than REASSIGNMENT_UNDO_DAYS, a case reassigned again (or trashed, merged) since, or a
    previous main assignee who is deactivated now."""
    from estatecrm.tenancy.models import User

    now = now or timezone.now()
    if record.kind != ReassignmentKind.REASSIGN:
        raise ApplicationError(error_codes.UNDO_NOT_REASSIGNMENT, _(
            "Only a reassignment can be undone; transfer the agent back, or reassign the cases, instead."))
    if record.undone_at is not None:
        raise ApplicationError(error_codes.UNDO_ALREADY, _("This reassignment was already undone."))
    if now > record.undo_deadline:
        raise ApplicationError(error_codes.UNDO_EXPIRED, _("A reassignment can be undone for %(days)d days; this one is older.") % {
            "days": REASSIGNMENT_UNDO_DAYS})
    changed = list(later_changes(record).select_related("case").order_by("case__number")[:6])
    if changed:
        numbers = ", ".join(f"#{item.case.number}" for item in changed[:5]) + (" …" if len(changed) > 5 else "")
        raise ApplicationError(error_codes.UNDO_REASSIGNED_SINCE, _(
            "Cases were reassigned again since (%(cases)s); this reassignment can no longer be undone.") % {"cases": numbers})
    previous = set(ReassignmentCase.objects.for_company(record.company_id).filter(
        reassignment=record, outcome=ReassignmentOutcome.REASSIGNED, from_user__isnull=False).values_list("from_user_id", flat=True))
    inactive = list(User.objects.filter(pk__in=previous, is_active=False).order_by("email"))
    if inactive:
        raise ApplicationError(error_codes.UNDO_INACTIVE_ASSIGNEE, _(
            "%(names)s left the company; reassign those cases instead of undoing.") % {
            "names": ", ".join(user.name or user.email for user in inactive)})


def undo_plan(record: Reassignment, *, acting_user, now: datetime.datetime | None = None) -> Reassignment:
    """Give every case of the (checked) reassignment back to its previous main assignee, with the visits
    that moved with it still open and held by the new one; the new main assignee's sub-assignee role, if
    the reassignment dropped it, comes back when the case has room. Marks the record undone. Audited;
    each previous main assignee gets 担当者変更のお知らせ of their cases after commit."""
    now = now or timezone.now()
    company_id = record.company_id
    actor = acting_user if getattr(acting_user, "pk", None) else None
    items = list(ReassignmentCase.objects.for_company(company_id).filter(reassignment=record, outcome=ReassignmentOutcome.REASSIGNED)
                 .select_related("case").order_by("case_id"))
    cases_table = Case.objects.for_company(company_id)
    by_previous: dict[int | None, list[int]] = defaultdict(list)
    for item in items:
        by_previous[item.from_user_id].append(item.case_id)
    for user_id, case_ids in by_previous.items():
        for chunk in _chunks(case_ids):
            cases_table.filter(pk__in=chunk).update(main_assignee_id=user_id, updated_at=now)
            if user_id is not None:
                CaseAssignee.objects.for_company(company_id).filter(case_id__in=chunk, user_id=user_id).delete()
    visits = Activity.objects.for_company(company_id)
    visits_back = 0
    for item in items:
        if item.visit_ids and item.from_user_id is not None:
            visits_back += visits.filter(pk__in=item.visit_ids, is_done=False, actor_id=item.to_user_id).update(
                actor_id=item.from_user_id, updated_at=now)
    _restore_sub_roles(company_id, [item for item in items if item.to_user_was_sub_assignee])
    record.undone_at, record.undone_by = now, actor
    record.save(update_fields=["undone_at", "undone_by"])
    bulk_record_events([
        audit_event(company_id=company_id, actor=actor, verb="undo_reassign", instance=item.case,
                    before={"main_assignee_id": item.to_user_id}, after={"main_assignee_id": item.from_user_id, "reassignment": record.pk})
        for item in items
    ])
    record_event(company_id=company_id, actor=actor, verb="undo", instance=record, after={
        "cases": len(items), "visits_moved_back": visits_back})
    if items:
        from estatecrm.crm.tasks import mail_reassignment

        enqueue_on_commit(mail_reassignment, company_id, record.pk, undo=True)
    return record


def _restore_sub_roles(company_id: int, items: list[ReassignmentCase]) -> None:
    from estatecrm.crm.choices import MAX_SUB_ASSIGNEES_PER_CASE

    if not items:
        return
    positions: dict[int, list[int]] = defaultdict(list)
    for case_id, position in CaseAssignee.objects.for_company(company_id).filter(
            case_id__in=[item.case_id for item in items]).values_list("case_id", "position"):
        positions[case_id].append(position)
    links = []
    for item in items:
        taken = positions[item.case_id]
        if len(taken) < MAX_SUB_ASSIGNEES_PER_CASE:
            free = next(position for position in range(MAX_SUB_ASSIGNEES_PER_CASE) if position not in taken)
            links.append(CaseAssignee(company_id=company_id, case_id=item.case_id, user_id=item.to_user_id, position=free))
    CaseAssignee.objects.bulk_create(links, ignore_conflicts=True)
