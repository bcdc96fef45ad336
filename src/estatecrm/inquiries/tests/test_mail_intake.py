"""Each committed .eml file becomes what issue 11 says: a case, a linked case, a duplicate, or an
inquiry kept for 「取り込めなかった反響」; nothing is dropped."""

import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from estatecrm.core import testing
from estatecrm.crm.choices import ActivityKind, CaseKind, CaseOrigin, CaseStatus
from estatecrm.crm.models import Activity, Case, ContactPoint, Customer, Listing, ListingStation
from estatecrm.inquiries.choices import Channel, InquiryStatus, Preset
from estatecrm.inquiries.intake import money_in_man_yen, split_city
from estatecrm.inquiries.mail import take_mail
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.inquiries.tests.test_mail_reading import PORTAL_LABELS

MAILS = Path(__file__).parent / "mails"
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def website(company, org, company_admin):
    return InquirySource.objects.create(company=company, code="website", name="自社HP", preset=Preset.WEBSITE, org_unit=org["SJK"],
                                        default_assignee=company_admin, from_contains="form@acme.example.jp", position=2)


@pytest.fixture
def homes(company, org, agent):
    return InquirySource.objects.create(company=company, code="homes", name="LIFULL HOME'S", org_unit=org["SBY"], default_assignee=agent,
                                        from_contains="portal-homes.example.jp", labels=PORTAL_LABELS, position=3)


def take(company, name: str):
    return take_mail(company.pk, (MAILS / name).read_bytes())


