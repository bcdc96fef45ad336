"""The listings API: list (the page's filters), read, create, change; a case's matching listings and introducing
them. Every handler applies the rule `listings` (tenancy/permissions.py), as the pages do."""

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from estatecrm.core.errors import NotFound
from estatecrm.core.ids import PathId
from estatecrm.core.pagination import keyset_page
from estatecrm.core.versions import etag_of
from estatecrm.crm.api import read_version_of, resolve_user, unknown
from estatecrm.crm.models import Introduction, Listing, ListingStation
from estatecrm.crm.schemas import IntroductionOut
from estatecrm.crm.selectors import access_case
from estatecrm.listings import actions, schemas, selectors
from estatecrm.listings.filtersets import ListingFilters, filter_listings
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor, actor_for

router = Router(tags=["listings"])


def acting(request: HttpRequest) -> Actor:
    actor = actor_for(request.auth)
    require(actor, "listings")
    return actor


def listing_out(listings: list[Listing], actor: Actor) -> list[dict]:
    """Listings with their stations (one query for the page)."""
    stations: dict[int, list] = {}
    for row in ListingStation.objects.for_company(actor.company_id).filter(listing__in=listings).order_by("position", "pk"):
        stations.setdefault(row.listing_id, []).append(row)
    return [{**{field.attname: getattr(listing, field.attname) for field in Listing._meta.concrete_fields},
             "id": listing.pk, "features": listing.features, "age_years": listing.age_years, "stations": stations.get(listing.pk, [])}
            for listing in listings]


class ListingListQuery(Schema):
    """The list page's filters."""

    q: str = Field("", description="Name, listing number or address contains")
    kind: str = Field("", description="rent | buy")
    status: list[str] = Field(default_factory=list, description="available | applied | contracted | hidden")
    min: str = Field("", description="Rent (rent listings) or price (sale listings) from, in 10,000 yen")
    max: str = Field("", description="Rent or price up to, in 10,000 yen")
    layout: list[str] = Field(default_factory=list)
    area: str = Field("", description="Address starts with (e.g. 東京都渋谷区, 渋谷区)")
    station: str = ""
    cursor: str = ""
    limit: int = Field(50, ge=1, le=200)


class ParsedQuery(dict):
    """The parsed API query read like a page's QueryDict, so that one `ListingFilters.from_query` serves both."""

    def getlist(self, name):
        return self.get(name) or []


@router.get("/listings", response=schemas.ListingPage)
def list_listings(request, query: Query[ListingListQuery]):
    """The company's listings, newest first, with the list page's filters."""
    actor = acting(request)
    filters = ListingFilters.from_query(ParsedQuery(query.model_dump()))
    page = keyset_page(filter_listings(actor, filters), order=("-pk",), cursor=query.cursor, limit=query.limit)
    return {"items": listing_out(page.items, actor), "next_cursor": page.next_cursor}


@router.get("/listings/{listing_id}", response=schemas.ListingOut)
def get_listing(request, listing_id: PathId, response: HttpResponse):
    actor = acting(request)
    listing = selectors.access_listing(actor, listing_id)
    response["ETag"] = etag_of(listing)
    return listing_out([listing], actor)[0]


def listing_values(actor: Actor, sent: dict) -> dict:
    values = {name: getattr(value, "value", value) for name, value in sent.items() if name not in ("agent_id", "stations", "updated_at")}
    if "features" in values:
        values["features"] = [getattr(item, "value", item) for item in values["features"] or []]
    if "layout" in values and values["layout"] is None:
        values["layout"] = ""
    if "agent_id" in sent:
        values["agent"] = resolve_user(actor, sent["agent_id"], "agent_id")
    return values


