"""Taking an inquiry in: what every path (mail, IMAP, API, LINE, an admin by hand) calls.

`take_inquiry(source, data, ...)` turns what was read (`InquiryData`, the fields of choices.FIELDS)
into a case: a known customer (the same normalized phone or e-mail, and only one such customer) gets
a new case linked to them, marked 要確認 so that an agent confirms it is the same person; anyone else
becomes a new customer. The case has origin `inquiry`, the source's unit, kind and default assignee,
status 新規, the first inquiry's date, medium and listing (matched by the portal's id, or created),
and an activity 反響 holding the message. The assignee is mailed after commit unless they turned it
off. Everything is recorded as an `Inquiry`, and the same (source, inquiry id) or mail Message-ID
again returns that record's case and writes nothing (`Outcome.status == "duplicate"`).
"""

import datetime
import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, fields

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError
from estatecrm.crm.actions import CaseInput, ContactInput, CustomerInput, do_create_case, do_create_customer
from estatecrm.crm.choices import (
    ActivityDirection,
    ActivityKind,
    CaseKind,
    CaseOrigin,
    CaseStatus,
    ContactPointKind,
    Layout,
    MoveIn,
)
from estatecrm.crm.models import Activity, Case, ContactPoint, Customer, Listing, ListingStation
from estatecrm.inquiries import error_codes
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.normalize import (
    normalize_email,
    normalize_name,
    normalize_phone,
    parse_datetime,
    split_prefecture,
)

DUPLICATE = "duplicate"
MOBILE_PREFIXES = ("+8170", "+8180", "+8190", "+8160")
# Which Listing column holds a portal's own listing id, by the source's preset or code.
PORTAL_ID_FIELDS = {"suumo": "suumo_id", "homes": "homes_id", "lifull": "homes_id", "athome": "athome_id"}


@dataclass
class InquiryData:
    """What an inquiry says, as text as it was read (choices.FIELDS); empty when not given."""

    customer_name: str = ""
    customer_kana: str = ""
    phone: str = ""
    email: str = ""
    message: str = ""
    inquiry_type: str = ""
    inquiry_id: str = ""
    received_at: str = ""
    listing_ref: str = ""
    listing_name: str = ""
    listing_price: str = ""
    listing_address: str = ""
    listing_layout: str = ""
    listing_area: str = ""
    listing_station: str = ""
    desired_move_in: str = ""

    @classmethod
    def from_fields(cls, values: dict) -> "InquiryData":
        known = {field.name for field in fields(cls)}
        return cls(**{name: str(value).strip() for name, value in values.items() if name in known and value is not None})

    def as_dict(self) -> dict:
        return {name: value for name, value in asdict(self).items() if value}


@dataclass
class Outcome:
    """What became of one inquiry: `status` is an InquiryStatus value or "duplicate"."""

    status: str
    inquiry: Inquiry
    case: Case | None = None
    customer: Customer | None = None

    @property
    def created(self) -> bool:
        return self.status in (InquiryStatus.CREATED, InquiryStatus.LINKED_EXISTING)


# ---------------------------------------------------------------------------------------------
# Reading values


def check_inquiry(data: InquiryData, *, region: str = "JP") -> dict[str, list[str]]:
    """What is wrong with the inquiry (field -> messages); empty when it can be taken. An inquiry
    needs a way to reach the customer or at least their name; a given phone or e-mail must be valid."""
    errors: dict[str, list[str]] = {}
    if not (data.customer_name or data.phone or data.email):
        errors["customer"] = [_("The inquiry has no name, phone number or e-mail address of the customer.")]
    if data.phone and not normalize_phone(data.phone, region).is_valid:
        errors["phone"] = [_("This is not a phone number: %(value)s") % {"value": data.phone[:60]}]
    if data.email and not normalize_email(data.email).is_valid:
        errors["email"] = [_("This is not an e-mail address: %(value)s") % {"value": data.email[:100]}]
    if data.received_at and not parse_datetime(data.received_at).is_valid:
        errors["received_at"] = [_("This is not a date and time: %(value)s") % {"value": data.received_at[:60]}]
    return errors


