"""The listings API: list with the page's filters, read, create, change (ETag), a case's matches and introductions."""

import datetime
from decimal import Decimal

import pytest

from estatecrm.crm.models import Introduction, Listing
from estatecrm.crm.tests.test_api import Api, error
from estatecrm.listings.tests.conftest import make_listing, set_desired

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_api(client, agent):
    return Api(client, agent)


@pytest.fixture
def admin_api(client, company_admin):
    return Api(client, company_admin)


def test_list_and_read_only_the_company_listings(agent_api, company, other_company):
    mine = make_listing(company, "L-1", rent=Decimal("8.5"), stations=[{"line": "JR山手線", "station": "渋谷", "walk_minutes": 7}])
    make_listing(company, "L-2", status="applied", city="新宿区")
    theirs = make_listing(other_company["company"], "L-1")
    assert [row["ref"] for row in agent_api.get("/listings").json()["items"]] == ["L-2", "L-1"]
    assert [row["ref"] for row in agent_api.get("/listings", {"status": "available", "q": "渋谷"}).json()["items"]] == ["L-1"]
    body = agent_api.get(f"/listings/{mine.pk}").json()
    assert (body["rent"], body["stations"], body["features"]) == ("8.5", [{"line": "JR山手線", "station": "渋谷", "walk_minutes": 7}], [])
    assert error(agent_api.get(f"/listings/{theirs.pk}"))[:2] == (404, "not_found")


def test_create_and_change_with_the_etag(agent_api, company, agent):
    created = agent_api.post("/listings", {
        "ref": "S-1", "name": "グランフォルム横浜", "kind": "buy", "price": 3980, "layout": "3LDK", "area": "72.5",
        "prefecture": "神奈川県", "city": "横浜市西区", "built_on": "2010-03-01", "features": ["南向き"], "agent_id": agent.pk,
        "stations": [{"line": "JR京浜東北線", "station": "横浜駅", "walk_minutes": 8}]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["price"], body["features"], body["stations"][0]["station"], body["agent_id"]) == (3980, ["南向き"], "横浜", agent.pk)
    listing_id = body["id"]
    assert agent_api.patch(f"/listings/{listing_id}", {"price": 3800}).status_code == 428
    etag = agent_api.get(f"/listings/{listing_id}")["ETag"]
    changed = agent_api.patch(f"/listings/{listing_id}", {"price": 3800, "status": "applied"}, HTTP_IF_MATCH=etag)
    assert (changed.status_code, changed.json()["price"], changed.json()["status"]) == (200, 3800, "applied")
    assert error(agent_api.patch(f"/listings/{listing_id}", {"price": 3700}, HTTP_IF_MATCH=etag))[:2] == (409, "stale")
    assert Listing.objects.for_company(company).get().price == 3800


def test_create_refusals(agent_api, company):
    assert error(agent_api.post("/listings", {"ref": "R-1", "name": "x", "kind": "rent"}))[:3] == (
        400, "listing_invalid", {"rent": ["A listing for rent needs its rent."]})
    assert error(agent_api.post("/listings", {"ref": "R-1", "name": "x", "kind": "rent", "rent": "8", "status": "hidden"}))[:2] == (
        403, "permission_denied")
    assert error(agent_api.post("/listings", {"ref": "R-1", "name": "x", "kind": "rent", "rent": "8", "features": ["豪邸"]}))[0] == 422
    assert not Listing.objects.for_company(company).exists()


def test_matching_listings_introduce_and_react(agent_api, company, case):
    hit = make_listing(company, "HIT", rent=Decimal("8.5"))
    make_listing(company, "MISS", rent=Decimal("20"))
    set_desired(case, rent_max=Decimal("10"))
    assert [row["ref"] for row in agent_api.get(f"/cases/{case.pk}/matching-listings").json()["items"]] == ["HIT"]
    created = agent_api.post(f"/cases/{case.pk}/introductions", {"listing_ids": [hit.pk], "method": "line", "introduced_on": "2026-12-01"})
    assert created.status_code == 201
    [row] = created.json()
    assert (row["listing_ref"], row["rent_or_price"], row["method"], row["introduced_on"]) == ("HIT", "8.5", "line", "2026-12-01")
    assert agent_api.get(f"/cases/{case.pk}/matching-listings").json()["items"] == []
    reacted = agent_api.patch(f"/cases/{case.pk}/introductions/{row['id']}", {"reaction": "declined"})
    assert (reacted.status_code, reacted.json()["reaction"]) == (200, "declined")
    assert [item["reaction"] for item in agent_api.get(f"/cases/{case.pk}/introductions").json()] == ["declined"]
    assert Introduction.objects.for_company(company).get().introduced_on == datetime.date(2026, 12, 1)


def test_introduce_refuses_listings_of_another_company(agent_api, company, case, other_company):
    theirs = make_listing(other_company["company"], "THEIRS")
    response = agent_api.post(f"/cases/{case.pk}/introductions", {"listing_ids": [theirs.pk], "method": "line", "introduced_on": "2026-12-01"})
    assert error(response)[:3] == (422, "invalid", {"listing_ids": ["Unknown value."]})
    assert not Introduction.objects.unscoped().exists()


def test_a_listing_moved_in_from_another_vendor_shows_its_amount_and_currency(agent_api, company):
    from estatecrm.crm.models import Listing

    flat = make_listing(company, "OF-17", kind="buy", rent=None, price=1, city="Łódź")
    Listing.objects.for_company(company).filter(pk=flat.pk).update(currency="PLN", amount=Decimal("489000.50"), price=None)
    body = agent_api.get(f"/listings/{flat.pk}").json()
    assert (body["currency"], body["amount"], body["price"], body["rent"]) == ("PLN", "489000.50", None, None)
    assert agent_api.get(f"/listings/{make_listing(company, 'L-9').pk}").json()["currency"] == ""
