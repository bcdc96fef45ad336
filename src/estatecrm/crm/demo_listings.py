"""Listings of the demo company (crm/demo.py): rent and sale around its Tokyo and Kanagawa stores, with
stations, features and portal ids, and a few made for demo cases so that 「条件に合う物件」 shows matches."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from estatecrm.crm.choices import FEATURE_BITS, CaseKind, Feature, Layout, ListingStatus
from estatecrm.crm.models import DesiredConditions, Listing, ListingStation

# (postal code, prefecture, city, town, [(line, station), ...]) of the demo stores' areas.
AREAS = [
    ("150-0002", "東京都", "渋谷区", "渋谷", [("JR山手線", "渋谷"), ("東京メトロ銀座線", "表参道")]),
    ("160-0022", "東京都", "新宿区", "新宿", [("JR山手線", "新宿"), ("都営大江戸線", "新宿西口")]),
    ("154-0004", "東京都", "世田谷区", "太子堂", [("東急田園都市線", "三軒茶屋"), ("小田急線", "下北沢")]),
    ("105-0011", "東京都", "港区", "芝公園", [("都営三田線", "芝公園"), ("JR山手線", "浜松町")]),
    ("220-0011", "神奈川県", "横浜市西区", "高島", [("JR京浜東北線", "横浜"), ("みなとみらい線", "新高島")]),
    ("211-0004", "神奈川県", "川崎市中原区", "新丸子東", [("東急東横線", "武蔵小杉"), ("東急東横線", "新丸子")]),
    ("231-0023", "神奈川県", "横浜市中区", "山下町", [("みなとみらい線", "元町・中華街"), ("JR根岸線", "石川町")]),
    ("210-0007", "神奈川県", "川崎市川崎区", "駅前本町", [("JR京浜東北線", "川崎"), ("京急本線", "京急川崎")]),
]
NAMES = ["パークハイツ", "メゾン", "グランフォルム", "レジデンス", "コーポ", "ヴィラ", "プラウド", "ライオンズマンション"]
RENT_LAYOUTS = [("ワンルーム", 18, 25), ("1K", 20, 28), ("1DK", 25, 35), ("1LDK", 33, 48), ("2LDK", 50, 70), ("3LDK", 65, 85)]
SALE_LAYOUTS = [("2LDK", 55, 72), ("3LDK", 68, 90), ("4LDK", 85, 110)]
GENERIC_LISTINGS = 60
PLANTED_MATCHES = 8


def _bits(features) -> int:
    return sum(FEATURE_BITS[name] for name in set(features))


def _listing(company, number: int, rng: random.Random, agents, *, kind: str, area, layout: str, square_metres: Decimal,
             money: Decimal, built_on: datetime.date, features, status: str = ListingStatus.AVAILABLE) -> Listing:
    postal, prefecture, city, town, _stations = area
    is_rent = kind == CaseKind.RENT
    return Listing(
        company=company, ref=f"B{number:05d}", name=f"{rng.choice(NAMES)}{town} {rng.randint(1, 9)}0{rng.randint(1, 9)}", kind=kind, status=status,
        rent=money if is_rent else None, management_fee=rng.choice([3000, 5000, 8000, 10000]) if is_rent else None,
        deposit_months=Decimal(rng.choice([0, 1, 1, 2])) if is_rent else None, key_money_months=Decimal(rng.choice([0, 1, 1])) if is_rent else None,
        price=None if is_rent else int(money), layout=layout, area=square_metres, postal_code=postal, prefecture=prefecture, city=city,
        street=f"{town}{rng.randint(1, 4)}-{rng.randint(1, 20)}-{rng.randint(1, 15)}", building="", built_on=built_on,
        feature_bits=_bits(features), suumo_id=f"1001{number:08d}" if rng.random() < 0.7 else "",
        homes_id=f"H{number:07d}" if rng.random() < 0.5 else "", athome_id=f"{number:010d}" if rng.random() < 0.4 else "",
        agent=rng.choice(agents)[0] if agents else None,
    )


def load_demo_listings(*, company, rng: random.Random, agents) -> list[Listing]:
    """GENERIC_LISTINGS listings in the demo areas: about two thirds for rent, most 募集中, some 申込あり/成約済/非公開."""
    today = timezone.localdate()
    listings, stations = [], []
    for number in range(1, GENERIC_LISTINGS + 1):
        area = rng.choice(AREAS)
        kind = CaseKind.RENT if number % 3 else CaseKind.BUY
        layout, low, high = rng.choice(RENT_LAYOUTS if kind == CaseKind.RENT else SALE_LAYOUTS)
        square_metres = Decimal(rng.randint(low * 10, high * 10)) / 10
        money = (Decimal(rng.randint(14, 60) * 5) / 10 if kind == CaseKind.RENT else Decimal(rng.randint(35, 140) * 100))
        status = rng.choices(ListingStatus.values, weights=[70, 12, 12, 6])[0]
        built_on = today.replace(day=1) - datetime.timedelta(days=rng.randint(0, 35 * 365))
        listings.append(_listing(company, number, rng, agents, kind=kind, area=area, layout=layout, square_metres=square_metres,
                                 money=money, built_on=built_on.replace(day=1), features=rng.sample(Feature.values, rng.randint(2, 7)),
                                 status=status))
    Listing.objects.bulk_create(listings)
    for listing, area in zip(listings, [next(a for a in AREAS if a[2] == listing.city) for listing in listings], strict=True):
        for position, (line, station) in enumerate(rng.sample(area[4], rng.randint(1, 2))):
            stations.append(ListingStation(company=company, listing=listing, line=line, station=station, walk_minutes=rng.randint(2, 18),
                                           position=position))
    ListingStation.objects.bulk_create(stations)
    return listings


def plant_demo_matches(*, company, rng: random.Random, agents, desired: list[DesiredConditions]) -> list[Listing]:
    """A listing made for each of PLANTED_MATCHES demo cases whose area is a real one of the demo areas: it meets
    every condition (kind, money, layout, floor area, area, station and walk, age, features)."""
    today = timezone.localdate()
    by_place = {f"{area[1]}{area[2]}": area for area in AREAS}
    chosen = [item for item in desired if item.areas and item.areas[0] in by_place][:PLANTED_MATCHES]
    listings, stations = [], []
    for offset, item in enumerate(chosen):
        area = by_place[item.areas[0]]
        kind = CaseKind.RENT if item.rent_max is not None else CaseKind.BUY
        if kind == CaseKind.RENT:
            money = item.rent_max - Decimal("1.0") if item.includes_management_fee else item.rent_max - Decimal("0.5")
            money = max(money, item.rent_min or Decimal(0))
        else:
            money = Decimal(item.price_min or 3000) if item.price_max is None else Decimal((item.price_min or 0) + item.price_max) // 2
        area_low = item.area_min or Decimal(25)
        square_metres = area_low + Decimal(rng.randint(0, 150)) / 10
        square_metres = min(square_metres, item.area_max) if item.area_max else square_metres
        years = 0 if item.building_age is None else max(item.building_age - 1, 0)
        built_on = (today.replace(day=1) - datetime.timedelta(days=years * 365 // 2 + 31)).replace(day=1)
        layout = item.layouts[0] if item.layouts else Layout.L1K
        listings.append(_listing(company, GENERIC_LISTINGS + 1 + offset, rng, agents, kind=kind, area=area, layout=layout,
                                 square_metres=square_metres, money=money, built_on=built_on, features=item.features))
    Listing.objects.bulk_create(listings)
    for listing, item, area in zip(listings, chosen, [by_place[item.areas[0]] for item in chosen], strict=True):
        line, station = area[4][0]
        wanted = item.lines_stations[0] if item.lines_stations else {"line": line, "station": station}
        walk = item.walk_minutes or 10
        stations.append(ListingStation(company=company, listing=listing, line=wanted.get("line", ""),
                                       station=wanted["station"].removesuffix("駅"), walk_minutes=max(1, walk - 1), position=0))
    ListingStation.objects.bulk_create(stations)
    return listings
