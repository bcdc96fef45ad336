"""API shapes of listings and introductions (structure; the rules are the actions')."""

import datetime
from decimal import Decimal

from ninja import Field, Schema

from estatecrm.core.datetimes import ApiDateTime
from estatecrm.core.ids import BodyId
from estatecrm.crm.choices import (
    CaseKind,
    Feature,
    IntroductionMethod,
    IntroductionReaction,
    Layout,
    ListingStatus,
)
from estatecrm.crm.models import Listing
from estatecrm.crm.schemas import column_length


class StationIn(Schema):
    line: str = Field("", max_length=100)
    station: str = Field(..., min_length=1, max_length=100)
    walk_minutes: int | None = Field(None, ge=0, le=120)


class StationOut(Schema):
    line: str
    station: str
    walk_minutes: int | None


def text(name: str, default=""):
    return Field(default, max_length=column_length(Listing, name))


class ListingIn(Schema):
    """A new listing: rent (万円) for rent, price (万円) for sale; management fee in yen; deposit and key money in months."""

    ref: str = Field(..., min_length=1, max_length=column_length(Listing, "ref"))
    name: str = Field(..., min_length=1, max_length=column_length(Listing, "name"))
    kind: CaseKind
    status: ListingStatus = ListingStatus.AVAILABLE
    rent: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=1)
    management_fee: int | None = Field(None, ge=0, le=10_000_000)
    deposit_months: Decimal | None = Field(None, ge=0, max_digits=4, decimal_places=1)
    key_money_months: Decimal | None = Field(None, ge=0, max_digits=4, decimal_places=1)
    price: int | None = Field(None, ge=0, le=2_000_000_000)
    layout: Layout | None = None
    area: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    postal_code: str = text("postal_code")
    prefecture: str = text("prefecture")
    city: str = text("city")
    street: str = text("street")
    building: str = text("building")
    built_on: datetime.date | None = None
    features: list[Feature] = Field(default_factory=list)
    suumo_id: str = text("suumo_id")
    homes_id: str = text("homes_id")
    athome_id: str = text("athome_id")
    notes: str = Field("", max_length=10000)
    agent_id: BodyId | None = None
    stations: list[StationIn] = Field(default_factory=list, max_length=5)


class ListingUpdateIn(Schema):
    """The fields sent change; `stations` replaces them all. Send If-Match (the ETag read) or `updated_at`."""

    ref: str | None = Field(None, min_length=1, max_length=column_length(Listing, "ref"))
    name: str | None = Field(None, min_length=1, max_length=column_length(Listing, "name"))
    kind: CaseKind | None = None
    status: ListingStatus | None = None
    rent: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=1)
    management_fee: int | None = Field(None, ge=0, le=10_000_000)
    deposit_months: Decimal | None = Field(None, ge=0, max_digits=4, decimal_places=1)
    key_money_months: Decimal | None = Field(None, ge=0, max_digits=4, decimal_places=1)
    price: int | None = Field(None, ge=0, le=2_000_000_000)
    layout: Layout | None = None
    area: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    postal_code: str | None = text("postal_code", None)
    prefecture: str | None = text("prefecture", None)
    city: str | None = text("city", None)
    street: str | None = text("street", None)
    building: str | None = text("building", None)
    built_on: datetime.date | None = None
    features: list[Feature] | None = None
    suumo_id: str | None = text("suumo_id", None)
    homes_id: str | None = text("homes_id", None)
    athome_id: str | None = text("athome_id", None)
    notes: str | None = Field(None, max_length=10000)
    agent_id: BodyId | None = None
    stations: list[StationIn] | None = Field(None, max_length=5)
    updated_at: ApiDateTime | None = None


class ListingOut(Schema):
    id: int
    ref: str
    name: str
    kind: str
    status: str
    rent: Decimal | None
    management_fee: int | None
    deposit_months: Decimal | None
    key_money_months: Decimal | None
    price: int | None
    # The rent (monthly) or price exactly as a source stated it, in its currency (ISO 4217; "" when the listing
    # was entered here in 万円): a move-in from another vendor's CRM, e.g. a Polish office's PLN.
    currency: str
    amount: Decimal | None
    layout: str
    area: Decimal | None
    postal_code: str
    prefecture: str
    city: str
    street: str
    building: str
    built_on: datetime.date | None
    age_years: int | None
    features: list[str]
    suumo_id: str
    homes_id: str
    athome_id: str
    notes: str
    agent_id: int | None
    stations: list[StationOut]
    created_at: ApiDateTime
    updated_at: ApiDateTime


class ListingPage(Schema):
    items: list[ListingOut]
    next_cursor: str | None


class IntroduceIn(Schema):
    listing_ids: list[BodyId] = Field(..., max_length=50)
    method: IntroductionMethod
    introduced_on: datetime.date


class ReactionIn(Schema):
    reaction: IntroductionReaction | None = None
