"""Pages under /inquiries/ (rule `inquiry_inbox`, admins): 「取り込めなかった反響」 with its dismissed tab, one mail
(decoded, escaped, never its HTML) with the raw .eml, assign by hand, teach a label, dismiss and restore, and
反響一覧 (every inquiry received, with what became of it).

Views stay thin: parse a form, call one action of inbox_actions, show its refusal next to the field it
names or as a message.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from estatecrm.core.errors import ApplicationError
from estatecrm.core.ids import parse_id
from estatecrm.core.versions import etag_of
from estatecrm.inquiries import inbox_actions, selectors
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.inbox_forms import FIELD_LABELS, AssignForm, DismissForm, TeachForm, VersionOnlyForm
from estatecrm.inquiries.intake import InquiryData
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.selectors import Actor

RULE = "inquiry_inbox"


def _show_error(request: HttpRequest, error: ApplicationError, form=None) -> None:
    placed = False
    if form is not None:
        for name, field_messages in error.fields.items():
            target = name if name in form.fields else None
            for message in field_messages:
                form.add_error(target, message)
            placed = True
    if not placed:
        messages.error(request, error.message)


def _detail_url(inquiry_id: int) -> str:
    return reverse("inbox:detail", kwargs={"inquiry_id": inquiry_id})


# ---------------------------------------------------------------------------------------------
# Lists


@require_GET
@permission_view(RULE)
def inbox(request: HttpRequest, actor: Actor) -> HttpResponse:
    """「取り込めなかった反響」: the waiting mails, newest first (the dismissed ones under their tab)."""
    tab = request.GET.get("tab") or selectors.Tab.WAITING
    if tab not in dict(selectors.Tab.CHOICES):
        tab = selectors.Tab.WAITING
    page = selectors.paginate(selectors.tab_inquiries(actor=actor, tab=tab).select_related("source", "resolved_by"),
                              cursor=request.GET.get("cursor", ""))
    query = {"tab": tab} if tab != selectors.Tab.WAITING else {}
    return render(request, "inquiries/inbox/inbox.html", {
        "actor": actor,
        "tab": tab,
        "tabs": selectors.Tab.CHOICES,
        "counts": selectors.tab_counts(actor),
        "page": page,
        "first_url": f"?{urlencode(query)}",
        "next_url": f"?{urlencode({**query, 'cursor': page.next_cursor})}" if page.next_cursor else "",
    })


@require_GET
@permission_view(RULE)
def inquiry_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """反響一覧: every inquiry received, filtered, with the count of each outcome (every row accounted for)."""
    filters = selectors.InquiryFilters.from_query(request.GET)
    for line in filters.error_lines():
        messages.warning(request, line)
    inquiries = selectors.filter_inquiries(actor=actor, filters=filters)
    page = selectors.paginate(inquiries.select_related("source", "case", "customer"), cursor=request.GET.get("cursor", ""))
    counts = selectors.status_counts(inquiries)
    query = filters.as_query()
    return render(request, "inquiries/inbox/list.html", {
        "actor": actor,
        "filters": filters,
        "sources": selectors.company_sources(actor=actor),
        "channels": Channel.choices,
        "statuses": InquiryStatus.choices,
        "status_counts": counts,
        "total": sum(count for _value, _label, count in counts),
        "page": page,
        "first_url": f"?{urlencode(query)}",
        "next_url": f"?{urlencode({**query, 'cursor': page.next_cursor})}" if page.next_cursor else "",
    }, status=400 if filters.errors else 200)


@require_POST
@permission_view(RULE)
def reread_all(request: HttpRequest, actor: Actor) -> HttpResponse:
    counts = inbox_actions.do_reread_waiting(actor=actor)
    taken = counts[InquiryStatus.CREATED] + counts[InquiryStatus.LINKED_EXISTING]
    waiting = counts[InquiryStatus.UNMATCHED] + counts[InquiryStatus.FAILED]
    messages.success(request, _("Read again: %(taken)d taken, %(waiting)d still waiting.") % {"taken": taken, "waiting": waiting})
    return redirect("inbox:inbox")


# ---------------------------------------------------------------------------------------------
# One mail


def _detail_context(actor: Actor, inquiry, *, teach_form=None, dismiss_form=None) -> dict:
    version = etag_of(inquiry)
    mail = selectors.shown_mail(inquiry)
    is_waiting = inquiry.status in InquiryStatus.inbox()
    sources = list(selectors.company_sources(actor=actor))
    likely = selectors.likely_source(inquiry, sources)
    if teach_form is None and is_waiting:
        initial = {"version": version, "source": likely.pk if likely else None}
        if inquiry.status == InquiryStatus.UNMATCHED:
            initial.update(from_contains=inbox_actions.sender_domain(inquiry.sender), subject_contains=inquiry.subject[:200])
        teach_form = TeachForm(actor=actor, initial=initial)
    return {
        "actor": actor,
        "inquiry": inquiry,
        "mail": mail,
        "is_waiting": is_waiting,
        "fields_read": [(FIELD_LABELS.get(name, name), value) for name, value in (inquiry.fields or {}).items()],
        "sources": sources,
        "likely_source": likely,
        "teach_form": teach_form,
        "dismiss_form": dismiss_form or DismissForm(initial={"version": version}),
        "version_form": VersionOnlyForm(initial={"version": version}),
    }


@require_GET
@permission_view(RULE)
def inquiry_detail(request: HttpRequest, actor: Actor, inquiry_id: int) -> HttpResponse:
    inquiry = selectors.access_inquiry(actor, inquiry_id)
    return render(request, "inquiries/inbox/detail.html", _detail_context(actor, inquiry))


@require_GET
@permission_view(RULE)
def inquiry_raw(request: HttpRequest, actor: Actor, inquiry_id: int) -> HttpResponse:
    """The mail as received (.eml), as a download: never shown inline."""
    inquiry = selectors.access_inquiry(actor, inquiry_id)
    if inquiry.raw is None:
        return HttpResponse(_("This inquiry came without a mail."), status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(bytes(inquiry.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="inquiry-{inquiry.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
@permission_view(RULE)
def inquiry_assign(request: HttpRequest, actor: Actor, inquiry_id: int) -> HttpResponse:
    """Assign by hand: choose a source (the form is prefilled with what its labels read), correct, take."""
    inquiry = selectors.access_inquiry(actor, inquiry_id)
    if request.method == "POST":
        form = AssignForm(request.POST, actor=actor)
        if form.is_valid():
            data = form.cleaned_data
            assignment = inbox_actions.Assignment(
                source_id=data["source"].pk, data=InquiryData.from_fields(form.data_values()),
                org_unit_id=data["org_unit"].pk if data["org_unit"] else None,
                assignee_id=data["assignee"].pk if data["assignee"] else None, kind=data["kind"])
            try:
                outcome = inbox_actions.do_assign_inquiry(actor=actor, inquiry_id=inquiry.pk, version=data["version"], assignment=assignment)
            except ApplicationError as error:
                if error.code in ("inquiry_resolved", "inquiry_stale", "inquiry_taken_elsewhere"):
                    messages.error(request, error.message)
                    return redirect(_detail_url(inquiry.pk))
                _show_error(request, error, form)
            else:
                messages.success(request, _("The mail was taken as case #%(number)d.") % {"number": outcome.case.number})
                return redirect("crm:detail", case_id=outcome.case.pk)
        status = 400
        source = form.cleaned_data.get("source") if hasattr(form, "cleaned_data") else None
    else:
        if inquiry.status not in InquiryStatus.inbox():
            messages.info(request, inbox_actions.already_resolved_message(inquiry))
            return redirect(_detail_url(inquiry.pk))
        sources = list(selectors.company_sources(actor=actor))
        chosen = parse_id(request.GET.get("source", ""))
        source = next((item for item in sources if item.pk == chosen), None)
        if source is None:
            source = selectors.likely_source(inquiry, sources) or next((item for item in sources if item.is_enabled), None)
        fields = selectors.prefill(inquiry, source)
        form = AssignForm(actor=actor, initial={"version": etag_of(inquiry), "source": source.pk if source else None,
                                                **{name: value for name, value in fields.items() if name in AssignForm.DATA_FIELDS}})
        status = 200
    return render(request, "inquiries/inbox/assign.html", {
        "actor": actor,
        "inquiry": inquiry,
        "form": form,
        "source": source,
        "sources": list(selectors.company_sources(actor=actor)),
        "mail": selectors.shown_mail(inquiry),
    }, status=status)


@require_POST
@permission_view(RULE)
def inquiry_teach(request: HttpRequest, actor: Actor, inquiry_id: int) -> HttpResponse:
    inquiry = selectors.access_inquiry(actor, inquiry_id)
    form = TeachForm(request.POST, actor=actor)
    if form.is_valid():
        data = form.cleaned_data
        lesson = inbox_actions.Lesson(
            source_id=data["source"].pk, labels=form.pairs(),
            from_contains=data["from_contains"] if data["match_sender"] else None,
            subject_contains=data["subject_contains"] if data["match_subject"] else None)
        try:
            outcome = inbox_actions.do_teach_labels(actor=actor, inquiry_id=inquiry.pk, version=data["version"], lesson=lesson)
        except ApplicationError as error:
            if error.code in ("inquiry_resolved", "inquiry_stale"):
                messages.error(request, error.message)
                return redirect(_detail_url(inquiry.pk))
            _show_error(request, error, form)
        else:
            if outcome.created:
                messages.success(request, _("The source learned the labels and the mail was taken as case #%(number)d.")
                                 % {"number": outcome.case.number})
                return redirect("crm:detail", case_id=outcome.case.pk)
            messages.warning(request, _("The source learned the labels, but the mail still cannot be taken: %(reason)s")
                             % {"reason": outcome.inquiry.error})
            return redirect(_detail_url(inquiry.pk))
    inquiry = selectors.access_inquiry(actor, inquiry_id)
    return render(request, "inquiries/inbox/detail.html", _detail_context(actor, inquiry, teach_form=form), status=400)


@require_POST
@permission_view(RULE)
def inquiry_dismiss(request: HttpRequest, actor: Actor, inquiry_id: int) -> HttpResponse:
    inquiry = selectors.access_inquiry(actor, inquiry_id)
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            inbox_actions.do_dismiss_inquiry(actor=actor, inquiry_id=inquiry.pk, version=form.cleaned_data["version"],
                                             reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            if error.code in ("inquiry_resolved", "inquiry_stale"):
                messages.error(request, error.message)
                return redirect(_detail_url(inquiry.pk))
            _show_error(request, error, form)
        else:
            messages.success(request, _("The mail was dismissed. You find it under “Dismissed”."))
            return redirect("inbox:inbox")
    return render(request, "inquiries/inbox/detail.html", _detail_context(actor, inquiry, dismiss_form=form), status=400)


@require_POST
@permission_view(RULE)
def inquiry_restore(request: HttpRequest, actor: Actor, inquiry_id: int) -> HttpResponse:
    inquiry = selectors.access_inquiry(actor, inquiry_id)
    form = VersionOnlyForm(request.POST)
    # A form without its version is refused (stale), never taken as fresh.
    version = form.cleaned_data["version"] if form.is_valid() else ""
    try:
        inbox_actions.do_restore_inquiry(actor=actor, inquiry_id=inquiry.pk, version=version)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The mail is back in “Inquiries not taken”."))
    return redirect(_detail_url(inquiry.pk))
