"""Inquiry mail: decode a mail, find the source that recognizes it, read its body by labels.

`take_mail(company, raw, channel=...)` is what `inquiries import-eml` and `inquiries fetch` call for
each mail; it never drops one: a mail no source recognizes, or one that cannot be read, is kept with
its raw bytes for 「取り込めなかった反響」. The same Message-ID again is a duplicate (a mail without one
is known by the SHA-256 of its bytes).

Reading by labels (generic, so an office adds a portal without code): a body line that starts with a
label, optionally after marks such as ■ ◆ ● ・ 【, followed by `：`, `:`, `】` or spaces, gives that
label's field the rest of the line; an empty rest takes the next non-empty line; the message runs until
the next known label or a separator line (`----`, `====`, `━━━`).
"""

import email
import hashlib
import html.parser
import re
import unicodedata
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.intake import InquiryData, Outcome, find_duplicate, record_unread, take_inquiry
from estatecrm.inquiries.models import InquirySource
from estatecrm.inquiries.presets import preset_labels

LEADING_MARKS = "■□◆◇●○・･◎★☆▼▽▲△※>＞*-[【〔《〈(（ \t\u3000"
SEPARATOR = re.compile(r"^\s*([-=─━_~〜＝－*＊]{3,})\s*$")
MULTILINE_FIELDS = frozenset({"message"})


@dataclass
class ReadMail:
    """A decoded mail: what recognition and reading need."""

    message_id: str
    sender: str
    subject: str
    text: str
    date: object  # an aware datetime or None


def _fold(text: str) -> str:
    """The form labels and lines are compared in: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def decode_mail(raw: bytes) -> ReadMail:
    """Parse the mail's bytes (any charset, quoted-printable or base64, plain or HTML-only)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    message_id = str(message.get("Message-ID") or "").strip().strip("<>").strip()
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    date = None
    try:
        header = message.get("Date")
        date = header.datetime if header is not None and getattr(header, "datetime", None) else None
        if date is not None and date.tzinfo is None:
            date = None
    except (TypeError, ValueError):
        date = None
    return ReadMail(message_id=message_id[:255], sender=_header(message, "From"), subject=_header(message, "Subject"),
                    text=body_text(message), date=date)


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name) or "")
    except (TypeError, ValueError, LookupError):
        return str(message.get_all(name, [""])[0])


def body_text(message: EmailMessage) -> str:
    """The body as text: the plain part, else the HTML part read as text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _part_text(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = (part.get_content_charset() or "").lower()
    # Shift_JIS is CP932 in practice (①, ㈱, NEC/IBM extensions); ISO-2022-JP likewise has its CP50220 superset.
    candidates = {"shift_jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "shift-jis": "cp932", "iso-2022-jp": "iso2022_jp_ext"}
    for name in (candidates.get(charset, charset), charset, "utf-8", "cp932", "iso2022_jp_ext"):
        if not name:
            continue
        try:
            return payload.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


class _HtmlText(html.parser.HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Reading by labels


def read_labels(text: str, labels: dict[str, str]) -> dict[str, str]:
    """The fields the labels of `labels` (label -> field) find in `text` (the first value of each field)."""
    folded = sorted(((_fold(label), field) for label, field in labels.items() if _fold(label)), key=lambda item: -len(item[0]))
    lines = text.split("\n")
    found: dict[str, str] = {}
    index = 0
    while index < len(lines):
        hit = _label_at(lines[index], folded)
        index += 1
        if hit is None:
            continue
        field, rest = hit
        if field in MULTILINE_FIELDS:
            body = [rest] if rest else []
            while index < len(lines) and _label_at(lines[index], folded) is None and not SEPARATOR.match(lines[index]):
                body.append(lines[index].rstrip())
                index += 1
            value = "\n".join(body).strip()
        elif rest:
            value = rest
        else:
            value = ""
            while index < len(lines) and not lines[index].strip():
                index += 1
            if index < len(lines) and _label_at(lines[index], folded) is None and not SEPARATOR.match(lines[index]):
                value = lines[index].strip()
                index += 1
        if value and field not in found:
            found[field] = value
    return found


def _label_at(line: str, folded: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(field, rest of the line) when the line starts with one of the labels, else None."""
    stripped = unicodedata.normalize("NFKC", line).lstrip(LEADING_MARKS)
    if not stripped:
        return None
    compact = _fold(stripped)
    for label, field in folded:
        if not compact.startswith(label):
            continue
        # Walk the original text past the label's characters (spaces inside the label are allowed).
        consumed, position = 0, 0
        while position < len(stripped) and consumed < len(label):
            if not stripped[position].isspace():
                consumed += 1
            position += 1
        rest = stripped[position:]
        if rest and not (rest[0] in ":】]〕》〉)）" or rest[0].isspace()):
            continue
        return field, rest.lstrip(":】]〕》〉)） \t\u3000").strip()
    return None


# ---------------------------------------------------------------------------------------------
# Taking a mail


def recognizing_source(sources: list[InquirySource], mail: ReadMail) -> InquirySource | None:
    """The first enabled source whose sender and subject conditions (those given) all match the mail."""
    sender, subject = mail.sender.lower(), _fold(mail.subject)
    for source in sources:
        if not source.is_enabled or not source.reads_mail:
            continue
        if source.from_contains and source.from_contains.lower() not in sender:
            continue
        if source.subject_contains and _fold(source.subject_contains) not in subject:
            continue
        return source
    return None


def mail_sources(company_id: int) -> list[InquirySource]:
    return list(InquirySource.objects.for_company(company_id).filter(is_enabled=True).select_related("company", "org_unit",
                                                                                                   "default_assignee"))


def label_map(source: InquirySource) -> dict[str, str]:
    return {**preset_labels(source.preset), **(source.labels or {})}


def take_mail(company_id: int, raw: bytes, *, channel: str = Channel.EML, sources: list[InquirySource] | None = None) -> Outcome:
    """Take one mail (see the module). `sources`: the company's enabled sources, when the caller
    takes many mails (read once)."""
    try:
        mail = decode_mail(raw)
    except Exception as error:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        return record_unread(company_id, channel=channel, status=InquiryStatus.FAILED, message_id=message_id, raw=raw,
                             error=_("The mail could not be read: %(error)s") % {"error": str(error)[:200]})
    duplicate = find_duplicate(company_id, source=None, message_id=mail.message_id)
    if duplicate is not None:
        return Outcome("duplicate", duplicate, duplicate.case, duplicate.customer)
    source = recognizing_source(sources if sources is not None else mail_sources(company_id), mail)
    common = {"channel": channel, "message_id": mail.message_id, "raw": raw, "sender": mail.sender, "subject": mail.subject}
    if source is None:
        return record_unread(company_id, status=InquiryStatus.UNMATCHED, received=mail.date,
                             error=_("No inquiry source recognizes this mail."), **common)
    data = InquiryData.from_fields(read_labels(mail.text, label_map(source)))
    try:
        return take_inquiry(source, data, received_fallback=mail.date, **common)
    except ApplicationError as error:
        reasons = "; ".join(message for messages in (error.fields or {}).values() for message in messages) or error.message
        return record_unread(company_id, status=InquiryStatus.FAILED, source=source, data=data, received=mail.date, error=reasons, **common)
