"""Cases, customers, contacts, activities, desired conditions, listings and masters through the API.

Handlers parse (schemas), check access (selectors), call actions, and shape the answer. Every read
goes through the acting user's access rules; an id the caller may not see is a 404 whatever the reason.
"""

import datetime

from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from estatecrm.core.datetimes import ApiDateTime
from estatecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from estatecrm.core.ids import PathId
from estatecrm.core.pagination import InvalidInput, invalid_cursor, keyset_page
from estatecrm.core.versions import ReadVersion, etag_of
from estatecrm.crm import actions, error_codes, schemas
from estatecrm.crm.choices import SYSTEM_KINDS, ActivityKind, ContactPointKind
from estatecrm.crm.filtersets import CaseFilters, decode_cursor, filter_cases, paginate_cases
from estatecrm.crm.models import (
    Activity,
    Case,
    CaseAssignee,
    CaseTag,
    Contact,
    ContactPoint,
    Customer,
    CustomField,
    DesiredConditions,
    Project,
    ProjectField,
    Rank,
    SubStatus,
    Tag,
)
from estatecrm.crm.selectors import (
    access_case,
    access_customer,
    access_visit,
    calendar_unit_ids,
    visible_cases,
    visible_customers,
    visits_between,
    week_of,
)
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.permissions import can_place_case, require
from estatecrm.tenancy.selectors import Actor, actor_for

router = Router(tags=["crm"])


class PreconditionRequired(ApplicationError):
    status_code = 428


def acting(request: HttpRequest) -> Actor:
    return actor_for(request.auth)


def plain(value):
    """Enum members from schemas as their stored values."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    return getattr(value, "value", value)


def unknown(field: str, message: str | None = None) -> InvalidInput:
    return InvalidInput("invalid", _("The request is not valid."), fields={field: [message or _("Unknown value.")]})


def resolve(model, actor: Actor, pk: int | None, field: str, **conditions):
    """The company's `model` row with `pk` (None stays None); a 422 on `field` when there is none."""
    if pk is None:
        return None
    instance = model.objects.for_company(actor.company_id).filter(pk=pk, **conditions).first()
    if instance is None:
        raise unknown(field)
    return instance


def resolve_many(model, actor: Actor, pks: list[int], field: str) -> list:
    found = model.objects.for_company(actor.company_id).in_bulk(list(dict.fromkeys(pks)))
    if len(found) != len(set(pks)):
        raise unknown(field)
    return [found[pk] for pk in dict.fromkeys(pks)]


def resolve_user(actor: Actor, pk: int | None, field: str) -> User | None:
    if pk is None:
        return None
    user = User.objects.filter(company_id=actor.company_id, is_active=True, pk=pk).first()
    if user is None:
        raise unknown(field)
    return user


def resolve_users(actor: Actor, pks: list[int], field: str) -> list[User]:
    users = User.objects.filter(company_id=actor.company_id, is_active=True).in_bulk(list(dict.fromkeys(pks)))
    if len(users) != len(set(pks)):
        raise unknown(field)
    return [users[pk] for pk in dict.fromkeys(pks)]


def check_unit_reachable(actor: Actor, unit: OrgUnit) -> None:
    """A case may be put only in a unit whose cases the actor sees (tenancy.permissions.can_place_case, which the actions check too)."""
    if not can_place_case(actor, unit.pk):
        raise PermissionDenied(_("You cannot put a case in this unit."))


# ---------------------------------------------------------------------------------------------
# Stale updates: ETag / If-Match or the `updated_at` the client read


def optional_read_version(request: HttpRequest, updated_at: datetime.datetime | None) -> ReadVersion | None:
    """The version the change is based on when the caller sent one (adding to an object: no check without it)."""
    if request.headers.get("If-Match") or updated_at is not None:
        return read_version_of(request, updated_at)
    return None


def read_version_of(request: HttpRequest, updated_at: datetime.datetime | None) -> ReadVersion | None:
    """The version the change is based on: If-Match (`*` skips the check) or the `updated_at` the client read.

    Refuses (428) a change that says nothing about its read. The comparison is the actions' (409).
    """
    if_match = request.headers.get("If-Match")
    if if_match:
        tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
        return None if "*" in tags else ReadVersion(etags=frozenset(tags))
    if updated_at is None:
        raise PreconditionRequired(
            "precondition_required", _("Send the If-Match header (the ETag you read) or the updated_at you read."))
    return ReadVersion(updated_at=updated_at)


