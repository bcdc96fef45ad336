"""「取り込めなかった反響」: the inbox lists what waits (and nothing of another company), a mail is assigned by hand
(one case, the same Inquiry row resolved, a second submit refused), taught a label and read again, dismissed and
restored; 反響一覧 accounts for every inquiry."""

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import Conflict
from estatecrm.core.versions import etag_of
from estatecrm.crm.choices import ActivityKind, CaseOrigin, CaseStatus
from estatecrm.crm.models import Activity, Case
from estatecrm.inquiries import inbox_actions, selectors
from estatecrm.inquiries.choices import InquiryStatus
from estatecrm.inquiries.mail import take_mail
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.inquiries.tests.inbox_mails import (
    HOMES_LABELS,
    advertising_mail,
    homes_mail,
    mail,
    suumo_without_customer,
)
from estatecrm.inquiries.tests.test_intake import suumo_mail
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(company_admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(company_admin)
    return client


@pytest.fixture
def homes(company, org, agent):
    """A source for LIFULL HOME'S that does not read mail yet (no sender or subject condition): the API's only."""
    return InquirySource.objects.create(company=company, code="homes", name="LIFULL HOME'S", org_unit=org["SBY"], default_assignee=agent,
                                        position=1)


def listed_ids(response) -> list[int]:
    return [int(value) for value in re.findall(r'data-inquiry-id="(\d+)"', response.content.decode())]


def assign_form(inquiry, source, **values) -> dict:
    return {"version": etag_of(inquiry), "source": source.pk, "customer_name": "高橋 美咲", "customer_kana": "タカハシ ミサキ",
            "phone": "080-4321-8765", "email": "misaki.t@example.ne.jp", "message": "12月中旬に内見を希望します。", **values}


# ---------------------------------------------------------------------------------------------
# The inbox


def test_inbox_lists_waiting_mails_newest_first_and_nothing_of_another_company(admin_client, company, suumo, other_company, agent):
    # given: an unmatched portal mail, a SUUMO mail without the customer (failed), a SUUMO mail taken, company B's unmatched mail
    unmatched = take_mail(company.pk, homes_mail()).inquiry
    failed = take_mail(company.pk, suumo_without_customer()).inquiry
    taken = take_mail(company.pk, suumo_mail())
    take_mail(other_company["company"].pk, mail("他社の反響です", sender="x@other.example.jp", subject="他社宛の問い合わせ", message_id="<b@other>"))
    assert (unmatched.status, failed.status, taken.status) == (InquiryStatus.UNMATCHED, InquiryStatus.FAILED, InquiryStatus.CREATED)
    # when
    response = admin_client.get(reverse("inbox:inbox"))
    # then: newest first (10:15 before 09:05); the taken mail and company B's are not there
    assert response.status_code == 200
    assert listed_ids(response) == [unmatched.pk, failed.pk]
    body = response.content.decode()
    assert "【LIFULL HOME&#x27;S】お問い合わせがありました" in body and "The inquiry has no name, phone number or e-mail address" in body
    assert "他社宛の問い合わせ" not in body
    # and: the side menu counts them for the admin, not for an agent (who may not open the inbox)
    assert json.loads(admin_client.get(reverse("crm:counts")).content)["inquiry_inbox"] == 2
    agent_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    agent_client.force_login(agent)
    assert "inquiry_inbox" not in json.loads(agent_client.get(reverse("crm:counts")).content)
    assert agent_client.get(reverse("inbox:inbox")).status_code == 403
    # and: company B's admin gets 404 for company A's mail and its raw bytes
    other_client = Client()
    other_client.force_login(other_company["admin"])
    assert other_client.get(reverse("inbox:detail", kwargs={"inquiry_id": unmatched.pk})).status_code == 404
    assert other_client.get(reverse("inbox:raw", kwargs={"inquiry_id": unmatched.pk})).status_code == 404


def test_inbox_pages_by_keyset(admin_client, company):
    # given: 53 unmatched mails, one a minute
    for minute in range(53):
        take_mail(company.pk, advertising_mail(f"<ad{minute}@seminar.example.com>").replace(
            b"Sat, 05 Dec 2026 18:30:00", f"Sat, 05 Dec 2026 18:{minute:02d}:00".encode()))
    # when
    first = admin_client.get(reverse("inbox:inbox"))
    next_url = re.search(r'href="(\?cursor=[^"]+)" rel="next"', first.content.decode()).group(1)
    second = admin_client.get(reverse("inbox:inbox") + next_url.replace("&amp;", "&"))
    # then
    everything = list(Inquiry.objects.for_company(company).order_by("-received_at").values_list("pk", flat=True))
    assert listed_ids(first) == everything[:50] and listed_ids(second) == everything[50:]


def test_an_org_admin_sees_unmatched_mails_and_failed_mails_of_their_sources_only(company, org, suumo):
    # given: a failed SUUMO mail (the source receives in SBY) and an unmatched one
    failed = take_mail(company.pk, suumo_without_customer()).inquiry
    unmatched = take_mail(company.pk, homes_mail()).inquiry
    sby_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby@acme.example.jp")
    sjk_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk@acme.example.jp")
    # when / then
    assert set(selectors.waiting_inquiries(actor=actor_for(sby_admin)).values_list("pk", flat=True)) == {failed.pk, unmatched.pk}
    assert list(selectors.waiting_inquiries(actor=actor_for(sjk_admin)).values_list("pk", flat=True)) == [unmatched.pk]


# ---------------------------------------------------------------------------------------------
# One mail


def test_the_mail_is_shown_as_escaped_text_and_downloaded_as_received(admin_client, company):
    # given: a plain mail quoting markup, and an HTML-only mail with a script
    quoting = take_mail(company.pk, mail("お名前：<script>alert('x')</script>\n<b>太字</b>のつもり", sender="Web <form@acme.example.jp>",
                                         subject="<img src=x onerror=alert(1)>", message_id="<q1@acme>")).inquiry
    html_only = take_mail(company.pk, mail("<html><body><p>お名前：<b>山本 一郎</b></p><script>steal()</script>"
                                           "<img src='https://tracker.example.com/p.gif'></body></html>",
                                           sender="Web <form@acme.example.jp>", subject="HTMLのみ", message_id="<h2@acme>", html=True)).inquiry
    # when
    shown = admin_client.get(reverse("inbox:detail", kwargs={"inquiry_id": quoting.pk})).content.decode()
    shown_html = admin_client.get(reverse("inbox:detail", kwargs={"inquiry_id": html_only.pk})).content.decode()
    raw = admin_client.get(reverse("inbox:raw", kwargs={"inquiry_id": quoting.pk}))
    # then: the markup is text; the HTML mail is read as text (no tag, no script, no remote image of the mail)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in shown and "<script>alert" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown and "<img src=x" not in shown
    assert "お名前：山本 一郎" in shown_html and "steal()" not in shown_html and "tracker.example.com" not in shown_html
    assert "<b>山本" not in shown_html
    assert raw.status_code == 200 and raw.content == bytes(quoting.raw)
    assert raw["Content-Type"] == "message/rfc822" and raw["Content-Disposition"] == f'attachment; filename="inquiry-{quoting.pk}.eml"'


# ---------------------------------------------------------------------------------------------
# Assign by hand


def test_assign_by_hand_prefills_what_the_chosen_source_reads(admin_client, company, homes):
    # given: the HOME'S source knows the labels but does not recognize the mail (no sender condition)
    homes.labels = HOMES_LABELS
    homes.save()
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    # when
    response = admin_client.get(reverse("inbox:assign", kwargs={"inquiry_id": inquiry.pk}), {"source": homes.pk})
    # then
    form = response.context["form"]
    assert (form.initial["customer_name"], form.initial["phone"], form.initial["inquiry_id"]) == ("高橋 美咲", "080-4321-8765", "H-2026-120601")
    assert form.initial["message"] == "12月中旬に内見を希望します。\n土日の午前中だと助かります。"


def test_assign_by_hand_creates_exactly_one_case_and_resolves_the_same_row(admin_client, company, org, homes, agent, company_admin,
                                                                         mailoutbox, django_capture_on_commit_callbacks):
    # given
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    form = assign_form(inquiry, homes, listing_name="ルミエール代々木 201", inquiry_id="H-2026-120601")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("inbox:assign", kwargs={"inquiry_id": inquiry.pk}), form)
    # then: one case, of the source's unit and default assignee, reached from the redirect
    case = Case.objects.for_company(company).get()
    assert response.status_code == 302 and response["Location"] == reverse("crm:detail", kwargs={"case_id": case.pk})
    assert (case.origin, case.status, case.owning_org_id, case.main_assignee_id) == (CaseOrigin.INQUIRY, CaseStatus.NEW, org["SBY"].pk, agent.pk)
    assert (case.first_inquiry_source, case.first_inquiry_listing_name, case.customer.name) == ("LIFULL HOME'S", "ルミエール代々木 201", "高橋 美咲")
    assert Activity.objects.for_company(company).get(case=case).kind == ActivityKind.INQUIRY
    # and: the same Inquiry row (with its Message-ID and raw mail) is the taken inquiry, resolved by the admin
    assert Inquiry.objects.for_company(company).count() == 1
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.case_id, inquiry.source_id, inquiry.inquiry_id, inquiry.resolved_by_id) == (
        InquiryStatus.CREATED, case.pk, homes.pk, "H-2026-120601", company_admin.pk)
    assert inquiry.message_id == "h1@homes.co.jp" and bytes(inquiry.raw) == homes_mail()
    event = AuditEvent.objects.for_company(company).get(verb="assign")
    assert (event.before["status"], event.after["status"], event.after["case_id"], event.actor_id) == ("unmatched", "created", case.pk, company_admin.pk)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [agent.email]
    # when: the same form is submitted again (a double click, a second tab)
    again = admin_client.post(reverse("inbox:assign", kwargs={"inquiry_id": inquiry.pk}), form, follow=True)
    # then: refused as already taken; nothing new
    assert f"This mail was already taken: case #{case.number}." in again.content.decode()
    assert Case.objects.for_company(company).count() == 1 and AuditEvent.objects.for_company(company).filter(verb="assign").count() == 1


