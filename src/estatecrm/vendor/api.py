"""データ移行（他社CRM） through the API (/api/v1/vendor/...): the move-ins, one move-in with its phases and
verdicts, a phase's verification (the object `estatecrm vendor verify --json` prints) and the verdict.

Rule `vendor_migration` (company admins): others get 403; another company's move-in is unknown (404), as
is a phase not started. A refused verdict is a 400 with `code` `verdict_invalid` (no phase ended yet, or
problems without a comment). A phase is aborted and reverted through vendor/actions.py (`do_abort_import`,
`do_start_revert`): a refused revert is a 400 with `code` `not_revertible`; an abort with nothing running a 409
`run_finished` (as POST /runs/{id}/abort).
"""

import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from estatecrm.core.errors import Conflict
from estatecrm.core.ids import PathId
from estatecrm.core.pagination import keyset_page
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor, actor_for
from estatecrm.vendor import actions, selectors
from estatecrm.vendor.choices import Phase
from estatecrm.vendor.reports import verification
from estatecrm.vendor.verdicts import COMMENT_MAX_LENGTH, do_give_verdict

router = Router(tags=["vendor"])
RULE = "vendor_migration"


def acting(request: HttpRequest) -> Actor:
    actor = actor_for(request.auth)
    require(actor, RULE)
    return actor


class EntityCountsOut(Schema):
    source: int = Field(description="Records of the phase's scope in the package")
    loaded: int
    skipped: int
    failed: int


class PhaseOut(Schema):
    run_id: int
    phase: str
    status: str
    is_finished: bool
    rows_done: int
    rows_total: int | None
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    error: str
    entities: dict[str, EntityCountsOut]


class PhaseRevertOut(Schema):
    revert_run_id: int
    status: str = Field(description="pending | running | completed | failed | aborted")
    is_finished: bool
    abort_requested: bool
    rows_done: int
    rows_total: int | None
    counts: dict[str, int] = Field(description="What it removed so far: listings_removed, cases_deleted, cases_trashed, "
                                               "customers_deleted, activities_removed, introductions_removed, agents_removed...")
    error: str


class PhaseStateOut(PhaseOut):
    abort_requested: bool = Field(description="An abort was asked: the run stops after its current batch")
    is_reverting: bool = Field(description="A revert of the phase has not ended yet")
    revert: PhaseRevertOut | None = Field(description="The latest revert of the phase (poll it until `is_finished`); null when none")


class VerdictOut(Schema):
    id: int
    phase: str
    verdict: str
    comment: str
    given_by_id: int | None
    given_at: datetime.datetime


class MoveInOut(Schema):
    id: int
    vendor: str
    profile: str
    package_name: str
    region: str
    currency: str
    created_by_id: int | None
    created_at: datetime.datetime
    active: PhaseOut | None = Field(description="The run of phase 1 (active data); null before it started")
    archive: PhaseOut | None = Field(description="The run of phase 2 (archive and history); null before it started")
    verdict: str = Field(description="pending | verified | problems")
    verdict_comment: str
    verdict_by_id: int | None
    verdict_at: datetime.datetime | None


class MoveInDetailOut(MoveInOut):
    active: PhaseStateOut | None = Field(description="The run of phase 1 (active data) and its latest revert; null before it started")
    archive: PhaseStateOut | None = Field(description="The run of phase 2 (archive and history) and its latest revert; null before it started")
    verdicts: list[VerdictOut] = Field(description="Every verdict given, newest first")


class MoveInPage(Schema):
    items: list[MoveInOut]
    next_cursor: str | None


class ReportEntityOut(Schema):
    source: int
    loaded: int
    skipped: dict[str, int] = Field(description="reason -> count")
    failed: dict[str, int] = Field(description="reason -> count")
    skipped_total: int
    failed_total: int
    accounted: bool = Field(description="source == loaded + skipped + failed")


class MoneyOut(Schema):
    entity: str
    field: str
    currency: str
    source: str = Field(description="Decimal total in the package")
    loaded: str = Field(description="Decimal total of the loaded rows")
    difference: str = Field(description="loaded - source")


class SampleOut(Schema):
    source_id: str
    row_number: int
    outcome: str
    reason: str
    detail: str
    source: dict[str, str] = Field(description="The package's cells: column -> text")
    target: dict[str, str] = Field(description="The loaded row's values: field -> text")
    target_url: str
    target_missing: bool


class VerificationOut(Schema):
    run_id: int
    move_in_id: int | None
    phase: str
    status: str
    finished: bool
    currency: str
    accounted: bool
    entities: dict[str, ReportEntityOut]
    money: list[MoneyOut]
    sample: dict[str, list[SampleOut]]
    sample_error: str


class MoveInQuery(Schema):
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


class VerdictIn(Schema):
    verdict: Literal["verified", "problems"]
    comment: str = Field("", max_length=COMMENT_MAX_LENGTH, description="Required for problems")


