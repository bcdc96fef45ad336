"""The listings feed: /feeds/listings/<key>.json and .xml (content, keys, caching, conditional requests)."""

import datetime
import json
from decimal import Decimal

import pytest
from defusedxml import ElementTree
from django.core.cache import cache
from django.test import Client
from django.utils.http import http_date

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Listing
from estatecrm.listings import actions
from estatecrm.listings.feed import cache_key, feed_for_key
from estatecrm.listings.tests.conftest import make_listing

pytestmark = pytest.mark.django_db

STATIONS = [{"line": "JR山手線", "station": "渋谷駅", "walk_minutes": 5}, {"line": "東急田園都市線", "station": "池尻大橋", "walk_minutes": 12}]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def feed(company, company_admin):
    feed, _created = actions.do_create_listing_feed(company_id=company.pk, acting_user=company_admin)
    return feed


@pytest.fixture
def listings(company, agent):
    """A Japanese rent listing with everything, a Polish sale in zł, and one of each status the feed leaves out."""
    japanese = make_listing(company, "JP-1", name="メゾン渋谷 & <新築>", rent=Decimal("8.5"), management_fee=5000, deposit_months=Decimal("1"),
                            key_money_months=Decimal("0.5"), layout="1LDK", area=Decimal("30.25"), postal_code="150-0002", street="渋谷2-1-1",
                            building="渋谷タワー 301", built_on=datetime.date(2015, 4, 1), features=["バス・トイレ別", "オートロック"],
                            suumo_id="100012345678", athome_id="A-9", agent=agent, stations=STATIONS,
                            notes="鍵は管理会社 secret-note", currency="JPY", amount=Decimal("85000"))
    polish = make_listing(company, "PL-1", name="Mieszkanie Łódź, ul. Piotrkowska — żółć", kind="buy", rent=None, price=None,
                          currency="PLN", amount=Decimal("489000.50"), layout="", area=Decimal("48.5"), prefecture="", city="Łódź",
                          street="ul. Piotrkowska 12/3", built_on=None)
    for ref, status in (("HIDDEN-1", "hidden"), ("APPLIED-1", "applied"), ("CONTRACTED-1", "contracted")):
        make_listing(company, ref, status=status)
    return {"japanese": japanese, "polish": polish}


def get(url: str, **headers):
    return Client().get(url, **headers)


def json_url(feed) -> str:
    return f"/feeds/listings/{feed.key}.json"


def xml_url(feed) -> str:
    return f"/feeds/listings/{feed.key}.xml"


def test_json_feed_lists_the_available_listings_with_their_public_fields(feed, listings, company, other_company):
    # given: an available listing of company B
    make_listing(other_company["company"], "B-1", name="他社物件")
    # when
    response = get(json_url(feed))
    # then
    assert (response.status_code, response["Content-Type"]) == (200, "application/json; charset=utf-8")
    body = json.loads(response.content.decode("utf-8"))
    generated_at = datetime.datetime.fromisoformat(body.pop("generated_at"))
    assert abs((generated_at - datetime.datetime.now(datetime.UTC)).total_seconds()) < 60
    japanese = listings["japanese"]
    japanese.refresh_from_db()
    assert body == {
        "format": "estatecrm-listings-feed/1", "company": "アクメ不動産株式会社", "count": 2,
        "listings": [
            {"ref": "JP-1", "name": "メゾン渋谷 & <新築>", "kind": "rent", "status": "available", "rent_man_yen": "8.5", "price_man_yen": None,
             "currency": "JPY", "amount": "85000.00", "management_fee_yen": 5000, "deposit_months": "1.0", "key_money_months": "0.5",
             "layout": "1LDK", "area_m2": "30.25",
             "address": {"postal_code": "150-0002", "prefecture": "東京都", "city": "渋谷区", "street": "渋谷2-1-1", "building": "渋谷タワー 301"},
             "stations": [{"line": "JR山手線", "station": "渋谷", "walk_minutes": 5}, {"line": "東急田園都市線", "station": "池尻大橋", "walk_minutes": 12}],
             "built_year": 2015, "features": ["バス・トイレ別", "オートロック"],
             "portal_ids": {"suumo": "100012345678", "homes": None, "athome": "A-9"}, "agent": "渋谷 一郎",
             "updated_at": japanese.updated_at.isoformat()},
            {"ref": "PL-1", "name": "Mieszkanie Łódź, ul. Piotrkowska — żółć", "kind": "sale", "status": "available", "rent_man_yen": None,
             "price_man_yen": None, "currency": "PLN", "amount": "489000.50", "management_fee_yen": None, "deposit_months": None,
             "key_money_months": None, "layout": None, "area_m2": "48.50",
             "address": {"postal_code": None, "prefecture": None, "city": "Łódź", "street": "ul. Piotrkowska 12/3", "building": None},
             "stations": [], "built_year": None, "features": [], "portal_ids": {"suumo": None, "homes": None, "athome": None},
             "agent": None, "updated_at": listings["polish"].updated_at.isoformat()},
        ],
    }
    # nothing private: no note, no e-mail
    assert b"secret-note" not in response.content and b"@acme.example.jp" not in response.content


