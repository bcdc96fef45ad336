"""Background runs (imports, migrations) of the caller's company: read, and abort (administrators)."""

import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from estatecrm.core.errors import Conflict
from estatecrm.core.ids import PathId
from estatecrm.core.pagination import keyset_page
from estatecrm.pipeline.engine import request_abort
from estatecrm.pipeline.selectors import access_run, check_may_abort, visible_runs
from estatecrm.tenancy.selectors import Actor, actor_for

router = Router(tags=["background runs"])


class RunOut(Schema):
    id: int
    kind: str
    status: str
    source_name: str
    is_dry_run: bool
    rows_total: int | None
    rows_done: int
    counts: dict
    error_code: str
    error_message: str
    created_by_id: int | None
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    abort_requested_at: datetime.datetime | None


class RunPage(Schema):
    items: list[RunOut]
    next_cursor: str | None


class RunListQuery(Schema):
    kind: str = ""
    status: str = ""
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


def acting(request: HttpRequest) -> Actor:
    return actor_for(request.auth)


@router.get("/runs", response=RunPage)
def list_runs(request, query: Query[RunListQuery]):
    """Runs newest first; filter by `kind` (e.g. lead_import) or `status` (e.g. running)."""
    runs = visible_runs(actor=acting(request))
    if query.kind:
        runs = runs.filter(kind=query.kind)
    if query.status:
        runs = runs.filter(status=query.status)
    page = keyset_page(runs, order=("-pk",), cursor=query.cursor, limit=query.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/runs/{run_id}", response=RunOut)
def get_run(request, run_id: PathId):
    return access_run(acting(request), run_id)


@router.post("/runs/{run_id}/abort", response=RunOut)
def abort_run(request, run_id: PathId):
    """Ask the run to stop after its current batch (a run no worker took yet stops at once). Administrators only."""
    actor = acting(request)
    run = access_run(actor, run_id)
    check_may_abort(actor, run)
    if run.is_finished:
        raise Conflict("run_finished", _("The run has already ended."))
    request_abort(run)
    run.refresh_from_db()
    return run
