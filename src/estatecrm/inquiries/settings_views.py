"""Intake settings pages (反響取り込み設定) under /settings/inquiries/: the sources and the LINE channel.

Company admins only (rule `inquiry_settings`). Secrets are write-only: the IMAP password, the LINE
channel secret and access token are never rendered back; an empty field keeps the stored value.
"""

import re

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from estatecrm.audit.stale import history_filter, last_event_id
from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.versions import ReadVersion, rebound_at_version
from estatecrm.inquiries import actions
from estatecrm.inquiries.choices import FIELDS, InquiryStatus
from estatecrm.inquiries.forms import FIELD_LABELS, LineChannelForm, SourceForm, field_choices
from estatecrm.inquiries.mail import decode_mail, read_labels
from estatecrm.inquiries.models import Inquiry, InquirySource, LineChannel
from estatecrm.inquiries.presets import preset_labels
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.selectors import Actor
from estatecrm.tenancy.views import add_error

LINE_WEBHOOK_PATH = "/hooks/line/{code}/"
# A pasted text that starts like a mail's source: header lines (`Name: value`) up to an empty line.
RAW_MAIL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9-]*:[^\n]*\n(?:[ \t][^\n]*\n)*){2,}\n")


def _source(actor: Actor, source_id: int) -> InquirySource:
    source = InquirySource.objects.for_company(actor.company_id).select_related("org_unit", "default_assignee").filter(pk=source_id).first()
    if source is None:
        raise NotFound()
    return source


def line_webhook_url(request: HttpRequest, company) -> str:
    """The absolute URL to paste into the LINE Developers console as the channel's webhook."""
    return request.build_absolute_uri(LINE_WEBHOOK_PATH.format(code=company.code))


@permission_view("inquiry_settings")
def source_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    sources = list(InquirySource.objects.for_company(actor.company_id).select_related("org_unit", "default_assignee").order_by("position", "pk"))
    received = {source_id: (count, failed) for source_id, count, failed in Inquiry.objects.for_company(actor.company_id)
                .filter(source__isnull=False).values("source")
                .annotate(count=Count("pk"), failed=Count("pk", filter=Q(status__in=InquiryStatus.inbox())))
                .values_list("source", "count", "failed")}
    for source in sources:
        source.received_count, source.failed_count = received.get(source.pk, (0, 0))
        source.own_label_count = len(source.labels or {})
    channel = LineChannel.objects.for_company(actor.company_id).select_related("org_unit", "default_assignee").first()
    return render(request, "inquiries/settings/source_list.html", {"actor": actor, "sources": sources, "channel": channel})


def _source_input(data: dict, *, code: str) -> actions.SourceInput:
    return actions.SourceInput(
        code=code, name=data["name"], preset=data["preset"] or "", is_enabled=data["is_enabled"], position=data["position"] or 0,
        org_unit=data["org_unit"], default_assignee=data["default_assignee"], case_kind=data["case_kind"],
        from_contains=data["from_contains"], subject_contains=data["subject_contains"], labels=data["labels"],
        imap_host=data["imap_host"], imap_port=data["imap_port"], imap_security=data["imap_security"], imap_user=data["imap_user"],
        imap_password=data["imap_password"] or None, imap_folder=data["imap_folder"] or "INBOX",
    )


def try_labels(form: SourceForm) -> dict | None:
    """What the form's preset and label rows read in the pasted body (nothing is saved), for the panel."""
    if not form.is_bound or not hasattr(form, "cleaned_data"):
        return None
    body = form.cleaned_data.get("sample_body") or ""
    if not body.strip():
        return {"empty": True}
    labels = {**preset_labels(form.cleaned_data.get("preset") or ""), **(form.cleaned_data.get("labels") or {})}
    body = body.replace("\r\n", "\n")
    if RAW_MAIL.match(body):
        # A whole mail pasted as source (headers, then an encoded body): read its body as the intake would.
        try:
            body = decode_mail(body.encode("utf-8")).text
        except Exception:  # whatever it is, the pasted text is then read as it is
            pass
    found = read_labels(body, labels)
    return {
        "empty": False,
        "rows": [(FIELD_LABELS[name], name, found[name]) for name in FIELD_LABELS if name in found],
        "missing": [FIELD_LABELS[name] for name in ("customer_name", "phone", "email") if name not in found],
        "readable": bool(found.get("customer_name") or found.get("phone") or found.get("email")),
    }


def _render_source_form(request, actor, form, source, *, tried=None, status=200):
    return render(request, "inquiries/settings/source_form.html", {
        "actor": actor, "form": form, "source": source, "tried": tried, "field_choices": field_choices(),
        "preset_labels": sorted(preset_labels(form["preset"].value() or "").items(), key=lambda item: FIELDS.index(item[1])),
    }, status=status)


