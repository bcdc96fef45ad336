"""Settings > org unit > onboarding > step 2 data migration (データ移行): the pages.

① conditions and estimated counts of an uploaded bundle, ② full migration, ③ quick migration (list,
confirm, start), ④ migrated data (runs, their cases). A run page follows a run to its end (it polls
`run_status`), and offers abort, revert and the report downloads.

Only a company admin or an admin of the unit (`access_org_unit(..., for_write=True)`): agents get 403,
another company's unit or run 404. The bundle is stored by `do_store_legacy_bundle`; the page keeps
only its token in the session, per unit. The bundle is checked, and page ①'s counts computed, in the
background (`tasks.compute_legacy_preflight`): page ① shows the stored result and polls `upload_status`
while it is being computed; nothing can start until it is ready.
"""

from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.crm.selectors import case_numbers
from estatecrm.legacy import actions, error_codes, forms, selectors
from estatecrm.legacy.choices import QUICK_CAP, REVERT_DAYS, Mode, Outcome
from estatecrm.legacy.reports import reason_label, write_migrated_ids, write_reconciliation
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.readers import ReadError
from estatecrm.pipeline.reverts import latest_revert
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.models import OrgUnit
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor, access_org_unit, user_list
from estatecrm.tenancy.views import add_error

STEPS = (
    ("home", gettext_lazy("① Conditions and estimated counts")),
    ("full", gettext_lazy("② Full migration")),
    ("quick", gettext_lazy("③ Quick migration")),
    ("runs", gettext_lazy("④ Migrated data")),
)


def unit_view(view):
    """An admin page of one unit: the view gets (request, actor, unit, ...). Agents 403; another
    company's unit 404; a unit the admin does not administer 403."""

    @permission_view("legacy_migration")
    @wraps(view)
    def wrapper(request: HttpRequest, actor: Actor, unit_id: int, **kwargs) -> HttpResponse:
        unit = access_org_unit(actor, unit_id)
        require(actor, "legacy_migration", unit_id=unit.pk)
        return view(request, actor, unit, **kwargs)

    return wrapper


def _session_key(unit: OrgUnit) -> str:
    return f"legacy_upload:{unit.pk}"


def _stored_bundle(request: HttpRequest, actor: Actor, unit: OrgUnit):
    return selectors.access_stored_bundle(actor, request.session.get(_session_key(unit)), org_unit=unit)


def _context(actor: Actor, unit: OrgUnit, step: str, **extra) -> dict:
    return {"actor": actor, "unit": unit, "step": step, "steps": STEPS, **extra}


def _users(actor: Actor):
    return user_list(actor=actor).filter(is_active=True)


def _language() -> str:
    return get_language() or "ja"


# ---------------------------------------------------------------------------------------------
# ① Upload, conditions and estimated counts


@require_GET
@unit_view
def home(request: HttpRequest, actor: Actor, unit: OrgUnit) -> HttpResponse:
    return _render_home(request, actor, unit, forms.UploadForm())


def _preflight_rows(preflight: dict) -> dict:
    """The stored pre-flight with the rows the page shows."""
    eligible = preflight["eligible"]
    return {
        **preflight,
        "eligible_rows": [(category, count, eligible[Mode.QUICK].get(category, 0)) for category, count in eligible[Mode.FULL].items()],
        "eligible_total": {mode: sum(counts.values()) for mode, counts in eligible.items()},
        "not_eligible_rows": [(code, reason_label(code), count) for code, count in preflight["not_eligible"].items()],
        "needs_masters": bool(preflight["unregistered_sub_statuses"] or preflight["unregistered_ranks"] or preflight["unregistered_tags"]),
    }


def _render_home(request: HttpRequest, actor: Actor, unit: OrgUnit, upload_form, *, status: int = 200) -> HttpResponse:
    """Page ①: the upload form, and the stored result of the upload's background check (never the bundle itself)."""
    upload = selectors.access_upload(actor, request.session.get(_session_key(unit)), org_unit=unit)
    state = selectors.preflight_state(upload) if upload is not None else None
    has_bundle = upload is not None and selectors.access_stored_bundle(actor, upload.token, org_unit=unit) is not None
    return render(request, "legacy/home.html", _context(
        actor, unit, "home", upload_form=upload_form, stored=upload, state=state, has_bundle=has_bundle,
        preflight=_preflight_rows(state.preflight) if state is not None and state.is_ready else None,
        bundle_error=state.error_message(_language()) if state is not None else "",
        is_outdated=selectors.preflight_is_outdated(actor=actor, state=state),
        status_url=reverse("legacy:upload-status", kwargs={"unit_id": unit.pk, "upload_token": upload.token}) if upload else "",
        quick_since=(state.quick_since if state is not None and state.quick_since else actions.quick_start_date()),
        active_run=selectors.active_migration(actor=actor),
    ), status=status)


