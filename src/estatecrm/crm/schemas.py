"""Request and response shapes of the CRM API (structure only; business rules live in actions)."""

import datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints

from estatecrm.core.datetimes import ApiDateTime
from estatecrm.core.ids import BodyId
from estatecrm.crm.choices import (
    ActivityDirection,
    ActivityKind,
    BuildingAge,
    CaseKind,
    CaseStatus,
    ContactPointKind,
    CustomerKind,
    CustomFieldType,
    Feature,
    Gender,
    Layout,
    MoveIn,
    WalkMinutes,
)
from estatecrm.crm.models import (
    Activity,
    Case,
    Contact,
    ContactPoint,
    Customer,
    CustomField,
    Project,
    Rank,
    SubStatus,
    Tag,
)


def column_length(model, name: str) -> int:
    """The model column's max_length: the API refuses a longer value (422) instead of failing in the database."""
    return model._meta.get_field(name).max_length


# A phone or e-mail as typed (ContactPoint.raw).
RawContactPoint = Annotated[str, StringConstraints(max_length=column_length(ContactPoint, "raw"))]


class CustomerRef(Schema):
    id: int
    name: str
    kana: str


class CaseOut(Schema):
    id: int
    number: int = Field(..., description="The company's own case number (#), what people see and search; `id` is for URLs")
    customer: CustomerRef
    kind: str
    status: str
    sub_status_id: int | None
    rank_id: int | None
    owning_org_id: int
    main_assignee_id: int | None
    sub_assignee_ids: list[int]
    tag_ids: list[int]
    project_id: int | None
    origin: str
    started_on: datetime.date | None
    first_inquiry_date: datetime.date | None
    first_inquiry_source: str
    first_inquiry_listing_ref: str
    first_inquiry_listing_name: str
    auto_intro_mail: bool
    other_info: str
    needs_review: bool
    review_messages: list
    reviewed_at: datetime.datetime | None
    reviewed_by_id: int | None
    review_note: str
    custom_values: dict
    next_action_at: datetime.datetime | None = Field(description="次回対応: when the next follow-up is due")
    next_action: str = Field(description="次回対応: what to do then")
    last_contact_at: datetime.datetime | None = Field(
        description="The latest done contact activity (call, mail, visit, showing, LINE); kept by the system, read-only")
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class ContactIn(Schema):
    name: str = Field(..., min_length=1, max_length=column_length(Contact, "name"))
    kana: str = Field("", max_length=column_length(Contact, "kana"))
    phones: list[RawContactPoint] = Field(default_factory=list, max_length=10)
    mobiles: list[RawContactPoint] = Field(default_factory=list, max_length=10)
    emails: list[RawContactPoint] = Field(default_factory=list, max_length=10)


class CustomerIn(Schema):
    name: str = Field(..., min_length=1, max_length=column_length(Customer, "name"))
    kind: CustomerKind = CustomerKind.PERSON
    kana: str = Field("", max_length=column_length(Customer, "kana"))
    gender: Gender | None = None
    birth_date: datetime.date | None = None
    postal_code: str = Field("", max_length=10)
    prefecture: str = Field("", max_length=10)
    city: str = Field("", max_length=column_length(Customer, "city"))
    street: str = Field("", max_length=column_length(Customer, "street"))
    building: str = Field("", max_length=column_length(Customer, "building"))
    employer: str = Field("", max_length=column_length(Customer, "employer"))
    annual_income: int | None = Field(None, description="万円, 0 to 2147483647 (checked by the action, as on the page)")
    household_size: int | None = Field(None, description="1 to 99 (checked by the action, as on the page)")
    homepage: str = Field("", max_length=column_length(Customer, "homepage"))
    custom_values: dict = Field(default_factory=dict)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)


class CustomerUpdateIn(Schema):
    """Only the fields sent are changed."""

    updated_at: ApiDateTime | None = None
    kind: CustomerKind | None = None
    name: str | None = Field(None, min_length=1, max_length=column_length(Customer, "name"))
    kana: str | None = Field(None, max_length=column_length(Customer, "kana"))
    gender: Gender | None = None
    birth_date: datetime.date | None = None
    postal_code: str | None = Field(None, max_length=10)
    prefecture: str | None = Field(None, max_length=10)
    city: str | None = Field(None, max_length=column_length(Customer, "city"))
    street: str | None = Field(None, max_length=column_length(Customer, "street"))
    building: str | None = Field(None, max_length=column_length(Customer, "building"))
    employer: str | None = Field(None, max_length=column_length(Customer, "employer"))
    annual_income: int | None = Field(None, description="万円, 0 to 2147483647 (checked by the action, as on the page)")
    household_size: int | None = Field(None, description="1 to 99 (checked by the action, as on the page)")
    homepage: str | None = Field(None, max_length=column_length(Customer, "homepage"))
    is_unsubscribed: bool | None = None


