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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.pipeline.reverts import latest_revert
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.selectors import Actor
from estatecrm.tenancy.views import add_error
from estatecrm.vendor import actions, error_codes, forms, selectors
from estatecrm.vendor.choices import Phase, Verdict
from estatecrm.vendor.reports import verification, write_csv
from estatecrm.vendor.verdicts import do_give_verdict

RULE = "vendor_migration"
PER_PAGE = 50


def _phases(move_in, *, state: bool = False) -> list[dict]:
    """The phases of a move-in; `state`: with the latest revert of each and whether it may be reverted (the
    move-in page: a query or two more per phase, so not the list)."""
    rows = []
    for phase in Phase:
        run = selectors.phase_run(move_in, phase.value)
        row = {"phase": phase.value, "label": phase.label, "run": run,
               "summary": selectors.phase_state(run) if state else selectors.phase_summary(run)}
        if state and run is not None:
            row["can_revert"] = _revertible(run) and not row["summary"]["is_reverting"]
            row["can_abort"] = not row["summary"]["is_finished"] or row["summary"]["is_reverting"]
        rows.append(row)
    return rows


def _revertible(run) -> bool:
    try:
        actions.check_revertible(run, force=True)  # (what was changed since is said on the confirmation)
    except ApplicationError:
        return False
    return True


def _is_running(summary: dict | None) -> bool:
    return bool(summary) and (not summary["is_finished"] or summary.get("is_reverting", False))


@require_GET
@permission_view(RULE)
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    page = Paginator(selectors.move_in_list(actor=actor), PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"move_in": move_in, "phases": _phases(move_in)} for move_in in page]
    return render(request, "vendor/home.html", {"actor": actor, "rows": rows, "page": page})


def _render_move_in(request: HttpRequest, actor: Actor, move_in, form=None, *, status: int = 200) -> HttpResponse:
    phases = _phases(move_in, state=True)
    running = any(_is_running(row["summary"]) for row in phases)
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
    phases = {row["phase"]: row["summary"] for row in _phases(move_in, state=True)}
    for summary in phases.values():
        if summary:
            summary["started_at"] = summary["started_at"].isoformat() if summary["started_at"] else None
            summary["finished_at"] = summary["finished_at"].isoformat() if summary["finished_at"] else None
    return JsonResponse({"phases": phases, "is_finished": not any(_is_running(summary) for summary in phases.values())})


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


@require_POST
@permission_view(RULE)
def phase_abort(request: HttpRequest, actor: Actor, move_in_id: int, phase: str) -> HttpResponse:
    """「中止」: the phase run stops after its current batch (or its revert, when that is what runs)."""
    move_in, run = _phase_run(actor, move_in_id, phase)
    target = selectors.running_run(run)
    try:
        requested = target is not None and actions.do_abort_import(actor.user, target)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if requested:
            messages.success(request, _("Abort requested: the current batch finishes and what was written stays."))
        else:
            messages.info(request, _("Nothing to abort: the phase has ended or is stopping already."))
    return redirect("vendor:move-in", move_in_id=move_in.pk)


@require_http_methods(["GET", "POST"])
@permission_view(RULE)
def phase_revert(request: HttpRequest, actor: Actor, move_in_id: int, phase: str) -> HttpResponse:
    """「元に戻す」: a confirmation page saying what goes (GET), then the revert starts in the background (POST)."""
    move_in, run = _phase_run(actor, move_in_id, phase)
    error_message, error_code, status = "", "", 200
    if request.method == "POST":
        try:
            actions.do_start_revert(actor.user, run, force=request.POST.get("force") == "1")
        except ApplicationError as error:
            error_message, error_code, status = error.message, error.code, 409
            run.refresh_from_db()
        else:
            messages.success(request, _("The phase is being reverted in the background: this page shows its progress."))
            return redirect("vendor:move-in", move_in_id=move_in.pk)
    else:
        try:
            actions.check_revertible(run)
        except ApplicationError as error:
            error_message, error_code = error.message, error.code
    revert = selectors.revert_summary(latest_revert(run))
    if not error_message and revert and not revert["is_finished"]:
        error_message = _("This phase is being reverted already (run #%(run)d).") % {"run": revert["revert_run_id"]}
    return render(request, "vendor/revert.html", {
        "actor": actor, "move_in": move_in, "run": run, "phase": phase, "phase_label": Phase(phase).label,
        "removed": selectors.revert_preview(run), "error": error_message, "can_force": error_code == error_codes.EDITED_SINCE,
    }, status=status)