@require_GET
@unit_view
def upload_status(request: HttpRequest, actor: Actor, unit: OrgUnit, upload_token: str) -> JsonResponse:
    """What page ① polls while the upload is checked in the background. Another company's or unit's token: 404."""
    upload = selectors.access_upload(actor, upload_token, org_unit=unit)
    if upload is None:
        raise NotFound()
    state = selectors.preflight_state(upload)
    if state is None:
        return JsonResponse({"status": "", "is_finished": True})
    return JsonResponse({"status": state.status, "status_label": state.status_label, "stage": state.stage, "stage_label": state.stage_label,
                         "elapsed_seconds": state.elapsed_seconds(), "is_finished": not state.is_checking})


@require_POST
@unit_view
def upload(request: HttpRequest, actor: Actor, unit: OrgUnit) -> HttpResponse:
    form = forms.UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            token = actions.do_store_legacy_bundle(actor=actor, org_unit=unit, bundle_file=form.cleaned_data["bundle"],
                                                   staff_map_file=form.cleaned_data["staff_map"],
                                                   replaces=request.session.get(_session_key(unit), ""))
        except ApplicationError as error:
            add_error(form, error)
        else:
            request.session[_session_key(unit)] = token
            messages.success(request, _("Uploaded “%(file)s”. It is being checked in the background: the estimated counts show here "
                                        "when it is done.") % {"file": form.cleaned_data["bundle"].name})
            return redirect("legacy:home", unit_id=unit.pk)
    return _render_home(request, actor, unit, form, status=400)


@require_POST
@unit_view
def discard(request: HttpRequest, actor: Actor, unit: OrgUnit) -> HttpResponse:
    token = request.session.pop(_session_key(unit), "")
    if actions.do_discard_legacy_bundle(actor=actor, org_unit=unit, token=token):
        messages.success(request, _("Removed the uploaded bundle."))
    return redirect("legacy:home", unit_id=unit.pk)


@require_POST
@unit_view
def recompute(request: HttpRequest, actor: Actor, unit: OrgUnit) -> HttpResponse:
    if actions.do_request_legacy_preflight(actor=actor, org_unit=unit, token=request.session.get(_session_key(unit), "")):
        messages.success(request, _("Computing the estimated counts again in the background."))
    else:
        messages.error(request, _("Upload the bundle first: no uploaded bundle was found for this unit."))
    return redirect("legacy:home", unit_id=unit.pk)


@require_POST
@unit_view
def masters(request: HttpRequest, actor: Actor, unit: OrgUnit) -> HttpResponse:
    try:
        _run, result = actions.do_migrate_legacy_masters_from_upload(actor=actor, org_unit=unit, token=request.session.get(_session_key(unit), ""))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        created = result["created"]
        messages.success(request, _("Created %(sub_statuses)d sub-statuses, %(ranks)d ranks and %(tags)d tags.") % {
            "sub_statuses": len(created["sub_statuses"]), "ranks": len(created["ranks"]), "tags": len(created["tags"])}
            + " " + _("The estimated counts are being computed again."))
        too_long = [name for names in result["not_created_too_long"].values() for name in names]
        if too_long:
            messages.warning(request, _("Not created, longer than a master's name can be (their cases keep them in the other "
                                        "information): %(names)s") % {"names": ", ".join(too_long)})
    return redirect("legacy:home", unit_id=unit.pk)


# ---------------------------------------------------------------------------------------------
# ② Full and ③ quick migration


def _require_upload(request: HttpRequest, actor: Actor, unit: OrgUnit):
    """The unit's upload once its background check has passed; else None, with the reason as a message."""
    try:
        return actions.check_upload_ready(actor, request.session.get(_session_key(unit), ""), org_unit=unit)
    except ApplicationError as error:
        messages.info(request, error.message)
        return None


def _start(request: HttpRequest, actor: Actor, unit: OrgUnit, form, *, mode: str, since=None) -> Run | None:
    fallback = form.cleaned_data.get("fallback_assignee")
    try:
        return actions.do_start_legacy_migration_from_upload(
            actor=actor, org_unit=unit, token=request.session.get(_session_key(unit), ""), mode=mode, since=since,
            fallback_email=fallback.email if fallback else "", language=_language(),
        )
    except ApplicationError as error:
        add_error(form, error)
        return None


