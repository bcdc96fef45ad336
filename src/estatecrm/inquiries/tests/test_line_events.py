"""Processing LINE events: follow, message, unfollow, a follow again; idempotent, errors kept per event."""

import datetime

import pytest
from django.utils import timezone, translation

from estatecrm.crm.actions import do_log_activity, refresh_last_contacts
from estatecrm.crm.choices import ActivityDirection, ActivityKind, CaseOrigin, CaseStatus
from estatecrm.crm.models import Activity, Case, Customer
from estatecrm.crm.selectors import access_case
from estatecrm.inquiries import line
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.line import process_pending, store_events
from estatecrm.inquiries.models import Inquiry, LineEvent
from estatecrm.inquiries.tests.line_fake import USER_ID, event, text_message
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db
FOLLOWED_AT = datetime.datetime(2026, 11, 30, 0, 53, 20, tzinfo=datetime.UTC)  # event()'s timestamp


def receive(channel, *events) -> int:
    """Store the events as the webhook does, then process them as the task does."""
    store_events(channel, list(events))
    return process_pending(channel.company_id)


def activities(case):
    return list(Activity.objects.for_company(case.company_id).filter(case=case).order_by("occurred_at", "pk")
                .values_list("kind", "direction", "actor_id", "subject", "body"))


def test_follow_makes_a_line_customer_and_case_for_the_channels_assignee(company, org, agent, line_channel, fake_line, mailoutbox,
                                                                        django_capture_on_commit_callbacks):
    # given
    fake_line.profiles[USER_ID] = "山田 花子"
    # when
    with django_capture_on_commit_callbacks(execute=True):
        assert receive(line_channel, event("follow", "01HFOLLOW")) == 1
    # then: a customer linked to the LINE user, named by the profile, with a link number
    customer = Customer.objects.for_company(company).get()
    assert (customer.name, customer.line_user_id, customer.line_blocked_at, len(customer.line_link_number)) == ("山田 花子", USER_ID, None, 8)
    # a new case of origin LINE in the channel's unit, for its default assignee, still 未対応
    case = Case.objects.for_company(company).get()
    assert (case.customer_id, case.origin, case.status, case.owning_org_id, case.main_assignee_id) == (
        customer.pk, CaseOrigin.LINE, CaseStatus.NEW, org["SBY"].pk, agent.pk)
    assert (case.first_inquiry_source, case.first_inquiry_date, case.last_contact_at) == ("LINE", timezone.localdate(FOLLOWED_AT), None)
    with translation.override("ja"):
        added = translation.gettext("LINE friend added")
    assert activities(case) == [(ActivityKind.INQUIRY, ActivityDirection.INBOUND, None, added, "山田 花子")]
    # the inquiry, for the intake's accounts, and the assignee's mail
    inquiry = Inquiry.objects.for_company(company).get()
    assert (inquiry.channel, inquiry.status, inquiry.customer_id, inquiry.case_id, inquiry.received_at) == (
        Channel.LINE, InquiryStatus.CREATED, customer.pk, case.pk, FOLLOWED_AT)
    assert [message.to for message in mailoutbox] == [[agent.email]] and "山田 花子" in mailoutbox[0].subject
    # the event is done
    assert list(LineEvent.objects.for_company(company).values_list("error", flat=True)) == [""]
    assert LineEvent.objects.for_company(company).get().processed_at is not None


def test_follow_when_the_profile_cannot_be_read_uses_a_fallback_name(company, line_channel, fake_line):
    # given: LINE answers 404 for the profile (fake_line.profiles is empty)
    # when
    receive(line_channel, event("follow", "01HFOLLOW"))
    # then
    with translation.override("ja"):
        expected = translation.gettext("LINE user %(suffix)s") % {"suffix": "1a2b"}
    assert Customer.objects.for_company(company).get().name == expected
    assert [request.path for request in fake_line.requests] == [f"/v2/bot/profile/{USER_ID}"]


def test_follow_when_line_cannot_be_reached_uses_the_fallback_name(company, line_channel, settings):
    settings.LINE_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    receive(line_channel, event("follow", "01HFOLLOW"))
    assert Customer.objects.for_company(company).get().name.endswith("1a2b")
    assert LineEvent.objects.for_company(company).get().error == ""


