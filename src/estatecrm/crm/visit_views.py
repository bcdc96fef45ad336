"""The visit calendar (来店予定): a week per unit or per staff member; book, move, complete and cancel a visit.

A visit is an Activity of kind `visit_appointment` (open until done, held by an org unit). Every read
goes through `selectors.visible_visits`: a visit of a case the actor cannot see shows nowhere.
"""

import datetime

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from estatecrm.audit.stale import history_filter, last_event_id
from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.ids import parse_id
from estatecrm.core.versions import ReadVersion, rebound_at_version
from estatecrm.crm import actions, selectors
from estatecrm.crm.forms import NewVisitForm, VisitCancelForm, VisitCompleteForm, VisitMoveForm
from estatecrm.tenancy.context_processors import get_acting_unit
from estatecrm.tenancy.decorators import actor_view
from estatecrm.tenancy.models import OrgUnit
from estatecrm.tenancy.selectors import Actor

ALL_STAFF = "all"
SEARCH_RESULTS = 20


def calendar_url(*, week: datetime.date, unit_id: int | None = None, staff: str = "") -> str:
    query = {"week": week.isoformat()}
    if unit_id:
        query["unit"] = unit_id
    if staff:
        query["agent"] = staff
    return reverse("visits:calendar") + "?" + urlencode(query)


def _asked_date(text: str | None) -> datetime.date | None:
    """A YYYY-MM-DD from the query; None for anything else (the calendar then shows this week)."""
    try:
        return parse_date((text or "")[:10])
    except ValueError:
        return None


def _chosen_unit(request: HttpRequest, actor: Actor, allowed: set[int]) -> int | None:
    """The unit asked for when the actor may open its calendar; else the acting unit, else the first allowed."""
    asked = parse_id(request.GET.get("unit") or "")
    if asked in allowed:
        return asked
    acting = get_acting_unit(request)
    if acting is not None and acting.pk in allowed:
        return acting.pk
    return min(allowed, key=lambda pk: actor.unit_paths[pk]) if allowed else None