@unit_view
def full(request: HttpRequest, actor: Actor, unit: OrgUnit) -> HttpResponse:
    stored = _require_upload(request, actor, unit)
    if stored is None:
        return redirect("legacy:home", unit_id=unit.pk)
    form = forms.FullMigrationForm(request.POST if request.method == "POST" else None, users=_users(actor))
    if request.method == "POST" and form.is_valid():
        run = _start(request, actor, unit, form, mode=Mode.FULL, since=form.cleaned_data["since"])
        if run is not None:
            return redirect("legacy:run", unit_id=unit.pk, run_id=run.pk)
    return render(request, "legacy/full.html", _context(actor, unit, "full", form=form, stored=stored),
                  status=400 if form.errors else 200)


@unit_view
def quick(request: HttpRequest, actor: Actor, unit: OrgUnit) -> HttpResponse:
    stored = _require_upload(request, actor, unit)
    if stored is None:
        return redirect("legacy:home", unit_id=unit.pk)
    users = _users(actor)
    if request.method == "POST":
        form = forms.QuickMigrationForm(request.POST, users=users)
        if form.is_valid():
            run = _start(request, actor, unit, form, mode=Mode.QUICK)
            if run is not None:
                return redirect("legacy:run", unit_id=unit.pk, run_id=run.pk)
    else:
        form = forms.QuickMigrationForm(initial={"fallback_assignee": request.GET.get("fallback_assignee") or None}, users=users)
    fallback_id = form["fallback_assignee"].value()
    fallback = users.filter(pk=fallback_id).first() if str(fallback_id or "").isdigit() else None
    candidates = None
    bundle_error = ""
    try:
        candidates = selectors.quick_migration_list(actor=actor, path=stored.path, org_unit=unit, staff_map=stored.staff_map,
                                                    fallback_user_id=fallback.pk if fallback else None, since=actions.quick_start_date())
    except ReadError as error:
        bundle_error = error.message
    return render(request, "legacy/quick.html", _context(
        actor, unit, "quick", form=form, stored=stored, candidates=candidates, bundle_error=bundle_error, quick_cap=QUICK_CAP,
        quick_since=actions.quick_start_date(),
    ), status=400 if form.errors else 200)


# ---------------------------------------------------------------------------------------------
# ④ Migrated data: the runs, one run, its cases


def _summary_links(unit: OrgUnit, run: Run, summary: dict) -> dict:
    base = reverse("legacy:run-cases", kwargs={"unit_id": unit.pk, "run_id": run.pk})
    return {
        "migrated": f"{base}?outcome={Outcome.MIGRATED}",
        "skipped": f"{base}?outcome={Outcome.SKIPPED}",
        "failed": f"{base}?outcome={Outcome.FAILED}",
        "needs_review": f"{base}?outcome={Outcome.MIGRATED}&needs_review=1",
        "reasons": [(code, reason_label(code), count, f"{base}?outcome={Outcome.SKIPPED}&reason={code}")
                    for code, count in summary["skipped"].items()],
    }


@require_GET
@unit_view
def runs(request: HttpRequest, actor: Actor, unit: OrgUnit) -> HttpResponse:
    rows = []
    for run in selectors.unit_migration_list(actor=actor, org_unit=unit)[:200]:
        summary = selectors.run_summary(run)
        rows.append({"run": run, "summary": summary, "skipped_total": sum(summary["skipped"].values()),
                     "links": _summary_links(unit, run, summary)})
    return render(request, "legacy/runs.html", _context(actor, unit, "runs", rows=rows))


def _can_revert(run: Run, revert: Run | None = None) -> bool:
    if run.status not in actions.REVERTIBLE or run.reverted_at is not None or (revert is not None and not revert.is_finished):
        return False
    return run.finished_at is None or timezone.now() - run.finished_at <= timezone.timedelta(days=REVERT_DAYS)


def _render_run(request: HttpRequest, actor: Actor, unit: OrgUnit, run: Run, *, revert_form=None, edited=None,
                revert_error: str = "", status: int = 200) -> HttpResponse:
    summary = selectors.run_summary(run)
    revert = latest_revert(run)
    return render(request, "legacy/run.html", _context(
        actor, unit, "runs", run=run, summary=summary, links=_summary_links(unit, run, summary),
        skipped_total=sum(summary["skipped"].values()), can_abort=not run.is_finished, can_revert=_can_revert(run, revert),
        revert=revert, is_reverting=revert is not None and not revert.is_finished,
        revert_form=revert_form or forms.RevertForm(), edited=edited, revert_error=revert_error, revert_days=REVERT_DAYS,
        status_url=reverse("legacy:run-status", kwargs={"unit_id": unit.pk, "run_id": run.pk}),
    ), status=status)


