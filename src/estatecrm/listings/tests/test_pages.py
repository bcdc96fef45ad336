"""The listing pages and the case page's 紹介物件 / 条件に合う物件 with the Django test client."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from estatecrm.crm.models import Introduction, Listing, ListingPhoto
from estatecrm.listings.tests.conftest import make_listing, set_desired

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def english_pages(client, settings, tmp_path):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def listed_refs(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<tr data-listing-id="\d+"><td>([^<]+)</td>', response.content.decode())


def test_list_filters(agent_client, company, other_company):
    make_listing(company, "R-SBY", rent=Decimal("8.5"), layout="1K", stations=[{"station": "渋谷", "walk_minutes": 5}])
    make_listing(company, "R-SJK", rent=Decimal("12"), layout="2LDK", city="新宿区", street="西新宿1-1", status="applied")
    make_listing(company, "S-SBY", kind="buy", price=3980, layout="3LDK")
    make_listing(other_company["company"], "THEIRS")
    url = reverse("listings:list")
    assert listed_refs(agent_client.get(url)) == ["S-SBY", "R-SJK", "R-SBY"]
    assert listed_refs(agent_client.get(url, {"kind": "rent"})) == ["R-SJK", "R-SBY"]
    assert listed_refs(agent_client.get(url, {"status": "applied"})) == ["R-SJK"]
    assert listed_refs(agent_client.get(url, {"min": "8", "max": "10"})) == ["R-SBY"]
    assert listed_refs(agent_client.get(url, {"min": "3000"})) == ["S-SBY"]
    assert listed_refs(agent_client.get(url, {"layout": ["1K", "3LDK"]})) == ["S-SBY", "R-SBY"]
    assert listed_refs(agent_client.get(url, {"area": "新宿区"})) == ["R-SJK"]
    assert listed_refs(agent_client.get(url, {"station": "渋谷駅"})) == ["R-SBY"]
    assert listed_refs(agent_client.get(url, {"q": "西新宿"})) == ["R-SJK"]
    assert listed_refs(agent_client.get(url, {"q": "s-sby"})) == ["S-SBY"]
    assert listed_refs(agent_client.get(url, {"min": "abc", "cursor": "!!"})) == ["S-SBY", "R-SJK", "R-SBY"]


def test_list_pages_by_cursor(agent_client, company, monkeypatch):
    from estatecrm.listings import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for number in range(5):
        make_listing(company, f"L-{number}")
    first = agent_client.get(reverse("listings:list"))
    next_url = re.search(r'href="(\?[^"]+)" rel="next"', first.content.decode()).group(1).replace("&amp;", "&")
    second = agent_client.get(reverse("listings:list") + next_url)
    assert (listed_refs(first), listed_refs(second)) == (["L-4", "L-3"], ["L-2", "L-1"])


def form_data(**values) -> dict:
    data = {"ref": "L-100", "name": "パークハイツ渋谷 101", "kind": "rent", "status": "available", "rent": "8.5", "management_fee": "5000",
            "deposit_months": "1", "key_money_months": "1", "price": "", "layout": "1K", "area": "25.5", "postal_code": "１５０－０００２",
            "prefecture": "東京都", "city": "渋谷区", "street": "渋谷2-1-1", "building": "パークハイツ渋谷", "built_on": "2015-04",
            "features": ["ペット相談", "オートロック"], "suumo_id": "100012345678", "homes_id": "", "athome_id": "", "agent": "", "notes": "",
            "line_0": "JR山手線", "station_0": "渋谷駅", "walk_0": "7", "line_1": "", "station_1": "", "walk_1": "", "line_2": "",
            "station_2": "", "walk_2": ""}
    data.update(values)
    return data


def test_create_edit_and_detail(agent_client, company, agent):
    # when: created through the form
    response = agent_client.post(reverse("listings:new"), form_data(agent=str(agent.pk)))
    listing = Listing.objects.for_company(company).get(ref="L-100")
    assert response.status_code == 302
    assert (listing.postal_code, listing.built_on, listing.management_fee, listing.features, listing.agent_id) == (
        "150-0002", datetime.date(2015, 4, 1), 5000, ["ペット相談", "オートロック"], agent.pk)
    # then: the detail shows money with its unit and the station
    detail = agent_client.get(reverse("listings:detail", kwargs={"listing_id": listing.pk})).content.decode()
    assert "8.5 man-yen" in detail and "5,000 yen" in detail and "渋谷 7 min walk" in detail
    # when: edited with the version the form carried
    edit_url = reverse("listings:edit", kwargs={"listing_id": listing.pk})
    version = agent_client.get(edit_url).context["form"].initial["version"]
    assert agent_client.post(edit_url, form_data(rent="9", version=version)).status_code == 302
    listing.refresh_from_db()
    assert listing.rent == Decimal("9.0")
    # a second save with the old version is refused and changes nothing
    stale = agent_client.post(edit_url, form_data(rent="7", version=version))
    listing.refresh_from_db()
    assert (stale.status_code, listing.rent) == (409, Decimal("9.0"))


def test_create_refuses_a_rent_listing_without_rent_next_to_the_field(agent_client, company):
    response = agent_client.post(reverse("listings:new"), form_data(rent=""))
    assert response.status_code == 400
    assert response.context["form"].errors["rent"] == ["A listing for rent needs its rent."]
    assert not Listing.objects.for_company(company).exists()


def test_photo_upload_refuses_other_files_and_serves_images(agent_client, company):
    listing = make_listing(company)
    url = reverse("listings:photo-upload", kwargs={"listing_id": listing.pk})
    refused = agent_client.post(url, {"photo": SimpleUploadedFile("a.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg")})
    assert refused.status_code == 400
    assert refused.context["photo_form"].errors["photo"] == ["This file is not a photo: upload a JPEG, PNG, GIF or WebP image."]
    assert agent_client.post(url, {"photo": SimpleUploadedFile("外観.png", PNG, content_type="image/png")}).status_code == 302
    photo = ListingPhoto.objects.for_company(company).get()
    image = agent_client.get(reverse("listings:photo", kwargs={"listing_id": listing.pk, "photo_id": photo.pk}))
    assert (image.status_code, image["Content-Type"], b"".join(image.streaming_content)) == (200, "image/png", PNG)
    detail = agent_client.get(reverse("listings:detail", kwargs={"listing_id": listing.pk})).content.decode()
    assert f'src="/listings/{listing.pk}/photos/{photo.pk}/"' in detail


def test_case_page_lists_matches_and_introduces_them_with_a_reaction(agent_client, company, case):
    # given
    hit = make_listing(company, "HIT", rent=Decimal("8.5"))
    make_listing(company, "MISS", rent=Decimal("15"))
    sale = make_listing(company, "S-1", kind="buy", price=3980)
    set_desired(case, rent_max=Decimal("10"))
    detail_url = reverse("crm:detail", kwargs={"case_id": case.pk})
    page = agent_client.get(detail_url).content.decode()
    matches = page[page.index('data-testid="matches"'):]
    assert re.search(r'data-testid="match-count">1<', matches)
    assert f'value="{hit.pk}"' in matches and "8.5 man-yen" in matches
    # when: introduced in one step
    response = agent_client.post(reverse("listings:introduce", kwargs={"case_id": case.pk}),
                                 {"listing_ids": [hit.pk, sale.pk], "method": "email", "introduced_on": "2026-12-01"})
    assert response.status_code == 302
    introductions = {row.listing_ref: row for row in Introduction.objects.for_company(company).filter(case=case)}
    assert sorted(introductions) == ["HIT", "S-1"]
    # then: the table shows the money with units and links the listing; the reaction is editable
    page = agent_client.get(detail_url).content.decode()
    table = page[page.index('data-testid="introductions"'):page.index('data-testid="matches"')]
    assert "8.5 man-yen" in table and "3,980 man-yen" in table
    assert f'href="/listings/{hit.pk}/"' in table
    reaction_url = reverse("listings:reaction", kwargs={"case_id": case.pk, "introduction_id": introductions["HIT"].pk})
    assert agent_client.post(reaction_url, {"reaction": "interested"}).status_code == 302
    introductions["HIT"].refresh_from_db()
    assert introductions["HIT"].reaction == "interested"


def test_introduce_refuses_a_listing_of_another_company(agent_client, company, case, other_company):
    theirs = make_listing(other_company["company"], "THEIRS")
    response = agent_client.post(reverse("listings:introduce", kwargs={"case_id": case.pk}),
                                 {"listing_ids": [theirs.pk], "method": "email", "introduced_on": "2026-12-01"})
    assert response.status_code == 404
    assert not Introduction.objects.unscoped().exists()


def test_see_all_matches_lists_the_case_matches(agent_client, company, case):
    for number in range(12):
        make_listing(company, f"L-{number:02d}")
    make_listing(company, "FAR", rent=Decimal("30"))
    set_desired(case, rent_max=Decimal("10"))
    page = agent_client.get(reverse("crm:detail", kwargs={"case_id": case.pk})).content.decode()
    assert 'data-testid="match-count">12<' in page
    assert f'href="/listings/?case={case.pk}"' in page
    assert len(listed_refs(agent_client.get(reverse("listings:list"), {"case": case.pk}))) == 12


def test_list_page_queries_do_not_grow_with_the_listings(agent_client, company, agent, django_assert_max_num_queries):
    for number in range(3):
        make_listing(company, f"L-{number}", agent=agent)
    agent_client.get(reverse("listings:list"))  # warm the session and the actor
    with django_assert_max_num_queries(12) as few:
        agent_client.get(reverse("listings:list"))
    for number in range(3, 30):
        make_listing(company, f"L-{number}", agent=agent)
    with django_assert_max_num_queries(len(few.captured_queries)):
        agent_client.get(reverse("listings:list"))


def test_only_an_admin_removes_a_photo_and_its_file(client, company, agent, company_admin, tmp_path, django_capture_on_commit_callbacks):
    listing = make_listing(company)
    client.force_login(agent)
    client.post(reverse("listings:photo-upload", kwargs={"listing_id": listing.pk}),
                {"photo": SimpleUploadedFile("外観.png", PNG, content_type="image/png")})
    photo = ListingPhoto.objects.for_company(company).get()
    url = reverse("listings:photo-remove", kwargs={"listing_id": listing.pk, "photo_id": photo.pk})
    assert client.post(url).status_code == 403
    assert ListingPhoto.objects.for_company(company).count() == 1
    client.force_login(company_admin)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    assert not ListingPhoto.objects.for_company(company).exists()
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]
