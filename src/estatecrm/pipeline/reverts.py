"""Reverts as runs: undoing a large import or migration takes as long as doing it, so it runs in the
background like one (progress, heartbeat, resume after a crash), as a run of kind `<kind>_revert` whose
`params["run_id"]` names the run it reverts. The feature's job does the work (leads/jobs.py,
legacy/jobs.py); these helpers find and create such runs."""

import secrets

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from estatecrm.core.errors import ApplicationError
from estatecrm.core.transactions import enqueue_on_commit
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import Job, RunRefused
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


def start_revert(run: Run, *, actor, force: bool, check_revertible, in_progress, background: bool) -> Run:
    """What every `do_start_<kind>_revert` does once it has locked `run` and checked who asks: refuse
    while a revert of it is under way (`in_progress(revert)` gives the ApplicationError), ask the
    feature's `check_revertible(run, force=...)`, create the revert run, audit the start, and enqueue it
    after commit (`background`; otherwise the caller executes it). Call inside the caller's transaction."""
    from estatecrm.audit.actions import record_event
    from estatecrm.pipeline.tasks import run_pipeline

    running = active_revert(run)
    if running is not None:
        raise in_progress(running)
    check_revertible(run, force=force)
    revert = new_revert_run(run, user=actor.user, at=timezone.now(), force=force)
    record_event(company_id=run.company_id, actor=actor.user, verb="start_revert", instance=run, after={"revert_id": revert.pk, "force": force},
                 run_id=run.pk)
    if background:
        enqueue_on_commit(run_pipeline, revert.pk)
    return revert


class RevertJob(Job):
    """What every revert job shares: the run it reverts (`target`), the time it stamps (`at`), and a
    prepare() that asks the feature's revertibility check again (what was imported may have been
    edited between the request and this worker) before counting the source rows to undo."""

    def __init__(self, run: Run):
        super().__init__(run)
        self.company_id = run.company_id
        self.target = Run.objects.for_company(self.company_id).get(pk=run.params["run_id"])
        self.at = parse_datetime(run.params["at"])

    def check_revertible(self, *, force: bool) -> None:
        """Raise ApplicationError when the target can no longer be reverted."""
        raise NotImplementedError

    def rows_to_undo(self) -> int:
        raise NotImplementedError

    def prepare(self) -> int:
        try:
            self.check_revertible(force=bool(self.run.params.get("force")))
        except ApplicationError as error:
            raise RunRefused(error.code, error.message) from None
        return self.rows_to_undo()
