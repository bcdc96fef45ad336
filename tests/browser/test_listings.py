"""Listing journey in a real browser, at 1280 and 390 px: create a listing with a photo, find it in the list, open a
case whose desired conditions it meets, see it under 条件に合う物件, introduce it and record the customer's reaction."""

import base64
from decimal import Decimal

import pytest

from estatecrm.core import testing
from estatecrm.crm.models import DesiredConditions, Introduction, Listing, ListingPhoto
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# A 1x1 PNG, so the thumbnail is a real image.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture
def office(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    company = testing.make_company("brl", "物件不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@brl.example.jp", name="管理 花子", password=PASSWORD)
    agent = testing.make_user(company, store, email="agent@brl.example.jp", name="渋谷 一郎", password=PASSWORD)
    case = testing.make_case(company, store, main_assignee=agent, customer_name="佐藤 花子")
    DesiredConditions.objects.for_company(company).filter(case=case).update(rent_min=Decimal("8"), rent_max=Decimal("9"), includes_management_fee=True,
                                     layouts=["1K", "1DK"], areas=["東京都渋谷区"], lines_stations=[{"line": "JR山手線", "station": "渋谷駅"}],
                                     walk_minutes=10, features=["ペット相談"])
    return {"company": company, "agent": agent, "case": case}


def body_fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_agent_creates_a_listing_with_a_photo_and_introduces_it_to_a_matching_case(page, office, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "agent@brl.example.jp", PASSWORD)
    # when: a listing is created
    page.goto("/listings/new/")
    assert body_fits(page, width)
    page.fill("input[name=ref]", "B-2001")
    page.fill("input[name=name]", "パークハイツ渋谷 203")
    page.select_option("select[name=kind]", "rent")
    page.fill("input[name=rent]", "8.2")
    page.fill("input[name=management_fee]", "5000")
    page.fill("input[name=deposit_months]", "1")
    page.fill("input[name=key_money_months]", "1")
    page.select_option("select[name=layout]", "1K")
    page.fill("input[name=area]", "24.5")
    page.fill("input[name=postal_code]", "150-0002")
    page.fill("input[name=prefecture]", "東京都")
    page.fill("input[name=city]", "渋谷区")
    page.fill("input[name=street]", "渋谷2-3-4")
    page.fill("input[name=built_on]", "2018-03")
    page.check("input[name=features][value='ペット相談']")
    page.fill("input[name=line_0]", "JR山手線")
    page.fill("input[name=station_0]", "渋谷")
    page.fill("input[name=walk_0]", "6")
    with page.expect_navigation():
        page.click("[data-testid=listing-form] button[type=submit]")
    listing = Listing.objects.unscoped().get(ref="B-2001")
    assert page.url.endswith(f"/listings/{listing.pk}/")
    assert page.locator("[data-testid=listing-money]").inner_text().startswith("8.2")
    # when: a photo is uploaded
    page.set_input_files("[data-testid=photo-form] input[type=file]", {"name": "外観.png", "mimeType": "image/png", "buffer": PIXEL})
    with page.expect_navigation():
        page.click("[data-testid=photo-form] button[type=submit]")
    assert ListingPhoto.objects.unscoped().filter(listing=listing).count() == 1
    assert page.locator(".thumbs img").evaluate("img => img.decode().then(() => img.naturalWidth)") == 1
    assert body_fits(page, width)
    # then: the list finds it by its address
    page.goto("/listings/")
    page.fill("[data-testid=listing-filters] input[name=q]", "渋谷2-3")
    with page.expect_navigation():
        page.click("[data-testid=listing-filters] button[type=submit]")
    assert page.locator("[data-testid=listing-table] tbody tr").all_inner_texts()[0].startswith("B-2001")
    assert body_fits(page, width)
    # when: the matching case is opened, the listing is under 条件に合う物件 and introduced
    page.goto(f"/cases/{office['case'].pk}/")
    matches = page.locator("[data-testid=matches]")
    assert matches.locator("[data-testid=match-count]").inner_text() == "1"
    assert "パークハイツ渋谷 203" in matches.inner_text()
    matches.locator(f"input[name=listing_ids][value='{listing.pk}']").check()
    matches.locator("select[name=method]").select_option("line")
    with page.expect_navigation():
        matches.locator("button[type=submit]").click()
    introduction = Introduction.objects.unscoped().get(case=office["case"])
    assert (introduction.listing_id, introduction.method) == (listing.pk, "line")
    # then: 紹介物件 shows it with its unit on one line, linked; the reaction is set
    row = page.locator(f"[data-testid=introductions] tr[data-introduction-id='{introduction.pk}']")
    money = row.locator("td").nth(2)
    assert money.inner_text() == "8.2万円" or money.inner_text().startswith("8.2")
    # one line box, not one character per line
    assert money.evaluate("cell => { const range = document.createRange(); range.selectNodeContents(cell); return range.getClientRects().length; }") == 1
    assert row.locator(f"a[href='/listings/{listing.pk}/']").count() == 1
    row.locator("select[name=reaction]").select_option("interested")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    introduction.refresh_from_db()
    assert introduction.reaction == "interested"
    assert page.locator(f"[data-introduction-id='{introduction.pk}'] select[name=reaction]").input_value() == "interested"
    assert body_fits(page, width)
