"""Inquiry mail: decode a mail, find the source that recognizes it, read its body by labels.

`take_mail(company, raw, channel=...)` is what `inquiries import-eml` and `inquiries fetch` call for
each mail; it never drops one: a mail no source recognizes, or one that cannot be read, is kept with
its raw bytes for 「取り込めなかった反響」. The same Message-ID again is a duplicate (a mail without one
is known by the SHA-256 of its bytes).

Decoding: bodies and RFC 2047 headers in ISO-2022-JP, Shift_JIS/CP932 or UTF-8 (any transfer
encoding). Japanese mailers write CP932 while declaring `Shift_JIS`, and CP50220 (ISO-2022-JP with
the NEC and IBM extensions: ①, ㈱, 髙) while declaring `ISO-2022-JP`: both are read as CP932, and a
body that does not decode in its declared charset is tried in the others before anything is replaced.
An HTML-only mail is read as text (`<br>`, `<p>`, table rows and cells, entities).

Reading by labels (generic, so an office adds a portal without code): a body line that starts with a
label, optionally after marks such as ■ ◆ ● ・ 【, followed by `：`, `:`, `】` or spaces, gives that
label's field the rest of the line; an empty rest takes the next non-empty line; the message runs until
the next known label or a separator line (`----`, `====`, `━━━`). Labels and lines are compared after
NFKC and without spaces, so `名前（カナ）` finds `名前(カナ)` and `ＴＥＬ` finds `TEL`.
"""

import email
import email.header
import email.utils
import hashlib
import html.parser
import re
import unicodedata
from dataclasses import dataclass
from email.message import Message

from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.intake import InquiryData, Outcome, find_duplicate, record_unread, take_inquiry
from estatecrm.inquiries.models import InquirySource
from estatecrm.inquiries.presets import preset_labels
from estatecrm.normalize import parse_datetime

# Marks a label may stand after (after NFKC: `･` is `・`, `＞` is `>`).
LEADING_MARKS = "■□◆◇●○・◎★☆▼▽▲△▶▷►◉♦▪※>*#-+[【〔《〈「『 \t\u3000"
# What may follow a label before its value (after NFKC: `：` is `:`).
AFTER_LABEL = ":】]〕》〉」』= \t\u3000"
# The same in a line's own text (full-width and half-width forms).
LEADING_MARKS_RAW = LEADING_MARKS + "･＞＊＃－＋［"
AFTER_LABEL_RAW = AFTER_LABEL + "：］＝"
SEPARATOR = re.compile(r"^\s*[-=─━_~〜＝－*＊─━┄┅═]{3,}\s*$")
MULTILINE_FIELDS = frozenset({"message"})
# A value that says "not given".
EMPTY_VALUES = frozenset({"-", "--", "ー", "―", "－", "‐", "未入力", "未記入"})

