"""The listings feed's settings page (/settings/listings-feed/, rule `listings_feed`) and its actions."""

import json

import pytest
from django.test import Client

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.listings import actions
from estatecrm.listings.models import ListingFeed
from estatecrm.listings.tests.conftest import make_listing
from estatecrm.tenancy.choices import Role

pytestmark = pytest.mark.django_db

HOME = "/settings/listings-feed/"


def client_of(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def feed_events(company) -> list[tuple[str, dict, dict]]:
    return [(event.verb, event.before, event.after) for event in
            AuditEvent.objects.for_company(company).filter(object_type__endswith="listingfeed").order_by("pk")]


def test_a_company_admin_sets_up_the_feed_and_sees_its_urls(company, company_admin):
    # given: no feed yet
    client = client_of(company_admin)
    page = client.get(HOME)
    assert (page.status_code, b'data-testid="feed-create"' in page.content) == (200, True)
    # when
    response = client.post(f"{HOME}create/", follow=True)
    # then: one feed, on, with a 43-character secret; its two URLs on the page; audited without the secret
    feed = ListingFeed.objects.for_company(company).get()
    assert (feed.is_enabled, len(feed.secret), feed.created_by) == (True, 43, company_admin)
    content = response.content.decode()
    assert f'value="http://testserver/feeds/listings/{feed.key}.json"' in content
    assert f'value="http://testserver/feeds/listings/{feed.key}.xml"' in content
    assert "The listings feed is on" in content
    assert feed_events(company) == [("create", None, {"is_enabled": True, "rotated_at": None})]
    # and the URL works
    assert Client().get(f"/feeds/listings/{feed.key}.json").status_code == 200


def test_setting_up_twice_keeps_the_first_key(company, company_admin):
    # given
    client = client_of(company_admin)
    client.post(f"{HOME}create/")
    secret = ListingFeed.objects.for_company(company).get().secret
    # when
    client.post(f"{HOME}create/")
    # then
    assert list(ListingFeed.objects.for_company(company).values_list("secret", flat=True)) == [secret]
    assert len(feed_events(company)) == 1


def test_rotating_asks_first_then_changes_the_key(company, company_admin):
    # given
    feed, _created = actions.do_create_listing_feed(company_id=company.pk, acting_user=company_admin)
    old_key = feed.key
    client = client_of(company_admin)
    # when: the confirmation page
    confirm = client.get(f"{HOME}rotate/")
    # then: nothing changed yet
    assert (confirm.status_code, b'data-testid="feed-rotate-submit"' in confirm.content) == (200, True)
    assert ListingFeed.objects.for_company(company).get().key == old_key
    # when: confirmed
    response = client.post(f"{HOME}rotate/", follow=True)
    # then
    feed.refresh_from_db()
    assert feed.key != old_key and feed.rotated_at is not None
    content = response.content.decode()
    assert (f"{feed.key}.json" in content, old_key in content) == (True, False)
    assert Client().get(f"/feeds/listings/{old_key}.json").status_code == 404
    assert Client().get(f"/feeds/listings/{feed.key}.json").status_code == 200
    verbs = [verb for verb, _before, _after in feed_events(company)]
    assert verbs == ["create", "rotate_key"]
    assert old_key not in json.dumps(feed_events(company)) and feed.secret not in json.dumps(feed_events(company))


def test_turning_the_feed_off_and_on(company, company_admin):
    # given
    feed, _created = actions.do_create_listing_feed(company_id=company.pk, acting_user=company_admin)
    make_listing(company, "L-1")
    client = client_of(company_admin)
    # when: off
    page = client.post(f"{HOME}enabled/", {"enabled": "0"}, follow=True)
    # then
    assert b'data-testid="feed-on"' in page.content
    assert Client().get(f"/feeds/listings/{feed.key}.xml").status_code == 404
    # when: on
    page = client.post(f"{HOME}enabled/", {"enabled": "1"}, follow=True)
    # then: the same URL answers again; the page counts the published listing
    assert b'data-testid="feed-off"' in page.content
    assert b'data-testid="feed-published">1<' in page.content
    assert Client().get(f"/feeds/listings/{feed.key}.xml").status_code == 200
    assert [after for _verb, _before, after in feed_events(company)][1:] == [
        {"is_enabled": False, "rotated_at": None}, {"is_enabled": True, "rotated_at": None}]


@pytest.mark.parametrize("role", ["agent", "org_admin"])
def test_others_than_company_admins_are_refused_and_nothing_changes(company, org, company_admin, agent, role):
    # given: the feed, and a user who is not a company admin
    from estatecrm.core import testing

    feed, _created = actions.do_create_listing_feed(company_id=company.pk, acting_user=company_admin)
    user = agent if role == "agent" else testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp")
    client = client_of(user)
    events = feed_events(company)
    # when / then
    assert client.get(HOME).status_code == 403
    assert client.post(f"{HOME}rotate/").status_code == 403
    assert client.post(f"{HOME}enabled/", {"enabled": "0"}).status_code == 403
    with pytest.raises(PermissionDenied):
        actions.do_rotate_listing_feed_key(company_id=company.pk, acting_user=user)
    assert (ListingFeed.objects.for_company(company).get().secret, feed_events(company)) == (feed.secret, events)


def test_rotating_or_turning_off_a_missing_feed_is_refused(company, company_admin):
    with pytest.raises(ApplicationError) as error:
        actions.do_rotate_listing_feed_key(company_id=company.pk, acting_user=company_admin)
    assert error.value.code == "listings_feed_missing"
    response = client_of(company_admin).post(f"{HOME}enabled/", {"enabled": "0"}, follow=True)
    assert "The listings feed has not been set up yet." in response.content.decode()
    assert ListingFeed.objects.for_company(company).count() == 0


def test_the_page_shows_only_the_actor_company_feed(company, company_admin, other_company):
    # given: company B's feed
    other_feed, _created = actions.do_create_listing_feed(company_id=other_company["company"].pk, acting_user=other_company["admin"])
    # when: company A's admin opens the page
    content = client_of(company_admin).get(HOME).content.decode()
    # then: A has none; B's key is nowhere
    assert 'data-testid="feed-create"' in content and other_feed.secret not in content


def test_the_settings_navigation_links_the_page_for_company_admins(company, company_admin):
    assert b'href="/settings/listings-feed/"' in client_of(company_admin).get("/settings/").content
    assert b'href="/settings/listings-feed/"' in client_of(company_admin).get("/settings/inquiries/").content


def test_the_page_is_japanese_first(company, company_admin):
    actions.do_create_listing_feed(company_id=company.pk, acting_user=company_admin)
    page = client_of(company_admin, "ja").get(HOME)
    assert page.status_code == 200
    assert '<html lang="ja">' in page.content.decode()
