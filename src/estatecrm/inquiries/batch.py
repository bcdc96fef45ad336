"""Taking a batch of prepared mails at once (import-eml): the rows `take_prepared` writes mail by mail,
written with one INSERT per table for the whole batch.

`take_prepared_batch(company, items)` takes mails whose Message-ID and (source, inquiry id) are new
(neither stored nor earlier in the batch; the caller makes sure, as import-eml does) and returns each
mail's status in order. It writes what `take_prepared` would write for the same mails taken one after
another: known customers are looked up for the whole batch in one query, and a new customer of the
batch is known to the batch's later mails (the same phone or e-mail: linked_existing, or 要確認 when
shared); a listing registered for one mail is found by the later ones; customer and case numbers
are allocated for the whole batch; audit events are written in one statement; the assignees' mails
are enqueued after commit. Call inside a transaction (the numbers' sequence rows are held until it
commits); an exception leaves the batch's writes to the caller's rollback.
"""


from django.db.models.expressions import DatabaseDefault
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import audit_event, snapshot
from estatecrm.audit.models import AuditEvent
from estatecrm.crm.actions import check_customer_fields, customer_keys
from estatecrm.crm.case_numbers import allocate_case_numbers
from estatecrm.crm.choices import ActivityDirection, ActivityKind, CaseOrigin, CaseStatus
from estatecrm.crm.contact_points import build_contact_point
from estatecrm.crm.duplicates import refresh_customers as refresh_duplicates
from estatecrm.crm.link_numbers import allocate_link_numbers
from estatecrm.crm.models import (
    Activity,
    Case,
    Contact,
    ContactPoint,
    Customer,
    DesiredConditions,
    Listing,
    ListingStation,
)
from estatecrm.inquiries.choices import InquiryStatus
from estatecrm.inquiries.intake import (
    PORTAL_ID_FIELDS,
    _matched_label,
    activity_text,
    build_listing,
    check_inquiry,
    customer_input,
    desired_conditions,
    notify_assignee,
    received_time,
)
from estatecrm.inquiries.models import Inquiry
from estatecrm.normalize import normalize_email, normalize_name, normalize_phone, normalize_reading
from estatecrm.pipeline.bulk import allocate_ids, insert_rows


def _insert(model, objects: list) -> None:
    """Insert the model instances (pipeline.bulk: ids allocated up front, one statement) and make them
    what `save()` leaves: ids, auto_now times and database defaults set, no longer `adding`."""
    if not objects:
        return
    fields = model._meta.concrete_fields
    for obj, pk in zip(objects, allocate_ids(model, len(objects)), strict=True):
        obj.pk = pk
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objects:
                field.pre_save(obj, add=True)
        elif field.has_db_default():
            for obj in objects:
                if isinstance(getattr(obj, field.attname), DatabaseDefault):
                    setattr(obj, field.attname, getattr(field.db_default, "value", field.db_default))
    columns = [field.attname for field in fields]
    insert_rows(model, columns, ([getattr(obj, column) for column in columns] for obj in objects))
    for obj in objects:
        obj._state.adding, obj._state.db = False, "default"


def _portal_field(source) -> str | None:
    return PORTAL_ID_FIELDS.get(source.preset) or PORTAL_ID_FIELDS.get(source.code.lower())


