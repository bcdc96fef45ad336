"""Pages under /dedup/: 名寄せ候補 (candidate groups, 「別人」), the merge wizard (cases -> survivor and mode ->
confirmation of the result -> 名寄せを実行する), 名寄せ履歴 with undo, shared numbers (admins) and settings
(company admins).

Views stay thin: parse a form, find what the actor sees through dedup.selectors, call one action, show its
refusal as a message on the page it came from.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from estatecrm.core.errors import ApplicationError
from estatecrm.core.redirects import safe_next_url
from estatecrm.crm.choices import DuplicateRule
from estatecrm.dedup import actions, selectors
from estatecrm.dedup.choices import MERGE_UNDO_DAYS, MergeMode
from estatecrm.dedup.forms import DuplicateSettingsForm, MergeForm, PairForm, SharedValueForm
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.selectors import Actor
from estatecrm.tenancy.views import add_error

# The plan's counts (dedup.merge.MergePlan.counts) as the confirmation names them.
MOVED_LABELS = {
    "activities": gettext_lazy("activities"), "introductions": gettext_lazy("introduced listings"),
    "attachments": gettext_lazy("attachments"), "line_messages": gettext_lazy("LINE messages"), "inquiries": gettext_lazy("inquiries"),
    "visits": gettext_lazy("open visits moving to the kept case's unit"), "contact_points": gettext_lazy("phones and e-mails copied"),
}


def _back(request: HttpRequest, default: str) -> str:
    return safe_next_url(request, default)


# ---------------------------------------------------------------------------------------------
# 名寄せ候補


@require_GET
@permission_view("dedup")
def candidate_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The candidate groups the actor sees, newest first; `?case=ID` the group of one case (the list's 「!」)."""
    filters = selectors.CandidateFilters.from_query(request.GET)
    page = selectors.candidate_groups(actor=actor, filters=filters, cursor=request.GET.get("cursor", ""))
    query = filters.as_query()
    return render(request, "dedup/candidates.html", {
        "actor": actor,
        "filters": filters,
        "rules": DuplicateRule.choices,
        "page": page,
        "first_url": f"?{urlencode(query)}",
        "next_url": f"?{urlencode({**query, 'cursor': page.next_cursor})}" if page.next_cursor else "",
        "here": request.get_full_path(),
        "dismissals": selectors.recent_dismissals(actor=actor, limit=5) if not filters.case else [],
        "max_group_cases": selectors.MAX_GROUP_CASES,
    })


@require_POST
@permission_view("dedup")
def dismiss_pair(request: HttpRequest, actor: Actor) -> HttpResponse:
    """「別人」: this pair is not one person; the message offers 「元に戻す」."""
    form = PairForm(request.POST)
    back = _back(request, reverse("dedup:candidates"))
    if not form.is_valid():
        messages.error(request, _("Choose a pair of cases."))
        return redirect(back)
    a, b = selectors.access_pair(actor, form.cleaned_data["case_a"], form.cleaned_data["case_b"])
    try:
        actions.do_dismiss_pair(company_id=actor.company_id, acting_user=actor.user, case_x=a.pk, case_y=b.pk)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    # 「元に戻す」: the candidate page lists the latest 「別人」 pairs with their undo button.
    messages.success(request, _("Cases #%(a)d and #%(b)d are marked as different people.") % {"a": a.number, "b": b.number})
    return redirect(back)


@require_POST
@permission_view("dedup")
def undo_dismissal(request: HttpRequest, actor: Actor, dismissal_id: int) -> HttpResponse:
    dismissal = selectors.access_dismissal(actor, dismissal_id)
    back = _back(request, reverse("dedup:candidates"))
    try:
        actions.do_undo_dismissal(company_id=actor.company_id, acting_user=actor.user, dismissal_id=dismissal.pk)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("The pair is a candidate again where a rule finds it."))
    return redirect(back)


# ---------------------------------------------------------------------------------------------
# The merge wizard


