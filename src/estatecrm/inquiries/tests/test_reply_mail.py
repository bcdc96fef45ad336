"""A customer's reply on LINE is mailed to the case's main assignee (お客様から返信がありました), unless they
turned such mail off or are inactive."""

import pytest

from estatecrm.crm.models import Case
from estatecrm.inquiries.line import process_pending, store_events
from estatecrm.inquiries.tests.line_fake import USER_ID, event, text_message
from estatecrm.tenancy.models import User

pytestmark = pytest.mark.django_db


def receive(channel, *events) -> int:
    store_events(channel, list(events))
    return process_pending(channel.company_id)


@pytest.fixture
def followed_case(company, line_channel, fake_line, mailoutbox, django_capture_on_commit_callbacks):
    """A LINE friend 山田 花子 with a case of the channel's default assignee; the new-inquiry mail is cleared."""
    fake_line.profiles[USER_ID] = "山田 花子"
    with django_capture_on_commit_callbacks(execute=True):
        receive(line_channel, event("follow", "01HFOLLOW"))
    mailoutbox.clear()
    return Case.objects.for_company(company).get()


def test_a_reply_on_a_case_is_mailed_to_its_main_assignee(company, agent, line_channel, followed_case, mailoutbox, settings,
                                                          django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        receive(line_channel, text_message("01HTEXT", "内見の日程ですが、\n土曜の午後は空いていますか？"))
    # then
    assert [message.to for message in mailoutbox] == [[agent.email]]
    mail = mailoutbox[0]
    assert mail.subject == f"【お客様から返信がありました】山田 花子 様（案件 #{followed_case.number}）"
    assert "内見の日程ですが、 土曜の午後は空いていますか？" in mail.body
    assert f"案件: #{followed_case.number}" in mail.body  # existing msgids are already translated
    assert f"{settings.SITE_URL}/cases/{followed_case.pk}/" in mail.body
    assert f"{settings.SITE_URL}/account/#notifications" in mail.body


def test_a_long_reply_is_cut_to_an_excerpt(line_channel, followed_case, mailoutbox, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        receive(line_channel, text_message("01HTEXT", "あ" * 250))
    # then
    assert "あ" * 200 + "…\n" in mailoutbox[0].body
    assert "あ" * 201 not in mailoutbox[0].body


@pytest.mark.parametrize("change", [{"reply_mail": False}, {"is_active": False}])
def test_no_mail_when_the_assignee_turned_it_off_or_is_inactive(change, agent, line_channel, followed_case, mailoutbox,
                                                              django_capture_on_commit_callbacks):
    # given
    User.objects.filter(pk=agent.pk).update(**change)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        receive(line_channel, text_message("01HTEXT", "よろしくお願いします"))
    # then
    assert mailoutbox == []


def test_the_first_message_of_a_new_friend_is_announced_once_as_a_new_inquiry(agent, line_channel, fake_line, mailoutbox,
                                                                            django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        receive(line_channel, text_message("01HTEXT", "はじめまして"))
    # then
    assert len(mailoutbox) == 1
    assert not mailoutbox[0].subject.startswith("【お客様から返信がありました】")