# ---------------------------------------------------------------------------------------------
# Cases


def case_out(case: Case, tag_ids: list[int], sub_assignee_ids: list[int]) -> dict:
    return {
        **{name: getattr(case, name) for name in (
            "kind", "status", "sub_status_id", "rank_id", "owning_org_id", "main_assignee_id", "project_id", "origin",
            "started_on", "first_inquiry_date", "first_inquiry_source", "first_inquiry_listing_ref", "first_inquiry_listing_name",
            "auto_intro_mail", "other_info", "needs_review", "review_messages", "reviewed_at", "reviewed_by_id", "review_note",
            "custom_values", "next_action_at", "next_action", "last_contact_at", "created_at", "updated_at", "deleted_at", "number")},
        "id": case.pk,
        "customer": {"id": case.customer.pk, "name": case.customer.name, "kana": case.customer.kana},
        "tag_ids": tag_ids,
        "sub_assignee_ids": sub_assignee_ids,
    }


def case_detail(actor: Actor, case: Case) -> dict:
    tag_ids = list(CaseTag.objects.for_company(actor.company_id).filter(case=case).order_by("position").values_list("tag_id", flat=True))
    sub_ids = list(CaseAssignee.objects.for_company(actor.company_id).filter(case=case).order_by("position").values_list("user_id", flat=True))
    return case_out(case, tag_ids, sub_ids)


def reload_case(actor: Actor, case_id: int) -> Case:
    return access_case(actor, case_id, include_trashed=True)


def with_etag(response: HttpResponse, case: Case) -> None:
    response["ETag"] = etag_of(case)


class CaseListQuery(Schema):
    """The case list's filters (the same as the page's); unknown values are a 422 on that field."""

    view: str = Field("", description="all | mine | duplicates | unsubscribed | trash")
    follow_up: str = Field("", description="today (next action due today, the company's day) | overdue (next action before now) | "
                                           "new_inquiries (未対応の新規反響: origin inquiry or line, status 新規, never contacted) | "
                                           "new_uncontacted (status 新規, never contacted)")
    q: str = Field("", description="The company's case number (#123 or 123), a name or reading prefix, a phone number in any format, or an e-mail address")
    status: list[str] = Field(default_factory=list)
    sub_status: str = ""
    rank: str = ""
    tag: str = ""
    kind: str = ""
    org: str = Field("", description="Owning unit id")
    assignee: str = Field("", description="Main assignee id")
    origin: str = ""
    started_from: str = Field("", description="YYYY-MM-DD")
    started_to: str = Field("", description="YYYY-MM-DD")
    project: str = Field("", description="Project id")
    run: str = Field("", description="Lead import (run) id: the cases that import created")
    needs_review: str = Field("", description="1: only cases flagged 要確認 (needs review)")
    sort: str = Field("", description="-updated (default) | updated | -created | created | next_action (cases with one, soonest first)")
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


