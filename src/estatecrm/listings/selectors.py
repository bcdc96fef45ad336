"""Reads of listings: the company's list with its filters, one listing, and the listings that match a
case's desired conditions, all as SQL (no listing is filtered in Python), on SQLite and PostgreSQL alike.

Listings are the company's, not a unit's: every member reads them (tenancy/permissions.py `listings`).
"""

import datetime

from django.db.models import DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from estatecrm.core.errors import NotFound
from estatecrm.crm.choices import FEATURE_BITS, CaseKind, ListingStatus
from estatecrm.crm.models import Case, DesiredConditions, Introduction, Listing, ListingPhoto, ListingStation
from estatecrm.listings.models import ListingFeed
from estatecrm.normalize import split_prefecture
from estatecrm.tenancy.selectors import Actor


def company_listings(actor: Actor) -> QuerySet[Listing]:
    return Listing.objects.for_company(actor.company_id)


def listing_feed(actor: Actor) -> ListingFeed | None:
    """The company's listings feed (its key and whether it answers), None before it is set up."""
    return ListingFeed.objects.for_company(actor.company_id).select_related("created_by").first()


def access_listing(actor: Actor, listing_id, *, for_write: bool = False) -> Listing:
    """The company's listing, or NotFound (a listing of another company answers like an unknown id)."""
    queryset = company_listings(actor)
    if for_write:
        queryset = queryset.select_for_update()
    try:
        return queryset.select_related("agent").get(pk=int(listing_id))
    except (Listing.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def access_photo(actor: Actor, listing: Listing, photo_id) -> ListingPhoto:
    photo = ListingPhoto.objects.for_company(actor.company_id).filter(listing=listing, pk=photo_id).first()
    if photo is None:
        raise NotFound()
    return photo


def stations_of(actor: Actor, listing: Listing) -> list[ListingStation]:
    return list(ListingStation.objects.for_company(actor.company_id).filter(listing=listing).order_by("position", "pk"))


def photos_of(actor: Actor, listing: Listing) -> list[ListingPhoto]:
    return list(ListingPhoto.objects.for_company(actor.company_id).filter(listing=listing).order_by("uploaded_at", "pk"))


def introductions_of_case(actor: Actor, case: Case) -> QuerySet[Introduction]:
    """The introductions of a case the caller has reached through `access_case`."""
    return Introduction.objects.for_company(actor.company_id).filter(case=case).select_related("listing").order_by("-introduced_on", "-pk")


def station_name(text: str) -> str:
    """A station as stored and compared: trimmed, without the trailing 駅 (`渋谷駅` and `渋谷` are one station)."""
    return (text or "").strip().removesuffix("駅").strip()


def with_features(listings: QuerySet[Listing], features) -> QuerySet[Listing]:
    """Listings that have every one of `features` (one bit test, portable SQL)."""
    wanted = sum(FEATURE_BITS[name] for name in set(features) if name in FEATURE_BITS)
    if not wanted:
        return listings
    return listings.annotate(wanted_features=F("feature_bits").bitand(wanted)).filter(wanted_features=wanted)


def near_stations(listings: QuerySet[Listing], company_id: int, stations, walk_minutes: int | None) -> QuerySet[Listing]:
    """Listings with a station among `stations` ({"line", "station"}; a line alone means any of its stations)
    within `walk_minutes` of a walk; with no stations, any station within the walk."""
    condition = Q()
    for item in stations:
        line, station = (item.get("line") or "").strip(), station_name(item.get("station") or "")
        if station:
            condition |= Q(station=station, line=line) if line else Q(station=station)
        elif line:
            condition |= Q(line=line)
    if not condition and walk_minutes is None:
        return listings
    near = ListingStation.objects.for_company(company_id).filter(listing_id=OuterRef("pk"))
    if condition:
        near = near.filter(condition)
    if walk_minutes is not None:
        near = near.filter(walk_minutes__lte=walk_minutes)
    return listings.filter(Exists(near))


def in_areas(listings: QuerySet[Listing], areas) -> QuerySet[Listing]:
    """Listings whose address starts with one of `areas` (`東京都渋谷区`, `渋谷区`, `渋谷区神宮前`)."""
    condition = Q()
    for area in areas:
        prefecture, rest = split_prefecture(area)
        if prefecture:
            condition |= Q(prefecture=prefecture, place__startswith=rest) if rest else Q(prefecture=prefecture)
        elif rest:
            condition |= Q(place__startswith=rest)
    if not condition:
        return listings
    return listings.annotate(place=Concat("city", "street")).filter(condition)


def built_since(years: int, *, today: datetime.date | None = None) -> datetime.date:
    """The earliest construction date of a building at most `years` old (0, 新築: within the last year)."""
    today = today or timezone.localdate()
    years = max(years, 1)
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def matching_listings(actor: Actor, desired: DesiredConditions | None, *, kind: str) -> QuerySet[Listing]:
    """The company's available (募集中) listings of the case's kind that meet every desired condition.

    An empty condition matches everything. Rent includes the management fee when the customer said so
    (`includes_management_fee`); a listing without the value a set condition needs (no rent, no floor
    area, no construction date) does not match it. Move-in and land area are not on listings and are
    not compared.
    """
    listings = company_listings(actor).filter(status=ListingStatus.AVAILABLE, kind=kind)
    if desired is None:
        return listings
    if kind == CaseKind.RENT and (desired.rent_min is not None or desired.rent_max is not None):
        # Compared in yen: the fee is in yen, and SQLite divides integers as integers (5000 / 10000 = 0).
        monthly = F("rent") * Value(10000)
        if desired.includes_management_fee:
            monthly = monthly + Coalesce(F("management_fee"), Value(0))
        listings = listings.filter(rent__isnull=False).annotate(
            monthly_yen=ExpressionWrapper(monthly, output_field=DecimalField(max_digits=14, decimal_places=1)))
        if desired.rent_min is not None:
            listings = listings.filter(monthly_yen__gte=desired.rent_min * 10000)
        if desired.rent_max is not None:
            listings = listings.filter(monthly_yen__lte=desired.rent_max * 10000)
    if kind == CaseKind.BUY:
        if desired.price_min is not None:
            listings = listings.filter(price__gte=desired.price_min)
        if desired.price_max is not None:
            listings = listings.filter(price__lte=desired.price_max)
    if desired.layouts:
        listings = listings.filter(layout__in=desired.layouts)
    if desired.area_min is not None:
        listings = listings.filter(area__gte=desired.area_min)
    if desired.area_max is not None:
        listings = listings.filter(area__lte=desired.area_max)
    if desired.building_age is not None:
        listings = listings.filter(built_on__gte=built_since(desired.building_age))
    listings = in_areas(listings, desired.areas)
    listings = near_stations(listings, actor.company_id, desired.lines_stations, desired.walk_minutes)
    return with_features(listings, desired.features)


def case_matches(actor: Actor, case: Case) -> QuerySet[Listing]:
    """`matching_listings` for a case the caller has reached through `access_case`, without those already introduced."""
    desired = DesiredConditions.objects.for_company(actor.company_id).filter(case=case).first()
    introduced = Introduction.objects.for_company(actor.company_id).filter(case=case, listing_id=OuterRef("pk"))
    return matching_listings(actor, desired, kind=case.kind).exclude(Exists(introduced))