def test_assign_by_hand_to_another_unit_and_assignee(admin_client, company, org, homes, company_admin):
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    sjk_agent = testing.make_user(company, org["SJK"], email="sjk-agent@acme.example.jp", name="新宿 次郎")
    # when
    response = admin_client.post(reverse("inbox:assign", kwargs={"inquiry_id": inquiry.pk}),
                                 assign_form(inquiry, homes, org_unit=org["SJK"].pk, assignee=sjk_agent.pk, kind="buy"))
    # then
    assert response.status_code == 302
    case = Case.objects.for_company(company).get()
    assert (case.owning_org_id, case.main_assignee_id, case.kind) == (org["SJK"].pk, sjk_agent.pk, "buy")


def test_assign_by_hand_refuses_invalid_input_and_writes_nothing(admin_client, company, homes):
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    # when: a phone that is no phone number
    response = admin_client.post(reverse("inbox:assign", kwargs={"inquiry_id": inquiry.pk}), assign_form(inquiry, homes, phone="内見希望"))
    # then
    assert response.status_code == 400
    assert response.context["form"].errors["phone"] == ["This is not a phone number: 内見希望"]
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.UNMATCHED and inquiry.case_id is None
    assert Case.objects.for_company(company).count() == 0 and not AuditEvent.objects.for_company(company).filter(verb="assign").exists()


