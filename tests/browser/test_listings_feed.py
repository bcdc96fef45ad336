"""The listings feed's settings in a real browser at 390 px: a company admin finds 物件フィード in the settings, sets the
feed up, copies its JSON URL with the copy button, reads the feed at that URL, changes the key after the
confirmation page, and the copied URL then answers 404 while the new one answers."""

import json

import pytest

from estatecrm.core import testing
from estatecrm.listings.tests.conftest import make_listing
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("brf", "フィード不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@brf.example.jp", name="管理 花子", password=PASSWORD)
    make_listing(company, "F-1", name="メゾン青山 & <角部屋>")
    make_listing(company, "F-2", name="非公開の物件", status="hidden")
    return company


def test_admin_sets_up_copies_reads_and_rotates_the_feed(page, office):
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "admin@brf.example.jp", PASSWORD)
    # given: the settings page links to the feed, which is not set up
    page.goto("/settings/")
    with page.expect_navigation():
        page.click("[data-testid=listings-feed-link]")
    # when: set up, then the JSON URL copied
    with page.expect_navigation():
        page.click("[data-testid=feed-create]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shown = page.input_value("[data-testid=feed-url-json]")
    page.click("[data-copy=feed-url-json]")
    page.wait_for_function("document.querySelector('[data-copy=feed-url-json]').textContent === 'コピーしました' "
                           "|| document.querySelector('[data-copy=feed-url-json]').textContent === 'Copied'")
    copied = page.evaluate("navigator.clipboard.readText()")
    # then: the copied URL is the feed, with the available listing only
    assert copied == shown and "/feeds/listings/" in copied
    feed = json.loads(page.request.get(copied).body())
    assert (feed["company"], [item["name"] for item in feed["listings"]]) == ("フィード不動産株式会社", ["メゾン青山 & <角部屋>"])
    # when: the key is changed, after its confirmation page
    with page.expect_navigation():
        page.click("[data-testid=feed-rotate]")
    with page.expect_navigation():
        page.click("[data-testid=feed-rotate-submit]")
    # then: the copied URL is dead, the new one answers
    new_url = page.input_value("[data-testid=feed-url-json]")
    assert new_url != copied
    assert (page.request.get(copied).status, page.request.get(new_url).status) == (404, 200)
