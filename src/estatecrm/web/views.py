"""The page shell: dashboard."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from estatecrm.crm import selectors as crm_selectors
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.selectors import visible_runs
from estatecrm.tenancy.decorators import actor_view
from estatecrm.tenancy.selectors import Actor


def active_runs(actor: Actor) -> list[Run]:
    """Background jobs waiting or running that the actor may read (pipeline.selectors.visible_runs: an agent's own)."""
    runs = visible_runs(actor=actor).filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING])
    return list(runs.select_related("created_by").order_by("-created_at")[:20])


@actor_view
def dashboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "web/dashboard.html", {
        "actor": actor,
        "summary": crm_selectors.dashboard_summary(actor=actor),
        "appointments": crm_selectors.open_visit_appointments(actor=actor, limit=10),
        "runs": active_runs(actor),
    })