# Declared charsets that are CP932 in practice (Windows wrote them).
CP932_ALIASES = frozenset({"shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "cp932", "ms932"})
ISO2022JP_ALIASES = frozenset({"iso-2022-jp", "iso2022jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3", "csiso2022jp", "cp50220",
                                "cp50221", "cp50222"})


@dataclass
class ReadMail:
    """A decoded mail: what recognition and reading need."""

    message_id: str
    sender: str
    subject: str
    text: str
    date: object  # an aware datetime or None


# ---------------------------------------------------------------------------------------------
# Charsets


def decode_bytes(payload: bytes, declared: str = "") -> str:
    """`payload` as text: in its declared charset (CP932 for Shift_JIS, CP50220 semantics for
    ISO-2022-JP), else the first of ISO-2022-JP (when it has JIS escapes), UTF-8, CP932 that decodes
    it without error; else UTF-8 with replacement characters."""
    declared = (declared or "").strip().lower()
    attempts = []
    if declared in CP932_ALIASES:
        attempts.append("cp932")
    elif declared in ISO2022JP_ALIASES:
        attempts.append("jis")
    elif declared and declared not in ("us-ascii", "ascii"):
        attempts.append(declared)
    if b"\x1b$" in payload or b"\x1b(" in payload:
        attempts.append("jis")
    attempts += ["utf-8", "cp932"]
    for name in attempts:
        try:
            return jis_to_text(payload) if name == "jis" else payload.decode(name)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return payload.decode("utf-8", errors="replace")


def jis_to_text(payload: bytes) -> str:
    """ISO-2022-JP as Windows writes it (CP50220/CP50221): the JIS X 0208 pairs, NEC row 13 (①, ㈱)
    and the IBM extensions included, are turned into their Shift_JIS bytes and read as CP932.
    Raises ValueError on bytes that are not ISO-2022-JP."""
    out = bytearray()
    mode = "ascii"
    index, length = 0, len(payload)
    while index < length:
        byte = payload[index]
        if byte == 0x1B:
            sequence = payload[index + 1:index + 3]
            if sequence in (b"(B", b"(J"):
                mode = "ascii"
            elif sequence in (b"$@", b"$B"):
                mode = "double"
            elif sequence == b"(I":
                mode = "kana"
            else:
                raise ValueError("unknown escape sequence")
            index += 3
            continue
        if byte in (0x0A, 0x0D):
            out.append(byte)
            index += 1
            continue
        if byte == 0x0E:  # SO: half-width katakana (CP50221)
            mode = "kana"
            index += 1
            continue
        if byte == 0x0F:  # SI
            mode = "ascii"
            index += 1
            continue
        if byte >= 0x80:
            raise ValueError("8-bit byte in ISO-2022-JP")
        if mode == "ascii":
            out.append(byte)
            index += 1
        elif mode == "kana":
            out.append(byte + 0x80)
            index += 1
        else:
            if index + 1 >= length:
                raise ValueError("truncated pair")
            first, second = byte, payload[index + 1]
            if not (0x21 <= first <= 0x7E and 0x21 <= second <= 0x7E):
                raise ValueError("not a JIS pair")
            lead = (first + 1) // 2 + (0x70 if first <= 0x5E else 0xB0)
            trail = second + (0x1F if first % 2 else 0x7E)
            if first % 2 and second >= 0x60:
                trail += 1
            out += bytes((lead, trail))
            index += 2
    return out.decode("cp932")


def decode_header(value: str | None) -> str:
    """A header's text: RFC 2047 encoded words decoded with `decode_bytes` (so a mislabelled
    `=?shift_jis?B?...?=` holding ① is read as CP932), raw 8-bit header bytes as UTF-8 or CP932."""
    if not value:
        return ""
    value = str(value)
    try:
        chunks = email.header.decode_header(value)
    except (email.errors.HeaderParseError, ValueError, LookupError):
        return value.strip()
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
            continue
        if charset in (None, "unknown-8bit"):
            # Undeclared 8-bit bytes came in through surrogateescape: undo it and guess.
            parts.append(decode_bytes(chunk))
        else:
            parts.append(decode_bytes(chunk, charset))
    text = "".join(parts)
    return re.sub(r"[\r\n]+[ \t]*", " ", text).strip()


def _raw_header(message: Message, name: str) -> str:
    """The header as it stands in the mail (encoded words not yet decoded)."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            if isinstance(value, str):
                # 8-bit bytes in a header arrive as surrogate escapes: restore the bytes.
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return decode_bytes(value.encode("ascii", "surrogateescape"))
            return value
    return ""


# ---------------------------------------------------------------------------------------------
# The mail


def decode_mail(raw: bytes) -> ReadMail:
    """Parse the mail's bytes (any charset, quoted-printable or base64, plain or HTML-only). The
    compat32 parser is used (headers are decoded here, by decode_header): the header registry of
    `policy.default` costs more than the rest of reading a mail."""
    message = email.message_from_bytes(raw)
    message_id = _raw_header(message, "Message-ID").strip()
    message_id = message_id.split()[0].strip("<>").strip() if message_id.split() else ""
    if not message_id:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    return ReadMail(message_id=message_id[:255], sender=decode_header(_raw_header(message, "From")),
                    subject=decode_header(_raw_header(message, "Subject")), text=body_text(message), date=_date(message))


def _date(message: Message):
    header = _raw_header(message, "Date")
    if not header:
        return None
    try:
        value = email.utils.parsedate_to_datetime(header.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return value if value is not None and value.tzinfo is not None else None


def body_text(message: Message) -> str:
    """The body as text: the first plain part that is not an attachment (unless it is empty), else
    the first HTML part read as text."""
    plain, markup = [], []
    for part in message.walk():
        if part.get_content_maintype() != "text" or _is_attachment(part):
            continue
        (markup if part.get_content_subtype() == "html" else plain if part.get_content_subtype() == "plain" else []).append(part)
    for part in plain + markup:
        text = _part_text(part)
        if part.get_content_subtype() == "html":
            text = html_to_text(text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text.strip():
            return text
    return ""


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";")[0].strip().lower()
    return disposition == "attachment"


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True) or b""
    except (ValueError, TypeError):
        payload = b""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogateescape")
    try:
        charset = part.get_content_charset() or ""
    except (ValueError, LookupError):
        charset = ""
    return decode_bytes(payload, charset)


class _HtmlText(html.parser.HTMLParser):
    """HTML as lines of text: blocks and rows break lines, cells are separated by a space."""

    BREAKS = frozenset({"br", "p", "div", "tr", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                        "tbody", "thead", "hr", "blockquote", "pre", "section", "article", "header", "footer", "center"})
    SKIPPED = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skip += 1
        elif tag == "hr":
            self.parts.append("\n----\n")
        elif tag in self.BREAKS:
            self.parts.append("\n")
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BREAKS and tag not in ("br", "hr"):
            self.parts.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_data(self, data):
        if self.skip:
            return
        # Outside <pre>, a line break in HTML source is a space.
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# ---------------------------------------------------------------------------------------------
# Reading by labels


def _fold(text: str) -> str:
    """The form labels and lines are compared in: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _label_end(text: str, label: str) -> int | None:
    """Where `label` (folded) ends in `text` when `text` starts with it (compared after NFKC,
    spaces ignored), else None."""
    folded, position, length = "", 0, len(text)
    while position < length:
        character = text[position]
        position += 1
        if character.isspace():
            continue
        folded += character
        normal = unicodedata.normalize("NFKC", folded)
        if len(normal) >= len(label):
            # A half-width voiced mark (ﾞ) after the last character belongs to it.
            while position < length and text[position] in "\uff9e\uff9f\u3099\u309a":
                folded += text[position]
                position += 1
                normal = unicodedata.normalize("NFKC", folded)
            return position if normal.replace(" ", "") == label else None
        if not label.startswith(normal.replace(" ", "")[:-1]):
            return None
    return None


def fold_label(label: str) -> str:
    """A label as it is compared: NFKC, no spaces, without the marks around it (`【お名前】` is `お名前`)."""
    return _fold(label).lstrip(LEADING_MARKS).rstrip(AFTER_LABEL)


class LabelReader:
    """A label map (label -> field) prepared once; `read(text)` gives the fields found."""

    def __init__(self, labels: dict[str, str]):
        folded = {}
        for label, field in labels.items():
            key = fold_label(label)
            if key and field:
                folded.setdefault(key, field)
        self.labels = sorted(folded.items(), key=lambda item: -len(item[0]))
        # Lines are checked against the labels starting with their first character only.
        self.by_first: dict[str, list[tuple[str, str]]] = {}
        for label, field in self.labels:
            self.by_first.setdefault(label[0], []).append((label, field))

    def label_at(self, line: str) -> tuple[str, str] | None:
        """(field, rest of the line) when the line starts with one of the labels, else None. The
        label is compared after NFKC; the rest is the line's own text (`①` stays `①`)."""
        stripped = line.lstrip(LEADING_MARKS_RAW)
        if not stripped:
            return None
        candidates = self.by_first.get(unicodedata.normalize("NFKC", stripped[0])[:1])
        if not candidates:
            return None
        for label, field in candidates:
            position = _label_end(stripped, label)
            if position is None:
                continue
            rest = stripped[position:]
            if rest and rest[0] not in AFTER_LABEL_RAW and not rest[0].isspace():
                continue
            return field, rest.lstrip(AFTER_LABEL_RAW).strip()
        return None

    def read(self, text: str) -> dict[str, str]:
        lines = text.split("\n")
        found: dict[str, str] = {}
        messages: list[str] = []
        index = 0
        while index < len(lines):
            hit = self.label_at(lines[index])
            index += 1
            if hit is None:
                continue
            field, rest = hit
            if field in MULTILINE_FIELDS:
                body = [rest] if rest else []
                while index < len(lines) and not SEPARATOR.match(lines[index]) and self.label_at(lines[index]) is None:
                    body.append(lines[index].rstrip())
                    index += 1
                value = "\n".join(body).strip()
                if value and value not in EMPTY_VALUES:
                    # Every message label is kept (a form may have お問い合わせ内容 and ご要望).
                    messages.append(value)
                continue
            value = rest
            if not value:
                probe = index
                while probe < len(lines) and not lines[probe].strip():
                    probe += 1
                if probe < len(lines) and not SEPARATOR.match(lines[probe]) and self.label_at(lines[probe]) is None:
                    value = lines[probe].strip()
                    index = probe + 1
            if value and value not in EMPTY_VALUES and field not in found:
                found[field] = value
        if messages:
            found["message"] = "\n\n".join(messages)
        return found


def read_labels(text: str, labels: dict[str, str]) -> dict[str, str]:
    """The fields the labels of `labels` (label -> field) find in `text` (the first value of each
    field; every message found, joined)."""
    return LabelReader(labels).read(text)


# ---------------------------------------------------------------------------------------------
# Values as a mail writes them

_PHONE = re.compile(r"\+?[0-9０-９][0-9０-９\-‐‑–—―−ー－ｰ() （）.\s]{7,20}[0-9０-９]")
_JAPANESE_DATETIME = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?\s*(?:[(（][^)）]*[)）])?\s*"
    r"(?:(\d{1,2})\s*[:時]\s*(\d{1,2})\s*(?:[:分]\s*(\d{1,2})\s*秒?)?)?")