class ContactPointOut(Schema):
    id: int
    kind: str
    raw: str = Field(..., description="As typed")
    e164: str = Field(..., description="Phones (phone, mobile, fax): E.164 (`+819012345678`); empty for e-mail or when invalid")
    normalized: str = Field(..., description="E.164 for phones, the lower-cased address for e-mail; empty when invalid")
    invalid_reason: str

    @staticmethod
    def resolve_e164(point) -> str:
        return "" if point.kind == "email" else point.normalized


class ContactPointIn(Schema):
    id: BodyId | None = Field(None, description="An existing point of this contact to keep or change; omit to add one")
    kind: ContactPointKind
    raw: RawContactPoint = Field(..., description="As typed; refused (400 `contact_point_invalid`) when it is no valid phone or e-mail")


class ContactEditIn(Schema):
    """The contact as it should be: points not listed are removed."""

    updated_at: ApiDateTime | None = Field(None, description="The customer's `updated_at` you read (or send If-Match with its ETag)")
    name: str = Field(..., min_length=1, max_length=column_length(Contact, "name"))
    kana: str = Field("", max_length=column_length(Contact, "kana"))
    points: list[ContactPointIn] = Field(default_factory=list, max_length=20)


class ReviewIn(Schema):
    updated_at: ApiDateTime | None = Field(None, description="The case's `updated_at` you read (or send If-Match with its ETag)")
    note: str = Field("", max_length=1000)


class ContactOut(Schema):
    id: int
    name: str
    kana: str
    points: list[ContactPointOut]


class CustomerOut(Schema):
    id: int
    kind: str
    name: str
    kana: str
    gender: str
    birth_date: datetime.date | None
    postal_code: str
    prefecture: str
    city: str
    street: str
    building: str
    employer: str
    annual_income: int | None
    household_size: int | None
    homepage: str
    is_unsubscribed: bool
    custom_values: dict
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None


class CustomerDetailOut(CustomerOut):
    contacts: list[ContactOut]
    case_ids: list[int]


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class DesiredConditionsIn(Schema):
    """The whole set (PUT): fields left out become empty."""

    rent_min: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=1)
    rent_max: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=1)
    includes_management_fee: bool | None = None
    price_min: int | None = Field(None, ge=0)
    price_max: int | None = Field(None, ge=0)
    layouts: list[Layout] = Field(default_factory=list)
    area_min: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    area_max: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    land_area_min: Decimal | None = Field(None, ge=0, max_digits=9, decimal_places=2)
    walk_minutes: WalkMinutes | None = None
    building_age: BuildingAge | None = None
    lines_stations: list[str] = Field(default_factory=list, max_length=50)
    areas: list[str] = Field(default_factory=list, max_length=50)
    move_in: MoveIn | None = None
    features: list[Feature] = Field(default_factory=list)
    management_comment: str = Field("", max_length=5000)


class DesiredConditionsOut(Schema):
    rent_min: Decimal | None
    rent_max: Decimal | None
    includes_management_fee: bool | None
    price_min: int | None
    price_max: int | None
    layouts: list[str]
    area_min: Decimal | None
    area_max: Decimal | None
    land_area_min: Decimal | None
    walk_minutes: int | None
    building_age: int | None
    lines_stations: list[str]
    areas: list[str]
    move_in: str
    features: list[str]
    management_comment: str


class CaseCreateIn(Schema):
    """A new case of an existing customer (`customer_id`) or of a new one (`customer`)."""

    customer_id: BodyId | None = None
    customer: CustomerIn | None = None
    kind: CaseKind = CaseKind.RENT
    owning_org_id: BodyId | None = None
    status: CaseStatus = CaseStatus.NEW
    sub_status_id: BodyId | None = None
    rank_id: BodyId | None = None
    main_assignee_id: BodyId | None = None
    sub_assignee_ids: list[BodyId] = Field(default_factory=list)
    tag_ids: list[BodyId] = Field(default_factory=list)
    project_id: BodyId | None = None
    started_on: datetime.date | None = None
    first_inquiry_date: datetime.date | None = None
    first_inquiry_source: str = Field("", max_length=column_length(Case, "first_inquiry_source"))
    first_inquiry_listing_ref: str = Field("", max_length=column_length(Case, "first_inquiry_listing_ref"))
    first_inquiry_listing_name: str = Field("", max_length=column_length(Case, "first_inquiry_listing_name"))
    auto_intro_mail: bool = False
    other_info: str = ""
    custom_values: dict = Field(default_factory=dict)
    desired: DesiredConditionsIn | None = None