def test_an_org_admin_cannot_assign_into_a_unit_whose_cases_they_do_not_see(company, org, homes):
    # given: the admin of 新宿店 and a source receiving in 渋谷店
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    sjk_admin = actor_for(testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk@acme.example.jp"))
    assignment = inbox_actions.Assignment(source_id=homes.pk, data=inbox_actions.InquiryData(customer_name="高橋 美咲", phone="080-4321-8765"))
    # when / then
    with pytest.raises(Exception) as refused:
        inbox_actions.do_assign_inquiry(actor=sjk_admin, inquiry_id=inquiry.pk, version=etag_of(inquiry), assignment=assignment)
    assert refused.value.fields == {"org_unit": ["You cannot put a case in this unit."]}
    # and: into their own unit it is taken
    assignment.org_unit_id = org["SJK"].pk
    outcome = inbox_actions.do_assign_inquiry(actor=sjk_admin, inquiry_id=inquiry.pk, version=etag_of(inquiry), assignment=assignment)
    assert outcome.case.owning_org_id == org["SJK"].pk and outcome.case.main_assignee_id is None


def test_a_stale_form_is_refused(company, company_admin, homes):
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    read = etag_of(inquiry)
    actor = actor_for(company_admin)
    inbox_actions.do_dismiss_inquiry(actor=actor, inquiry_id=inquiry.pk, version=read, reason="広告")
    inbox_actions.do_restore_inquiry(actor=actor, inquiry_id=inquiry.pk, version=None)
    assignment = inbox_actions.Assignment(source_id=homes.pk, data=inbox_actions.InquiryData(customer_name="高橋 美咲"))
    # when: a form read before the dismissal and restore
    with pytest.raises(Conflict) as refused:
        inbox_actions.do_assign_inquiry(actor=actor, inquiry_id=inquiry.pk, version=read, assignment=assignment)
    # then
    assert refused.value.code == "inquiry_stale" and Case.objects.for_company(company).count() == 0


# ---------------------------------------------------------------------------------------------
# Teach a label, read again


def test_teach_labels_and_the_sender_then_the_mail_is_taken(admin_client, company, homes, company_admin):
    # given: a HOME'S mail that no source recognizes
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    detail = admin_client.get(reverse("inbox:detail", kwargs={"inquiry_id": inquiry.pk}))
    assert detail.context["teach_form"].initial["from_contains"] == "homes.co.jp"
    # when: the admin teaches the labels of the customer and the sender
    response = admin_client.post(reverse("inbox:teach", kwargs={"inquiry_id": inquiry.pk}), {
        "version": etag_of(inquiry), "source": homes.pk, "label_0": "【お名前】", "field_0": "customer_name", "label_1": "電話番号",
        "field_1": "phone", "label_2": "お問い合わせ内容", "field_2": "message", "match_sender": "on", "from_contains": "homes.co.jp"})
    # then: the source keeps them (as labels: the brackets copied from the mail are marks), the mail is read again and taken
    homes.refresh_from_db()
    assert homes.labels == {"お名前": "customer_name", "電話番号": "phone", "お問い合わせ内容": "message"}
    assert homes.from_contains == "homes.co.jp"
    inquiry.refresh_from_db()
    case = Case.objects.for_company(company).get()
    assert response.status_code == 302 and response["Location"] == reverse("crm:detail", kwargs={"case_id": case.pk})
    assert (inquiry.status, inquiry.case_id, inquiry.resolved_by_id, case.customer.name) == (InquiryStatus.CREATED, case.pk, company_admin.pk,
                                                                                             "高橋 美咲")
    assert set(AuditEvent.objects.for_company(company).values_list("verb", "object_type")) >= {("update", "inquiries.inquirysource"),
                                                                                              ("reread", "inquiries.inquiry")}
    # and: the next HOME'S mail is taken on arrival
    assert take_mail(company.pk, homes_mail("<h2@homes.co.jp>")).status == InquiryStatus.LINKED_EXISTING


def test_teaching_labels_that_do_not_suffice_keeps_the_mail_waiting(admin_client, company, suumo):
    # given: a SUUMO mail without the customer's details
    inquiry = take_mail(company.pk, suumo_without_customer()).inquiry
    # when: a label that finds nothing of the customer
    response = admin_client.post(reverse("inbox:teach", kwargs={"inquiry_id": inquiry.pk}), {
        "version": etag_of(inquiry), "source": suumo.pk, "label_0": "所在地", "field_0": "listing_address"}, follow=True)
    # then: still waiting, with what was read and why
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.FAILED and inquiry.fields["listing_address"] == "東京都渋谷区道玄坂1-2-3"
    assert "the mail still cannot be taken" in response.content.decode()
    assert Case.objects.for_company(company).count() == 0


def test_teach_refuses_a_field_that_does_not_exist(admin_client, company, homes):
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    refused = inbox_actions.check_labels
    with pytest.raises(Exception) as error:
        refused([("お名前", "name")])
    assert error.value.code == "labels_invalid"
    response = admin_client.post(reverse("inbox:teach", kwargs={"inquiry_id": inquiry.pk}), {"version": etag_of(inquiry), "source": homes.pk})
    assert response.status_code == 400 and "Add at least one label" in response.content.decode()
    homes.refresh_from_db()
    assert homes.labels == {}


def test_read_all_waiting_mails_again_takes_the_recognized_ones(admin_client, company, homes):
    # given: two HOME'S mails and an advertisement wait; then the source learns how to read HOME'S mail
    first = take_mail(company.pk, homes_mail()).inquiry
    second = take_mail(company.pk, homes_mail("<h2@homes.co.jp>", body=homes_mail_body_of("佐々木 健", "090-5555-1234", "H-2"))).inquiry
    advertisement = take_mail(company.pk, advertising_mail()).inquiry
    InquirySource.objects.for_company(company).filter(pk=homes.pk).update(from_contains="homes.co.jp", labels=HOMES_LABELS)
    # when
    response = admin_client.post(reverse("inbox:reread"), follow=True)
    # then
    assert "Read again: 2 taken, 1 still waiting." in response.content.decode()
    statuses = dict(Inquiry.objects.for_company(company).values_list("pk", "status"))
    assert statuses == {first.pk: InquiryStatus.CREATED, second.pk: InquiryStatus.CREATED, advertisement.pk: InquiryStatus.UNMATCHED}
    assert Case.objects.for_company(company).count() == 2
    assert listed_ids(response) == [advertisement.pk]


def homes_mail_body_of(name: str, phone: str, inquiry_id: str) -> str:
    from estatecrm.inquiries.tests.inbox_mails import HOMES_BODY

    return (HOMES_BODY.replace("高橋 美咲", name).replace("080-4321-8765", phone).replace("H-2026-120601", inquiry_id)
            .replace("misaki.t@example.ne.jp", "k.sasaki@example.jp"))


# ---------------------------------------------------------------------------------------------
# Dismiss and restore


def test_dismiss_with_a_reason_and_restore(admin_client, company, company_admin):
    inquiry = take_mail(company.pk, advertising_mail()).inquiry
    url = reverse("inbox:dismiss", kwargs={"inquiry_id": inquiry.pk})
    # when: without a reason
    refused = admin_client.post(url, {"version": etag_of(inquiry), "reason": " "})
    # then
    assert refused.status_code == 400
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.UNMATCHED
    # when: with one
    response = admin_client.post(url, {"version": etag_of(inquiry), "reason": "セミナーの広告メール"}, follow=True)
    # then: out of the inbox, under the dismissed tab, kept
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.dismissal_reason, inquiry.resolved_by_id) == (InquiryStatus.DISMISSED, "セミナーの広告メール", company_admin.pk)
    assert listed_ids(response) == []
    dismissed = admin_client.get(reverse("inbox:inbox"), {"tab": "dismissed"})
    assert listed_ids(dismissed) == [inquiry.pk] and "セミナーの広告メール" in dismissed.content.decode()
    # when: dismissed again (a second tab) it is refused
    again = admin_client.post(url, {"version": etag_of(inquiry), "reason": "広告"}, follow=True)
    assert "This mail was already dismissed." in again.content.decode()
    # when: restored
    admin_client.post(reverse("inbox:restore", kwargs={"inquiry_id": inquiry.pk}), {"version": etag_of(inquiry)})
    # then: waiting again, as it was
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.dismissal_reason, inquiry.resolved_by_id) == (InquiryStatus.UNMATCHED, "", None)
    assert listed_ids(admin_client.get(reverse("inbox:inbox"))) == [inquiry.pk]
    assert list(AuditEvent.objects.for_company(company).filter(object_type="inquiries.inquiry").order_by("pk")
                .values_list("verb", flat=True)) == ["dismiss", "restore"]


