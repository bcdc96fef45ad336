"""The listing list's filters, shared by the page and the API list (NetBox style): parse a query, filter in SQL."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import Q, QuerySet

from estatecrm.crm.choices import CaseKind, Layout, ListingStatus
from estatecrm.crm.models import Listing
from estatecrm.listings.selectors import company_listings, in_areas, near_stations
from estatecrm.tenancy.selectors import Actor


def _number(text) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value >= 0 else None


@dataclass
class ListingFilters:
    """What the list shows; unknown or malformed values are ignored (a filter is a convenience, not input)."""

    q: str = ""
    kind: str = ""
    statuses: list[str] = field(default_factory=list)
    money_min: Decimal | None = None
    money_max: Decimal | None = None
    layouts: list[str] = field(default_factory=list)
    area: str = ""
    station: str = ""

    @classmethod
    def from_query(cls, query) -> "ListingFilters":
        return cls(
            q=(query.get("q") or "").strip()[:100],
            kind=query.get("kind") if query.get("kind") in CaseKind.values else "",
            statuses=[value for value in query.getlist("status") if value in ListingStatus.values],
            money_min=_number(query.get("min") or "x"),
            money_max=_number(query.get("max") or "x"),
            layouts=[value for value in query.getlist("layout") if value in Layout.values],
            area=(query.get("area") or "").strip()[:100],
            station=(query.get("station") or "").strip()[:100],
        )

    @property
    def is_empty(self) -> bool:
        return self == ListingFilters()


def filter_listings(actor: Actor, filters: ListingFilters, *, listings: QuerySet[Listing] | None = None) -> QuerySet[Listing]:
    """The company's listings that pass the filters. The money band is the rent (万円) of rent listings and the
    price (万円) of sale listings; the text searches the name, the listing number and the address. `listings`
    narrows the start (a case's matches), else every listing of the company."""
    listings = company_listings(actor) if listings is None else listings
    if filters.kind:
        listings = listings.filter(kind=filters.kind)
    if filters.statuses:
        listings = listings.filter(status__in=filters.statuses)
    for bound, lookup in ((filters.money_min, "gte"), (filters.money_max, "lte")):
        if bound is not None:
            listings = listings.filter(Q(kind=CaseKind.RENT, **{f"rent__{lookup}": bound})
                                       | Q(kind=CaseKind.BUY, **{f"price__{lookup}": bound}))
    if filters.layouts:
        listings = listings.filter(layout__in=filters.layouts)
    if filters.area:
        listings = in_areas(listings, [filters.area])
    if filters.station:
        listings = near_stations(listings, actor.company_id, [{"station": filters.station}], None)
    if filters.q:
        text = filters.q
        listings = listings.filter(Q(name__icontains=text) | Q(ref__icontains=text) | Q(city__contains=text)
                                   | Q(street__contains=text) | Q(building__contains=text) | Q(prefecture__contains=text))
    return listings