@router.post("/listings", response={201: schemas.ListingOut})
def create_listing(request, payload: schemas.ListingIn, response: HttpResponse):
    """A new listing (201). A taken listing number, a rent listing without rent or a sale without price are refused."""
    actor = acting(request)
    sent = payload.model_dump()
    with transaction.atomic():
        listing = actions.do_create_listing(company_id=actor.company_id, values=listing_values(actor, sent),
                                            stations=sent["stations"], acting_user=actor.user)
    response["ETag"] = etag_of(listing)
    return Status(201, listing_out([listing], actor)[0])


REQUIRED = ("ref", "name", "kind", "status")
TEXT = ("postal_code", "prefecture", "city", "street", "building", "suumo_id", "homes_id", "athome_id", "notes")


@router.patch("/listings/{listing_id}", response=schemas.ListingOut)
def update_listing(request, listing_id: PathId, payload: schemas.ListingUpdateIn, response: HttpResponse):
    """Change the fields sent. Refused with 409 when the listing changed since the caller read it."""
    actor = acting(request)
    sent = payload.model_dump(exclude_unset=True)
    for name in REQUIRED:
        if name in sent and sent[name] is None:
            raise unknown(name, _("This field is required."))
    sent.update({name: "" for name in TEXT if name in sent and sent[name] is None})
    if "features" in sent and sent["features"] is None:
        sent["features"] = []
    with transaction.atomic():
        listing = selectors.access_listing(actor, listing_id)
        read_version = read_version_of(request, payload.updated_at)
        actions.do_update_listing(listing=listing, values=listing_values(actor, sent), stations=sent.get("stations"),
                                  acting_user=actor.user, read_version=read_version)
    listing = selectors.access_listing(actor, listing_id)
    response["ETag"] = etag_of(listing)
    return listing_out([listing], actor)[0]


@router.get("/cases/{case_id}/matching-listings", response=schemas.ListingPage)
def case_matching_listings(request, case_id: PathId, cursor: str = "", limit: int = Query(50, ge=1, le=200)):
    """Available listings that match the case's desired conditions and were not introduced to it yet."""
    actor = acting(request)
    case = access_case(actor, case_id)
    page = keyset_page(selectors.case_matches(actor, case), order=("-pk",), cursor=cursor, limit=limit)
    return {"items": listing_out(page.items, actor), "next_cursor": page.next_cursor}


@router.get("/cases/{case_id}/introductions", response=list[IntroductionOut])
def list_introductions(request, case_id: PathId):
    """Listings introduced to the case's customer, newest first (kept with the case's ids when a listing is gone)."""
    actor = acting(request)
    case = access_case(actor, case_id, include_trashed=True)
    return list(selectors.introductions_of_case(actor, case)[:500])


@router.post("/cases/{case_id}/introductions", response={201: list[IntroductionOut]})
def introduce_listings(request, case_id: PathId, payload: schemas.IntroduceIn):
    """Introduce listings to the case's customer (201, the new introductions; listings already introduced are skipped)."""
    actor = acting(request)
    with transaction.atomic():
        case = access_case(actor, case_id)
        listings = list(selectors.company_listings(actor).filter(pk__in=payload.listing_ids))
        if len(listings) != len(set(payload.listing_ids)):
            raise unknown("listing_ids")
        created = actions.do_introduce_listings(case=case, listings=listings, method=payload.method.value,
                                                introduced_on=payload.introduced_on, acting_user=actor.user)
    return Status(201, created)


@router.patch("/cases/{case_id}/introductions/{introduction_id}", response=IntroductionOut)
def set_reaction(request, case_id: PathId, introduction_id: PathId, payload: schemas.ReactionIn):
    """The customer's reaction to an introduced listing (null clears it)."""
    actor = acting(request)
    with transaction.atomic():
        case = access_case(actor, case_id)
        introduction = Introduction.objects.for_company(actor.company_id).filter(case=case, pk=introduction_id).first()
        if introduction is None:
            raise NotFound()
        actions.do_set_introduction_reaction(introduction=introduction, reaction=payload.reaction.value if payload.reaction else "",
                                             acting_user=actor.user)
    introduction.refresh_from_db()
    return introduction