@require_GET
@actor_view
def calendar(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Monday to Sunday of the asked week (default: this week) of one unit, of all its staff or of one.
    An admin starts with the whole unit, anyone else with their own visits ("my visits")."""
    today = timezone.localdate()
    monday, start, end = selectors.week_of(_asked_date(request.GET.get("week")) or today)
    allowed = selectors.calendar_unit_ids(actor)
    unit_id = _chosen_unit(request, actor, allowed)
    asked_staff_id = parse_id(request.GET.get("agent") or "")
    if "unit" not in request.GET and asked_staff_id is not None:
        # A link to someone's visits (the dashboard's tables) opens the calendar of their unit.
        unit_id = selectors.staff_unit_id(actor=actor, user_id=asked_staff_id, allowed=allowed) or unit_id
    staff_list = list(selectors.calendar_staff(actor=actor, unit_id=unit_id)) if unit_id else []
    asked_staff = request.GET.get("agent")
    if asked_staff is None:
        asked_staff = ALL_STAFF if actor.is_admin else str(actor.user.pk)
    staff_id = parse_id(asked_staff)
    if staff_id not in {user.pk for user in staff_list}:
        staff_id, asked_staff = None, ALL_STAFF
    visits = selectors.visits_between(actor=actor, start=start, end=end, unit_id=unit_id, staff_id=staff_id) if unit_id else []
    days = []
    for offset in range(7):
        day = monday + datetime.timedelta(days=offset)
        days.append({"date": day, "is_today": day == today,
                     "visits": [visit for visit in visits if timezone.localdate(visit.occurred_at) == day]})
    units = OrgUnit.objects.for_company(actor.company_id).filter(pk__in=allowed).order_by("path")
    return render(request, "crm/visit_calendar.html", {
        "actor": actor, "days": days, "monday": monday, "sunday": monday + datetime.timedelta(days=6),
        "units": units, "unit_id": unit_id, "staff_list": staff_list, "staff": asked_staff,
        "previous_url": calendar_url(week=monday - datetime.timedelta(days=7), unit_id=unit_id, staff=asked_staff),
        "next_url": calendar_url(week=monday + datetime.timedelta(days=7), unit_id=unit_id, staff=asked_staff),
        "today_url": calendar_url(week=today, unit_id=unit_id, staff=asked_staff),
        "new_url": reverse("visits:new") + "?" + urlencode({"unit": unit_id or ""}),
        "visit_count": len(visits),
    })


@actor_view
def visit_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Book a visit from the calendar: find the case (customer name, reading or phone), pick a time."""
    query = (request.POST.get("q") if request.method == "POST" else request.GET.get("q")) or ""
    query = query.strip()[:200]
    chosen_id = parse_id((request.POST if request.method == "POST" else request.GET).get("case") or "")
    cases = []
    if chosen_id is not None:
        try:
            cases = [selectors.access_case(actor, chosen_id, related=("main_assignee",))]
        except NotFound:
            cases = []
    if request.method == "GET" and query:
        found = selectors.case_list(actor=actor, filters={"q": query}).select_related("customer", "main_assignee")[:SEARCH_RESULTS]
        cases += [case for case in found if case.pk != chosen_id]
    initial = {"org_unit": parse_id(request.GET.get("unit") or "") or getattr(get_acting_unit(request), "pk", None)}
    asked_at = parse_datetime(request.GET.get("at") or "")
    if asked_at is not None:
        initial["visit_at"] = asked_at
    if len(cases) == 1:
        initial["case"] = cases[0].pk
    form = NewVisitForm(request.POST or None, actor=actor, cases=cases, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            case = selectors.access_case(actor, form.cleaned_data["case"], for_write=True)
            visit = actions.do_book_visit(actor=actor, case=case, visit_at=form.cleaned_data["visit_at"],
                                          org_unit=form.cleaned_data["org_unit"], subject=form.cleaned_data["subject"])
        messages.success(request, _("The visit appointment was booked."))
        return redirect(calendar_url(week=timezone.localdate(visit.occurred_at), unit_id=visit.org_unit_id))
    return render(request, "crm/visit_new.html", {"actor": actor, "form": form, "q": query, "searched": bool(query)},
                  status=400 if form.errors else 200)


def _visit_page(request: HttpRequest, actor: Actor, visit, *, status: int = 200, **forms) -> HttpResponse:
    version = ReadVersion.of(visit, seen_event_id=last_event_id(actor.company_id, history_filter(visit))).as_field()
    context = {
        "actor": actor, "visit": visit,
        "move_form": forms.get("move_form") or VisitMoveForm(actor=actor, initial={
            "visit_at": timezone.localtime(visit.occurred_at), "org_unit": visit.org_unit_id, "version": version}),
        "complete_form": forms.get("complete_form") or VisitCompleteForm(initial={"version": version}),
        "cancel_form": VisitCancelForm(initial={"version": version}),
        "calendar_url": calendar_url(week=timezone.localdate(visit.occurred_at), unit_id=visit.org_unit_id),
    }
    return render(request, "crm/visit_detail.html", context, status=status)


@require_GET
@actor_view
def visit_detail(request: HttpRequest, actor: Actor, activity_id: int) -> HttpResponse:
    return _visit_page(request, actor, selectors.access_visit(actor, activity_id))


def _version_of(form) -> ReadVersion:
    return ReadVersion.from_field(form.cleaned_data["version"])


@require_POST
@actor_view
def visit_move(request: HttpRequest, actor: Actor, activity_id: int) -> HttpResponse:
    visit = selectors.access_visit(actor, activity_id)
    form = VisitMoveForm(request.POST, actor=actor)
    if not form.is_valid():
        return _visit_page(request, actor, visit, status=400, move_form=form)
    try:
        with transaction.atomic():
            actions.do_move_visit(actor=actor, activity=visit, visit_at=form.cleaned_data["visit_at"],
                                  org_unit=form.cleaned_data["org_unit"], read_version=_version_of(form))
    except Conflict as error:
        visit = selectors.access_visit(actor, activity_id)
        version = ReadVersion.of(visit, seen_event_id=last_event_id(actor.company_id, history_filter(visit)))
        form = rebound_at_version(request.POST, VisitMoveForm, version, error.message, actor=actor)
        return _visit_page(request, actor, visit, status=409, move_form=form)
    except ApplicationError as error:
        messages.error(request, error.message)
        return _visit_page(request, actor, visit, status=400)
    messages.success(request, _("The visit was moved."))
    return redirect(calendar_url(week=timezone.localdate(visit.occurred_at), unit_id=visit.org_unit_id))


@require_POST
@actor_view
def visit_complete(request: HttpRequest, actor: Actor, activity_id: int) -> HttpResponse:
    visit = selectors.access_visit(actor, activity_id)
    form = VisitCompleteForm(request.POST)
    if not form.is_valid():
        return _visit_page(request, actor, visit, status=400, complete_form=form)
    try:
        with transaction.atomic():
            done = actions.do_complete_visit(actor=actor, activity=visit, result=form.cleaned_data["result"],
                                             read_version=_version_of(form))
    except ApplicationError as error:
        messages.error(request, error.message)
        return _visit_page(request, actor, selectors.access_visit(actor, activity_id), status=409 if isinstance(error, Conflict) else 400)
    if done:
        messages.success(request, _("The visit appointment was completed."))
    return redirect(calendar_url(week=timezone.localdate(visit.occurred_at), unit_id=visit.org_unit_id))


@require_POST
@actor_view
def visit_cancel(request: HttpRequest, actor: Actor, activity_id: int) -> HttpResponse:
    visit = selectors.access_visit(actor, activity_id)
    form = VisitCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This page is out of date: open it again and redo your change."))
        return _visit_page(request, actor, visit, status=400)
    try:
        with transaction.atomic():
            actions.do_cancel_visit(actor=actor, activity=visit, read_version=_version_of(form))
    except ApplicationError as error:
        messages.error(request, error.message)
        return _visit_page(request, actor, selectors.access_visit(actor, activity_id), status=409 if isinstance(error, Conflict) else 400)
    messages.success(request, _("The visit was cancelled."))
    return redirect(calendar_url(week=timezone.localdate(visit.occurred_at), unit_id=visit.org_unit_id))
