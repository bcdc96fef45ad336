"""Settings > データ移行（他社CRM）: the move-ins from another vendor, one move-in (both phases, their progress
while running, the verdict history and form) and a phase's verification report (page and CSV).

Rule `vendor_migration` (company admins): others get 403, another company's move-in 404. The move-ins are
started by the onboarding team (`estatecrm vendor import`); these pages follow and verify them.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.selectors import Actor
from estatecrm.tenancy.views import add_error
from estatecrm.vendor import forms, selectors
from estatecrm.vendor.choices import Phase, Verdict
from estatecrm.vendor.reports import verification, write_csv
from estatecrm.vendor.verdicts import do_give_verdict

RULE = "vendor_migration"
PER_PAGE = 50


def _phases(move_in) -> list[dict]:
    rows = []
    for phase in Phase:
        run = selectors.phase_run(move_in, phase.value)
        rows.append({"phase": phase.value, "label": phase.label, "run": run, "summary": selectors.phase_summary(run)})
    return rows


@require_GET
@permission_view(RULE)
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    page = Paginator(selectors.move_in_list(actor=actor), PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"move_in": move_in, "phases": _phases(move_in)} for move_in in page]
    return render(request, "vendor/home.html", {"actor": actor, "rows": rows, "page": page})


def _render_move_in(request: HttpRequest, actor: Actor, move_in, form=None, *, status: int = 200) -> HttpResponse:
    phases = _phases(move_in)
    running = any(row["summary"] and not row["summary"]["is_finished"] for row in phases)
    return render(request, "vendor/move_in.html", {
        "actor": actor, "move_in": move_in, "phases": phases, "is_running": running,
        "verdicts": selectors.verdict_list(actor=actor, move_in=move_in)[:100],
        "can_give_verdict": bool(selectors.latest_done_phase(move_in)), "form": form or forms.VerdictForm(),
        "status_url": reverse("vendor:move-in-status", kwargs={"move_in_id": move_in.pk}),
    }, status=status)


@require_GET
@permission_view(RULE)
def move_in_detail(request: HttpRequest, actor: Actor, move_in_id: int) -> HttpResponse:
    return _render_move_in(request, actor, selectors.access_move_in(actor, move_in_id))


@require_GET
@permission_view(RULE)
def move_in_status(request: HttpRequest, actor: Actor, move_in_id: int) -> JsonResponse:
    """What the move-in page polls while a phase runs."""
    move_in = selectors.access_move_in(actor, move_in_id)
    phases = {row["phase"]: row["summary"] for row in _phases(move_in)}
    for summary in phases.values():
        if summary:
            summary["started_at"] = summary["started_at"].isoformat() if summary["started_at"] else None
            summary["finished_at"] = summary["finished_at"].isoformat() if summary["finished_at"] else None
    return JsonResponse({"phases": phases, "is_finished": all(summary is None or summary["is_finished"] for summary in phases.values())})


@require_POST
@permission_view(RULE)
def verdict(request: HttpRequest, actor: Actor, move_in_id: int) -> HttpResponse:
    move_in = selectors.access_move_in(actor, move_in_id)
    form = forms.VerdictForm(request.POST)
    if form.is_valid():
        try:
            do_give_verdict(actor.user, move_in, form.cleaned_data["verdict"], form.cleaned_data["comment"])
        except ApplicationError as error:
            add_error(form, error)
        else:
            if form.cleaned_data["verdict"] == Verdict.VERIFIED:
                messages.success(request, _("The move-in is marked verified. The onboarding team was notified."))
            else:
                messages.success(request, _("The problems were reported to the onboarding team."))
            return redirect("vendor:move-in", move_in_id=move_in.pk)
    return _render_move_in(request, actor, move_in, form, status=400)


def _phase_run(actor: Actor, move_in_id: int, phase: str):
    if phase not in Phase.values:
        raise NotFound()
    return selectors.access_phase_run(actor, move_in_id, phase)


@require_GET
@permission_view(RULE)
def report(request: HttpRequest, actor: Actor, move_in_id: int, phase: str) -> HttpResponse:
    move_in, run = _phase_run(actor, move_in_id, phase)
    result = verification(run)
    samples = [{"entity": counts.entity, "label": counts.label, "records": result.samples.get(counts.entity, [])} for counts in result.entities]
    return render(request, "vendor/report.html", {"actor": actor, "move_in": move_in, "run": run, "report": result, "samples": samples,
                                                  "phase_label": Phase(phase).label})


@require_GET
@permission_view(RULE)
def report_csv(request: HttpRequest, actor: Actor, move_in_id: int, phase: str) -> HttpResponse:
    move_in, run = _phase_run(actor, move_in_id, phase)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="move-in-{move_in.pk}-{phase}-verification.csv"'
    write_csv(verification(run), response, language=get_language())
    return response
