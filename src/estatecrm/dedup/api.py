"""名寄せ through the API (/api/v1/dedup/...): candidates, 「別人」, merges and their undo, shared phones and
e-mails, the company's settings.

The same rules and actions as the pages: `dedup` for candidates, dismissals and merges (the merge action
checks that the caller may edit every case involved and answers 403 naming the cases it may not),
`dedup_shared` for shared values, `dedup_settings` for the settings. A case the caller does not see is
unknown (404 in the path, 422 on the field in a body or query), whatever the reason.
"""

import datetime

from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.ids import PathId
from estatecrm.core.pagination import InvalidInput, keyset_page
from estatecrm.crm.choices import DuplicateRule
from estatecrm.crm.duplicates import duplicate_settings
from estatecrm.crm.models import (
    Case,
    ContactPoint,
    DuplicateCandidate,
    DuplicateDismissal,
)
from estatecrm.crm.selectors import visible_cases
from estatecrm.dedup import actions, error_codes, schemas
from estatecrm.dedup.choices import MERGE_UNDO_DAYS
from estatecrm.dedup.merge import MergeRequest, do_merge_cases, do_undo_merge
from estatecrm.dedup.models import Merge, MergeCase
from estatecrm.dedup.selectors import access_dismissal, access_merge, shared_value_rows, visible_merges
from estatecrm.normalize import format_national
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor, actor_for

router = Router(tags=["dedup"])

MAX_SHARED_VALUES = 500


def acting(request: HttpRequest) -> Actor:
    return actor_for(request.auth)


def unknown(field: str) -> InvalidInput:
    return InvalidInput("invalid", _("The request is not valid."), fields={field: [_("Unknown value.")]})


# ---------------------------------------------------------------------------------------------
# Candidates and 「別人」


def case_summary(case: Case) -> dict:
    return {
        "id": case.pk, "number": case.number, "customer_id": case.customer_id, "customer_name": case.customer.name,
        "customer_kana": case.customer.kana, "kind": case.kind, "status": case.status, "owning_org_id": case.owning_org_id,
        "main_assignee_id": case.main_assignee_id, "created_at": case.created_at,
    }


def candidate_out(row: DuplicateCandidate) -> dict:
    return {"id": row.pk, "case_a": case_summary(row.case_a), "case_b": case_summary(row.case_b), "rule": row.rule,
            "reason": str(DuplicateRule(row.rule).label), "score": row.score, "key": row.key}


class CandidateQuery(Schema):
    case_id: int | None = Field(None, ge=1, description="Only the candidates of this case")
    rule: DuplicateRule | None = Field(None, description="Only the candidates this rule found")
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


@router.get("/dedup/candidates", response=schemas.CandidatePage)
def list_candidates(request, query: Query[CandidateQuery]):
    """Candidate pairs (名寄せ候補) both of whose cases the caller sees, one row per pair and rule, newest first,
    one keyset page at a time (follow `next_cursor`). Dismissed pairs (「別人」) are never candidates."""
    actor = acting(request)
    require(actor, "dedup")
    visible = visible_cases(actor=actor).values("pk")
    rows = DuplicateCandidate.objects.for_company(actor.company_id).filter(case_a__in=visible, case_b__in=visible)
    if query.case_id is not None:
        if not visible_cases(actor=actor).filter(pk=query.case_id).exists():
            raise unknown("case_id")
        rows = rows.filter(Q(case_a_id=query.case_id) | Q(case_b_id=query.case_id))
    if query.rule is not None:
        rows = rows.filter(rule=query.rule)
    page = keyset_page(rows.select_related("case_a__customer", "case_b__customer"), order=("-pk",), cursor=query.cursor, limit=query.limit)
    return {"items": [candidate_out(row) for row in page.items], "next_cursor": page.next_cursor}


@router.post("/dedup/dismissals", response={201: schemas.DismissalOut, 200: schemas.DismissalOut})
def dismiss_pair(request, payload: schemas.PairIn):
    """「別人」: these two cases are not the same person; the pair stops being a candidate for every rule, for
    good. 201 when this call dismissed it, 200 when it was already dismissed (nothing changes). 403 names the
    cases the caller may not edit (as for a merge)."""
    actor = acting(request)
    require(actor, "dedup")
    if payload.case_a_id == payload.case_b_id:
        raise InvalidInput("invalid", _("The request is not valid."), fields={"case_b_id": [_("Choose two different cases.")]})
    low, high = sorted((payload.case_a_id, payload.case_b_id))
    known = DuplicateDismissal.objects.for_company(actor.company_id).filter(case_a_id=low, case_b_id=high).exists()
    try:
        dismissal = actions.do_dismiss_pair(company_id=actor.company_id, acting_user=actor.user, case_x=low, case_y=high)
    except NotFound:
        # A case the caller does not see is an unknown value of the body (never revealing it).
        raise InvalidInput("invalid", _("The request is not valid."),
                           fields={"case_a_id": [_("Unknown value.")], "case_b_id": [_("Unknown value.")]}) from None
    return Status(200 if known else 201, dismissal)


