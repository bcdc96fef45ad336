"""Reads of background runs, through the rules of tenancy/permissions.py: a run is read and aborted
by whom its kind's rule allows (`Job.permission_rule`, unit-scoped rules on the run's unit), and by
the user who started it."""

from django.db.models import Q, QuerySet

from estatecrm.core.errors import NotFound
from estatecrm.pipeline.engine import JOBS
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.permissions import RULES, allows, require
from estatecrm.tenancy.selectors import Actor

DEFAULT_RULE = "run_abort"  # a kind without a registered job (the legacy masters record): administrators


def run_rule(kind: str) -> tuple[str, str | None]:
    """(rule name, params key of the run's unit) for runs of `kind`."""
    job = JOBS.get(kind)
    return (job.permission_rule, job.unit_param) if job is not None else (DEFAULT_RULE, None)


def visible_runs(*, actor: Actor) -> QuerySet[Run]:
    """The runs the actor may read: their own, and those of the kinds their role allows."""
    runs = Run.objects.for_company(actor.company_id)
    if actor.is_company_admin:
        return runs
    allowed = Q(created_by_id=actor.user.pk)
    if actor.is_admin:
        allowed |= ~Q(kind__in=list(JOBS))
        for kind, job in JOBS.items():
            if not allows(actor, job.permission_rule):
                continue
            if job.unit_param and RULES[job.permission_rule].unit_scoped:
                allowed |= Q(kind=kind, **{f"params__{job.unit_param}__in": sorted(actor.admin_unit_ids)})
            else:
                allowed |= Q(kind=kind)
    return runs.filter(allowed)


def access_run(actor: Actor, run_id) -> Run:
    try:
        return visible_runs(actor=actor).get(pk=int(run_id))
    except (Run.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound() from None


def check_may_abort(actor: Actor, run: Run) -> None:
    """`run_abort` and the rule of the run's kind (on the run's unit when the rule is unit scoped)."""
    require(actor, "run_abort")
    rule, unit_param = run_rule(run.kind)
    require(actor, rule, unit_id=(run.params or {}).get(unit_param) if unit_param else None)