def _merge_request(form: MergeForm, picks: dict[str, int]):
    from estatecrm.dedup.merge import MergeRequest

    data = form.cleaned_data
    return MergeRequest(survivor_id=data["survivor"], case_ids=sorted(set(data["case_ids"]) - {data["survivor"]}),
                        integrate=data["mode"] == MergeMode.INTEGRATE, fill_empty=data["fill_empty"], picks=picks)


def _posted_merge(request: HttpRequest, actor: Actor) -> tuple[MergeForm, list[int], dict[str, int]]:
    """Steps 3 and 4 read the same post: the bound form, every case shown in step 1 (for going back), the admin's picks."""
    form = MergeForm(request.POST)
    posted_ids = [int(value) for value in request.POST.getlist("all_case_ids") or request.POST.getlist("case_ids") if value.isdigit()]
    picks = form.picks(request.POST) if actor.is_admin else {}
    return form, posted_ids, picks


def _choose_page(request: HttpRequest, actor: Actor, form: MergeForm, case_ids, *, status: int = 200) -> HttpResponse:
    cases = selectors.merge_cases(actor=actor, case_ids=case_ids) if case_ids else []
    return render(request, "dedup/merge_choose.html", {
        "actor": actor, "form": form, "cases": cases,
        "selected": {int(value) for value in (form["case_ids"].value() or []) if str(value).isdigit()},
        "survivor": int(form["survivor"].value()) if str(form["survivor"].value() or "").isdigit() else None,
    }, status=status)