def tidy_fields(values: dict[str, str]) -> dict[str, str]:
    """What a mail's labels found, made takeable without losing it: the phone number out of
    `090-1234-5678（携帯）`, a received time written `2026年12月6日(日) 10時15分` in a form
    parse_datetime reads; a received time that still cannot be read is left out (the mail's
    Date is used; the raw mail keeps it)."""
    values = dict(values)
    phone = values.get("phone", "")
    if phone:
        match = _PHONE.search(unicodedata.normalize("NFKC", phone))
        if match:
            values["phone"] = match.group().strip()
    email_value = values.get("email", "")
    if email_value:
        match = re.search(r"[^\s<>()（）「」:：,，;；]+[@＠][^\s<>()（）「」,，;；]+", email_value)
        if match:
            values["email"] = match.group().rstrip(".。")
    received = values.get("received_at", "")
    if received and not parse_datetime(received).is_valid:
        match = _JAPANESE_DATETIME.search(unicodedata.normalize("NFKC", received))
        text = ""
        if match:
            year, month, day, hour, minute, second = match.groups()
            text = f"{year}/{int(month):02d}/{int(day):02d}"
            if hour is not None:
                text += f" {int(hour):02d}:{int(minute):02d}:{int(second or 0):02d}"
        if text and parse_datetime(text).is_valid:
            values["received_at"] = text
        else:
            values.pop("received_at")
    return values


