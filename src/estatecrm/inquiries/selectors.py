"""Reads of the inquiry intake: 「取り込めなかった反響」 (the inbox), the list of every inquiry received, one
inquiry with its decoded mail.

Who sees which inquiry (rule `inquiry_inbox`, admins): a company admin every inquiry of the company; an org
admin the inquiries of their subtrees (the source's unit, or the unit of the case it became) and the mails
no source recognized (nobody knows their unit yet: any admin may sort them out). Agents see their
inquiries through their cases.
"""

import base64
import datetime
import email
import json
from dataclasses import dataclass, field
from email import policy

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from estatecrm.core.errors import NotFound
from estatecrm.core.querystring import QueryReader
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.mail import decode_mail, label_map, read_labels
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor

PAGE_SIZE = 50
# The headers the detail page shows (as text, escaped like everything else).
SHOWN_HEADERS = ("From", "To", "Cc", "Reply-To", "Date", "Subject", "Message-ID")


class Tab:
    WAITING = "waiting"
    DISMISSED = "dismissed"
    CHOICES = [(WAITING, gettext_lazy("Not taken yet")), (DISMISSED, gettext_lazy("Dismissed"))]


def inquiry_visibility_q(actor: Actor) -> Q:
    """The inquiries the admin may read and sort out (see the module); nothing for anyone else."""
    if actor.is_company_admin:
        return Q()
    if not actor.is_admin:
        return Q(pk__in=[])
    units = actor.admin_unit_ids
    return Q(source__isnull=True) | Q(source__org_unit_id__in=units) | Q(case__owning_org_id__in=units)


def visible_inquiries(*, actor: Actor) -> QuerySet[Inquiry]:
    require(actor, "inquiry_inbox")
    return Inquiry.objects.for_company(actor.company_id).filter(inquiry_visibility_q(actor))