@router.delete("/dedup/dismissals/{dismissal_id}", response={204: None})
def undo_dismissal(request, dismissal_id: PathId):
    """Take back a 「別人」: the pair is a candidate again wherever a rule finds it (recomputed at once)."""
    actor = acting(request)
    require(actor, "dedup")
    access_dismissal(actor, dismissal_id)
    actions.do_undo_dismissal(company_id=actor.company_id, acting_user=actor.user, dismissal_id=dismissal_id)
    return Status(204, None)


# ---------------------------------------------------------------------------------------------
# Merges


def merge_out(merge: Merge, merged_case_ids: list[int]) -> dict:
    return {
        "id": merge.pk, "survivor_id": merge.survivor_id, "merged_case_ids": merged_case_ids, "mode": merge.mode,
        "is_automatic": merge.is_automatic, "acting_user_id": merge.acting_user_id, "created_at": merge.created_at,
        "undone_at": merge.undone_at, "undone_by_id": merge.undone_by_id,
        "undo_until": None if merge.undone_at else merge.created_at + datetime.timedelta(days=MERGE_UNDO_DAYS),
    }


def merged_ids(company_id: int, merge_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {pk: [] for pk in merge_ids}
    for merge_id, case_id in MergeCase.objects.for_company(company_id).filter(merge_id__in=merge_ids).order_by("case_id").values_list(
            "merge_id", "case_id"):
        found[merge_id].append(case_id)
    return found


def detail(actor: Actor, merge_id: int) -> dict:
    merge = access_merge(actor, merge_id)
    return merge_out(merge, merged_ids(actor.company_id, [merge.pk])[merge.pk])


def as_conflict(error: ApplicationError) -> ApplicationError:
    """Two merges of overlapping cases at once: the loser's refusal is a 409 whatever status the action gave it."""
    if error.code == error_codes.MERGE_CONFLICT and error.status_code != 409:
        return Conflict(error.code, error.message, fields=error.fields)
    return error


@router.post("/dedup/merges", response={201: schemas.MergeOut}, openapi_extra={"responses": {
    "403": {"description": "The caller may not edit every case involved; the message names the cases (#numbers)."},
    "409": {"description": "`merge_conflict`: another merge took one of these cases first (nothing was written)."},
}})
def merge_cases(request, payload: schemas.MergeIn):
    """名寄せの実行: merge (`integrate: true`) or link (`integrate: false`) the cases into the survivor. 201 with the
    merge (undo it within 30 days with POST /dedup/merges/{id}/undo). Cases the caller does not see are a 422
    on `survivor_id` / `case_ids`."""
    actor = acting(request)
    require(actor, "dedup")
    case_ids = list(dict.fromkeys(payload.case_ids))
    if payload.survivor_id in case_ids:
        raise InvalidInput("invalid", _("The request is not valid."), fields={"case_ids": [_("The survivor is not one of the other cases.")]})
    # Cases merged or trashed since the caller read them are the action's to refuse (a 409 conflict, not unknown ids).
    seen = set(visible_cases(actor=actor, include_trashed=True, include_merged=True).filter(pk__in=[payload.survivor_id, *case_ids])
               .values_list("pk", flat=True))
    if payload.survivor_id not in seen:
        raise unknown("survivor_id")
    if not seen.issuperset(case_ids):
        raise unknown("case_ids")
    request_data = MergeRequest(survivor_id=payload.survivor_id, case_ids=case_ids, integrate=payload.integrate,
                                fill_empty=payload.fill_empty, picks=dict(payload.picks))
    try:
        merge = do_merge_cases(acting_user=actor.user, request=request_data)
    except ApplicationError as error:
        raise as_conflict(error) from None
    return Status(201, detail(actor, merge.pk))


class MergeQuery(Schema):
    case_id: int | None = Field(None, ge=1, description="Only the merges that took this case (as survivor or merged)")
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


@router.get("/dedup/merges", response=schemas.MergePage)
def list_merges(request, query: Query[MergeQuery]):
    """名寄せ履歴: the merges whose survivor the caller sees, newest first, keyset pages."""
    actor = acting(request)
    require(actor, "dedup")
    merges = visible_merges(actor=actor)
    if query.case_id is not None:
        merges = merges.filter(Q(survivor_id=query.case_id) | Exists(
            MergeCase.objects.for_company(actor.company_id).filter(merge_id=OuterRef("pk"), case_id=query.case_id)))
    page = keyset_page(merges, order=("-created_at", "-pk"), cursor=query.cursor, limit=query.limit)
    taken = merged_ids(actor.company_id, [merge.pk for merge in page.items])
    return {"items": [merge_out(merge, taken[merge.pk]) for merge in page.items], "next_cursor": page.next_cursor}


@router.get("/dedup/merges/{merge_id}", response=schemas.MergeOut)
def get_merge(request, merge_id: PathId):
    actor = acting(request)
    require(actor, "dedup")
    return detail(actor, merge_id)


@router.post("/dedup/merges/{merge_id}/undo", response=schemas.MergeOut, openapi_extra={"responses": {
    "400": {"description": "Refused: undone already, older than 30 days, or its survivor was merged again later (undo that first)."},
    "403": {"description": "The caller may not edit every case the merge took; the message names them."},
}})
def undo_merge(request, merge_id: PathId):
    """Undo a merge within 30 days: every case, link, activity and field as it was before."""
    actor = acting(request)
    require(actor, "dedup")
    access_merge(actor, merge_id)
    try:
        do_undo_merge(acting_user=actor.user, merge_id=merge_id)
    except ApplicationError as error:
        raise as_conflict(error) from None
    return detail(actor, merge_id)


# ---------------------------------------------------------------------------------------------
# Shared phones and e-mails; settings


class SharedValueQuery(Schema):
    limit: int = Field(100, ge=1, le=MAX_SHARED_VALUES)


def shared_value_out(row) -> dict:
    return {"value": row.normalized, "display": row.shown, "kind": row.kind, "customers": row.customers, "marking": row.marking or None,
            "note": row.note, "is_shared": row.is_shared}


@router.get("/dedup/shared-values", response=list[schemas.SharedValueOut])
def list_shared_values(request, query: Query[SharedValueQuery]):
    """Phones and e-mails held by the threshold's number of live customers or more, and every value an
    administrator marked, most held first (the shared numbers page's list)."""
    actor = acting(request)
    require(actor, "dedup_shared")
    rows, _threshold = shared_value_rows(actor=actor, limit=query.limit)
    return [shared_value_out(row) for row in rows[:query.limit]]


@router.put("/dedup/shared-values", response=schemas.SharedValueOut)
def mark_shared_value(request, payload: schemas.SharedValueIn):
    """Mark one phone or e-mail shared (finds no candidates) or personal (finds them however many hold it), or
    remove the marking (`marking: null`). The candidates of its holders are recomputed at once."""
    actor = acting(request)
    require(actor, "dedup_shared")
    actions.do_mark_shared_value(company_id=actor.company_id, acting_user=actor.user, value=payload.value,
                                 marking=payload.marking.value if payload.marking else "", note=payload.note.strip())
    value = actions.normalized_value(payload.value)
    rows, _threshold = shared_value_rows(actor=actor, limit=MAX_SHARED_VALUES)
    row = next((row for row in rows if row.normalized == value), None)
    if row is None:
        # Held by fewer customers than the threshold and not marked: the list leaves it out; say so all the same.
        return {"value": value, "display": value if "@" in value else format_national(value), "kind": "email" if "@" in value else "phone",
                "customers": held_by(actor.company_id, value), "marking": None, "note": "", "is_shared": False}
    return shared_value_out(row)


def held_by(company_id: int, value: str) -> int:
    return (ContactPoint.objects.for_company(company_id).filter(normalized=value, customer__deleted_at__isnull=True)
            .values("customer_id").distinct().count())


def settings_out(company_id: int) -> dict:
    current = duplicate_settings(company_id)
    return {"enabled_rules": [rule for rule in DuplicateRule.values if rule in set(current.enabled_rules)],
            "shared_threshold": current.shared_threshold, "fuzzy_min_score": current.fuzzy_min_score}


@router.get("/dedup/settings", response=schemas.DuplicateSettingsOut)
def get_settings(request):
    actor = acting(request)
    require(actor, "dedup_settings")
    return settings_out(actor.company_id)


@router.put("/dedup/settings", response=schemas.DuplicateSettingsOut)
def put_settings(request, payload: schemas.DuplicateSettingsIn):
    """Replace the 名寄せ settings (company administrators); a change enqueues a rescan of the company's candidates
    (dedup.tasks.scan_company_task, after the commit)."""
    actor = acting(request)
    require(actor, "dedup_settings")
    actions.do_update_duplicate_settings(company_id=actor.company_id, acting_user=actor.user, change=actions.SettingsChange(
        enabled_rules=[DuplicateRule(rule).value for rule in payload.enabled_rules], shared_threshold=payload.shared_threshold,
        fuzzy_min_score=payload.fuzzy_min_score))
    return settings_out(actor.company_id)