def _number(text: str) -> float | None:
    """The first number in `text` (full-width digits and thousands separators allowed)."""
    match = re.search(r"\d[\d,]*(?:\.\d+)?", unicodedata.normalize("NFKC", text or ""))
    return float(match.group().replace(",", "")) if match else None


def money_in_man_yen(text: str, kind: str = CaseKind.RENT) -> float | None:
    """An amount in 万円: `8.5万円` -> 8.5, `85,000円` -> 8.5, `6万3000円` -> 6.3, `3,980万円` -> 3980,
    `1億2000万円` -> 12000. A bare number is read by the case kind: rent `85000` is yen and `8.5`
    is 万円; a price `3980` is 万円 and `39800000` is yen."""
    text = unicodedata.normalize("NFKC", text or "").replace(" ", "")
    oku = re.search(r"(\d[\d,]*(?:\.\d+)?)億", text)
    if oku:
        rest = _number(text[oku.end():]) or 0
        return float(oku.group(1).replace(",", "")) * 10000 + rest
    man_and_yen = re.search(r"(\d[\d,]*(?:\.\d+)?)万(\d[\d,]*)円", text)
    if man_and_yen:
        return float(man_and_yen.group(1).replace(",", "")) + float(man_and_yen.group(2).replace(",", "")) / 10000
    value = _number(text)
    if value is None:
        return None
    unit = text[re.search(r"\d[\d,]*(?:\.\d+)?", text).end():][:1]
    if unit == "万":
        return value
    if unit == "円":
        return value / 10000
    if kind == CaseKind.BUY:
        return value / 10000 if value >= 100000 else value
    return value / 10000 if value >= 1000 else value


_CITY = re.compile(r"(.+?郡.+?[町村]|.+?市.+?区|.+?[市区町村])(.*)")


def split_city(rest: str) -> tuple[str, str]:
    """(city, street) of an address without its prefecture: `渋谷区道玄坂1丁目` -> (`渋谷区`, `道玄坂1丁目`),
    `横浜市中区山下町` -> (`横浜市中区`, `山下町`)."""
    match = _CITY.fullmatch(rest.strip())
    if match is None:
        return rest.strip(), ""
    return match.group(1), match.group(2).strip()