@router.get("/cases", response=schemas.CasePage)
def list_cases(request, query: Query[CaseListQuery]):
    """Cases the caller sees, filtered, one keyset page at a time (follow `next_cursor`)."""
    actor = acting(request)
    filters = CaseFilters.from_query(request.GET)
    if filters.errors:
        raise InvalidInput("invalid", _("The request is not valid."),
                           fields={name: [str(message)] for name, message in filters.errors.items()})
    cases = filter_cases(actor=actor, filters=filters).select_related("customer").prefetch_related(
        Prefetch("tag_links", queryset=CaseTag.objects.for_company(actor.company_id).order_by("position")),
        Prefetch("assignee_links", queryset=CaseAssignee.objects.for_company(actor.company_id).order_by("position")),
    )
    if query.cursor and decode_cursor(query.cursor, filters.sort) is None:
        raise invalid_cursor()
    page = paginate_cases(cases, sort=filters.sort, cursor=query.cursor, size=query.limit)
    return {
        "items": [case_out(case, [link.tag_id for link in case.tag_links.all()], [link.user_id for link in case.assignee_links.all()])
                  for case in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("/cases", response={201: schemas.CaseOut})
def create_case(request, payload: schemas.CaseCreateIn, response: HttpResponse):
    """Create a case (manual origin) of an existing customer or of a new one given inline."""
    actor = acting(request)
    if (payload.customer_id is None) == (payload.customer is None):
        raise InvalidInput("invalid", _("The request is not valid."),
                           fields={"customer": [_("Give either customer_id or customer.")]})
    unit = resolve(OrgUnit, actor, payload.owning_org_id or actor.primary_unit_id, "owning_org_id")
    if unit is None:
        raise unknown("owning_org_id", _("This field is required."))
    check_unit_reachable(actor, unit)
    main_assignee = resolve_user(actor, payload.main_assignee_id, "main_assignee_id") if payload.main_assignee_id else actor.user
    data = actions.CaseInput(
        kind=plain(payload.kind), owning_org=unit, status=plain(payload.status),
        sub_status=resolve(SubStatus, actor, payload.sub_status_id, "sub_status_id"),
        rank=resolve(Rank, actor, payload.rank_id, "rank_id"),
        main_assignee=main_assignee,
        sub_assignees=resolve_users(actor, payload.sub_assignee_ids, "sub_assignee_ids"),
        tags=resolve_many(Tag, actor, payload.tag_ids, "tag_ids"),
        project=resolve(Project, actor, payload.project_id, "project_id"),
        started_on=payload.started_on, first_inquiry_date=payload.first_inquiry_date,
        first_inquiry_source=payload.first_inquiry_source, first_inquiry_listing_ref=payload.first_inquiry_listing_ref,
        first_inquiry_listing_name=payload.first_inquiry_listing_name, auto_intro_mail=payload.auto_intro_mail,
        other_info=payload.other_info, custom_values=payload.custom_values,
    )
    with transaction.atomic():
        if payload.customer_id is not None:
            try:
                customer = access_customer(actor, payload.customer_id)
            except NotFound:
                raise unknown("customer_id") from None
        else:
            customer = actions.do_create_customer(company=actor.company, data=customer_input(payload.customer), acting_user=actor.user,
                                                   refuse_invalid_points=True)
        case = actions.do_create_case(customer=customer, data=data, acting_user=actor.user)
        if payload.desired is not None:
            actions.do_update_desired_conditions(case=case, changes=desired_changes(payload.desired), acting_user=actor.user)
    case = reload_case(actor, case.pk)
    with_etag(response, case)
    return Status(201, case_detail(actor, case))


@router.get("/cases/{case_id}", response=schemas.CaseOut)
def get_case(request, case_id: PathId, response: HttpResponse):
    """One case (also when it is in the trash). The ETag header is what If-Match takes on update."""
    actor = acting(request)
    case = reload_case(actor, case_id)
    with_etag(response, case)
    return case_detail(actor, case)


CASE_REFERENCES = {"sub_status_id": SubStatus, "rank_id": Rank, "owning_org_id": OrgUnit}
CASE_REQUIRED = ("kind", "status", "owning_org_id", "auto_intro_mail", "custom_values")
CASE_TEXT = ("first_inquiry_source", "first_inquiry_listing_ref", "first_inquiry_listing_name", "other_info", "next_action")


@router.patch("/cases/{case_id}", response=schemas.CaseOut)
def update_case(request, case_id: PathId, payload: schemas.CaseUpdateIn, response: HttpResponse):
    """Change the fields sent. Refused with 409 when the case changed since the caller read it."""
    actor = acting(request)
    sent = payload.model_dump(exclude_unset=True)
    for name in CASE_REQUIRED:
        if name in sent and sent[name] is None:
            raise unknown(name, _("This field is required."))
    sent.update({name: "" for name in CASE_TEXT if name in sent and sent[name] is None})
    with transaction.atomic():
        case = access_case(actor, case_id, for_write=True, include_trashed=True)
        read_version = read_version_of(request, payload.updated_at)
        if case.is_trashed:
            raise ApplicationError(error_codes.IN_TRASH, _("The case is in the trash; restore it first."))
        changes = {}
        for name, value in sent.items():
            if name in ("updated_at", "tag_ids", "sub_assignee_ids"):
                continue
            if name in CASE_REFERENCES:
                changes[name.removesuffix("_id")] = resolve(CASE_REFERENCES[name], actor, value, name)
            elif name == "main_assignee_id":
                changes["main_assignee"] = resolve_user(actor, value, name)
            else:
                changes[name] = plain(value)
        if "owning_org" in changes:
            check_unit_reachable(actor, changes["owning_org"])
        actions.do_update_case(case=case, changes=changes, acting_user=actor.user, read_version=read_version)
        if "tag_ids" in sent:
            actions.do_set_case_tags(case=case, tags=resolve_many(Tag, actor, sent["tag_ids"] or [], "tag_ids"), acting_user=actor.user)
        if "sub_assignee_ids" in sent:
            case.refresh_from_db(fields=["main_assignee"])
            actions.do_set_case_sub_assignees(
                case=case, users=resolve_users(actor, sent["sub_assignee_ids"] or [], "sub_assignee_ids"), acting_user=actor.user)
    case = reload_case(actor, case_id)
    with_etag(response, case)
    return case_detail(actor, case)


def admin_case(actor: Actor, case_id: int) -> Case:
    case = access_case(actor, case_id, include_trashed=True)
    require(actor, "case_trash", unit_id=case.owning_org_id)
    return case


@router.post("/cases/{case_id}/trash", response=schemas.CaseOut)
def trash_case(request, case_id: PathId):
    """Move the case to the trash (administrators of its unit). Trashing a trashed case changes nothing."""
    actor = acting(request)
    case = admin_case(actor, case_id)
    with transaction.atomic():
        actions.do_trash_case(case=case, acting_user=actor.user)
    return case_detail(actor, reload_case(actor, case_id))


@router.post("/cases/{case_id}/restore", response=schemas.CaseOut)
def restore_case(request, case_id: PathId):
    """Take the case out of the trash (administrators of its unit); 400 not_in_trash otherwise."""
    actor = acting(request)
    case = admin_case(actor, case_id)
    with transaction.atomic():
        actions.do_restore_case(case=case, acting_user=actor.user)
    return case_detail(actor, reload_case(actor, case_id))


# ---------------------------------------------------------------------------------------------
# Desired conditions


def desired_changes(payload: schemas.DesiredConditionsIn) -> dict:
    changes = {name: plain(value) for name, value in payload.model_dump().items()}
    changes["move_in"] = changes["move_in"] or ""
    return changes


def desired_of(case: Case) -> DesiredConditions:
    desired = DesiredConditions.objects.for_company(case.company_id).filter(case=case).first()
    return desired or DesiredConditions(company_id=case.company_id, case=case)


@router.get("/cases/{case_id}/desired-conditions", response=schemas.DesiredConditionsOut)
def get_desired_conditions(request, case_id: PathId):
    actor = acting(request)
    return desired_of(access_case(actor, case_id, include_trashed=True))


@router.put("/cases/{case_id}/desired-conditions", response=schemas.DesiredConditionsOut)
def put_desired_conditions(request, case_id: PathId, payload: schemas.DesiredConditionsIn):
    """Replace the desired conditions. With If-Match (the case's ETag), refused with 409 when the case changed."""
    actor = acting(request)
    with transaction.atomic():
        case = access_case(actor, case_id, for_write=True)
        read_version = read_version_of(request, None) if request.headers.get("If-Match") else None
        actions.do_update_desired_conditions(case=case, changes=desired_changes(payload), acting_user=actor.user,
                                             read_version=read_version)
    return desired_of(case)


# ---------------------------------------------------------------------------------------------
# Activities and visit appointments


class ActivityListQuery(Schema):
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


@router.get("/cases/{case_id}/activities", response=schemas.ActivityPage)
def list_activities(request, case_id: PathId, query: Query[ActivityListQuery]):
    """The case's timeline, newest first."""
    actor = acting(request)
    case = access_case(actor, case_id, include_trashed=True)
    page = keyset_page(Activity.objects.for_company(actor.company_id).filter(case=case),
                       order=("-occurred_at", "-pk"), cursor=query.cursor, limit=query.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/cases/{case_id}/activities", response={201: schemas.ActivityOut}, openapi_extra={"responses": {
    "428": {"description": "A next action without If-Match and without updated_at (as on PATCH)."}}})