def test_suumo_mail_becomes_a_case_with_its_listing(company, suumo, agent, mailoutbox, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        outcome = take(company, "suumo_iso2022jp.eml")
    # then
    assert outcome.status == InquiryStatus.CREATED
    case = Case.objects.for_company(company.pk).get(pk=outcome.case.pk)
    assert (case.origin, case.status, case.kind, case.owning_org_id, case.main_assignee_id) == (
        CaseOrigin.INQUIRY, CaseStatus.NEW, CaseKind.RENT, suumo.org_unit_id, agent.pk)
    assert (case.first_inquiry_source, case.first_inquiry_date, case.first_inquiry_listing_name, case.source_id) == (
        "SUUMO", datetime.date(2026, 12, 6), "パークハイツ渋谷 302", "R0001234567")
    listing = Listing.objects.for_company(company.pk).get(suumo_id="100012345678")
    assert (listing.name, listing.kind, float(listing.rent), listing.price, listing.layout, float(listing.area)) == (
        "パークハイツ渋谷 302", CaseKind.RENT, 8.5, None, "1LDK", 35.2)
    assert (listing.prefecture, listing.city, listing.street) == ("東京都", "渋谷区", "道玄坂1丁目")
    station = ListingStation.objects.for_company(company.pk).get(listing=listing)
    assert (station.line, station.station, station.walk_minutes) == ("JR山手線", "渋谷", 7)
    customer = case.customer
    assert (customer.name, customer.kana) == ("山田 花子", "ヤマダ ハナコ")
    assert sorted(ContactPoint.objects.for_company(company.pk).filter(customer=customer).values_list("normalized", flat=True)) == [
        "+819012345678", "hanako@example.jp"]
    activity = Activity.objects.for_company(company.pk).get(case=case)
    assert activity.kind == ActivityKind.INQUIRY and activity.occurred_at == datetime.datetime(2026, 12, 6, 10, 15, tzinfo=TOKYO)
    assert activity.body.startswith("今週末に内見できますか。\n駐車場の空きも教えてください。\n\n")
    inquiry = outcome.inquiry
    assert (inquiry.channel, inquiry.source_id, inquiry.inquiry_id, inquiry.subject) == (
        Channel.EML, suumo.pk, "R0001234567", "[リクルートＪＤＳ]反響お知らせメール")
    assert bytes(inquiry.raw) == (MAILS / "suumo_iso2022jp.eml").read_bytes()
    assert [message.to for message in mailoutbox] == [[agent.email]]


def test_same_mail_and_same_inquiry_number_in_another_mail_are_duplicates(company, suumo):
    first = take(company, "suumo_iso2022jp.eml")
    # when: the same file again, then a resend with a new Message-ID and the same 連番
    again = take(company, "suumo_iso2022jp.eml")
    resend = take(company, "suumo_resend_same_number.eml")
    # then
    assert (again.status, resend.status) == ("duplicate", "duplicate")
    assert again.case.pk == resend.case.pk == first.case.pk
    assert (Case.objects.for_company(company.pk).count(), Inquiry.objects.for_company(company.pk).count()) == (1, 1)


def test_suumo_sales_mail_fills_the_price(company, suumo):
    suumo.case_kind = CaseKind.BUY
    suumo.save()
    outcome = take(company, "suumo_buy_utf8_base64.eml")
    assert outcome.status == InquiryStatus.CREATED and outcome.case.kind == CaseKind.BUY
    listing = Listing.objects.for_company(company.pk).get(suumo_id="70012345")
    assert (listing.price, listing.rent, listing.layout, float(listing.area), listing.city) == (3980, None, "3LDK", 70.12, "中野区")
    assert outcome.customer.name == "佐藤 一郎"


@pytest.mark.parametrize(("name", "customer_name", "phone", "email"), [
    ("website_shift_jis.eml", "鈴木 次郎", "+818022223333", "jiro.suzuki@example.ne.jp"),
    ("website_mislabelled_cp932.eml", "髙橋 一郎", "+81451234567", "takahashi@example.co.jp"),
    ("website_cp50220.eml", "髙橋 一郎", "+81451239999", "takahashi2@example.co.jp"),
    ("website_utf8_qp_alternative.eml", "田中 美咲", "+819055556666", "misaki@example.jp"),
    ("website_html_only.eml", "伊藤 健太", "+817011112222", "kenta@example.jp"),
])
def test_website_form_mails_in_every_encoding_become_cases(company, website, company_admin, name, customer_name, phone, email):
    outcome = take(company, name)
    assert outcome.status == InquiryStatus.CREATED
    assert (outcome.customer.name, outcome.case.owning_org_id, outcome.case.main_assignee_id) == (
        customer_name, website.org_unit_id, company_admin.pk)
    points = set(ContactPoint.objects.for_company(company.pk).filter(customer=outcome.customer).values_list("normalized", flat=True))
    assert points == {phone, email}
    assert outcome.case.first_inquiry_source == "自社HP"


def test_website_form_fields_reach_the_case(company, website):
    outcome = take(company, "website_shift_jis.eml")
    case = outcome.case
    assert case.desired.move_in == "1ヶ月以内"
    assert (case.first_inquiry_listing_name, case.source_id) == ("メゾン恵比寿 101", "W-20261206-0042")
    activity = Activity.objects.for_company(company.pk).get(case=case)
    assert activity.subject == "自社HP 来店予約"
    assert activity.body.startswith("土曜日の午後に来店したいです。\nペット（小型犬）は相談できますか。\n\n駅から近いところを希望します。")
    assert activity.occurred_at == datetime.datetime(2026, 12, 6, 9, 5, tzinfo=TOKYO)


def test_portal_read_by_labels_alone(company, homes):
    outcome = take(company, "portal_labels_only.eml")
    assert outcome.status == InquiryStatus.CREATED and outcome.customer.name == "中村 優子"
    listing = Listing.objects.for_company(company.pk).get(homes_id="HM-55501")
    assert (float(listing.rent), listing.layout, listing.city, listing.street) == (12.5, "2LDK", "渋谷区", "代官山町1-1")
    station = ListingStation.objects.for_company(company.pk).get(listing=listing)
    assert (station.line, station.station, station.walk_minutes) == ("東急東横線", "代官山", 4)
    assert outcome.inquiry.inquiry_id == "H-778899"


def test_mail_without_message_id_is_taken_once(company, website):
    first = take(company, "website_no_message_id.eml")
    again = take(company, "website_no_message_id.eml")
    assert first.status == InquiryStatus.CREATED and first.inquiry.message_id.startswith("sha256:")
    assert again.status == "duplicate" and again.case.pk == first.case.pk


def test_unrecognized_and_customerless_mails_are_kept_with_their_bytes(company, suumo, website):
    unmatched = take(company, "newsletter_unmatched.eml")
    customerless = take(company, "suumo_without_customer.eml")
    assert (unmatched.status, unmatched.inquiry.source_id, unmatched.case) == (InquiryStatus.UNMATCHED, None, None)
    assert bytes(unmatched.inquiry.raw) == (MAILS / "newsletter_unmatched.eml").read_bytes()
    assert unmatched.inquiry.subject == "【新着物件のご紹介】今週のおすすめ"
    assert (customerless.status, customerless.inquiry.source_id) == (InquiryStatus.FAILED, suumo.pk)
    assert "no name, phone number or e-mail address" in customerless.inquiry.error
    assert Case.objects.for_company(company.pk).count() == 0
    # the same mails again are duplicates of the kept ones
    assert take(company, "newsletter_unmatched.eml").status == "duplicate"
    assert Inquiry.objects.for_company(company.pk).count() == 2


def test_known_customer_by_phone_or_email_gets_a_linked_case(company, org, suumo, website):
    # given: a customer with the SUUMO mail's phone, another with the form's e-mail
    by_phone = testing.make_case(company, org["SBY"], customer_name="山田 花子", phones=(("mobile", "090-1234-5678"),), emails=())
    by_email = testing.make_case(company, org["SBY"], customer_name="鈴木 次郎", phones=(), emails=("Jiro.Suzuki@example.ne.jp",))
    # when
    suumo_outcome = take(company, "suumo_iso2022jp.eml")
    form_outcome = take(company, "website_shift_jis.eml")
    # then
    assert (suumo_outcome.status, suumo_outcome.customer.pk, suumo_outcome.inquiry.matched_by) == (
        InquiryStatus.LINKED_EXISTING, by_phone.customer_id, "phone")
    assert (form_outcome.status, form_outcome.customer.pk, form_outcome.inquiry.matched_by) == (
        InquiryStatus.LINKED_EXISTING, by_email.customer_id, "email")
    for outcome, existing in ((suumo_outcome, by_phone), (form_outcome, by_email)):
        assert outcome.case.pk != existing.pk and outcome.case.needs_review
    assert Customer.objects.for_company(company.pk).count() == 2


def test_shared_number_makes_a_new_customer_to_review(company, org, suumo):
    # given: two customers already share the mail's phone number (a family line)
    for name in ("山田 一郎", "山田 二郎"):
        testing.make_case(company, org["SBY"], customer_name=name, phones=(("phone", "090-1234-5678"),), emails=())
    # when
    outcome = take(company, "suumo_iso2022jp.eml")
    # then
    assert outcome.status == InquiryStatus.CREATED and outcome.customer.name == "山田 花子"
    assert outcome.case.needs_review and "belongs to 2 customers" in outcome.case.review_messages[0]
    assert Customer.objects.for_company(company.pk).count() == 3


def test_every_mail_file_is_accounted_for(company, suumo, website, homes):
    names = sorted(path.name for path in MAILS.glob("*.eml"))
    statuses = {name: take(company, name).status for name in names}
    assert statuses == {
        "newsletter_unmatched.eml": "unmatched", "portal_labels_only.eml": "created", "suumo_buy_utf8_base64.eml": "created",
        "suumo_iso2022jp.eml": "created", "suumo_resend_same_number.eml": "duplicate", "suumo_without_customer.eml": "failed",
        "website_cp50220.eml": "created", "website_html_only.eml": "created", "website_mislabelled_cp932.eml": "created",
        "website_no_message_id.eml": "created", "website_shift_jis.eml": "created", "website_utf8_qp_alternative.eml": "created",
    }
    assert Inquiry.objects.for_company(company.pk).count() == len(names) - 1


def test_other_company_sees_nothing(company, suumo, other_company):
    take(company, "suumo_iso2022jp.eml")
    outcome = take_mail(other_company["company"].pk, (MAILS / "suumo_iso2022jp.eml").read_bytes())
    assert outcome.status == InquiryStatus.UNMATCHED and outcome.inquiry.company_id == other_company["company"].pk
    assert Case.objects.for_company(other_company["company"].pk).count() == 1  # its own case only


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("8.5万円", CaseKind.RENT, 8.5), ("85,000円", CaseKind.RENT, 8.5), ("６万３０００円", CaseKind.RENT, 6.3), ("85000", CaseKind.RENT, 8.5),
    ("8.5", CaseKind.RENT, 8.5), ("3,980万円", CaseKind.BUY, 3980), ("3980", CaseKind.BUY, 3980), ("39,800,000円", CaseKind.BUY, 3980),
    ("39800000", CaseKind.BUY, 3980), ("1億2,000万円", CaseKind.BUY, 12000), ("1億円", CaseKind.BUY, 10000), ("相談", CaseKind.RENT, None),
])
def test_money_in_man_yen_by_kind(text, kind, value):
    assert money_in_man_yen(text, kind) == value


@pytest.mark.parametrize(("rest", "parts"), [
    ("渋谷区道玄坂1丁目", ("渋谷区", "道玄坂1丁目")), ("横浜市中区山下町1", ("横浜市中区", "山下町1")), ("安城市東新町", ("安城市", "東新町")),
    ("西多摩郡瑞穂町箱根ケ崎", ("西多摩郡瑞穂町", "箱根ケ崎")), ("町田市原町田", ("町田市", "原町田")), ("番地のみ", ("番地のみ", "")),
])
def test_split_city(rest, parts):
    assert split_city(rest) == parts