class CaseUpdateIn(Schema):
    """Only the fields sent are changed. Send `updated_at` as read (or the ETag in If-Match)."""

    updated_at: ApiDateTime | None = None
    kind: CaseKind | None = None
    status: CaseStatus | None = None
    sub_status_id: BodyId | None = None
    rank_id: BodyId | None = None
    owning_org_id: BodyId | None = None
    main_assignee_id: BodyId | None = None
    sub_assignee_ids: list[BodyId] | None = None
    tag_ids: list[BodyId] | None = None
    started_on: datetime.date | None = None
    first_inquiry_date: datetime.date | None = None
    first_inquiry_source: str | None = Field(None, max_length=column_length(Case, "first_inquiry_source"))
    first_inquiry_listing_ref: str | None = Field(None, max_length=column_length(Case, "first_inquiry_listing_ref"))
    first_inquiry_listing_name: str | None = Field(None, max_length=column_length(Case, "first_inquiry_listing_name"))
    auto_intro_mail: bool | None = None
    other_info: str | None = None
    custom_values: dict | None = None
    next_action_at: ApiDateTime | None = Field(None, description="次回対応: when; null with an empty next_action clears it")
    next_action: str | None = Field(None, max_length=column_length(Case, "next_action"), description="次回対応: what to do")


class ActivityIn(Schema):
    kind: ActivityKind
    direction: ActivityDirection | None = Field(None, description="outbound | inbound; e-mails take theirs from the kind, notes have none")
    occurred_at: ApiDateTime | None = Field(None, description="When it happened; for a visit appointment, when the visit is.")
    subject: str = Field("", max_length=column_length(Activity, "subject"))
    body: str = Field("", max_length=20000)
    org_unit_id: BodyId | None = Field(None, description="Visit appointments: the holding unit (default: the case's unit).")
    next_action_at: ApiDateTime | None = Field(
        None, description="次回対応を設定: the case's next action with this activity (with If-Match or updated_at, as on update)")
    next_action: str | None = Field(None, max_length=column_length(Case, "next_action"))
    updated_at: ApiDateTime | None = Field(None, description="The case's updated_at as read, when setting the next action")


class ActivityOut(Schema):
    id: int
    case_id: int
    kind: str
    direction: str
    occurred_at: datetime.datetime
    actor_id: int | None
    subject: str
    body: str
    is_done: bool
    org_unit_id: int | None
    is_migrated: bool
    created_at: datetime.datetime


class VisitOut(ActivityOut):
    """A visit appointment on the calendar; `updated_at` is the version a move or a cancel sends back."""

    updated_at: datetime.datetime
    customer_name: str

    @staticmethod
    def resolve_customer_name(obj) -> str:
        return obj.case.customer.name


class VisitMoveIn(Schema):
    visit_at: ApiDateTime
    org_unit_id: BodyId | None = Field(None, description="The new holding unit (default: unchanged).")
    updated_at: ApiDateTime | None = Field(None, description="The visit's updated_at as read (or send If-Match).")


class ActivityPage(Schema):
    items: list[ActivityOut]
    next_cursor: str | None


class IntroductionOut(Schema):
    id: int
    listing_id: int | None
    listing_ref: str
    listing_name: str
    rent_or_price: Decimal | None
    layout: str
    introduced_on: datetime.date | None
    method: str
    reaction: str


class RankOut(Schema):
    id: int
    name: str
    position: int


class SubStatusOut(Schema):
    id: int
    status: str
    name: str
    position: int


class TagOut(Schema):
    id: int
    name: str
    position: int


class CustomFieldOut(Schema):
    id: int
    name: str
    field_type: str
    choices: list[str]
    is_required: bool
    position: int


class ProjectOut(Schema):
    id: int
    name: str
    custom_field_ids: list[int]


class NamedMasterIn(Schema):
    name: str = Field(..., min_length=1, max_length=column_length(Rank, "name"))
    position: int = Field(0, ge=0)


class TagIn(Schema):
    name: str = Field(..., min_length=1, max_length=column_length(Tag, "name"))
    position: int = Field(0, ge=0)


class SubStatusIn(Schema):
    status: CaseStatus
    name: str = Field(..., min_length=1, max_length=column_length(SubStatus, "name"))
    position: int = Field(0, ge=0)


class CustomFieldIn(Schema):
    name: str = Field(..., min_length=1, max_length=column_length(CustomField, "name"))
    field_type: CustomFieldType = CustomFieldType.TEXT
    choices: list[str] = Field(default_factory=list, max_length=200)
    is_required: bool = False
    position: int = Field(0, ge=0)


class ProjectIn(Schema):
    name: str = Field(..., min_length=1, max_length=column_length(Project, "name"))
    custom_field_ids: list[BodyId] = Field(default_factory=list)