def access_inquiry(actor: Actor, inquiry_id: int, *, for_update: bool = False) -> Inquiry:
    """The inquiry, or NotFound (another company's, not visible, absent alike). `for_update`: locked."""
    inquiries = visible_inquiries(actor=actor)
    if for_update:
        inquiries = inquiries.select_for_update(of=("self",))
    try:
        return inquiries.select_related("source", "case", "resolved_by").get(pk=inquiry_id)
    except (Inquiry.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def waiting_inquiries(*, actor: Actor) -> QuerySet[Inquiry]:
    """「取り込めなかった反響」: unmatched or failed (the partial index `inquiry_inbox_idx`)."""
    return visible_inquiries(actor=actor).filter(status__in=InquiryStatus.inbox())


def inbox_count(actor: Actor) -> int:
    """The side menu's badge: how many inquiries wait for an admin (0 for anyone else)."""
    if not actor.is_admin:
        return 0
    return waiting_inquiries(actor=actor).count()


def tab_counts(actor: Actor) -> dict[str, int]:
    inquiries = visible_inquiries(actor=actor)
    return {Tab.WAITING: inquiries.filter(status__in=InquiryStatus.inbox()).count(),
            Tab.DISMISSED: inquiries.filter(status=InquiryStatus.DISMISSED).count()}


def tab_inquiries(*, actor: Actor, tab: str) -> QuerySet[Inquiry]:
    if tab == Tab.DISMISSED:
        return visible_inquiries(actor=actor).filter(status=InquiryStatus.DISMISSED)
    return waiting_inquiries(actor=actor)


# ---------------------------------------------------------------------------------------------
# Keyset pages: newest first by (received_at, pk)


@dataclass
class Page:
    items: list
    next_cursor: str | None
    has_previous: bool


def encode_cursor(inquiry: Inquiry) -> str:
    raw = json.dumps([inquiry.received_at.isoformat(), inquiry.pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime.datetime, int] | None:
    try:
        received, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        if not isinstance(pk, int) or not isinstance(received, str):
            return None
        moment = datetime.datetime.fromisoformat(received)
        return (moment, pk) if moment.tzinfo is not None else None
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def paginate(inquiries: QuerySet[Inquiry], *, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        received, pk = position
        inquiries = inquiries.filter(Q(received_at__lte=received), Q(received_at__lt=received) | Q(received_at=received, pk__lt=pk))
    items = list(inquiries.order_by("-received_at", "-pk")[: size + 1])
    return Page(items=items[:size], next_cursor=encode_cursor(items[size - 1]) if len(items) > size else None,
                has_previous=position is not None)


# ---------------------------------------------------------------------------------------------
# 反響一覧: every inquiry received


FILTER_LABELS = {"source": gettext_lazy("Source"), "channel": gettext_lazy("Channel"), "status": gettext_lazy("Status"),
                 "received_from": gettext_lazy("Received from"), "received_to": gettext_lazy("Received up to")}


@dataclass
class InquiryFilters:
    source: int | None = None
    channel: str = ""
    status: str = ""
    received_from: datetime.date | None = None
    received_to: datetime.date | None = None
    errors: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_query(cls, query) -> "InquiryFilters":
        filters, read = cls(), QueryReader(query)
        filters.source = read.number("source")
        filters.channel = read.choice("channel", Channel.values)
        filters.status = read.choice("status", InquiryStatus.values)
        filters.received_from, filters.received_to = read.date("received_from"), read.date("received_to")
        filters.errors = read.errors
        return filters

    def as_query(self) -> dict:
        values = {"source": self.source, "channel": self.channel, "status": self.status,
                  "received_from": self.received_from.isoformat() if self.received_from else "",
                  "received_to": self.received_to.isoformat() if self.received_to else ""}
        return {name: str(value) for name, value in values.items() if value not in (None, "")}

    def error_lines(self) -> list[str]:
        return [f"{FILTER_LABELS.get(name, name)}: {message}" for name, message in self.errors.items()]


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def filter_inquiries(*, actor: Actor, filters: InquiryFilters) -> QuerySet[Inquiry]:
    """Every inquiry the admin sees that matches the filters (received dates in the company's day, TIME_ZONE)."""
    inquiries = visible_inquiries(actor=actor)
    if filters.errors:
        return inquiries.none()
    if filters.source is not None:
        inquiries = inquiries.filter(source_id=filters.source)
    if filters.channel:
        inquiries = inquiries.filter(channel=filters.channel)
    if filters.status:
        inquiries = inquiries.filter(status=filters.status)
    if filters.received_from:
        inquiries = inquiries.filter(received_at__gte=_day_start(filters.received_from))
    if filters.received_to:
        inquiries = inquiries.filter(received_at__lt=_day_start(filters.received_to + datetime.timedelta(days=1)))
    return inquiries


def status_counts(inquiries: QuerySet[Inquiry]) -> list[tuple[str, str, int]]:
    """(status, label, count) of every status, in the choices' order: what became of the inquiries."""
    counts = dict(inquiries.order_by().values_list("status").annotate(count=Count("pk")))
    return [(value, label, counts.get(value, 0)) for value, label in InquiryStatus.choices]


def company_sources(*, actor: Actor) -> QuerySet[InquirySource]:
    return InquirySource.objects.for_company(actor.company_id).select_related("org_unit", "default_assignee").order_by("position", "pk")


# ---------------------------------------------------------------------------------------------
# One mail


@dataclass
class ShownMail:
    """A mail as the detail page shows it: header text and body text only (never its HTML)."""

    headers: list[tuple[str, str]]
    text: str
    attachments: list[str]
    error: str = ""


def shown_mail(inquiry: Inquiry) -> ShownMail | None:
    """The inquiry's mail decoded for reading, or None when it came without one (API, LINE)."""
    if inquiry.raw is None:
        return None
    raw = bytes(inquiry.raw)
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        headers = []
        for name in SHOWN_HEADERS:
            try:
                values = [str(value) for value in message.get_all(name, [])]
            except (TypeError, ValueError, LookupError):
                values = [str(value) for value in message.get_all(name, []) if isinstance(value, str)]
            headers.extend((name, value) for value in values)
        attachments = []
        for part in message.iter_attachments():
            attachments.append(part.get_filename() or part.get_content_type())
        return ShownMail(headers=headers, text=decode_mail(raw).text, attachments=attachments)
    except Exception as error:  # a mail that cannot be parsed is still shown as what it is
        return ShownMail(headers=[], text=raw[:20000].decode("utf-8", errors="replace"), attachments=[],
                         error=_("The mail could not be decoded: %(error)s") % {"error": str(error)[:200]})


def likely_source(inquiry: Inquiry, sources) -> InquirySource | None:
    """The source the mail most likely came from: its own, else the first whose code or name the sender or
    subject contains (`toiawase@homes.co.jp` -> homes). Only a default for the admin's choice."""
    if inquiry.source_id is not None:
        return next((source for source in sources if source.pk == inquiry.source_id), None)
    text = f"{inquiry.sender} {inquiry.subject}".casefold()
    return next((source for source in sources if source.code.casefold() in text or source.name.casefold() in text), None)


def prefill(inquiry: Inquiry, source: InquirySource | None) -> dict[str, str]:
    """What the labels read, for the assign-by-hand form: the fields stored when the chosen source read
    the mail, else the mail read again with the chosen source's labels."""
    stored = dict(inquiry.fields or {})
    if source is None or (stored and inquiry.source_id == source.pk) or inquiry.raw is None:
        return stored
    try:
        text = decode_mail(bytes(inquiry.raw)).text
    except Exception:
        return stored
    return read_labels(text, label_map(source)) or stored


def register_side_menu() -> None:
    """The case list's side menu gets 「取り込めなかった反響」 (with its count) and 反響一覧, for admins."""
    from estatecrm.crm.side_menu import MenuEntry, register_menu_entry

    group = gettext_lazy("Inquiries")
    register_menu_entry(MenuEntry(key="inquiry_inbox", group=group, label=gettext_lazy("Inquiries not taken"), url_name="inbox:inbox",
                                  visible=lambda actor: actor.is_admin, count=inbox_count))
    register_menu_entry(MenuEntry(key="inquiry_list", group=group, label=gettext_lazy("Every inquiry received"), url_name="inbox:list",
                                  visible=lambda actor: actor.is_admin))