def add_activity(request, case_id: PathId, payload: schemas.ActivityIn):
    """Log a call, e-mail, visit, showing, LINE message or note; `visit_appointment` books a visit."""
    actor = acting(request)
    if payload.kind in SYSTEM_KINDS:
        raise unknown("kind", _("System events are written by the system."))
    with transaction.atomic():
        case = access_case(actor, case_id, for_write=True)
        if payload.kind == ActivityKind.VISIT_APPOINTMENT:
            if payload.occurred_at is None:
                raise unknown("occurred_at", _("Give the date and time of the visit."))
            activity = actions.do_book_visit(
                actor=actor, case=case, visit_at=payload.occurred_at,
                org_unit=resolve(OrgUnit, actor, payload.org_unit_id, "org_unit_id"), subject=payload.subject, body=payload.body)
        else:
            sets_next_action = "next_action_at" in payload.model_fields_set or "next_action" in payload.model_fields_set
            activity = actions.do_log_activity(
                actor=actor, case=case, kind=plain(payload.kind), occurred_at=payload.occurred_at, subject=payload.subject,
                body=payload.body, direction=plain(payload.direction) or "",
                next_action=(payload.next_action_at, payload.next_action or "") if sets_next_action else None,
                read_version=read_version_of(request, payload.updated_at) if sets_next_action else None)
    return Status(201, activity)