def test_a_failed_mail_is_restored_as_failed(company, company_admin, suumo):
    inquiry = take_mail(company.pk, suumo_without_customer()).inquiry
    actor = actor_for(company_admin)
    inbox_actions.do_dismiss_inquiry(actor=actor, inquiry_id=inquiry.pk, version=None, reason="管理画面で確認済み")
    assert inbox_actions.do_restore_inquiry(actor=actor, inquiry_id=inquiry.pk, version=None).status == InquiryStatus.FAILED


# ---------------------------------------------------------------------------------------------
# 反響一覧


def test_every_inquiry_is_listed_with_what_became_of_it(admin_client, company, company_admin, suumo, homes):
    # given: a case made, a failed mail, an unmatched mail, a dismissed one
    taken = take_mail(company.pk, suumo_mail())
    failed = take_mail(company.pk, suumo_without_customer()).inquiry
    unmatched = take_mail(company.pk, homes_mail()).inquiry
    dismissed = take_mail(company.pk, advertising_mail()).inquiry
    inbox_actions.do_dismiss_inquiry(actor=actor_for(company_admin), inquiry_id=dismissed.pk, version=None, reason="広告")
    url = reverse("inbox:list")
    # when
    everything = admin_client.get(url)
    # then: every row, newest first (the same minute: the later row first), with the count of each outcome
    assert listed_ids(everything) == [unmatched.pk, taken.inquiry.pk, failed.pk, dismissed.pk]
    counts = {value: count for value, _label, count in everything.context["status_counts"]}
    assert counts == {"created": 1, "linked_existing": 0, "unmatched": 1, "failed": 1, "dismissed": 1}
    assert everything.context["total"] == 4
    assert f'href="{reverse("crm:detail", kwargs={"case_id": taken.case.pk})}"' in everything.content.decode()
    # and: the filters
    assert listed_ids(admin_client.get(url, {"source": suumo.pk})) == [taken.inquiry.pk, failed.pk]
    assert listed_ids(admin_client.get(url, {"status": "unmatched"})) == [unmatched.pk]
    assert listed_ids(admin_client.get(url, {"channel": "api"})) == []
    assert listed_ids(admin_client.get(url, {"received_from": "2026-12-06", "received_to": "2026-12-06"})) == [
        unmatched.pk, taken.inquiry.pk, failed.pk]
    bad = admin_client.get(url, {"status": "lost"})
    assert bad.status_code == 400 and listed_ids(bad) == []