@require_GET
@unit_view
def run_detail(request: HttpRequest, actor: Actor, unit: OrgUnit, run_id: int) -> HttpResponse:
    run = selectors.access_unit_migration(actor, run_id, org_unit=unit)
    return _render_run(request, actor, unit, run)


@require_GET
@unit_view
def run_status(request: HttpRequest, actor: Actor, unit: OrgUnit, run_id: int) -> JsonResponse:
    """What the run page polls until the run has ended."""
    run = selectors.access_unit_migration(actor, run_id, org_unit=unit)
    revert = latest_revert(run)
    return JsonResponse({**selectors.run_summary(run), "status_label": str(run.get_status_display()), "is_finished": run.is_finished,
                         "rows_done": run.rows_done, "rows_total": run.rows_total, "error": run.error_message,
                         "is_reverting": revert is not None and not revert.is_finished, "revert": selectors.revert_summary(revert)})


@require_POST
@unit_view
def run_abort(request: HttpRequest, actor: Actor, unit: OrgUnit, run_id: int) -> HttpResponse:
    run = selectors.access_unit_migration(actor, run_id, org_unit=unit)
    try:
        actions.do_abort_legacy_migration(actor=actor, run=run)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Abort requested: the current batch finishes and what was written stays."))
    return redirect("legacy:run", unit_id=unit.pk, run_id=run.pk)


@require_POST
@unit_view
def run_revert(request: HttpRequest, actor: Actor, unit: OrgUnit, run_id: int) -> HttpResponse:
    run = selectors.access_unit_migration(actor, run_id, org_unit=unit)
    form = forms.RevertForm(request.POST)
    force = form.is_valid() and form.cleaned_data["force"]
    try:
        actions.do_start_legacy_migration_revert(actor=actor, run=run, force=force)
    except ApplicationError as error:
        run.refresh_from_db()
        edited = None
        if error.code == error_codes.EDITED_SINCE:
            edited = actions.edited_since(run)
            # People know a case by the company's number (#), not its database id.
            numbers = case_numbers(actor=actor, case_ids=[case_id for _source, case_id in edited])
            edited = [(source_id, case_id, numbers.get(case_id)) for source_id, case_id in edited]
        return _render_run(request, actor, unit, run, revert_form=form, edited=edited, revert_error=error.message, status=409)
    # The revert runs in the background (as long as the migration did): its progress shows on the run's page.
    messages.success(request, _("The run is being reverted in the background: this page shows its progress."))
    return redirect("legacy:run", unit_id=unit.pk, run_id=run.pk)


def _csv_response(file_name: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


@require_GET
@unit_view
def run_report(request: HttpRequest, actor: Actor, unit: OrgUnit, run_id: int) -> HttpResponse:
    run = selectors.access_unit_migration(actor, run_id, org_unit=unit)
    response = _csv_response(f"migration-{run.pk}-report.csv")
    write_reconciliation(run, response, language=_language())
    return response


@require_GET
@unit_view
def run_migrated_ids(request: HttpRequest, actor: Actor, unit: OrgUnit, run_id: int) -> HttpResponse:
    run = selectors.access_unit_migration(actor, run_id, org_unit=unit)
    response = _csv_response(f"migration-{run.pk}-migrated-ids.csv")
    write_migrated_ids(run, response)
    return response


@require_GET
@unit_view
def run_cases(request: HttpRequest, actor: Actor, unit: OrgUnit, run_id: int) -> HttpResponse:
    """The source cases of a run behind one count: customers with a link to the case they became."""
    run = selectors.access_unit_migration(actor, run_id, org_unit=unit)
    outcome = request.GET.get("outcome", "")
    outcome = outcome if outcome in Outcome.values else ""
    reason = request.GET.get("reason", "")[:64]
    needs_review = request.GET.get("needs_review") == "1"
    outcomes = selectors.run_outcome_list(actor=actor, run=run, outcome=outcome, reason=reason, needs_review=needs_review)
    page = Paginator(outcomes, 100).get_page(request.GET.get("page"))
    names = selectors.customer_names(actor=actor, customer_ids=[row.customer_id for row in page])
    rows = [{"outcome": row, "customer_name": names.get(row.customer_id, ""), "reason_label": reason_label(row.reason) if row.reason else ""}
            for row in page]
    if needs_review:
        title = _("Migrated cases that need review")
    elif reason:
        title = reason_label(reason)
    elif outcome:
        title = str(Outcome(outcome).label)
    else:
        title = _("Every source case")
    query = "&".join(part for part in (f"outcome={outcome}" if outcome else "", f"reason={reason}" if reason else "",
                                       "needs_review=1" if needs_review else "") if part)
    return render(request, "legacy/run_cases.html", _context(actor, unit, "runs", run=run, rows=rows, page=page, title=title, query=query))