def test_text_message_is_an_inbound_line_activity_that_leaves_the_case_new(company, agent, line_channel, fake_line):
    # given: a LINE customer
    fake_line.profiles[USER_ID] = "山田 花子"
    receive(line_channel, event("follow", "01HFOLLOW"))
    case = Case.objects.for_company(company).get()
    # when
    receive(line_channel, text_message("01HTEXT", "今週末に内見できますか？", timestamp=1796000060000))
    # then: inbound, by nobody on the staff, on the customer's case; the case is still 未対応
    assert activities(case)[-1] == (ActivityKind.LINE, ActivityDirection.INBOUND, None, "", "今週末に内見できますか？")
    case.refresh_from_db()
    assert (case.status, case.last_contact_at) == (CaseStatus.NEW, None)
    # and refresh_last_contacts agrees with the intake
    refresh_last_contacts(company.pk, [case.pk])
    case.refresh_from_db()
    assert case.last_contact_at is None
    # when: the agent answers (an outbound LINE activity of the staff)
    with translation.override("ja"):
        answered = do_log_activity(actor=actor_for(agent), case=access_case(actor_for(agent), case.pk), kind=ActivityKind.LINE,
                                   direction=ActivityDirection.OUTBOUND, body="はい、土曜の10時はいかがですか。")
    case.refresh_from_db()
    assert case.last_contact_at == answered.occurred_at
    Case.objects.for_company(company).filter(pk=case.pk).update(last_contact_at=None)
    refresh_last_contacts(company.pk, [case.pk])
    case.refresh_from_db()
    assert case.last_contact_at == answered.occurred_at


def test_refresh_last_contacts_counts_an_inbound_line_message_logged_by_staff(company, org, agent):
    # An agent logging by hand that the customer wrote on LINE is a contact (it has an actor).
    from estatecrm.core import testing

    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    logged = do_log_activity(actor=actor_for(agent), case=case, kind=ActivityKind.LINE, direction=ActivityDirection.INBOUND, body="電話の件")
    Activity.objects.create(company=company, case=case, kind=ActivityKind.LINE, direction=ActivityDirection.INBOUND,
                            occurred_at=logged.occurred_at + datetime.timedelta(minutes=5), body="intake", is_done=True)
    refresh_last_contacts(company.pk, [case.pk])
    case.refresh_from_db()
    assert case.last_contact_at == logged.occurred_at


@pytest.mark.parametrize(("message", "label", "rest"), [
    ({"type": "sticker", "packageId": "446", "stickerId": "1988"}, "[Sticker]", ""),
    ({"type": "image", "contentProvider": {"type": "line"}}, "[Image]", ""),
    ({"type": "video", "duration": 6000}, "[Video]", ""),
    ({"type": "audio", "duration": 6000}, "[Voice message]", ""),
    ({"type": "file", "fileName": "源泉徴収票.pdf", "fileSize": 2048}, "[File]", "源泉徴収票.pdf"),
    ({"type": "location", "title": "渋谷駅", "address": "東京都渋谷区道玄坂1丁目", "latitude": 35.65, "longitude": 139.70},
     "[Location]", "渋谷駅 東京都渋谷区道玄坂1丁目"),
    ({"type": "hologram"}, "[hologram message]", ""),
])
def test_other_messages_name_their_type(company, line_channel, fake_line, message, label, rest):
    receive(line_channel, event("follow", "01HFOLLOW"), event("message", "01HMSG", message={"id": "m1", **message}))
    case = Case.objects.for_company(company).get()
    with translation.override("ja"):
        expected = translation.gettext("[%(type)s message]") % {"type": "hologram"} if message["type"] == "hologram" \
            else " ".join(part for part in (translation.gettext(label), rest) if part)
    assert activities(case)[-1] == (ActivityKind.LINE, ActivityDirection.INBOUND, None, "", expected)