def test_a_mail_whose_inquiry_id_was_already_taken_is_refused(company, company_admin, homes):
    # given: the same HOME'S inquiry came in through the API already
    from estatecrm.inquiries.intake import InquiryData, take_inquiry

    taken = take_inquiry(homes, InquiryData(customer_name="高橋 美咲", phone="080-4321-8765", inquiry_id="H-2026-120601"), channel="api")
    inquiry = take_mail(company.pk, homes_mail()).inquiry
    assignment = inbox_actions.Assignment(source_id=homes.pk, data=InquiryData(customer_name="高橋 美咲", inquiry_id="H-2026-120601"))
    # when
    with pytest.raises(Conflict) as refused:
        inbox_actions.do_assign_inquiry(actor=actor_for(company_admin), inquiry_id=inquiry.pk, version=etag_of(inquiry), assignment=assignment)
    # then
    assert refused.value.code == "inquiry_taken_elsewhere" and f"case #{taken.case.number}" in refused.value.message
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.UNMATCHED and Case.objects.for_company(company).count() == 1


def test_the_inbox_and_the_list_read_a_page_in_a_fixed_number_of_queries(admin_client, company, suumo, django_assert_max_num_queries):
    # given: a few mails, then many more
    def add(count, start):
        for index in range(start, start + count):
            take_mail(company.pk, advertising_mail(f"<ad{index}@seminar.example.com>"))
            take_mail(company.pk, suumo_without_customer(f"<s{index}@jds.suumo.jp>"))

    add(2, 0)
    admin_client.get(reverse("inbox:inbox"))
    with CaptureQueriesContext(connection) as few:
        admin_client.get(reverse("inbox:inbox"))
        admin_client.get(reverse("inbox:list"))
    add(20, 2)
    # when / then: as many queries for 44 mails as for 4
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(reverse("inbox:inbox"))
        admin_client.get(reverse("inbox:list"))


