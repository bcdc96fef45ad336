"""Listing actions: create and change (rules, audit, optimistic lock, 非公開 for admins), photos, introductions."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError, Conflict, PermissionDenied
from estatecrm.core.versions import ReadVersion
from estatecrm.crm.choices import FEATURE_BITS
from estatecrm.crm.models import Activity, Introduction, Listing, ListingPhoto, ListingStation
from estatecrm.listings import actions
from estatecrm.listings.tests.conftest import make_listing

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_create_keeps_stations_in_order_features_as_bits_and_audits(company, agent):
    # when
    listing = make_listing(company, "L-1", acting_user=agent, features=["ペット相談", "オートロック"],
                           stations=[{"line": "JR山手線", "station": "渋谷駅", "walk_minutes": 7}, {"line": "", "station": "表参道", "walk_minutes": 12}])
    # then
    assert listing.feature_bits == FEATURE_BITS["ペット相談"] | FEATURE_BITS["オートロック"]
    assert listing.features == ["ペット相談", "オートロック"]
    assert list(ListingStation.objects.for_company(company).filter(listing=listing).values_list("station", "walk_minutes", "position")) == [
        ("渋谷", 7, 0), ("表参道", 12, 1)]
    event = AuditEvent.objects.for_company(company).get(object_type="crm.listing", verb="create")
    assert (event.actor_id, event.after["ref"], event.after["stations"][0]["station"]) == (agent.pk, "L-1", "渋谷")


@pytest.mark.parametrize(("values", "field"), [({"kind": "rent", "rent": None}, "rent"), ({"kind": "buy", "price": None}, "price")])
def test_money_of_the_kind_is_required(company, agent, values, field):
    with pytest.raises(ApplicationError) as refused:
        make_listing(company, acting_user=agent, **values)
    assert list(refused.value.fields) == [field]
    assert Listing.objects.for_company(company).count() == 0


def test_a_taken_listing_number_is_refused(company, agent):
    make_listing(company, "L-1")
    with pytest.raises(ApplicationError) as refused:
        make_listing(company, "L-1")
    assert (refused.value.code, list(refused.value.fields)) == ("listing_ref_taken", ["ref"])


def test_only_an_admin_hides_a_listing(company, agent, company_admin):
    with pytest.raises(PermissionDenied):
        make_listing(company, "L-1", status="hidden", acting_user=agent)
    listing = make_listing(company, "L-1", acting_user=agent)
    with pytest.raises(PermissionDenied):
        actions.do_update_listing(listing=listing, values={"status": "hidden"}, stations=None, acting_user=agent)
    assert actions.do_update_listing(listing=listing, values={"status": "hidden"}, stations=None, acting_user=company_admin)
    listing.refresh_from_db()
    assert listing.status == "hidden"
    with pytest.raises(PermissionDenied):
        actions.do_update_listing(listing=listing, values={"status": "available"}, stations=None, acting_user=agent)
    assert actions.do_update_listing(listing=listing, values={"status": "applied"}, stations=None, acting_user=company_admin)


def test_update_audits_what_changed_and_refuses_a_stale_version(company, agent):
    listing = make_listing(company, "L-1", acting_user=agent)
    read = ReadVersion.of(listing)
    assert actions.do_update_listing(listing=listing, values={"rent": Decimal("9.0")}, stations=[{"station": "渋谷", "walk_minutes": 3}],
                                     acting_user=agent, read_version=read)
    event = AuditEvent.objects.for_company(company).get(object_type="crm.listing", verb="update")
    assert (event.before["rent"], event.after["rent"], event.before["stations"], event.after["stations"][0]["walk_minutes"]) == (
        "8.5", "9.0", [], 3)
    with pytest.raises(Conflict), transaction.atomic():
        actions.do_update_listing(listing=listing, values={"rent": Decimal("7.0")}, stations=None, acting_user=agent, read_version=read)
    listing.refresh_from_db()
    assert listing.rent == Decimal("9.0")
    assert not actions.do_update_listing(listing=listing, values={"rent": Decimal("9.0")}, stations=None, acting_user=agent)


def test_a_listing_for_sale_keeps_no_rent_terms(company, agent):
    listing = make_listing(company, kind="buy", price=3980, rent=Decimal("8"), management_fee=5000, deposit_months=Decimal(1))
    assert (listing.rent, listing.management_fee, listing.deposit_months, listing.price) == (None, None, None, 3980)


def test_photo_of_an_image_type_is_stored_under_the_listing(company, agent, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    listing = make_listing(company)
    photo = actions.do_add_listing_photo(listing=listing, upload=SimpleUploadedFile("外観.png", PNG, content_type="text/plain"),
                                         acting_user=agent)
    assert photo.file.name.startswith(f"listings/{company.pk}/{listing.pk}/")
    assert (photo.content_type, photo.size, photo.original_name) == ("image/png", len(PNG), "外観.png")
    assert AuditEvent.objects.for_company(company).filter(object_type="crm.listingphoto", verb="create").count() == 1


@pytest.mark.parametrize(("name", "content", "code"), [
    ("photo.jpg", b"<html>not an image</html>", "photo_not_an_image"),
    ("photo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo_not_an_image"),
    ("huge.png", PNG + b"\x00" * actions.PHOTO_MAX_BYTES, "photo_too_large"),
])
def test_photo_that_is_not_an_image_or_too_large_is_refused(company, agent, settings, tmp_path, name, content, code):
    settings.MEDIA_ROOT = tmp_path
    listing = make_listing(company)
    with pytest.raises(ApplicationError) as refused:
        actions.do_add_listing_photo(listing=listing, upload=SimpleUploadedFile(name, content, content_type="image/jpeg"), acting_user=agent)
    assert (refused.value.code, list(refused.value.fields)) == (code, ["photo"])
    assert ListingPhoto.objects.for_company(company).count() == 0
    assert not list(tmp_path.rglob("*.*"))


def test_introduce_several_listings_in_one_step_skipping_those_already_introduced(company, agent, case):
    rent = make_listing(company, "R-1", rent=Decimal("8.5"), layout="1K")
    sale = make_listing(company, "S-1", kind="buy", price=3980, layout="3LDK")
    created = actions.do_introduce_listings(case=case, listings=[rent, sale], method="email", introduced_on=datetime.date(2026, 12, 1),
                                            acting_user=agent)
    assert [(row.listing_ref, row.rent_or_price, row.layout, row.method) for row in created] == [
        ("R-1", Decimal("8.5"), "1K", "email"), ("S-1", 3980, "3LDK", "email")]
    again = actions.do_introduce_listings(case=case, listings=[rent], method="line", introduced_on=datetime.date(2026, 12, 2),
                                          acting_user=agent)
    assert again == []
    assert Introduction.objects.for_company(company).filter(case=case).count() == 2
    assert AuditEvent.objects.for_company(company).filter(object_type="crm.introduction", verb="create").count() == 2
    # the timeline has one entry for the step that introduced something, none for the one that did not
    entries = list(Activity.objects.for_company(company).filter(case=case).values_list("kind", "subject", "body", "actor_id"))
    assert entries == [("system", "Listings introduced (E-mail)", f"R-1 {rent.name} 1K\nS-1 {sale.name} 3LDK", agent.pk)]
    case.refresh_from_db()
    assert case.last_contact_at is None


def test_introduce_refuses_an_unknown_method_or_no_listing(company, agent, case):
    listing = make_listing(company)
    with pytest.raises(ApplicationError):
        actions.do_introduce_listings(case=case, listings=[listing], method="fax", introduced_on=datetime.date(2026, 12, 1), acting_user=agent)
    with pytest.raises(ApplicationError):
        actions.do_introduce_listings(case=case, listings=[], method="email", introduced_on=datetime.date(2026, 12, 1), acting_user=agent)
    assert Introduction.objects.for_company(company).count() == 0


def test_reaction_is_recorded_and_audited(company, agent, case):
    [introduction] = actions.do_introduce_listings(case=case, listings=[make_listing(company)], method="visit",
                                                   introduced_on=datetime.date(2026, 12, 1), acting_user=agent)
    assert actions.do_set_introduction_reaction(introduction=introduction, reaction="considering", acting_user=agent)
    assert not actions.do_set_introduction_reaction(introduction=introduction, reaction="considering", acting_user=agent)
    with pytest.raises(ApplicationError):
        actions.do_set_introduction_reaction(introduction=introduction, reaction="maybe", acting_user=agent)
    introduction.refresh_from_db()
    assert introduction.reaction == "considering"
    event = AuditEvent.objects.for_company(company).get(object_type="crm.introduction", verb="update")
    assert (event.before, event.after) == ({"reaction": ""}, {"reaction": "considering"})