@router.post("/activities/{activity_id}/complete", response=schemas.ActivityOut)
def complete_visit(request, activity_id: PathId):
    """Mark an open visit appointment done (completing a done one changes nothing)."""
    actor = acting(request)
    activity = (
        Activity.objects.for_company(actor.company_id)
        .filter(pk=activity_id, case__in=visible_cases(actor=actor).values("pk")).first()
    )
    if activity is None:
        raise NotFound()
    with transaction.atomic():
        actions.do_complete_visit(actor=actor, activity=activity)
    activity.refresh_from_db()
    return activity


MAX_VISIT_RANGE = datetime.timedelta(days=62)


class VisitListQuery(Schema):
    start: ApiDateTime | None = Field(None, description="From (included); default: this week's Monday 00:00 (TIME_ZONE)")
    end: ApiDateTime | None = Field(None, description="Up to (excluded), at most 62 days after start; default: a week after start")
    unit_id: int | None = Field(None, description="Visits held by this unit or below it (a unit whose calendar the caller may open)")
    staff_id: int | None = Field(None, description="Visits booked by this user")


@router.get("/visits", response=list[schemas.VisitOut])
def list_visits(request, query: Query[VisitListQuery]):
    """Visit appointments (open and done) in a time range, soonest first: the calendar's data."""
    actor = acting(request)
    _monday, week_start, _week_end = week_of(timezone.localdate())
    start = query.start or week_start
    end = query.end or start + datetime.timedelta(days=7)
    if not start < end <= start + MAX_VISIT_RANGE:
        raise unknown("end", _("The end must be after the start, at most 62 days."))
    if query.unit_id is not None and query.unit_id not in calendar_unit_ids(actor):
        raise unknown("unit_id")
    return visits_between(actor=actor, start=start, end=end, unit_id=query.unit_id, staff_id=query.staff_id)


@router.patch("/visits/{activity_id}", response=schemas.VisitOut)
def move_visit(request, activity_id: PathId, payload: schemas.VisitMoveIn):
    """Move an open visit to another time (and holding unit). 409 when it changed since it was read."""
    actor = acting(request)
    read_version = read_version_of(request, payload.updated_at)
    with transaction.atomic():
        visit = access_visit(actor, activity_id)
        actions.do_move_visit(actor=actor, activity=visit, visit_at=payload.visit_at,
                              org_unit=resolve(OrgUnit, actor, payload.org_unit_id, "org_unit_id"), read_version=read_version)
    return access_visit(actor, activity_id)


@router.delete("/visits/{activity_id}", response={204: None})
def cancel_visit(request, activity_id: PathId):
    """Cancel an open visit (it is removed; the audit keeps it). With If-Match, 409 when it changed since it was read."""
    actor = acting(request)
    read_version = read_version_of(request, None) if request.headers.get("If-Match") else None
    with transaction.atomic():
        visit = access_visit(actor, activity_id)
        actions.do_cancel_visit(actor=actor, activity=visit, read_version=read_version)
    return Status(204, None)


# ---------------------------------------------------------------------------------------------
# Customers and contacts


def customer_input(payload: schemas.CustomerIn) -> actions.CustomerInput:
    contacts = [
        actions.ContactInput(
            name=contact.name, kana=contact.kana, emails=list(contact.emails),
            phones=[(ContactPointKind.PHONE, raw) for raw in contact.phones] + [(ContactPointKind.MOBILE, raw) for raw in contact.mobiles],
        )
        for contact in payload.contacts
    ]
    values = payload.model_dump(exclude={"contacts"})
    values = {name: plain(value) for name, value in values.items()}
    values["gender"] = values["gender"] or ""
    return actions.CustomerInput(**values, contacts=contacts)


def customer_detail(actor: Actor, customer: Customer) -> dict:
    out = {field.attname: getattr(customer, field.attname) for field in Customer._meta.concrete_fields}
    out["id"] = customer.pk
    out["contacts"] = contacts_of(actor, customer)
    out["case_ids"] = list(visible_cases(actor=actor, include_trashed=True).filter(customer=customer).order_by("pk").values_list("pk", flat=True))
    return out


