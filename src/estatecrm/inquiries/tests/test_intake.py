"""The intake core: a mail read by labels becomes a case; the same mail again changes nothing."""

from email.message import EmailMessage

from estatecrm.crm.choices import ActivityKind, CaseOrigin, CaseStatus
from estatecrm.crm.models import Activity, Case, ContactPoint, Customer, Listing, ListingStation
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.intake import InquiryData, take_inquiry
from estatecrm.inquiries.mail import read_labels, take_mail
from estatecrm.inquiries.models import Inquiry

SUUMO_BODY = """\
SUUMOをご利用いただきありがとうございます。
反響がありましたのでお知らせいたします。

■問合せ物件
物件名：パークハイツ渋谷 302
SUUMO物件コード：100012345678
最寄り駅：ＪＲ山手線「渋谷」駅 徒歩7分
所在地：東京都渋谷区道玄坂1-2-3
賃料：8.5万円
間取り：1LDK
専有面積：35.2m2

■お客様プロフィール
名前(漢字)：山田 花子
名前(カナ)：ヤマダ ハナコ
メールアドレス：hanako@example.jp
TEL：090-1234-5678
お問合せ内容：
今週末に内見できますか。
駐車場の空きも教えてください。
────────────────
リクルートJDS
"""


def suumo_mail(body=SUUMO_BODY, message_id="<a1@jds.suumo.jp>", charset="iso-2022-jp") -> bytes:
    message = EmailMessage()
    message["From"] = "SUUMO <info@jds.suumo.jp>"
    message["To"] = "shibuya@acme.example.jp"
    message["Subject"] = "[リクルートJDS]反響お知らせメール"
    message["Message-ID"] = message_id
    message["Date"] = "Sun, 06 Dec 2026 10:15:00 +0900"
    message.set_content(body, charset=charset)
    return message.as_bytes()


def test_read_labels_takes_same_line_next_line_and_message():
    fields = read_labels(SUUMO_BODY, {"物件名": "listing_name", "名前(漢字)": "customer_name", "お問合せ内容": "message", "TEL": "phone"})
    assert fields == {"listing_name": "パークハイツ渋谷 302", "customer_name": "山田 花子", "phone": "090-1234-5678",
                      "message": "今週末に内見できますか。\n駐車場の空きも教えてください。"}


def test_suumo_mail_becomes_a_new_inquiry_case(suumo, agent, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = take_mail(suumo.company_id, suumo_mail())
    assert outcome.status == InquiryStatus.CREATED
    case = Case.objects.for_company(suumo.company_id).get(pk=outcome.case.pk)
    assert (case.origin, case.status, case.owning_org_id, case.main_assignee_id) == (CaseOrigin.INQUIRY, CaseStatus.NEW, suumo.org_unit_id, agent.pk)
    assert case.first_inquiry_source == "SUUMO" and case.first_inquiry_listing_name == "パークハイツ渋谷 302"
    assert str(case.first_inquiry_date) == "2026-12-06" and case.last_contact_at is None
    listing = Listing.objects.for_company(suumo.company_id).get(suumo_id="100012345678")
    assert (listing.layout, float(listing.rent), listing.prefecture) == ("1LDK", 8.5, "東京都")
    assert ListingStation.objects.for_company(suumo.company_id).get(listing=listing).station == "渋谷"
    customer = case.customer
    assert customer.name == "山田 花子" and len(customer.line_link_number) == 8
    assert sorted(ContactPoint.objects.for_company(suumo.company_id).filter(customer=customer).values_list("normalized", flat=True)) == ["+819012345678", "hanako@example.jp"]
    activity = Activity.objects.for_company(suumo.company_id).get(case=case)
    assert activity.kind == ActivityKind.INQUIRY and "駐車場の空き" in activity.body
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [agent.email] and "山田 花子" in mailoutbox[0].subject

    again = take_mail(suumo.company_id, suumo_mail())
    assert again.status == "duplicate" and again.case.pk == case.pk
    assert Case.objects.for_company(suumo.company_id).count() == 1 and Inquiry.objects.for_company(suumo.company_id).count() == 1


def test_known_customer_gets_a_linked_case_to_review(suumo):
    first = take_mail(suumo.company_id, suumo_mail())
    second = take_mail(suumo.company_id, suumo_mail(SUUMO_BODY.replace("パークハイツ渋谷 302", "メゾン恵比寿"), message_id="<a2@jds.suumo.jp>"))
    assert second.status == InquiryStatus.LINKED_EXISTING and second.customer.pk == first.customer.pk
    assert second.case.pk != first.case.pk and second.case.needs_review
    assert Customer.objects.for_company(suumo.company_id).count() == 1


def test_unrecognized_and_unreadable_mails_are_kept(suumo):
    other = suumo_mail(message_id="<x@example.com>").replace(b"jds.suumo.jp", b"example.com")
    outcome = take_mail(suumo.company_id, other)
    assert outcome.status == InquiryStatus.UNMATCHED and bytes(outcome.inquiry.raw) == other
    nameless = take_mail(suumo.company_id, suumo_mail("反響がありました。\n", message_id="<n@jds.suumo.jp>"))
    assert nameless.status == InquiryStatus.FAILED and nameless.inquiry.source_id == suumo.pk
    assert Case.objects.for_company(suumo.company_id).count() == 0


def test_same_inquiry_id_is_one_case(suumo):
    data = InquiryData(customer_name="佐藤 一郎", phone="03-1234-5678", inquiry_id="W-1")
    first = take_inquiry(suumo, data, channel=Channel.API)
    second = take_inquiry(suumo, data, channel=Channel.API)
    assert first.status == InquiryStatus.CREATED and second.status == "duplicate" and second.case.pk == first.case.pk


def test_move_in_is_read_however_the_small_ke_is_written():
    from estatecrm.inquiries.intake import desired_conditions

    for written in ("1ヶ月以内", "1ケ月以内", "1カ月以内", "1ヵ月以内", "１ヵ月以内"):
        assert desired_conditions(InquiryData(desired_move_in=written)) == {"move_in": "1ヶ月以内"}
    assert desired_conditions(InquiryData(desired_move_in="来年の春")) == {}