@permission_view("inquiry_settings")
def source_create(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = SourceForm(request.POST or None, company_id=actor.company_id)
    if request.method == "POST" and form.is_valid():
        if "try" in request.POST:
            return _render_source_form(request, actor, form, None, tried=try_labels(form))
        try:
            source = actions.do_create_source(company=actor.company, data=_source_input(form.cleaned_data, code=form.cleaned_data["code"].strip()),
                                              acting_user=request.user)
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Added the source “%(name)s”.") % {"name": source.name})
            return redirect("inquiry_settings:sources")
    return _render_source_form(request, actor, form, None)


@permission_view("inquiry_settings")
def source_edit(request: HttpRequest, actor: Actor, source_id: int) -> HttpResponse:
    source = _source(actor, source_id)
    version = ReadVersion.of(source, seen_event_id=last_event_id(actor.company_id, history_filter(source)))
    form_kwargs = {"company_id": actor.company_id, "editing": True, "has_password": bool(source.imap_password)}
    initial = {
        "code": source.code, "name": source.name, "preset": source.preset, "is_enabled": source.is_enabled, "position": source.position,
        "org_unit": source.org_unit_id, "default_assignee": source.default_assignee_id, "case_kind": source.case_kind,
        "from_contains": source.from_contains, "subject_contains": source.subject_contains, "imap_host": source.imap_host,
        "imap_port": source.imap_port, "imap_security": source.imap_security, "imap_user": source.imap_user,
        "imap_folder": source.imap_folder, "version": version.as_field(),
    }
    form = SourceForm(request.POST or None, initial=initial, labels=source.labels, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        if "try" in request.POST:
            return _render_source_form(request, actor, form, source, tried=try_labels(form))
        try:
            _source_obj, changed = actions.do_update_source(
                source=source, data=_source_input(form.cleaned_data, code=source.code), acting_user=request.user,
                read_version=ReadVersion.from_field(form.cleaned_data["version"]),
            )
        except Conflict as error:
            form = rebound_at_version(request.POST, SourceForm, version, error.message, **form_kwargs)
            return _render_source_form(request, actor, form, source, status=409)
        except ApplicationError as error:
            add_error(form, error)
        else:
            if changed:
                messages.success(request, _("Saved the source “%(name)s”.") % {"name": form.cleaned_data["name"]})
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("inquiry_settings:sources")
    return _render_source_form(request, actor, form, source)


@require_POST
@permission_view("inquiry_settings")
def source_set_enabled(request: HttpRequest, actor: Actor, source_id: int) -> HttpResponse:
    source = _source(actor, source_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        actions.do_set_source_enabled(source=source, enabled=enabled, acting_user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if enabled:
            messages.success(request, _("“%(name)s” is on: its inquiries are taken.") % {"name": source.name})
        else:
            messages.success(request, _("“%(name)s” is off: its mail goes to the unprocessed inquiries.") % {"name": source.name})
    return redirect("inquiry_settings:sources")


@permission_view("inquiry_settings")
def line_channel(request: HttpRequest, actor: Actor) -> HttpResponse:
    channel = LineChannel.objects.for_company(actor.company_id).first()
    version = ReadVersion.of(channel, seen_event_id=last_event_id(actor.company_id, history_filter(channel))) if channel else None
    form_kwargs = {"company_id": actor.company_id, "channel": channel}
    initial = {"is_enabled": True}
    if channel is not None:
        initial = {"is_enabled": channel.is_enabled, "org_unit": channel.org_unit_id, "default_assignee": channel.default_assignee_id,
                   "version": version.as_field()}
    form = LineChannelForm(request.POST or None, initial=initial, **form_kwargs)
    context = {"actor": actor, "channel": channel, "webhook_url": line_webhook_url(request, actor.company)}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _channel, created, changed = actions.do_set_line_channel(
                company=actor.company, acting_user=request.user,
                data=actions.LineInput(org_unit=data["org_unit"], default_assignee=data["default_assignee"], is_enabled=data["is_enabled"],
                                       channel_secret=data["channel_secret"] or None, channel_access_token=data["channel_access_token"] or None),
                read_version=ReadVersion.from_field(data["version"]) if channel is not None else None,
            )
        except Conflict as error:
            form = rebound_at_version(request.POST, LineChannelForm, version, error.message, **form_kwargs)
            return render(request, "inquiries/settings/line.html", {**context, "form": form}, status=409)
        except ApplicationError as error:
            add_error(form, error)
        else:
            messages.success(request, _("Saved the LINE channel.") if changed else _("Nothing changed."))
            return redirect("inquiry_settings:line")
    return render(request, "inquiries/settings/line.html", {**context, "form": form})
