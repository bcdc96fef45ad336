"""Matching listings to a case's desired conditions: each condition, empty conditions, status, kind, isolation.

Every assert reads the SQL query of `case_matches` (no Python filtering); the suite runs on SQLite and PostgreSQL."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.models import Introduction
from estatecrm.listings.selectors import built_since, case_matches
from estatecrm.listings.tests.conftest import make_listing, set_desired
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


def matched(agent, case) -> list[str]:
    return sorted(case_matches(actor_for(agent), case).values_list("ref", flat=True))


def test_empty_conditions_match_every_available_listing_of_the_case_kind(company, agent, case):
    # given
    make_listing(company, "R-1")
    make_listing(company, "R-2", status="applied")
    make_listing(company, "R-3", status="contracted")
    make_listing(company, "R-4", status="hidden")
    make_listing(company, "S-1", kind="buy", price=3980)
    # then: no desired conditions at all, then an empty row
    assert matched(agent, case) == ["R-1"]
    set_desired(case)
    assert matched(agent, case) == ["R-1"]


def test_rent_band_with_and_without_the_management_fee(company, agent, case):
    make_listing(company, "R-80", rent=Decimal("8.0"), management_fee=5000)
    make_listing(company, "R-85", rent=Decimal("8.5"), management_fee=None)
    make_listing(company, "R-90", rent=Decimal("9.0"), management_fee=3000)
    set_desired(case, rent_min=Decimal("8.0"), rent_max=Decimal("8.5"))
    assert matched(agent, case) == ["R-80", "R-85"]
    set_desired(case, rent_min=Decimal("8.0"), rent_max=Decimal("8.5"), includes_management_fee=True)
    assert matched(agent, case) == ["R-80", "R-85"]  # 8.0 + 0.5 = 8.5 is within
    set_desired(case, rent_min=None, rent_max=Decimal("8.4"), includes_management_fee=True)
    assert matched(agent, case) == []
    set_desired(case, rent_min=Decimal("8.6"), rent_max=None, includes_management_fee=True)
    assert matched(agent, case) == ["R-90"]


def test_price_band_for_a_buy_case(company, org, agent):
    case = testing.make_case(company, org["SBY"], main_assignee=agent, kind="buy")
    make_listing(company, "S-1", kind="buy", price=3980)
    make_listing(company, "S-2", kind="buy", price=5200)
    make_listing(company, "R-1", rent=Decimal("8.5"))
    set_desired(case, price_min=3000, price_max=4000)
    assert matched(agent, case) == ["S-1"]
    set_desired(case, price_min=4000)
    assert matched(agent, case) == ["S-2"]


def test_layouts_and_floor_area(company, agent, case):
    make_listing(company, "A", layout="1K", area=Decimal("22"))
    make_listing(company, "B", layout="1LDK", area=Decimal("40"))
    make_listing(company, "C", layout="2LDK", area=None)
    set_desired(case, layouts=["1LDK", "2LDK"])
    assert matched(agent, case) == ["B", "C"]
    set_desired(case, area_min=Decimal("25"))
    assert matched(agent, case) == ["B"]
    set_desired(case, area_max=Decimal("30"))
    assert matched(agent, case) == ["A"]


def test_areas_by_prefecture_city_or_town(company, agent, case):
    make_listing(company, "SBY", prefecture="東京都", city="渋谷区", street="神宮前3-1-1")
    make_listing(company, "YKH", prefecture="神奈川県", city="横浜市西区", street="高島2-1")
    make_listing(company, "SJK", prefecture="東京都", city="新宿区", street="西新宿1-1")
    set_desired(case, areas=["東京都渋谷区", "横浜市西区"])
    assert matched(agent, case) == ["SBY", "YKH"]
    set_desired(case, areas=["東京都"])
    assert matched(agent, case) == ["SBY", "SJK"]
    set_desired(case, areas=["渋谷区神宮前"])
    assert matched(agent, case) == ["SBY"]
    set_desired(case, areas=["大阪府大阪市"])
    assert matched(agent, case) == []


def test_stations_lines_and_walk_minutes(company, agent, case):
    make_listing(company, "SBY7", stations=[{"line": "JR山手線", "station": "渋谷駅", "walk_minutes": 7}])
    make_listing(company, "SBY12", stations=[{"line": "東急東横線", "station": "渋谷", "walk_minutes": 12},
                                             {"line": "JR山手線", "station": "恵比寿", "walk_minutes": 4}])
    make_listing(company, "NONE")
    set_desired(case, lines_stations=[{"line": "JR山手線", "station": "渋谷駅"}])
    assert matched(agent, case) == ["SBY7"]
    set_desired(case, lines_stations=[{"line": "", "station": "渋谷"}])
    assert matched(agent, case) == ["SBY12", "SBY7"]
    set_desired(case, lines_stations=[{"line": "", "station": "渋谷"}], walk_minutes=10)
    assert matched(agent, case) == ["SBY7"]
    set_desired(case, lines_stations=[{"line": "JR山手線", "station": ""}])
    assert matched(agent, case) == ["SBY12", "SBY7"]
    set_desired(case, walk_minutes=5)  # no station named: any station within the walk
    assert matched(agent, case) == ["SBY12"]


def test_building_age(company, agent, case):
    today = timezone.localdate()
    make_listing(company, "NEW", built_on=today.replace(day=1))
    make_listing(company, "OLD", built_on=datetime.date(today.year - 12, 1, 1))
    make_listing(company, "UNKNOWN", built_on=None)
    set_desired(case, building_age=0)
    assert matched(agent, case) == ["NEW"]
    set_desired(case, building_age=15)
    assert matched(agent, case) == ["NEW", "OLD"]
    assert built_since(10, today=datetime.date(2024, 2, 29)) == datetime.date(2014, 2, 28)


def test_every_wanted_feature(company, agent, case):
    make_listing(company, "BOTH", features=["ペット相談", "オートロック", "南向き"])
    make_listing(company, "ONE", features=["ペット相談"])
    make_listing(company, "NONE", features=[])
    set_desired(case, features=["ペット相談", "オートロック"])
    assert matched(agent, case) == ["BOTH"]
    set_desired(case, features=["ペット相談"])
    assert matched(agent, case) == ["BOTH", "ONE"]


def test_all_conditions_together_and_introduced_listings_leave_the_matches(company, agent, case):
    make_listing(company, "HIT", features=["バス・トイレ別"], stations=[{"line": "JR山手線", "station": "渋谷", "walk_minutes": 5}])
    make_listing(company, "MISS", features=[], stations=[{"line": "JR山手線", "station": "渋谷", "walk_minutes": 5}])
    set_desired(case, rent_min=Decimal("8"), rent_max=Decimal("9"), layouts=["1K"], area_min=Decimal("20"), areas=["渋谷区"],
                lines_stations=[{"line": "JR山手線", "station": "渋谷駅"}], walk_minutes=7, building_age=20, features=["バス・トイレ別"])
    assert matched(agent, case) == ["HIT"]
    Introduction.objects.create(company=company, case=case, listing=case_matches(actor_for(agent), case).get(), listing_name="x")
    assert matched(agent, case) == []


def test_listings_of_another_company_never_match(company, agent, case, other_company):
    make_listing(other_company["company"], "THEIRS")
    make_listing(company, "OURS")
    assert matched(agent, case) == ["OURS"]
