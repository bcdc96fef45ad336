"""Amounts in another currency on the listing pages (a zł listing moved in from another vendor has no 万円 values)."""

from decimal import Decimal

import pytest
from django.test import Client

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Listing
from estatecrm.listings.actions import do_update_listing
from estatecrm.listings.templatetags.listing_tags import listing_money, money
from estatecrm.listings.tests.conftest import make_listing


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (Decimal("489000.50"), "PLN", "PLN 489,000.50"),
    (Decimal("2500.00"), "PLN", "PLN 2,500"),
    (Decimal("1234.05"), "EUR", "EUR 1,234.05"),
    (Decimal("0.5"), "PLN", "PLN 0.50"),
    ("1999.9", "PLN", "PLN 1,999.90"),
    (Decimal("85000"), "JPY", "85,000 yen"),
    (Decimal("85000"), "", "85,000 yen"),
    (None, "PLN", ""),
    ("", "PLN", ""),
])
def test_money_shows_the_amount_with_its_currency(amount, currency, text):
    assert money(amount, currency) == text


def test_listing_money_prefers_the_foreign_amount_and_else_man_yen():
    assert listing_money(Listing(kind="buy", currency="PLN", amount=Decimal("489000.50"))) == "PLN 489,000.50"
    assert listing_money(Listing(kind="rent", currency="JPY", amount=Decimal("85000"), rent=Decimal("8.5"))) == "8.5 man-yen"
    assert listing_money(Listing(kind="buy", price=3980)) == "3,980 man-yen"
    assert listing_money(Listing(kind="rent", currency="PLN", amount=None, rent=None)) == ""


@pytest.fixture
def polish(company):
    return make_listing(company, "PL-7", name="Mieszkanie Kraków", kind="buy", rent=None, price=None, currency="PLN",
                        amount=Decimal("489000.50"))


@pytest.mark.django_db
def test_the_list_and_detail_pages_show_the_zloty_amount(company, agent, polish):
    # given
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(agent)
    # when
    listing_page = client.get("/listings/").content.decode()
    detail_page = client.get(f"/listings/{polish.pk}/").content.decode()
    # then
    assert '<td data-testid="listing-money">PLN 489,000.50</td>' in listing_page
    assert '<dd data-testid="listing-money">PLN 489,000.50</dd>' in detail_page


@pytest.mark.django_db
def test_a_zloty_listing_is_edited_without_man_yen_values(company, agent, polish):
    # given: the edit form shows the amount, which it does not edit
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    form = client.get(f"/listings/{polish.pk}/edit/").content.decode()
    assert "Amount in the source's currency: PLN 489,000.50." in form
    # when: the name changes through the action, without a price in 万円
    with company_scope(company):
        changed = do_update_listing(listing=polish, values={"name": "Mieszkanie Kraków, Rynek"}, stations=None, acting_user=agent)
    # then
    polish.refresh_from_db()
    assert (changed, polish.name, polish.currency, polish.amount, polish.price) == (True, "Mieszkanie Kraków, Rynek", "PLN",
                                                                                     Decimal("489000.50"), None)


@pytest.mark.django_db
def test_a_yen_listing_still_needs_its_rent(company, agent):
    from estatecrm.core.errors import ApplicationError

    with pytest.raises(ApplicationError) as error:
        make_listing(company, "JP-9", rent=None, currency="JPY", amount=Decimal("85000"))
    assert error.value.fields == {"rent": ["A listing for rent needs its rent."]}


@pytest.mark.parametrize(("parts", "text"), [
    (("東京都", "渋谷区", "渋谷1-1-1", "渋谷タワー 301"), "東京都渋谷区渋谷1-1-1 渋谷タワー 301"),
    (("東京都", "渋谷区", "1-2-3", ""), "東京都渋谷区1-2-3"),
    (("", "Łódź", "ul. Piotrkowska 12/3", ""), "Łódź ul. Piotrkowska 12/3"),
    (("mazowieckie", "Warszawa", "ul. Marszałkowska 1", "Blok B"), "mazowieckie Warszawa ul. Marszałkowska 1 Blok B"),
    (("", "", "", ""), ""),
])
def test_listing_address_spaces_latin_parts_only(parts, text):
    from estatecrm.listings.templatetags.listing_tags import listing_address

    prefecture, city, street, building = parts
    listing = Listing(prefecture=prefecture, city=city, street=street, building=building)
    assert listing_address(listing, "building") == text