def test_xml_feed_has_the_same_listings_escaped(feed, listings):
    # when
    response = get(xml_url(feed))
    # then
    assert (response.status_code, response["Content-Type"]) == (200, "application/xml; charset=utf-8")
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert "メゾン渋谷 &amp; &lt;新築&gt;".encode() in response.content
    root = ElementTree.fromstring(response.content)
    assert (root.tag, root.get("format"), root.findtext("company"), root.findtext("count")) == (
        "listings-feed", "estatecrm-listings-feed/1", "アクメ不動産株式会社", "2")
    japanese, polish = root.find("listings").findall("listing")
    assert japanese.get("ref") == "JP-1"
    assert [(child.tag, child.attrib, child.text) for child in japanese][:12] == [
        ("name", {}, "メゾン渋谷 & <新築>"), ("kind", {}, "rent"), ("status", {}, "available"), ("rent", {"unit": "man-yen"}, "8.5"),
        ("management-fee", {"unit": "yen"}, "5000"), ("deposit", {"unit": "months"}, "1.0"), ("key-money", {"unit": "months"}, "0.5"),
        ("layout", {}, "1LDK"), ("area", {"unit": "m2"}, "30.25"), ("amount", {"currency": "JPY"}, "85000.00"), ("address", {}, None),
        ("stations", {}, None),
    ]
    assert [(child.tag, child.text) for child in japanese.find("address")] == [
        ("postal-code", "150-0002"), ("prefecture", "東京都"), ("city", "渋谷区"), ("street", "渋谷2-1-1"), ("building", "渋谷タワー 301")]
    assert [(station.attrib, station.text) for station in japanese.find("stations")] == [
        ({"line": "JR山手線", "walk-minutes": "5"}, "渋谷"), ({"line": "東急田園都市線", "walk-minutes": "12"}, "池尻大橋")]
    assert (japanese.findtext("built-year"), [item.text for item in japanese.find("features")], japanese.findtext("agent")) == (
        "2015", ["バス・トイレ別", "オートロック"], "渋谷 一郎")
    assert [(child.tag, child.text) for child in japanese.find("portal-ids")] == [("suumo", "100012345678"), ("athome", "A-9")]
    assert (polish.findtext("name"), polish.findtext("kind"), polish.find("amount").attrib, polish.findtext("amount"),
            polish.find("rent"), polish.find("price")) == ("Mieszkanie Łódź, ul. Piotrkowska — żółć", "sale", {"currency": "PLN"},
                                                           "489000.50", None, None)


def test_xml_feed_drops_characters_xml_cannot_hold(feed, company):
    # given: a name with a control character (as an import may bring)
    make_listing(company, "CTRL-1", name="メゾン\x01渋谷\x0b")
    # when
    response = get(xml_url(feed))
    # then: a document any parser reads, without the characters
    assert ElementTree.fromstring(response.content).find("listings/listing").findtext("name") == "メゾン渋谷"
    assert json.loads(get(json_url(feed)).content)["listings"][0]["name"] == "メゾン\x01渋谷\x0b"