def contacts_of(actor: Actor, customer: Customer) -> list:
    contacts = Contact.objects.for_company(actor.company_id).filter(customer=customer).order_by("position", "pk").prefetch_related(
        Prefetch("points", queryset=ContactPoint.objects.for_company(actor.company_id).order_by("position", "pk")))
    return [{"id": contact.pk, "name": contact.name, "kana": contact.kana, "points": list(contact.points.all())} for contact in contacts]


class CustomerListQuery(Schema):
    q: str = Field("", description="Name contains")
    trashed: bool = False
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


@router.get("/customers", response=schemas.CustomerPage)
def list_customers(request, query: Query[CustomerListQuery]):
    """Customers with a case the caller sees (company admins: every customer), newest first."""
    actor = acting(request)
    customers = visible_customers(actor=actor, include_trashed=query.trashed)
    if query.trashed:
        customers = customers.filter(deleted_at__isnull=False, merged_into__isnull=True)
    if query.q.strip():
        customers = customers.filter(name__contains=query.q.strip())
    page = keyset_page(customers, order=("-pk",), cursor=query.cursor, limit=query.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("/customers", response={201: schemas.CustomerDetailOut})
def create_customer(request, payload: schemas.CustomerIn):
    """A customer without a case (company administrators; others create customers with their case)."""
    actor = acting(request)
    require(actor, "customers_manage")
    with transaction.atomic():
        customer = actions.do_create_customer(company=actor.company, data=customer_input(payload), acting_user=actor.user,
                                               refuse_invalid_points=True)
    return Status(201, customer_detail(actor, customer))


@router.get("/customers/{customer_id}", response=schemas.CustomerDetailOut)
def get_customer(request, customer_id: PathId, response: HttpResponse):
    actor = acting(request)
    customer = access_customer(actor, customer_id, include_trashed=True)
    response["ETag"] = etag_of(customer)
    return customer_detail(actor, customer)


@router.patch("/customers/{customer_id}", response=schemas.CustomerDetailOut)
def update_customer(request, customer_id: PathId, payload: schemas.CustomerUpdateIn, response: HttpResponse):
    """Change the fields sent (every linked case shows the change). 409 when it changed since it was read."""
    actor = acting(request)
    changes = {name: plain(value) for name, value in payload.model_dump(exclude_unset=True).items() if name != "updated_at"}
    if "gender" in changes:
        changes["gender"] = changes["gender"] or ""
    for name in ("kind", "name", "is_unsubscribed"):
        if name in changes and changes[name] is None:
            raise unknown(name, _("This field is required."))
    for name in ("kana", "postal_code", "prefecture", "city", "street", "building", "employer", "homepage"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    with transaction.atomic():
        customer = access_customer(actor, customer_id, include_trashed=True)
        read_version = read_version_of(request, payload.updated_at)
        actions.do_update_customer(customer=customer, changes=changes, acting_user=actor.user, read_version=read_version)
    customer = access_customer(actor, customer_id, include_trashed=True)
    response["ETag"] = etag_of(customer)
    return customer_detail(actor, customer)


@router.post("/customers/{customer_id}/trash", response=schemas.CustomerDetailOut)
def trash_customer(request, customer_id: PathId):
    """Move the customer and all its cases to the trash (company administrators)."""
    actor = acting(request)
    customer = access_customer(actor, customer_id, include_trashed=True)
    require(actor, "customers_manage")
    with transaction.atomic():
        actions.do_trash_customer(customer=customer, acting_user=actor.user)
    return customer_detail(actor, access_customer(actor, customer_id, include_trashed=True))


@router.post("/customers/{customer_id}/restore", response=schemas.CustomerDetailOut)
def restore_customer(request, customer_id: PathId):
    """Take the customer out of the trash with the cases that went there with it (company administrators)."""
    actor = acting(request)
    customer = access_customer(actor, customer_id, include_trashed=True)
    require(actor, "customers_manage")
    with transaction.atomic():
        actions.do_restore_customer(customer=customer, acting_user=actor.user)
    return customer_detail(actor, access_customer(actor, customer_id, include_trashed=True))


@router.get("/customers/{customer_id}/contacts", response=list[schemas.ContactOut])
def list_contacts(request, customer_id: PathId):
    """The customer's contacts with their phones and e-mails (raw as typed, and normalized)."""
    actor = acting(request)
    return contacts_of(actor, access_customer(actor, customer_id, include_trashed=True))


def contact_edit(payload: schemas.ContactEditIn) -> actions.ContactEdit:
    return actions.ContactEdit(name=payload.name, kana=payload.kana, points=[
        actions.ContactPointEdit(kind=plain(point.kind), raw=point.raw, pk=point.id) for point in payload.points])


def contact_out(actor: Actor, customer: Customer, contact_id: int) -> dict:
    return next(contact for contact in contacts_of(actor, customer) if contact["id"] == contact_id)


def customer_contact(actor: Actor, customer: Customer, contact_id: int) -> Contact:
    try:
        return Contact.objects.for_company(actor.company_id).get(pk=contact_id, customer=customer)
    except Contact.DoesNotExist:
        raise NotFound() from None


@router.post("/customers/{customer_id}/contacts", response={201: schemas.ContactOut})
def add_contact(request, customer_id: PathId, payload: schemas.ContactEditIn, response: HttpResponse):
    """Add a contact person with phones and e-mails (normalized; an invalid one is a 400 `contact_point_invalid`,
    `fields` naming `points-<index>`). With `updated_at` or If-Match: 409 when the customer changed since."""
    actor = acting(request)
    with transaction.atomic():
        customer = access_customer(actor, customer_id, include_trashed=False)
        read_version = optional_read_version(request, payload.updated_at)
        contact = actions.do_save_contact(customer=customer, contact=None, data=contact_edit(payload), acting_user=actor.user,
                                          read_version=read_version)
    customer = access_customer(actor, customer_id)
    response["ETag"] = etag_of(customer)
    return Status(201, contact_out(actor, customer, contact.pk))


@router.put("/customers/{customer_id}/contacts/{contact_id}", response=schemas.ContactOut)
def update_contact(request, customer_id: PathId, contact_id: PathId, payload: schemas.ContactEditIn, response: HttpResponse):
    """Make the contact what the body says: points with an `id` are kept (changed when their kind or text
    changed), points without one are added, the others removed. Same refusals as adding."""
    actor = acting(request)
    with transaction.atomic():
        customer = access_customer(actor, customer_id, include_trashed=False)
        contact = customer_contact(actor, customer, contact_id)
        read_version = read_version_of(request, payload.updated_at)
        actions.do_save_contact(customer=customer, contact=contact, data=contact_edit(payload), acting_user=actor.user,
                                read_version=read_version)
    customer = access_customer(actor, customer_id)
    response["ETag"] = etag_of(customer)
    return contact_out(actor, customer, contact.pk)


class ContactRemoveQuery(Schema):
    updated_at: ApiDateTime | None = Field(None, description="The customer's `updated_at` you read (or send If-Match)")


@router.delete("/customers/{customer_id}/contacts/{contact_id}", response={204: None})
def remove_contact(request, customer_id: PathId, contact_id: PathId, query: Query[ContactRemoveQuery]):
    """Remove a contact with its phones and e-mails; the customer's last contact is refused (400 `last_contact`)."""
    actor = acting(request)
    with transaction.atomic():
        customer = access_customer(actor, customer_id, include_trashed=False)
        contact = customer_contact(actor, customer, contact_id)
        read_version = read_version_of(request, query.updated_at)
        actions.do_remove_contact(customer=customer, contact=contact, acting_user=actor.user, read_version=read_version)
    return Status(204, None)


@router.post("/cases/{case_id}/review", response=schemas.CaseOut)
def mark_case_reviewed(request, case_id: PathId, payload: schemas.ReviewIn, response: HttpResponse):
    """Mark a 要確認 case 確認済み with a note (whoever may edit the case); 400 `not_waiting_for_review`
    when it is not flagged. The review messages stay; who, when and the note are on the case."""
    actor = acting(request)
    with transaction.atomic():
        case = access_case(actor, case_id, for_write=True)
        read_version = optional_read_version(request, payload.updated_at)
        actions.do_mark_case_reviewed(case=case, note=payload.note, acting_user=actor.user, read_version=read_version)
    case = reload_case(actor, case_id)
    with_etag(response, case)
    return case_detail(actor, case)


# ---------------------------------------------------------------------------------------------
# Masters: everyone reads them; company administrators add them


@router.get("/ranks", response=list[schemas.RankOut], tags=["masters"])
def list_ranks(request):
    return list(Rank.objects.for_company(acting(request).company_id).order_by("position", "pk"))


@router.post("/ranks", response={200: schemas.RankOut, 201: schemas.RankOut}, tags=["masters"])
def add_rank(request, payload: schemas.NamedMasterIn):
    """Add a rank (201), or answer the existing one of that name (200)."""
    actor = acting(request)
    require(actor, "masters_edit")
    with transaction.atomic():
        rank, created = actions.do_upsert_rank(company=actor.company, name=payload.name.strip(), position=payload.position,
                                               acting_user=actor.user)
    return Status(201 if created else 200, rank)


@router.get("/sub-statuses", response=list[schemas.SubStatusOut], tags=["masters"])
def list_sub_statuses(request):
    return list(SubStatus.objects.for_company(acting(request).company_id).order_by("status", "position", "pk"))


@router.post("/sub-statuses", response={200: schemas.SubStatusOut, 201: schemas.SubStatusOut}, tags=["masters"])
def add_sub_status(request, payload: schemas.SubStatusIn):
    actor = acting(request)
    require(actor, "masters_edit")
    with transaction.atomic():
        sub_status, created = actions.do_upsert_sub_status(
            company=actor.company, status=plain(payload.status), name=payload.name.strip(), position=payload.position,
            acting_user=actor.user)
    return Status(201 if created else 200, sub_status)


@router.get("/tags", response=list[schemas.TagOut], tags=["masters"])
def list_tags(request):
    return list(Tag.objects.for_company(acting(request).company_id).order_by("position", "pk"))


@router.post("/tags", response={200: schemas.TagOut, 201: schemas.TagOut}, tags=["masters"])
def add_tag(request, payload: schemas.TagIn):
    actor = acting(request)
    require(actor, "masters_edit")
    with transaction.atomic():
        tag, created = actions.do_upsert_tag(company=actor.company, name=payload.name.strip(), position=payload.position,
                                             acting_user=actor.user)
    return Status(201 if created else 200, tag)


@router.get("/custom-fields", response=list[schemas.CustomFieldOut], tags=["masters"])
def list_custom_fields(request):
    return list(CustomField.objects.for_company(acting(request).company_id).order_by("position", "pk"))


@router.post("/custom-fields", response={200: schemas.CustomFieldOut, 201: schemas.CustomFieldOut}, tags=["masters"])
def put_custom_field(request, payload: schemas.CustomFieldIn):
    """Add a custom field (201) or update the definition of the one with that name (200)."""
    actor = acting(request)
    require(actor, "masters_edit")
    existed = CustomField.objects.for_company(actor.company_id).filter(name=payload.name.strip()).exists()
    with transaction.atomic():
        custom_field, _changed = actions.do_upsert_custom_field(
            company=actor.company, name=payload.name.strip(), field_type=plain(payload.field_type), choices=payload.choices,
            is_required=payload.is_required, position=payload.position, acting_user=actor.user)
    return Status(200 if existed else 201, custom_field)


def project_out(actor: Actor, project: Project) -> dict:
    field_ids = list(ProjectField.objects.for_company(actor.company_id).filter(project=project).order_by("position", "pk")
                     .values_list("custom_field_id", flat=True))
    return {"id": project.pk, "name": project.name, "custom_field_ids": field_ids}


@router.get("/projects", response=list[schemas.ProjectOut], tags=["masters"])
def list_projects(request):
    actor = acting(request)
    links: dict[int, list[int]] = {}
    for project_id, field_id in ProjectField.objects.for_company(actor.company_id).order_by("position", "pk").values_list(
            "project_id", "custom_field_id"):
        links.setdefault(project_id, []).append(field_id)
    return [{"id": project.pk, "name": project.name, "custom_field_ids": links.get(project.pk, [])}
            for project in Project.objects.for_company(actor.company_id).order_by("name", "pk")]


@router.post("/projects", response={200: schemas.ProjectOut, 201: schemas.ProjectOut}, tags=["masters"])
def put_project(request, payload: schemas.ProjectIn):
    """Add a project (201) or set the custom fields of the one with that name (200)."""
    actor = acting(request)
    require(actor, "masters_edit")
    fields = resolve_many(CustomField, actor, payload.custom_field_ids, "custom_field_ids")
    existed = Project.objects.for_company(actor.company_id).filter(name=payload.name.strip()).exists()
    with transaction.atomic():
        project, _changed = actions.do_upsert_project(company=actor.company, name=payload.name.strip(), custom_fields=fields,
                                                      acting_user=actor.user)
    return Status(200 if existed else 201, project_out(actor, project))