def layout_choice(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").upper().replace(" ", "")
    if text in Layout.values:
        return text
    if "ワンルーム" in text or text in ("1R", "R"):
        return Layout.ONE_ROOM.value
    match = re.match(r"(\d)(S?)(LDK|DK|K)", text)
    if match:
        if int(match.group(1)) >= 5:
            return Layout.L5K_PLUS.value
        candidate = match.group(1) + match.group(3)
        return candidate if candidate in Layout.values else ""
    return ""


def parse_station(text: str) -> tuple[str, str, int | None]:
    """(line, station, walk minutes) of `ＪＲ山手線「渋谷」駅 徒歩5分` and the like."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    walk = re.search(r"(?:徒歩|歩)\s*(\d+)\s*分", text)
    minutes = int(walk.group(1)) if walk else None
    quoted = re.search(r"「([^」]+)」", text)
    if quoted:
        line = text[:quoted.start()].strip(" /")
        return line[:100], quoted.group(1).strip()[:100], minutes
    head = text[:walk.start()] if walk else text
    parts = head.replace("/", " ").split()
    if not parts:
        return "", "", minutes
    station = parts[-1].removesuffix("駅")
    return " ".join(parts[:-1])[:100], station[:100], minutes


# ---------------------------------------------------------------------------------------------
# Taking one inquiry


def find_duplicate(company_id: int, *, source: InquirySource | None, inquiry_id: str = "", message_id: str = "") -> Inquiry | None:
    """The inquiry already received with this (source, inquiry id) or this Message-ID."""
    # A duplicate's outcome names its case and customer: read with it.
    inquiries = Inquiry.objects.for_company(company_id).select_related("case", "customer")
    # The `exclude`s repeat the partial unique indexes' conditions, so that SQLite uses them.
    if inquiry_id and source is not None:
        found = next(iter(inquiries.filter(source=source, inquiry_id=inquiry_id[:100]).exclude(inquiry_id="")[:1]), None)
        if found is not None:
            return found
    if message_id:
        return next(iter(inquiries.filter(message_id=message_id[:255]).exclude(message_id="")[:1]), None)
    return None


def known_customer(company_id: int, phone: str | None, email: str | None) -> tuple[Customer | None, str, list[int]]:
    """(the one live customer having this phone or e-mail, matched by, every customer matched).

    A number or address held by several customers (a switchboard, a family line) names nobody: then
    no customer is returned, and the inquiry becomes a new customer that an agent reviews."""
    values = [value for value in (phone, email) if value]
    if not values:
        return None, "", []
    hits = list(ContactPoint.objects.for_company(company_id).filter(normalized__in=values, customer__deleted_at__isnull=True)
                .values_list("customer_id", "normalized").distinct())
    customer_ids = sorted({customer_id for customer_id, _value in hits})
    if len(customer_ids) != 1:
        return None, "", customer_ids
    matched = {value for _customer, value in hits}
    by = "+".join(name for name, value in (("phone", phone), ("email", email)) if value and value in matched)
    return Customer.objects.for_company(company_id).get(pk=customer_ids[0]), by, customer_ids


def match_listing(source: InquirySource, data: InquiryData) -> Listing | None:
    """The company's listing of the inquiry: by the portal's own id or the listing number, else by
    name; created from what the inquiry says when the company has none."""
    if not (data.listing_ref or data.listing_name):
        return None
    listings = Listing.objects.for_company(source.company_id)
    ref = data.listing_ref[:64]
    portal_field = PORTAL_ID_FIELDS.get(source.preset) or PORTAL_ID_FIELDS.get(source.code.lower())
    if ref:
        if portal_field:
            # The `exclude` repeats the partial index's condition, so that SQLite uses it (an OR of
            # both look-ups in one query would scan the company's listings instead).
            found = listings.filter(**{portal_field: ref}).exclude(**{portal_field: ""}).order_by("pk").first()
            if found is not None:
                return found
        found = listings.filter(ref=ref).first()
        if found is not None:
            return found
    else:
        found = listings.filter(name=data.listing_name[:200]).order_by("pk").first()
        if found is not None:
            return found
    return create_listing(source, data, portal_field, ref_is_free=True)


def create_listing(source: InquirySource, data: InquiryData, portal_field: str | None, *, ref_is_free: bool = False) -> Listing:
    """A new listing from what the inquiry says. `ref_is_free`: the caller found no listing with
    the inquiry's listing number."""
    ref_taken = not ref_is_free and bool(data.listing_ref) and Listing.objects.for_company(source.company_id).filter(ref=data.listing_ref[:64]).exists()
    listing, station = build_listing(source, data, portal_field, ref_taken=ref_taken)
    listing.save()
    if station is not None:
        station.listing = listing
        station.save()
    return listing


def build_listing(source: InquirySource, data: InquiryData, portal_field: str | None, *,
                  ref_taken: bool = False) -> tuple[Listing, ListingStation | None]:
    """The unsaved new listing of create_listing and its station (None when the inquiry names none;
    its `listing` is set when saved). `ref_taken`: a listing has the inquiry's listing number."""
    base = data.listing_ref or hashlib.sha256(data.listing_name.encode()).hexdigest()[:10]
    ref = data.listing_ref[:64]
    if not ref or ref_taken:
        ref = f"{source.code}-{base}"[:64]
    price = money_in_man_yen(data.listing_price, source.case_kind)
    prefecture, rest = split_prefecture(unicodedata.normalize("NFKC", data.listing_address)) if data.listing_address else ("", "")
    city, street = split_city(rest) if rest else ("", "")
    area = _number(data.listing_area)
    listing = Listing(
        company_id=source.company_id, ref=ref, name=(data.listing_name or data.listing_ref)[:200], kind=source.case_kind,
        layout=layout_choice(data.listing_layout), area=round(area, 2) if area is not None and area < 10**6 else None,
        prefecture=prefecture[:10], city=city[:100], street=street[:200],
        notes=_("Registered from an inquiry (%(source)s).") % {"source": source.name},
    )
    if price is not None:
        if source.case_kind == CaseKind.RENT and price < 10**6:
            listing.rent = round(price, 1)
        elif source.case_kind == CaseKind.BUY and price < 2**31:
            listing.price = int(price)
    if portal_field and data.listing_ref:
        setattr(listing, portal_field, data.listing_ref[:64])
    line, station, walk = parse_station(data.listing_station)
    if not station:
        return listing, None
    return listing, ListingStation(company_id=source.company_id, line=line, station=station, walk_minutes=walk)


def activity_text(source_name: str, data: InquiryData) -> tuple[str, str]:
    """The 反響 activity's subject and body: the message, then what the portal said of the listing."""
    subject = " ".join(part for part in (source_name, data.inquiry_type) if part)
    details = [(label, value) for label, value in (
        (_("Inquiry type"), data.inquiry_type), (_("Inquiry id"), data.inquiry_id), (_("Listing number"), data.listing_ref),
        (_("Listing"), data.listing_name), (_("Rent or price"), data.listing_price), (_("Address"), data.listing_address),
        (_("Layout"), data.listing_layout), (_("Floor area"), data.listing_area), (_("Station"), data.listing_station),
        (_("Move-in"), data.desired_move_in)) if value]
    body = data.message
    if details:
        body = "\n".join([body, "", *(f"{label}: {value}" for label, value in details)]).strip()
    return subject[:300], body


def received_time(data: InquiryData, fallback: datetime.datetime | None) -> datetime.datetime:
    parsed = parse_datetime(data.received_at) if data.received_at else None
    if parsed is not None and parsed.is_valid:
        return parsed.value
    return fallback or timezone.now()


def customer_input(data: InquiryData, phone: str | None, email: str | None, *, line_user_id: str = "") -> CustomerInput:
    name = normalize_name(data.customer_name) or data.email or data.phone
    phones = [(ContactPointKind.MOBILE if phone and phone.startswith(MOBILE_PREFIXES) else ContactPointKind.PHONE, data.phone)] if data.phone else []
    emails = [data.email] if data.email else []
    return CustomerInput(name=name[:200], kana=data.customer_kana[:200], line_user_id=line_user_id,
                         contacts=[ContactInput(name=name[:200], kana=data.customer_kana[:200], phones=phones, emails=emails)])


@dataclass
class Destination:
    """Where a new inquiry case goes: a source's or the LINE channel's settings."""

    company_id: int
    org_unit: object
    assignee: object
    kind: str
    source_name: str
    origin: str = CaseOrigin.INQUIRY


def destination_of(source: InquirySource) -> Destination:
    return Destination(company_id=source.company_id, org_unit=source.org_unit, assignee=source.default_assignee, kind=source.case_kind,
                       source_name=source.name)


def desired_conditions(data: InquiryData) -> dict:
    """The case's desired conditions an inquiry gives: the move-in (1ヶ月以内 also written 1ケ月, 1カ月, 1ヵ月)."""
    move_in = unicodedata.normalize("NFKC", data.desired_move_in)
    for variant in "ケカヵ":
        move_in = move_in.replace(variant, "ヶ")
    return {"move_in": move_in} if move_in in MoveIn.values else {}


def open_case(destination: Destination, customer: Customer, *, received: datetime.datetime, source_id: str = "",
              listing: Listing | None = None, data: InquiryData | None = None, review: list[str] | None = None,
              acting_user=None) -> Case:
    """A new case (status 新規) of `customer` at the destination, as the intake writes it. `acting_user`: the
    admin who took it by hand (the unit must be one they may place cases in); None: the intake itself."""
    data = data or InquiryData()
    case = do_create_case(customer=customer, acting_user=acting_user, data=CaseInput(
        kind=destination.kind, owning_org=destination.org_unit, status=CaseStatus.NEW, main_assignee=destination.assignee,
        origin=destination.origin, source_system=destination.origin, source_id=source_id[:64],
        started_on=timezone.localdate(received), first_inquiry_date=timezone.localdate(received),
        first_inquiry_source=destination.source_name[:100],
        first_inquiry_listing_ref=listing.ref if listing else data.listing_ref[:64],
        first_inquiry_listing_name=(listing.name if listing else data.listing_name)[:200],
        desired=desired_conditions(data),
    ))
    if review:
        Case.objects.for_company(case.company_id).filter(pk=case.pk).update(needs_review=True, review_messages=review)
        case.needs_review, case.review_messages = True, review
    return case


def record_inquiry_activity(case: Case, *, received: datetime.datetime, subject: str, body: str) -> Activity:
    """The 反響 activity: inbound, by nobody on the staff; not a contact (the case stays 未対応)."""
    return Activity.objects.create(company_id=case.company_id, case=case, kind=ActivityKind.INQUIRY, direction=ActivityDirection.INBOUND,
                                   occurred_at=received, subject=subject, body=body, is_done=True)


def take_inquiry(source: InquirySource, data: InquiryData, *, channel: str, message_id: str = "", raw: bytes | None = None,
                 sender: str = "", subject: str = "", received_fallback: datetime.datetime | None = None,
                 message_id_checked: bool = False, inquiry_id_checked: bool = False,
                 waiting: Inquiry | None = None, destination: Destination | None = None, acting_user=None) -> Outcome:
    """Take one inquiry of `source` (see the module). Raises ApplicationError (fields, nothing
    written) when it cannot be taken: callers that must keep everything (mail) record it with
    `record_unread` instead. `message_id_checked` / `inquiry_id_checked`: the caller has just looked
    the Message-ID / the inquiry id up (a race is still caught by the unique constraints).

    `waiting`: an inquiry of 「取り込めなかった反響」 (unmatched or failed, locked by the caller) that is taken
    now (by hand or read again): that same row becomes the taken inquiry (it holds the mail's unique
    Message-ID and raw bytes), resolved by `acting_user`; its channel, mail and sender stay. The same
    (source, inquiry id) already taken on another row answers "duplicate" with that row, and nothing
    is written. `destination` overrides the source's unit, assignee and kind (an admin's choice)."""
    company_id = source.company_id
    if waiting is None:
        duplicate = find_duplicate(company_id, source=source, inquiry_id="" if inquiry_id_checked else data.inquiry_id,
                                   message_id="" if message_id_checked else message_id)
    else:
        duplicate = _taken_elsewhere(waiting, source, data.inquiry_id)
        channel, message_id, raw, sender, subject = waiting.channel, waiting.message_id, None, waiting.sender, waiting.subject
        received_fallback = waiting.received_at
    if duplicate is not None:
        return Outcome(DUPLICATE, duplicate, duplicate.case, duplicate.customer)
    region = source.company.phone_region
    errors = check_inquiry(data, region=region)
    if errors:
        raise ApplicationError(error_codes.INQUIRY_INVALID, _("The inquiry cannot be taken."), fields=errors)
    phone = normalize_phone(data.phone, region).value if data.phone else None
    email = normalize_email(data.email).value if data.email else None
    received = received_time(data, received_fallback)
    try:
        with transaction.atomic():
            return _take(source, data, channel=channel, message_id=message_id, raw=raw, sender=sender, subject=subject,
                         phone=phone, email=email, received=received, waiting=waiting, destination=destination, acting_user=acting_user)
    except IntegrityError:
        # Two deliveries of the same inquiry at once: the other one committed first.
        if waiting is not None:
            duplicate = _taken_elsewhere(waiting, source, data.inquiry_id)
        else:
            duplicate = find_duplicate(company_id, source=source, inquiry_id=data.inquiry_id, message_id=message_id)
        if duplicate is None:
            raise
        return Outcome(DUPLICATE, duplicate, duplicate.case, duplicate.customer)


def _taken_elsewhere(waiting: Inquiry, source: InquirySource, inquiry_id: str) -> Inquiry | None:
    """The other inquiry of `source` that already has this inquiry id (the portal sent it twice)."""
    if not inquiry_id:
        return None
    return (Inquiry.objects.for_company(waiting.company_id).filter(source=source, inquiry_id=inquiry_id[:100])
            .exclude(pk=waiting.pk).first())


def _take(source, data, *, channel, message_id, raw, sender, subject, phone, email, received, waiting=None, destination=None,
          acting_user=None) -> Outcome:
    company_id = source.company_id
    customer, matched_by, matched_ids = known_customer(company_id, phone, email)
    review = []
    if customer is not None:
        status = InquiryStatus.LINKED_EXISTING
        review.append(_("Inquiry from %(source)s: linked to the known customer with the same %(by)s. Check that it is the same person.")
                      % {"source": source.name, "by": _matched_label(matched_by)})
    else:
        status = InquiryStatus.CREATED
        if len(matched_ids) > 1:
            review.append(_("Inquiry from %(source)s: its phone number or e-mail address belongs to %(count)d customers; "
                            "a new customer was made. Check whether it is one of them.") % {"source": source.name, "count": len(matched_ids)})
        customer = do_create_customer(company=source.company, data=customer_input(data, phone, email), acting_user=acting_user)
    listing = match_listing(source, data)
    case = open_case(destination or destination_of(source), customer, received=received, source_id=data.inquiry_id, listing=listing,
                     data=data, review=review, acting_user=acting_user)
    activity_subject, body = activity_text(source.name, data)
    record_inquiry_activity(case, received=received, subject=activity_subject, body=body)
    taken = {"status": status, "source": source, "inquiry_id": data.inquiry_id[:100], "received_at": received, "fields": data.as_dict(),
             "matched_by": matched_by, "customer": customer, "case": case}
    if waiting is None:
        inquiry = Inquiry.objects.create(company_id=company_id, channel=channel, message_id=message_id[:255], sender=sender[:300],
                                         subject=subject[:300], raw=raw, **taken)
    else:
        inquiry = waiting
        for name, value in {**taken, "resolved_by": acting_user, "resolved_at": timezone.now()}.items():
            setattr(inquiry, name, value)
        inquiry.save(update_fields=[*taken, "resolved_by", "resolved_at", "updated_at"])
    notify_assignee(case)
    return Outcome(status, inquiry, case, customer)


def _matched_label(matched_by: str) -> str:
    return {"phone": _("phone number"), "email": _("e-mail address")}.get(matched_by, _("phone number and e-mail address"))


def record_unread(company_id: int, *, channel: str, status: str, error: str, source: InquirySource | None = None, data: InquiryData | None = None,
                  message_id: str = "", raw: bytes | None = None, sender: str = "", subject: str = "",
                  received: datetime.datetime | None = None) -> Outcome:
    """Keep what could not be taken (status unmatched or failed) for 「取り込めなかった反響」."""
    duplicate = find_duplicate(company_id, source=None, message_id=message_id)
    if duplicate is not None:
        return Outcome(DUPLICATE, duplicate, duplicate.case, duplicate.customer)
    try:
        with transaction.atomic():
            inquiry = Inquiry.objects.create(
                company_id=company_id, channel=channel, status=status, source=source, message_id=message_id[:255],
                received_at=received or timezone.now(), sender=sender[:300], subject=subject[:300],
                fields=data.as_dict() if data else {}, raw=raw, error=error,
            )
    except IntegrityError:
        duplicate = find_duplicate(company_id, source=None, message_id=message_id)
        if duplicate is None:
            raise
        return Outcome(DUPLICATE, duplicate, duplicate.case, duplicate.customer)
    return Outcome(status, inquiry)


def notify_assignee(case: Case) -> None:
    """Mail the case's assignee about the new inquiry once this transaction commits (unless they
    turned such mail off, or are inactive)."""
    from estatecrm.core.transactions import enqueue_on_commit
    from estatecrm.inquiries.tasks import mail_new_inquiry

    assignee = case.main_assignee
    if assignee is None or not assignee.is_active or not assignee.inquiry_mail or not assignee.email:
        return
    enqueue_on_commit(mail_new_inquiry, case.company_id, case.pk)


CHANNELS_OF_MAIL = (Channel.EML, Channel.IMAP)