def test_another_company_key_gives_only_that_company_listings(feed, listings, other_company):
    # given: company B's own feed and listing
    other = other_company["company"]
    make_listing(other, "B-1", name="他社物件")
    other_feed, _created = actions.do_create_listing_feed(company_id=other.pk, acting_user=other_company["admin"])
    # when
    body = json.loads(get(json_url(other_feed)).content)
    # then
    assert (body["company"], [item["ref"] for item in body["listings"]]) == ("他社不動産株式会社", ["B-1"])


@pytest.mark.parametrize("key", [
    "nonsense", "1_short", "abc_0123456789012345678901234567890", "99999_0123456789012345678901234567890123456789012",
    "1_" + "x" * 200,
])
def test_a_malformed_or_unknown_key_answers_404(feed, key):
    response = get(f"/feeds/listings/{key}.json")
    assert (response.status_code, response.content) == (404, b"")


def test_a_wrong_secret_for_the_right_company_answers_404(feed):
    # given: the right company id, a secret of the same length that is not the key's
    wrong = f"{feed.company_id}_{'A' * len(feed.secret)}"
    # when / then
    assert (get(f"/feeds/listings/{wrong}.json").status_code, get(f"/feeds/listings/{wrong}.xml").status_code) == (404, 404)
    assert get(json_url(feed)).status_code == 200


def test_a_rotated_key_answers_404_and_the_new_one_answers(feed, listings, company, company_admin):
    # given: the feed fetched (so cached) at its first key
    old_json, old_xml = json_url(feed), xml_url(feed)
    assert get(old_json).status_code == 200
    # when
    rotated = actions.do_rotate_listing_feed_key(company_id=company.pk, acting_user=company_admin)
    # then
    assert (get(old_json).status_code, get(old_xml).status_code) == (404, 404)
    assert (get(json_url(rotated)).status_code, get(xml_url(rotated)).status_code) == (200, 200)
    assert rotated.secret != feed.secret and len(rotated.secret) == 43


def test_a_turned_off_feed_answers_404_until_it_is_turned_on(feed, listings, company, company_admin):
    # given
    assert get(json_url(feed)).status_code == 200
    # when: off
    assert actions.do_set_listing_feed_enabled(company_id=company.pk, is_enabled=False, acting_user=company_admin) is True
    # then
    assert (get(json_url(feed)).status_code, get(xml_url(feed)).status_code, feed_for_key(feed.key)) == (404, 404, None)
    # when: on again, same key
    assert actions.do_set_listing_feed_enabled(company_id=company.pk, is_enabled=True, acting_user=company_admin) is True
    # then
    assert get(json_url(feed)).status_code == 200