@require_http_methods(["GET", "POST"])
@permission_view("dedup")
def merge_start(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Steps 1 and 2: the cases (a group's, GET; or the case list's selection, POSTed by its bulk bar; all
    ticked), the survivor (the oldest by default: it usually holds the longest history) and the mode. Writes nothing."""
    source = request.POST if request.method == "POST" else request.GET
    case_ids = sorted({int(value) for value in source.getlist("case_ids") if value.isdigit()})
    if len(case_ids) < 2:
        messages.error(request, _("Select at least two cases to merge."))
        return redirect(safe_next_url(request, reverse("dedup:candidates")))
    cases = selectors.merge_cases(actor=actor, case_ids=case_ids)
    form = MergeForm(initial={"case_ids": case_ids, "survivor": cases[0].pk, "mode": MergeMode.INTEGRATE})
    return _choose_page(request, actor, form, case_ids)


@require_POST
@permission_view("dedup")
def merge_confirm(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Step 3: the result (dedup.merge.plan_merge) before anything is written; admins pick fields here."""
    from estatecrm.dedup.merge import plan_merge

    form, posted_ids, picks = _posted_merge(request, actor)
    if not form.is_valid():
        return _choose_page(request, actor, form, posted_ids, status=400)
    merge_request = _merge_request(form, picks)
    try:
        plan = plan_merge(actor=actor, request=merge_request)
    except ApplicationError as error:
        messages.error(request, error.message)
        return _choose_page(request, actor, form, posted_ids, status=error.status_code)
    cases = [plan.survivor, *plan.others]
    numbers = {case.pk: case.number for case in cases}
    rows = [{"name": row.name, "label": row.label, "survivor_value": row.survivor_value, "result_value": row.result_value,
             "changed": row.changed, "source_number": numbers.get(row.source_case_id) if row.changed else None,
             "picked": picks.get(row.name)}
            for section in (plan.case_fields, plan.customer_fields) for row in section]
    counts = [(MOVED_LABELS[name], count) for name, count in plan.counts.items() if count and name in MOVED_LABELS]
    return render(request, "dedup/merge_confirm.html", {
        "actor": actor, "form": form, "plan": plan, "picks": picks, "request_data": merge_request,
        "rows": rows, "counts": counts, "plan_cases": cases,
        "all_case_ids": posted_ids, "case_ids": form.cleaned_data["case_ids"],
        "can_pick": actor.is_admin, "undo_days": MERGE_UNDO_DAYS,
    })


@require_POST
@permission_view("dedup")
def merge_run(request: HttpRequest, actor: Actor) -> HttpResponse:
    """名寄せを実行する: then the survivor's page, with the merge's undo at hand."""
    from estatecrm.dedup.merge import do_merge_cases

    form, posted_ids, picks = _posted_merge(request, actor)
    if not form.is_valid():
        return _choose_page(request, actor, form, posted_ids, status=400)
    try:
        merge = do_merge_cases(acting_user=actor.user, request=_merge_request(form, picks))
    except ApplicationError as error:
        messages.error(request, error.message)
        return _choose_page(request, actor, form, posted_ids, status=error.status_code)
    taken = len(form.cleaned_data["case_ids"]) - 1
    messages.success(request, format_html(
        '{} <a href="{}#merge-{}" data-testid="merge-undo-link">{}</a>',
        _("%(count)d cases were merged into this case.") % {"count": taken} if merge.mode == MergeMode.INTEGRATE
        else _("%(count)d cases now share this case's customer.") % {"count": taken},
        reverse("dedup:merges"), merge.pk, pgettext("dedup", "Undo")))
    return redirect("crm:detail", case_id=merge.survivor_id)


# ---------------------------------------------------------------------------------------------
# 名寄せ履歴


@require_GET
@permission_view("dedup")
def merge_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    merges, next_cursor = selectors.merge_page(actor=actor, cursor=request.GET.get("cursor", ""))
    return render(request, "dedup/merges.html", {
        "actor": actor, "merges": merges, "undo_days": MERGE_UNDO_DAYS,
        "next_url": f"?{urlencode({'cursor': next_cursor})}" if next_cursor else "",
        "has_previous": bool(request.GET.get("cursor")),
    })


@require_POST
@permission_view("dedup")
def merge_undo(request: HttpRequest, actor: Actor, merge_id: int) -> HttpResponse:
    from estatecrm.dedup.merge import do_undo_merge

    merge = selectors.access_merge(actor, merge_id)
    try:
        undone = do_undo_merge(acting_user=actor.user, merge_id=merge.pk)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("dedup:merges")
    if undone.kept_edits:
        messages.success(request, _("The merge was undone. Fields changed after the merge kept their newer values."))
    else:
        messages.success(request, _("The merge was undone: every case is as it was before."))
    return redirect("crm:detail", case_id=merge.survivor_id)


# ---------------------------------------------------------------------------------------------
# Shared numbers and settings


@require_http_methods(["GET", "POST"])
@permission_view("dedup_shared")
def shared_values(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The phones and e-mails many customers hold, and the admins' markings; mark one shared or personal."""
    form = SharedValueForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.do_mark_shared_value(company_id=actor.company_id, acting_user=actor.user, value=form.cleaned_data["value"],
                                             marking=form.cleaned_data["marking"], note=form.cleaned_data["note"])
            except ApplicationError as error:
                add_error(form, error)
            else:
                messages.success(request, _("Saved. The candidates of the customers holding it were recomputed."))
                return redirect("dedup:shared")
        status = 400
    rows, threshold = selectors.shared_value_rows(actor=actor)
    return render(request, "dedup/shared.html", {"actor": actor, "rows": rows, "threshold": threshold, "form": form}, status=status)


@require_http_methods(["GET", "POST"])
@permission_view("dedup_settings")
def duplicate_settings(request: HttpRequest, actor: Actor) -> HttpResponse:
    current = selectors.settings_summary(actor.company_id)["settings"]
    initial = {"enabled_rules": current.enabled_rules, "shared_threshold": current.shared_threshold,
               "fuzzy_min_score": current.fuzzy_min_score}
    form = DuplicateSettingsForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.do_update_duplicate_settings(company_id=actor.company_id, acting_user=actor.user, change=actions.SettingsChange(
                    enabled_rules=data["enabled_rules"], shared_threshold=data["shared_threshold"], fuzzy_min_score=data["fuzzy_min_score"]))
            except ApplicationError as error:
                add_error(form, error)
            else:
                messages.success(request, _("Duplicate settings saved. The candidates are being recomputed."))
                return redirect("dedup:settings")
        status = 400
    return render(request, "dedup/settings.html", {"actor": actor, "form": form}, status=status)