# ---------------------------------------------------------------------------------------------
# Taking a mail


def recognizing_source(sources: list[InquirySource], mail: ReadMail) -> InquirySource | None:
    """The first enabled source whose sender and subject conditions (those given) all match the mail
    (compared after NFKC, case-insensitively: `［リクルートＪＤＳ］` matches `JDS`)."""
    sender, subject = _fold(mail.sender).lower(), _fold(mail.subject).lower()
    for source in sources:
        if not source.is_enabled or not source.reads_mail:
            continue
        if source.from_contains and _fold(source.from_contains).lower() not in sender:
            continue
        if source.subject_contains and _fold(source.subject_contains).lower() not in subject:
            continue
        return source
    return None


def mail_sources(company_id: int) -> list[InquirySource]:
    """The company's enabled sources in recognition order, with what taking a mail needs."""
    return list(InquirySource.objects.for_company(company_id).filter(is_enabled=True)
                .select_related("company", "org_unit", "default_assignee").order_by("position", "pk"))


def label_map(source: InquirySource) -> dict[str, str]:
    """The source's labels: its preset's, then its own (an own label overrides the preset's)."""
    return {**preset_labels(source.preset), **(source.labels or {})}


_READERS: dict[tuple, LabelReader] = {}


def label_reader(source: InquirySource) -> LabelReader:
    """The source's LabelReader, prepared once per label map."""
    labels = label_map(source)
    key = tuple(sorted(labels.items()))
    reader = _READERS.get(key)
    if reader is None:
        if len(_READERS) > 256:
            _READERS.clear()
        reader = _READERS[key] = LabelReader(labels)
    return reader