@pytest.mark.parametrize("url_of", [json_url, xml_url])
def test_if_none_match_answers_304_without_building_the_body(feed, listings, url_of, django_assert_num_queries):
    # given: a first answer with its validators
    first = get(url_of(feed))
    etag = first["ETag"]
    assert (first.status_code, etag.startswith('"'), first["Cache-Control"]) == (200, True, "public, max-age=300")
    # when: asked again with its ETag (two queries: the key's feed, the listings' version)
    with django_assert_num_queries(2):
        again = get(url_of(feed), HTTP_IF_NONE_MATCH=etag)
    # then
    assert (again.status_code, again.content, again["ETag"], again["Last-Modified"]) == (304, b"", etag, first["Last-Modified"])
    assert get(url_of(feed), HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


@pytest.mark.parametrize("url_of", [json_url, xml_url])
def test_if_modified_since_answers_304_until_the_feed_changes(feed, listings, url_of):
    # given
    first = get(url_of(feed))
    last_modified = first["Last-Modified"]
    # when / then: not modified since then
    assert get(url_of(feed), HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    # an older date: the body
    older = http_date(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC).timestamp())
    assert get(url_of(feed), HTTP_IF_MODIFIED_SINCE=older).status_code == 200


def test_json_and_xml_have_different_etags(feed, listings):
    assert get(json_url(feed))["ETag"] != get(xml_url(feed))["ETag"]


def test_an_edit_shows_at_once_despite_the_cache(feed, listings, company, company_admin, django_assert_num_queries):
    # given: the feed built and cached
    first = get(json_url(feed))
    with django_assert_num_queries(2):
        cached = get(json_url(feed))
    assert cached.content == first.content
    # when: a listing's rent changes
    listing = listings["japanese"]
    with company_scope(company):
        actions.do_update_listing(listing=listing, values={"rent": Decimal("9.0")}, stations=None, acting_user=company_admin)
    # then: the next answer has it, with a new ETag; the old ETag gets the body, not a 304
    after = get(json_url(feed), HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200
    assert after["ETag"] != first["ETag"]
    assert json.loads(after.content)["listings"][0]["rent_man_yen"] == "9.0"


def test_a_removed_listing_leaves_the_feed_at_once(feed, listings, company):
    # given
    first = get(json_url(feed))
    # when: a listing goes (a revert removes the listings it loaded; updated_at of the others stays)
    Listing.objects.for_company(company).filter(ref="PL-1").delete()
    # then
    after = get(json_url(feed), HTTP_IF_NONE_MATCH=first["ETag"])
    assert (after.status_code, [item["ref"] for item in json.loads(after.content)["listings"]]) == (200, ["JP-1"])


def test_a_listing_hidden_leaves_the_feed(feed, listings, company, company_admin):
    # given
    get(json_url(feed))
    # when
    with company_scope(company):
        actions.do_update_listing(listing=listings["japanese"], values={"status": "hidden"}, stations=None, acting_user=company_admin)
    # then
    assert [item["ref"] for item in json.loads(get(json_url(feed)).content)["listings"]] == ["PL-1"]


def test_building_takes_the_same_queries_for_many_listings(feed, company, django_assert_num_queries):
    # given: 30 listings with stations
    for number in range(30):
        make_listing(company, f"N-{number}", stations=STATIONS[:1])
    # when / then: the feed, the version, the listings, their stations
    with django_assert_num_queries(4):
        response = get(xml_url(feed))
    assert ElementTree.fromstring(response.content).findtext("count") == "30"


def test_the_feed_answers_head_and_refuses_post(feed, listings):
    head = Client().head(json_url(feed))
    assert (head.status_code, head["ETag"] == get(json_url(feed))["ETag"]) == (200, True)
    assert Client().post(json_url(feed)).status_code == 405


def test_an_empty_feed_is_valid(feed):
    assert json.loads(get(json_url(feed)).content)["listings"] == []
    assert ElementTree.fromstring(get(xml_url(feed)).content).findtext("count") == "0"


def test_the_feed_needs_no_login_and_ignores_the_visitor_company(feed, listings, other_company):
    # given: company B's admin, logged in, with company A's feed URL (given to a website: the key is what counts)
    client = Client()
    client.force_login(other_company["admin"])
    # when
    body = json.loads(client.get(json_url(feed)).content)
    # then
    assert (body["company"], body["count"]) == ("アクメ不動産株式会社", 2)


def test_keys_are_random_per_company(company, company_admin, other_company):
    first, _created = actions.do_create_listing_feed(company_id=company.pk, acting_user=company_admin)
    second, _created = actions.do_create_listing_feed(company_id=other_company["company"].pk, acting_user=other_company["admin"])
    assert first.secret != second.secret
    assert first.key == f"{company.pk}_{first.secret}"


def test_the_cache_keeps_one_body_per_company_and_format(feed, listings, company, company_admin):
    # given: the JSON body cached
    get(json_url(feed))
    first = cache.get(cache_key(feed, "json"))
    # when: a listing changes and the feed is read again
    with company_scope(company):
        actions.do_update_listing(listing=listings["polish"], values={"name": "Mieszkanie Gdańsk"}, stations=None, acting_user=company_admin)
    get(json_url(feed))
    # then: the same entry, replaced by the new version's body
    second = cache.get(cache_key(feed, "json"))
    assert (first.version != second.version, b"Gda\xc5\x84sk" in second.content, b"Gda\xc5\x84sk" in first.content) == (True, True, False)
