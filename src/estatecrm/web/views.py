"""The page shell: dashboard."""

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from estatecrm.crm import selectors as crm_selectors
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.selectors import visible_runs
from estatecrm.tenancy.decorators import actor_view
from estatecrm.tenancy.selectors import Actor

# The admin's tables and the summary count over every visible case: computed at most once a minute per
# user (a million cases take a few hundred milliseconds); the user's own five numbers and lists are live.
OVERVIEW_CACHE_SECONDS = 60


def cached_for(actor: Actor, name: str, compute):
    key = f"web:dashboard:{name}:{actor.company_id}:{actor.user.pk}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, OVERVIEW_CACHE_SECONDS)
    return value


def active_runs(actor: Actor) -> list[Run]:
    """Background jobs waiting or running that the actor may read (pipeline.selectors.visible_runs: an agent's own)."""
    runs = visible_runs(actor=actor).filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING])
    return list(runs.select_related("created_by").order_by("-created_at")[:20])


@actor_view
def dashboard(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The agent's day first (their five numbers, today's next actions and visits); an admin also gets the
    numbers per agent and per unit of the administered units."""
    day = crm_selectors.DayBounds.at(timezone.now())
    agent_rows, unit_rows = cached_for(actor, "day-tables", lambda: crm_selectors.admin_day_tables(actor=actor, day=day)) \
        if actor.is_admin else ([], [])
    return render(request, "web/dashboard.html", {
        "actor": actor,
        "day": day,
        "numbers": crm_selectors.agent_day_numbers(actor=actor, day=day),
        "next_actions": crm_selectors.next_actions_due(actor=actor, day=day),
        "visits_today": crm_selectors.visits_between(actor=actor, start=day.today_start, end=day.tomorrow_start,
                                                     staff_id=actor.user.pk),
        "agent_rows": agent_rows,
        "unit_rows": unit_rows,
        "summary": cached_for(actor, "summary", lambda: crm_selectors.dashboard_summary(actor=actor)),
        "appointments": crm_selectors.open_visit_appointments(actor=actor, limit=10),
        "runs": active_runs(actor),
    })