class _Listings:
    """The company's listings the batch's mails name, looked up at once; new ones registered as made."""

    def __init__(self, company_id: int, wanted: list):
        listings = Listing.objects.for_company(company_id)
        self.by_portal: dict[tuple[str, str], Listing] = {}
        self.by_ref: dict[str, Listing] = {}
        self.by_name: dict[str, Listing] = {}
        refs_by_field: dict[str, set[str]] = {}
        refs, names = set(), set()
        for source, data in wanted:
            ref = data.listing_ref[:64]
            if ref:
                refs.add(ref)
                if (field := _portal_field(source)) is not None:
                    refs_by_field.setdefault(field, set()).add(ref)
            elif data.listing_name:
                names.add(data.listing_name[:200])
        for field, values in refs_by_field.items():
            for listing in listings.filter(**{f"{field}__in": values}).exclude(**{field: ""}).order_by("pk"):
                self.by_portal.setdefault((field, getattr(listing, field)), listing)
        if refs:
            for listing in listings.filter(ref__in=refs).order_by("pk"):
                self.by_ref.setdefault(listing.ref, listing)
        if names:
            for listing in listings.filter(name__in=names).order_by("pk"):
                self.by_name.setdefault(listing.name, listing)
        self.new: list[tuple[Listing, ListingStation | None]] = []

    def match(self, source, data) -> Listing | None:
        """intake.match_listing, from what was looked up and made in this batch."""
        if not (data.listing_ref or data.listing_name):
            return None
        ref = data.listing_ref[:64]
        field = _portal_field(source)
        if ref:
            found = (self.by_portal.get((field, ref)) if field else None) or self.by_ref.get(ref)
        else:
            found = self.by_name.get(data.listing_name[:200])
        if found is not None:
            return found
        listing, station = build_listing(source, data, field, ref_taken=False)
        self.new.append((listing, station))
        for portal in set(PORTAL_ID_FIELDS.values()):
            if getattr(listing, portal):
                self.by_portal.setdefault((portal, getattr(listing, portal)), listing)
        self.by_ref.setdefault(listing.ref, listing)
        self.by_name.setdefault(listing.name, listing)
        return listing

    def save(self) -> None:
        if not self.new:
            return
        _insert(Listing, [listing for listing, _station in self.new])
        stations = []
        for listing, station in self.new:
            if station is not None:
                station.listing = listing
                stations.append(station)
        _insert(ListingStation, stations)


def _new_customer(company, data, phone, email) -> tuple[Customer, list[tuple[Contact, list[ContactPoint]]]]:
    """do_create_customer's rows, unsaved (the link number is set by the caller)."""
    values = customer_input(data, phone, email)
    details = check_customer_fields({name: getattr(values, name) for name in ("postal_code", "prefecture", "birth_date", "household_size",
                                                                                "annual_income")})
    name = normalize_name(values.name)
    reading = normalize_reading(values.kana) if values.kana else None
    kana = reading.value if reading is not None and reading.is_valid else values.kana.strip()
    key, kana_key = customer_keys(values.kind, name, kana)
    customer = Customer(
        company=company, kind=values.kind, name=name, name_key=key, kana=kana, kana_key=kana_key, gender=values.gender,
        city=values.city, street=values.street, building=values.building, employer=values.employer, homepage=values.homepage, **details,
        custom_values={}, line_user_id=values.line_user_id,
    )
    contacts = []
    count = 0
    for position, contact_data in enumerate(values.contacts):
        contact = Contact(company=company, customer=customer, name=normalize_name(contact_data.name), kana=contact_data.kana, position=position)
        points = []
        for kind, raw in contact_data.phones:
            points.append(build_contact_point(contact=contact, kind=kind, raw=raw, region=company.phone_region, position=count + len(points)))
        for raw in contact_data.emails:
            points.append(build_contact_point(contact=contact, kind="email", raw=raw, position=count + len(points)))
        count += len(points)
        contacts.append((contact, points))
    return customer, contacts


