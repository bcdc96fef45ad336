"""Reverts as runs: undoing a large import or migration takes as long as doing it, so it runs in the
background like one (progress, heartbeat, resume after a crash), as a run of kind `<kind>_revert` whose
`params["run_id"]` names the run it reverts. The feature's job does the work (leads/jobs.py,
legacy/jobs.py); these helpers find and create such runs."""

import secrets

from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run

REVERT_BATCH = 2000


def revert_kind(kind: str) -> str:
    return f"{kind}_revert"


def revert_runs(run: Run):
    """The revert runs of `run`, newest first."""
    return Run.objects.for_company(run.company_id).filter(kind=revert_kind(run.kind), params__run_id=run.pk).order_by("-pk")


def active_revert(run: Run) -> Run | None:
    """The revert of `run` that has not ended yet (waiting for a worker or running), if any."""
    return revert_runs(run).filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING]).first()


def latest_revert(run: Run) -> Run | None:
    return revert_runs(run).first()


def new_revert_run(run: Run, *, user, at, **params) -> Run:
    """Create (not start) the revert run of `run` by `user`; `at` is the time every row it changes is stamped with."""
    return Run.objects.create(company_id=run.company_id, kind=revert_kind(run.kind), token=secrets.token_hex(8), created_by=user,
                              source_name=run.source_name, params={"run_id": run.pk, "at": at.isoformat(), "acting_user_id": user.pk, **params})