def test_message_from_an_unknown_user_is_taken_like_a_follow_first(company, agent, line_channel, fake_line, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    # given: a friend from before the channel was set up (no follow ever received)
    fake_line.profiles[USER_ID] = "古い 友だち"
    # when
    with django_capture_on_commit_callbacks(execute=True):
        receive(line_channel, text_message("01HTEXT", "まだ募集していますか"))
    # then
    customer = Customer.objects.for_company(company).get()
    case = Case.objects.for_company(company).get()
    assert (customer.name, customer.line_user_id, case.origin, case.main_assignee_id) == ("古い 友だち", USER_ID, CaseOrigin.LINE, agent.pk)
    assert [row[0] for row in activities(case)] == [ActivityKind.INQUIRY, ActivityKind.LINE]
    assert activities(case)[-1][-1] == "まだ募集していますか"
    assert Inquiry.objects.for_company(company).count() == 1 and len(mailoutbox) == 1


def test_unfollow_blocks_and_a_follow_again_unblocks_without_a_new_case(company, line_channel, fake_line):
    # given
    fake_line.profiles[USER_ID] = "山田 花子"
    receive(line_channel, event("follow", "01HFOLLOW"))
    case = Case.objects.for_company(company).get()
    # when: the customer blocks the account
    receive(line_channel, event("unfollow", "01HUNFOLLOW", timestamp=1796000100000))
    # then
    customer = Customer.objects.for_company(company).get()
    assert customer.line_blocked_at == datetime.datetime(2026, 11, 30, 0, 55, tzinfo=datetime.UTC)
    with translation.override("ja"):
        blocked, again = translation.gettext("Blocked the LINE account"), translation.gettext("Added the LINE account as a friend again")
    assert activities(case)[-1] == (ActivityKind.SYSTEM, "", None, blocked, "")
    # when: they add the account again
    receive(line_channel, event("follow", "01HFOLLOW2", timestamp=1796000200000))
    # then: unblocked, the same case, a system activity; no second customer, case or inquiry
    customer.refresh_from_db()
    assert customer.line_blocked_at is None
    assert list(Case.objects.for_company(company).values_list("pk", flat=True)) == [case.pk]
    assert Customer.objects.for_company(company).count() == 1 and Inquiry.objects.for_company(company).count() == 1
    assert activities(case)[-1] == (ActivityKind.SYSTEM, "", None, again, "")
    # the profile was read once: for the first follow only
    assert len(fake_line.requests) == 1


def test_unfollow_of_an_unknown_user_changes_nothing(company, line_channel, fake_line):
    receive(line_channel, event("unfollow", "01HUNFOLLOW"))
    assert Customer.objects.for_company(company).count() == 0
    assert LineEvent.objects.for_company(company).get().error == ""


def test_processing_twice_applies_each_event_once(company, line_channel, fake_line):
    # given
    fake_line.profiles[USER_ID] = "山田 花子"
    store_events(line_channel, [event("follow", "01HFOLLOW"), text_message("01HTEXT", "こんにちは")])
    # when
    first, second = process_pending(company.pk), process_pending(company.pk)
    # then
    assert (first, second) == (2, 0)
    assert Customer.objects.for_company(company).count() == 1
    assert Activity.objects.for_company(company).filter(kind=ActivityKind.LINE).count() == 1


def test_events_are_processed_in_the_order_received(company, line_channel, fake_line):
    # A message stored before the follow of the same user: the message makes the customer, the follow
    # after it is then a known user's follow (no second customer).
    fake_line.profiles[USER_ID] = "山田 花子"
    store_events(line_channel, [text_message("01HTEXT", "こんにちは")])
    store_events(line_channel, [event("follow", "01HFOLLOW")])
    process_pending(company.pk)
    assert Customer.objects.for_company(company).count() == 1 and Case.objects.for_company(company).count() == 1


def test_an_event_that_fails_keeps_its_error_and_does_not_stop_the_others(company, line_channel, fake_line, monkeypatch):
    # given: the unfollow handler breaks
    fake_line.profiles[USER_ID] = "山田 花子"

    def broken(channel, line_event, name):
        raise RuntimeError("disk full")

    monkeypatch.setattr(line, "on_unfollow", broken)
    # when
    processed = receive(line_channel, event("follow", "01HFOLLOW"), event("unfollow", "01HUNFOLLOW"), text_message("01HTEXT", "まだですか"))
    # then: the unfollow failed and says why; the follow and the message after it went through
    assert processed == 3
    errors = dict(LineEvent.objects.for_company(company).values_list("webhook_event_id", "error"))
    assert errors == {"01HFOLLOW": "", "01HUNFOLLOW": "RuntimeError: disk full", "01HTEXT": ""}
    assert LineEvent.objects.for_company(company).filter(processed_at__isnull=True).count() == 0
    assert Customer.objects.for_company(company).get().line_blocked_at is None
    assert Activity.objects.for_company(company).filter(kind=ActivityKind.LINE).count() == 1
    # and it is not tried again
    assert process_pending(company.pk) == 0


def test_a_known_customer_whose_cases_are_all_trashed_gets_a_new_case_for_a_message(company, line_channel, fake_line):
    from estatecrm.crm.actions import do_trash_case

    fake_line.profiles[USER_ID] = "山田 花子"
    receive(line_channel, event("follow", "01HFOLLOW"))
    old = Case.objects.for_company(company).get()
    do_trash_case(case=old, acting_user=None)
    receive(line_channel, text_message("01HTEXT", "まだ探しています"))
    new = Case.objects.for_company(company).exclude(pk=old.pk).get()
    assert (new.customer_id, new.origin) == (old.customer_id, CaseOrigin.LINE)
    assert activities(new)[-1][-1] == "まだ探しています"
    assert Inquiry.objects.for_company(company).filter(case=new).get().status == InquiryStatus.LINKED_EXISTING


def test_events_of_groups_and_other_types_are_processed_without_effect(company, line_channel, fake_line):
    group_message = {**text_message("01HGROUP", "グループの発言"), "source": {"type": "group", "groupId": "Cgroup"}}
    member_message = {**text_message("01HMEMBER", "メンバーの発言"), "source": {"type": "group", "groupId": "Cgroup", "userId": USER_ID}}
    receive(line_channel, group_message, member_message, event("postback", "01HPOSTBACK", postback={"data": "a=1"}))
    assert Customer.objects.for_company(company).count() == 0 and fake_line.requests == []
    assert LineEvent.objects.for_company(company).filter(processed_at__isnull=True).count() == 0


def test_the_task_processes_the_companys_pending_events(company, line_channel, fake_line):
    from estatecrm.inquiries.tasks import process_line_events

    fake_line.profiles[USER_ID] = "山田 花子"
    store_events(line_channel, [event("follow", "01HFOLLOW")])
    result = process_line_events.enqueue(company.pk)
    assert result.return_value == 1
    assert Customer.objects.for_company(company).get().name == "山田 花子"