def take_prepared_batch(company, items: list, *, channel: str) -> list[str]:
    """The status of each prepared mail (see the module), in order."""
    company_id = company.pk
    now = timezone.now()
    inquiries: list[Inquiry] = []
    statuses: list[str] = []
    taken = []  # (index in inquiries, source, data, phone, email, received, mail)
    for prepared in items:
        mail, raw = prepared.mail, prepared.raw
        if mail is None:
            statuses.append(InquiryStatus.FAILED)
            inquiries.append(Inquiry(company_id=company_id, channel=channel, status=InquiryStatus.FAILED, source=None,
                                     message_id=prepared.message_id[:255], received_at=now, fields={}, raw=raw,
                                     error=_("The mail could not be read: %(error)s") % {"error": prepared.error}))
            continue
        common = {"company_id": company_id, "channel": channel, "message_id": mail.message_id[:255], "raw": raw,
                  "sender": mail.sender[:300], "subject": mail.subject[:300]}
        source, data = prepared.source, prepared.data
        if source is None:
            statuses.append(InquiryStatus.UNMATCHED)
            inquiries.append(Inquiry(status=InquiryStatus.UNMATCHED, source=None, received_at=mail.date or now, fields={},
                                     error=_("No inquiry source recognizes this mail."), **common))
            continue
        errors = check_inquiry(data, region=source.company.phone_region)
        if errors:
            statuses.append(InquiryStatus.FAILED)
            reasons = "; ".join(str(message) for messages in errors.values() for message in messages)
            inquiries.append(Inquiry(status=InquiryStatus.FAILED, source=source, received_at=mail.date or now, fields=data.as_dict(),
                                     error=reasons, **common))
            continue
        source_region = source.company.phone_region
        phone = normalize_phone(data.phone, source_region).value if data.phone else None
        email = normalize_email(data.email).value if data.email else None
        statuses.append(None)
        inquiries.append(Inquiry(inquiry_id=data.inquiry_id[:100], received_at=received_time(data, mail.date), source=source,
                                 fields=data.as_dict(), **common))
        taken.append((len(inquiries) - 1, source, data, phone, email))

    # Known customers: who holds each phone and e-mail of the batch (a new customer of the batch too).
    values = {value for _index, _source, _data, phone, email in taken for value in (phone, email) if value}
    holders: dict[str, set] = {}
    if values:
        for customer_id, value in (ContactPoint.objects.for_company(company_id).filter(normalized__in=values, customer__deleted_at__isnull=True)
                                   .values_list("customer_id", "normalized").distinct()):
            holders.setdefault(value, set()).add(customer_id)
    listings = _Listings(company_id, [(source, data) for _index, source, data, _phone, _email in taken])
    new_customers: list[tuple[Customer, list]] = []
    plans = []  # (index, source, data, customer key, review, listing)
    for index, source, data, phone, email in taken:
        hits = {(holder, value) for value in (phone, email) if value for holder in holders.get(value, ())}
        customer_keys_found = {holder for holder, _value in hits}
        review = []
        inquiry = inquiries[index]
        if len(customer_keys_found) == 1:
            [holder] = customer_keys_found
            matched = {value for _holder, value in hits}
            matched_by = "+".join(name for name, value in (("phone", phone), ("email", email)) if value and value in matched)
            statuses[index] = InquiryStatus.LINKED_EXISTING
            inquiry.matched_by = matched_by
            review.append(_("Inquiry from %(source)s: linked to the known customer with the same %(by)s. Check that it is the same person.")
                          % {"source": source.name, "by": _matched_label(matched_by)})
        else:
            statuses[index] = InquiryStatus.CREATED
            if len(customer_keys_found) > 1:
                review.append(_("Inquiry from %(source)s: its phone number or e-mail address belongs to %(count)d customers; "
                                "a new customer was made. Check whether it is one of them.")
                              % {"source": source.name, "count": len(customer_keys_found)})
            customer, contacts = _new_customer(source.company, data, phone, email)
            holder = ("new", len(new_customers))
            new_customers.append((customer, contacts))
            for _contact, points in contacts:
                for point in points:
                    if point.normalized:
                        holders.setdefault(point.normalized, set()).add(holder)
        inquiry.status = statuses[index]
        plans.append((index, source, data, holder, review, listings.match(source, data)))

    # Customers, their contacts and contact points.
    for (customer, _contacts), number in zip(new_customers, allocate_link_numbers(company_id, len(new_customers)), strict=True):
        customer.line_link_number = number
    _insert(Customer, [customer for customer, _contacts in new_customers])
    contacts = [contact for _customer, pairs in new_customers for contact, _points in pairs]
    for contact in contacts:
        contact.customer_id = contact.customer.pk
    _insert(Contact, contacts)
    points = []
    for _customer, pairs in new_customers:
        for contact, contact_points in pairs:
            for point in contact_points:
                point.contact, point.customer_id = contact, contact.customer_id
                points.append(point)
    _insert(ContactPoint, points)
    events = [audit_event(company_id=company_id, actor=None, verb="create", instance=customer, after=snapshot(customer))
              for customer, _contacts in new_customers]
    known_ids = {holder for _index, _source, _data, holder, _review, _listing in plans if not isinstance(holder, tuple)}
    known = Customer.objects.for_company(company_id).in_bulk(known_ids) if known_ids else {}

    listings.save()

    # Cases (open_case / do_create_case), their desired conditions, the 反響 activities.
    cases = []
    review_of = []
    for (index, source, data, holder, review, listing), number in zip(plans, allocate_case_numbers(company_id, len(plans)), strict=True):
        customer = new_customers[holder[1]][0] if isinstance(holder, tuple) else known[holder]
        received = inquiries[index].received_at
        day = timezone.localdate(received)
        case = Case(
            company_id=customer.company_id, number=number, customer=customer, kind=source.case_kind, status=CaseStatus.NEW, sub_status=None,
            rank=None, owning_org=source.org_unit, main_assignee=source.default_assignee, project=None, origin=CaseOrigin.INQUIRY,
            source_system=CaseOrigin.INQUIRY, source_id=data.inquiry_id[:64], started_on=day, first_inquiry_date=day,
            first_inquiry_source=source.name[:100], first_inquiry_listing_ref=listing.ref if listing else data.listing_ref[:64],
            first_inquiry_listing_name=(listing.name if listing else data.listing_name)[:200], auto_intro_mail=False, other_info="",
            custom_values={},
        )
        if review:
            case.needs_review, case.review_messages = True, review
        cases.append(case)
        review_of.append(bool(review))
        inquiries[index].customer = customer
        inquiries[index].case = case
    _insert(Case, cases)
    # The batch's 名寄せ candidates in one refresh; the cases' flags as do_create_case reads them back for its audit event.
    changed = refresh_duplicates(company_id, {case.customer_id for case in cases})
    if changed:
        flagged = set(Case.objects.for_company(company_id).filter(pk__in=[case.pk for case in cases], has_duplicates=True)
                      .values_list("pk", flat=True))
        for case in cases:
            case.has_duplicates = case.pk in flagged
    desired = []
    activities = []
    for case, (index, source, data, _holder, _review, _listing) in zip(cases, plans, strict=True):
        desired.append(DesiredConditions(company_id=case.company_id, case=case, **desired_conditions(data)))
        subject, body = activity_text(source.name, data)
        activities.append(Activity(company_id=case.company_id, case=case, kind=ActivityKind.INQUIRY, direction=ActivityDirection.INBOUND,
                                   occurred_at=inquiries[index].received_at, subject=subject, body=body, is_done=True))
    _insert(DesiredConditions, desired)
    for case, reviewed in zip(cases, review_of, strict=True):
        after = snapshot(case)
        if reviewed:  # do_create_case audits the case before open_case marks it 要確認
            after.update(needs_review=False, review_messages=[])
        after.update(tags=[], sub_assignees=[])
        events.append(audit_event(company_id=case.company_id, actor=None, verb="create", instance=case, after=after))
    _insert(Activity, activities)
    for inquiry in inquiries:
        if inquiry.case is not None:
            inquiry.case_id, inquiry.customer_id = inquiry.case.pk, inquiry.customer.pk
    _insert(Inquiry, inquiries)
    _insert(AuditEvent, events)
    for case in cases:
        notify_assignee(case)
    return statuses