def move_in_out(move_in) -> dict:
    phases = {phase: selectors.phase_summary(selectors.phase_run(move_in, phase)) for phase in Phase.values}
    return {
        "id": move_in.pk, "vendor": move_in.vendor, "profile": move_in.profile, "package_name": move_in.package_name, "region": move_in.region,
        "currency": move_in.currency, "created_by_id": move_in.created_by_id, "created_at": move_in.created_at,
        "active": phases[Phase.ACTIVE], "archive": phases[Phase.ARCHIVE], "verdict": move_in.verdict,
        "verdict_comment": move_in.verdict_comment, "verdict_by_id": move_in.verdict_by_id, "verdict_at": move_in.verdict_at,
    }


def detail_out(actor: Actor, move_in) -> dict:
    verdicts = [{"id": record.pk, "phase": record.phase, "verdict": record.verdict, "comment": record.comment,
                 "given_by_id": record.given_by_id, "given_at": record.given_at}
                for record in selectors.verdict_list(actor=actor, move_in=move_in)[:100]]
    phases = {phase: selectors.phase_state(selectors.phase_run(move_in, phase)) for phase in Phase.values}
    return {**move_in_out(move_in), **phases, "verdicts": verdicts}


@router.get("/vendor/move-ins", response=MoveInPage)
def list_move_ins(request, query: Query[MoveInQuery]):
    """The company's move-ins from another vendor, newest first, keyset pages (follow `next_cursor`)."""
    actor = acting(request)
    page = keyset_page(selectors.move_in_list(actor=actor), order=("-created_at", "-pk"), cursor=query.cursor, limit=query.limit)
    return {"items": [move_in_out(move_in) for move_in in page.items], "next_cursor": page.next_cursor}


@router.get("/vendor/move-ins/{move_in_id}", response=MoveInDetailOut)
def get_move_in(request, move_in_id: PathId):
    """One move-in: both phases (status, progress, counts per entity) and every verdict."""
    actor = acting(request)
    return detail_out(actor, selectors.access_move_in(actor, move_in_id))


@router.get("/vendor/move-ins/{move_in_id}/phases/{phase}/verification", response=VerificationOut)
def get_verification(request, move_in_id: PathId, phase: Literal["active", "archive"]):
    """The verification report of a phase: per entity source / loaded / skipped / failed, the money totals, and a
    sample of up to 20 records per entity beside the rows they became (as `estatecrm vendor verify --json`)."""
    actor = acting(request)
    _move_in, run = selectors.access_phase_run(actor, move_in_id, phase)
    return verification(run).as_json()


@router.post("/vendor/move-ins/{move_in_id}/verdict", response=MoveInDetailOut, openapi_extra={"responses": {
    "400": {"description": "`verdict_invalid`: no phase has ended yet, or problems without a comment."},
}})
def give_verdict(request, move_in_id: PathId, payload: VerdictIn):
    """「確認済み」 (`verified`) or problems reported (`problems`, with a comment) on the latest phase that ended;
    the onboarding staff get a mail."""
    actor = acting(request)
    move_in = selectors.access_move_in(actor, move_in_id)
    do_give_verdict(actor.user, move_in, payload.verdict, payload.comment)
    return detail_out(actor, selectors.access_move_in(actor, move_in_id))


@router.post("/vendor/move-ins/{move_in_id}/phases/{phase}/revert", response={202: PhaseStateOut}, openapi_extra={"responses": {
    "400": {"description": "`not_revertible`: the phase has not ended, was reverted, is being reverted, or is the active phase "
                           "while the archive phase stands (revert the archive phase first); `edited_since`: cases or listings "
                           "it loaded were changed since (the message names them; `force=true` reverts anyway)."},
}})
def revert_phase(request, move_in_id: PathId, phase: Literal["active", "archive"], force: bool = False):
    """Start undoing a phase in the background (a revert run: resumable, with progress): what it loaded goes, its
    ledger too, so that it can be loaded again. Poll GET /vendor/move-ins/{id}: the phase's `revert` ends, and
    its `status` becomes `reverted`. `force`: revert even the cases and listings changed since the load
    (refused `edited_since` otherwise, naming them)."""
    actor = acting(request)
    _move_in, run = selectors.access_phase_run(actor, move_in_id, phase)
    actions.do_start_revert(actor.user, run, force=force)
    run.refresh_from_db()
    return Status(202, selectors.phase_state(run))


@router.post("/vendor/move-ins/{move_in_id}/phases/{phase}/abort", response=PhaseStateOut, openapi_extra={"responses": {
    "409": {"description": "`run_finished`: nothing of the phase runs (neither the phase nor a revert of it)."},
}})
def abort_phase(request, move_in_id: PathId, phase: Literal["active", "archive"]):
    """「中止」: the phase's run stops after its current batch (one no worker took yet stops at once); when the
    phase has ended and its revert runs, the revert stops. What was written stays (revert the phase to undo it)."""
    actor = acting(request)
    _move_in, run = selectors.access_phase_run(actor, move_in_id, phase)
    target = selectors.running_run(run)
    if target is None:
        raise Conflict("run_finished", _("Nothing of this phase is running."))
    actions.do_abort_import(actor.user, target)
    run.refresh_from_db()
    return selectors.phase_state(run)