def read_mail_fields(source: InquirySource, mail: ReadMail) -> InquiryData:
    """What the source's labels read in the mail, tidied (tidy_fields)."""
    return InquiryData.from_fields(tidy_fields(label_reader(source).read(mail.text)))


@dataclass
class PreparedMail:
    """A mail decoded, recognized and read (no database): what taking it needs."""

    raw: bytes
    mail: ReadMail | None
    error: str = ""
    source: InquirySource | None = None
    data: InquiryData | None = None

    @property
    def message_id(self) -> str:
        return self.mail.message_id if self.mail is not None else "sha256:" + hashlib.sha256(self.raw).hexdigest()

    @property
    def inquiry_key(self) -> tuple[int, str] | None:
        """(source, inquiry id) when the mail names its inquiry."""
        if self.source is None or self.data is None or not self.data.inquiry_id:
            return None
        return self.source.pk, self.data.inquiry_id[:100]


def prepare_mail(raw: bytes, sources: list[InquirySource]) -> PreparedMail:
    """Decode the mail, find its source among `sources`, read its fields (pure: no database)."""
    try:
        mail = decode_mail(raw)
    except Exception as error:  # a mail so broken that the parser gives up: it is kept as failed
        return PreparedMail(raw, None, error=str(error)[:200] or error.__class__.__name__)
    source = recognizing_source(sources, mail)
    return PreparedMail(raw, mail, source=source, data=read_mail_fields(source, mail) if source is not None else None)


def take_mail(company_id: int, raw: bytes, *, channel: str = Channel.EML, sources: list[InquirySource] | None = None) -> Outcome:
    """Take one mail (see the module). `sources`: the company's enabled sources, when the caller
    takes many mails (read once). Never raises for the mail's content: whatever cannot be taken is
    kept as unmatched or failed."""
    return take_prepared(company_id, prepare_mail(raw, sources if sources is not None else mail_sources(company_id)), channel=channel)


def take_prepared(company_id: int, prepared: PreparedMail, *, channel: str = Channel.EML, checked: bool = False) -> Outcome:
    """Take a prepared mail. `checked`: the caller has made sure that no inquiry has the mail's
    Message-ID or its (source, inquiry id) (import-eml looks them up for a whole batch); a race with
    another delivery is still caught by the unique constraints."""
    mail, raw = prepared.mail, prepared.raw
    if mail is None:
        return record_unread(company_id, channel=channel, status=InquiryStatus.FAILED, message_id=prepared.message_id, raw=raw,
                             error=_("The mail could not be read: %(error)s") % {"error": prepared.error})
    if not checked:
        duplicate = find_duplicate(company_id, source=None, message_id=mail.message_id)
        if duplicate is not None:
            return Outcome("duplicate", duplicate, duplicate.case, duplicate.customer)
    source, data = prepared.source, prepared.data
    common = {"channel": channel, "message_id": mail.message_id, "raw": raw, "sender": mail.sender, "subject": mail.subject}
    if source is None:
        return record_unread(company_id, status=InquiryStatus.UNMATCHED, received=mail.date,
                             error=_("No inquiry source recognizes this mail."), **common)
    try:
        return take_inquiry(source, data, received_fallback=mail.date, message_id_checked=True, inquiry_id_checked=checked, **common)
    except ApplicationError as error:
        reasons = "; ".join(str(message) for messages in (error.fields or {}).values() for message in messages) or str(error.message)
        return record_unread(company_id, status=InquiryStatus.FAILED, source=source, data=data, received=mail.date, error=reasons, **common)