def test_assign_to_another_unit_keeps_the_default_assignee_only_where_they_work(company, org, homes, agent, company_admin):
    # given: a unit below 渋谷店 (the source's default assignee, a member of 渋谷店, sees its cases) and 新宿店 (they do not)
    below = testing.make_unit(company, "SBY2", parent=org["SBY"], name="渋谷第二")
    actor = actor_for(company_admin)
    first, second = (take_mail(company.pk, homes_mail(message_id=f"<move-{n}@homes.co.jp>")).inquiry for n in (1, 2))

    def assign(inquiry, **choices):
        assignment = inbox_actions.Assignment(source_id=homes.pk, data=inbox_actions.InquiryData(customer_name="高橋 美咲"), **choices)
        return inbox_actions.do_assign_inquiry(actor=actor, inquiry_id=inquiry.pk, version=etag_of(inquiry), assignment=assignment)

    # when / then: below 渋谷店 the default assignee keeps it
    assert assign(first, org_unit_id=below.pk).case.main_assignee_id == agent.pk
    # and: a chosen assignee who would not see the case is refused, nothing written
    with pytest.raises(Exception) as refused:
        assign(second, org_unit_id=org["SJK"].pk, assignee_id=agent.pk)
    assert list(refused.value.fields) == ["assignee"]
    assert Case.objects.for_company(company).count() == 1
