"""Pages under /staff/ (rule `staff`): 異動・退職 (the administered people, transfer, retirement, an agent's
cases and their reassignment) and 担当変更履歴 with undo.

Views stay thin: every count comes from staff.selectors.plan_for (the same plan the action runs), every
change from one staff action, and an action's refusal is shown as a message on the page it came from.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from estatecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from estatecrm.core.redirects import safe_next_url
from estatecrm.crm.actions import administered_cases
from estatecrm.crm.choices import ReassignmentKind
from estatecrm.crm.models import Case, CaseAssignee
from estatecrm.crm.reassignment import check_undo
from estatecrm.staff import actions, forms, selectors
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.holds import (
    default_assignee_roles,
    default_assignee_roles_of,
    set_default_assignee_successor,
)
from estatecrm.tenancy.models import Membership, OrgUnit, User
from estatecrm.tenancy.selectors import Actor

USERS_PER_PAGE = 50
CASES_PER_PAGE = 50
HISTORY_PER_PAGE = 25


# ---------------------------------------------------------------------------------------------
# Helpers


def _administered_units(actor: Actor):
    units = OrgUnit.objects.for_company(actor.company_id).order_by("path")
    return units if actor.is_company_admin else units.filter(pk__in=actor.admin_unit_ids)


def _administered_users(actor: Actor):
    """The users of the administered units (a company admin: every user of the company)."""
    users = User.objects.filter(company_id=actor.company_id)
    if not actor.is_company_admin:
        users = users.filter(pk__in=Membership.objects.for_company(actor.company_id)
                             .filter(org_unit_id__in=actor.admin_unit_ids).values("user_id"))
    return users


def _successors(actor: Actor, agent: User):
    """Who may take over: active users of the administered units other than the agent (the action refuses one
    who would not see a case, with its reason)."""
    return _administered_users(actor).filter(is_active=True).exclude(pk=agent.pk).order_by("name", "email")


def _access_agent(actor: Actor, user_id: int) -> User:
    """A user of the actor's company (else 404) whom the actor administers: a member of an administered unit,
    or anyone for a company admin (else 403)."""
    agent = User.objects.filter(company_id=actor.company_id, pk=user_id).first()
    if agent is None:
        raise NotFound()
    if not actor.is_company_admin and not Membership.objects.for_company(actor.company_id).filter(
            user=agent, org_unit_id__in=actor.admin_unit_ids).exists():
        raise PermissionDenied()
    return agent


def _result_message(request: HttpRequest, result: actions.StaffResult, lead: str) -> None:
    counts = _("%(moved)d cases moved, %(reassigned)d reassigned, %(trashed)d moved to the trash, %(visits)d visit appointments moved, "
               "%(subs)d sub-assignee roles removed.") % {
        "moved": result.cases_moved, "reassigned": result.cases_reassigned, "trashed": result.cases_trashed,
        "visits": result.visits_moved, "subs": result.sub_assignments_removed}
    messages.success(request, f"{lead} {counts}")


def _history_url(result: actions.StaffResult) -> str:
    if result.reassignment is None:
        return reverse("staff:history")
    return reverse("staff:history_detail", kwargs={"pk": result.reassignment.pk})


# ---------------------------------------------------------------------------------------------
# 異動・退職: the people


@require_GET
@permission_view("staff")
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The administered users with their primary unit, role, live main cases (of them unsubscribed customers'),
    sub-assignee roles and default-assignee roles. Counts are grouped queries over the page's users."""
    query = request.GET.get("q", "").strip()
    users = _administered_users(actor)
    if query:
        users = users.filter(Q(email__icontains=query) | Q(name__icontains=query))
    page = Paginator(users.order_by("-is_active", "name", "email"), USERS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    ids = [user.pk for user in rows]
    primary = {}
    for membership in (Membership.objects.for_company(actor.company_id).filter(user_id__in=ids).select_related("org_unit")
                       .order_by("user_id", "-is_primary", "pk")):
        primary.setdefault(membership.user_id, membership)
    live = Case.objects.for_company(actor.company_id).filter(main_assignee_id__in=ids, deleted_at__isnull=True)
    case_counts = {row["main_assignee_id"]: row for row in live.values("main_assignee_id").annotate(
        total=Count("pk"), unsubscribed=Count("pk", filter=selectors.unsubscribed_q()))}
    sub_counts = dict(CaseAssignee.objects.for_company(actor.company_id).filter(user_id__in=ids, case__deleted_at__isnull=True)
                      .values("user_id").annotate(count=Count("pk")).values_list("user_id", "count"))
    roles = default_assignee_roles_of(actor.company_id, [user.pk for user in rows if user.is_active])
    for user in rows:
        user.primary = primary.get(user.pk)
        counts = case_counts.get(user.pk, {})
        user.case_count = counts.get("total", 0)
        user.unsubscribed_count = counts.get("unsubscribed", 0)
        user.sub_case_count = sub_counts.get(user.pk, 0)
        # The roles come from their owners' registries (tenancy.holds), for the whole page at once.
        user.roles = roles.get(user.pk, [])
    return render(request, "staff/home.html", {
        "actor": actor, "rows": rows, "page": page, "query": query,
        "page_query": urlencode({"q": query}) if query else "",
    })


# ---------------------------------------------------------------------------------------------
# 異動 (transfer)


def _transfer_context(actor: Actor, agent: User, form, to_unit: OrgUnit | None, mode: str) -> dict:
    plan = selectors.plan_for(agent, to_unit=to_unit) if to_unit is not None else None
    successors = _successors(actor, agent)
    context = {
        "actor": actor, "agent": agent, "form": form, "plan": plan, "mode": mode, "to_unit": to_unit,
        "successors": successors, "current": selectors.primary_membership(agent),
        "here": reverse("staff:transfer", kwargs={"user_id": agent.pk}) + (
            "?" + urlencode({"to_unit": to_unit.pk, "mode": mode}) if to_unit is not None else ""),
    }
    if plan is not None:
        context["confirm_form"] = forms.TransferConfirmForm(
            units=_administered_units(actor), users=successors, initial={"to_unit": to_unit.pk, "mode": mode})
        context["cases_url"] = reverse("staff:cases", kwargs={"user_id": agent.pk}) + "?" + urlencode({"to": to_unit.pk})
        context["from_name"] = plan.from_unit.name if plan.from_unit else "-"
        context["sub_cases"] = list(plan.sub_cases.select_related("customer", "owning_org").order_by("number")[:20])
    return context


@require_http_methods(["GET", "POST"])
@permission_view("staff")
def transfer(request: HttpRequest, actor: Actor, user_id: int) -> HttpResponse:
    """異動: GET step 1 (target unit and mode), then with `?to_unit=&mode=` the block (default assignee), the
    refusal of agent-only with cases left behind, or the confirmation. POST runs do_transfer_agent."""
    agent = _access_agent(actor, user_id)
    units = _administered_units(actor)
    if request.method == "POST":
        form = forms.TransferConfirmForm(request.POST, units=units, users=_successors(actor, agent))
        if not form.is_valid():
            to_unit = units.filter(pk=request.POST.get("to_unit") or 0).first() if str(request.POST.get("to_unit", "")).isdigit() else None
            context = _transfer_context(actor, agent, form, to_unit, request.POST.get("mode", forms.WITH_CASES))
            context["confirm_form"] = form
            return render(request, "staff/transfer.html", context, status=400)
        data = form.cleaned_data
        with_cases = data["mode"] == forms.WITH_CASES
        try:
            result = actions.do_transfer_agent(
                actor=actor, agent=agent, to_unit=data["to_unit"], with_cases=with_cases,
                reassign_to=None if with_cases else data["reassign_to"],
                remove_sub_assignments=data["keep_sub_assignments"] == "remove", handover_note=data["handover_note"])
        except PermissionDenied:
            raise
        except ApplicationError as error:
            messages.error(request, error.message)
            context = _transfer_context(actor, agent, forms.TransferChoiceForm(units=units, initial=data), data["to_unit"], data["mode"])
            context["confirm_form"] = form
            return render(request, "staff/transfer.html", context, status=400)
        _result_message(request, result, _("%(name)s now belongs to %(unit)s.") % {
            "name": agent.name or agent.email, "unit": data["to_unit"].name})
        return redirect(_history_url(result))
    form = forms.TransferChoiceForm(request.GET or None, units=units)
    if request.GET and form.is_valid():
        return render(request, "staff/transfer.html",
                      _transfer_context(actor, agent, form, form.cleaned_data["to_unit"], form.cleaned_data["mode"]))
    return render(request, "staff/transfer.html", _transfer_context(actor, agent, form, None, forms.WITH_CASES))


@require_POST
@permission_view("staff")
def set_successor(request: HttpRequest, actor: Actor, user_id: int) -> HttpResponse:
    """Set the successor of one of the agent's default-assignee roles (tenancy.holds; its owner's rule applies)."""
    agent = _access_agent(actor, user_id)
    form = forms.SuccessorForm(request.POST, users=_successors(actor, agent))
    back = safe_next_url(request, reverse("staff:transfer", kwargs={"user_id": agent.pk}))
    if not form.is_valid():
        messages.error(request, _("Choose a successor."))
        return redirect(back)
    roles = {role.key: role for role in default_assignee_roles(agent)}
    role = roles.get(form.cleaned_data["key"])
    if role is None:
        messages.error(request, _("%(name)s does not hold this role any more.") % {"name": agent.name or agent.email})
        return redirect(back)
    successor = form.cleaned_data["successor"]
    try:
        set_default_assignee_successor(company_id=actor.company_id, key=role.key, successor=successor, acting_user=actor.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("%(successor)s is now the default assignee of %(role)s.") % {
        "successor": successor.name or successor.email, "role": role.label})
    return redirect(back)


# ---------------------------------------------------------------------------------------------
# 退職 (retirement)


@require_http_methods(["GET", "POST"])
@permission_view("staff")
def retire(request: HttpRequest, actor: Actor, user_id: int) -> HttpResponse:
    """退職: the block (default assignee), the plan's counts, the choice for the cases (hand over or trash) and
    the handover note; POST runs do_retire_agent."""
    agent = _access_agent(actor, user_id)
    successors = _successors(actor, agent)
    form = forms.RetireForm(request.POST or None, users=successors)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            trash = data["choice"] == forms.TRASH
            try:
                result = actions.do_retire_agent(actor=actor, agent=agent, reassign_to=None if trash else data["reassign_to"],
                                                 trash_cases=trash, handover_note=data["handover_note"])
            except PermissionDenied:
                raise
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                _result_message(request, result, _("%(name)s is retired: the account is deactivated.") % {"name": agent.name or agent.email})
                return redirect(_history_url(result))
        status = 400
    plan = selectors.plan_for(agent, to_unit=None)
    return render(request, "staff/retire.html", {
        "actor": actor, "agent": agent, "form": form, "plan": plan, "successors": successors,
        "current": selectors.primary_membership(agent),
        "sub_cases": list(plan.sub_cases.select_related("customer", "owning_org").order_by("number")[:20]),
        "cases_url": reverse("staff:cases", kwargs={"user_id": agent.pk}),
        "here": reverse("staff:retire", kwargs={"user_id": agent.pk}),
    }, status=status)


# ---------------------------------------------------------------------------------------------
# 担当案件 (an agent's cases) and their reassignment


def _agent_cases(actor: Actor, agent: User, to_unit: OrgUnit | None, unsubscribed: str):
    if to_unit is not None:
        cases = selectors.plan_for(agent, to_unit=to_unit).cases
    else:
        cases = selectors.live_main_cases(agent)
    cases = cases.filter(pk__in=administered_cases(actor).values("pk"))
    if unsubscribed == forms.UNSUBSCRIBED_ONLY:
        cases = cases.filter(selectors.unsubscribed_q())
    elif unsubscribed == forms.UNSUBSCRIBED_EXCLUDE:
        cases = cases.exclude(selectors.unsubscribed_q())
    return cases


@require_http_methods(["GET", "POST"])
@permission_view("staff")
def cases(request: HttpRequest, actor: Actor, user_id: int) -> HttpResponse:
    """The agent's live main cases (with `?to=UNIT`: those a transfer there leaves behind), unsubscribed
    customers' included by default; POST reassigns one case, the ticked ones or all of the filter."""
    agent = _access_agent(actor, user_id)
    source = request.POST if request.method == "POST" else request.GET
    to_raw = source.get("to", "")
    to_unit = OrgUnit.objects.for_company(actor.company_id).filter(pk=int(to_raw)).first() if to_raw.isdigit() else None
    filter_form = forms.CaseFilterForm(source)
    unsubscribed = filter_form.value()
    listed = _agent_cases(actor, agent, to_unit, unsubscribed)
    successors = _successors(actor, agent)
    query = {key: value for key, value in (("to", to_unit.pk if to_unit else ""), ("unsubscribed", unsubscribed)) if value}
    here = request.path + ("?" + urlencode(query) if query else "")
    reassign_form = forms.ReassignForm(request.POST or None, users=successors)
    if request.method == "POST":
        case_ids = sorted({int(value) for value in request.POST.getlist("case_ids") if value.isdigit()})
        if not reassign_form.is_valid():
            messages.error(request, " ".join(str(error) for errors in reassign_form.errors.values() for error in errors))
            return redirect(here)
        data = reassign_form.cleaned_data
        if data["scope"] == "all":
            case_ids = list(listed.values_list("pk", flat=True))
        elif not case_ids:
            messages.error(request, _("Tick the cases to reassign, or choose all of the list."))
            return redirect(here)
        try:
            result = actions.do_reassign_cases(actor=actor, from_user=agent, to_user=data["to_user"], case_ids=case_ids,
                                               handover_note=data["handover_note"])
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(here)
        _result_message(request, result, _("The cases now belong to %(name)s.") % {"name": data["to_user"].name or data["to_user"].email})
        return redirect(here)
    page = Paginator(listed.select_related("customer", "owning_org", "rank").order_by("number", "pk"), CASES_PER_PAGE).get_page(
        request.GET.get("page"))
    unsubscribed_ids = set(listed.filter(pk__in=[case.pk for case in page.object_list]).filter(selectors.unsubscribed_q())
                           .values_list("pk", flat=True))
    for case in page.object_list:
        case.is_unsubscribed = case.pk in unsubscribed_ids
    sub_cases = selectors.sub_assigned_cases(agent).filter(pk__in=administered_cases(actor).values("pk"))
    return render(request, "staff/cases.html", {
        "actor": actor, "agent": agent, "page": page, "to_unit": to_unit, "filter_form": filter_form, "unsubscribed": unsubscribed,
        "successors": successors, "here": here, "page_query": urlencode(query),
        "sub_cases": list(sub_cases.select_related("customer", "owning_org").order_by("number")[:30]),
        "current": selectors.primary_membership(agent),
        "sub_case_count": sub_cases.count(),
        "unsubscribed_choices": forms.CaseFilterForm.base_fields["unsubscribed"].choices,
    })


# ---------------------------------------------------------------------------------------------
# 担当変更履歴


@require_GET
@permission_view("staff")
def history(request: HttpRequest, actor: Actor) -> HttpResponse:
    user_raw = request.GET.get("user", "")
    user_id = int(user_raw) if user_raw.isdigit() else None
    kind = request.GET.get("kind", "")
    records = selectors.reassignment_list(actor=actor, user_id=user_id, kind=kind or None)
    page = Paginator(records, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    query = {key: value for key, value in (("user", user_id or ""), ("kind", kind if kind in ReassignmentKind.values else "")) if value}
    return render(request, "staff/history.html", {
        "actor": actor, "page": page, "kinds": ReassignmentKind.choices, "kind": kind, "user_id": user_id,
        "users": _administered_users(actor).order_by("-is_active", "name", "email"), "page_query": urlencode(query),
    })


@require_GET
@permission_view("staff")
def history_detail(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    record = selectors.access_reassignment(actor, pk)
    page = Paginator(selectors.reassignment_items(record), CASES_PER_PAGE).get_page(request.GET.get("page"))
    undo_refusal = ""
    can_undo = False
    if record.kind == ReassignmentKind.REASSIGN:
        try:
            check_undo(record, now=timezone.now())
            can_undo = True
        except ApplicationError as error:
            undo_refusal = error.message
    return render(request, "staff/history_detail.html", {
        "actor": actor, "record": record, "page": page, "can_undo": can_undo, "undo_refusal": undo_refusal,
    })


@require_POST
@permission_view("staff")
def history_undo(request: HttpRequest, actor: Actor, pk: int) -> HttpResponse:
    record = selectors.access_reassignment(actor, pk)
    back = reverse("staff:history_detail", kwargs={"pk": record.pk})
    try:
        result = actions.do_undo_reassignment(actor=actor, reassignment=record)
    except ApplicationError as error:  # PermissionDenied too: a case has moved to a unit the actor does not administer
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("Undone: %(count)d cases are back with their previous main assignee.") % {"count": result.cases_reassigned})
    return redirect(back)
