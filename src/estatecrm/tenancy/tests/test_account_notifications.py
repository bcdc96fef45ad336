"""The account page's notification e-mails: cases assigned to the user, new inquiries, customers' replies."""

import pytest
from django.urls import reverse
from django.utils import translation

from estatecrm.audit.models import AuditEvent
from estatecrm.core.scope import company_scope
from estatecrm.tenancy.actions import do_set_inquiry_mail, do_set_notification_mails
from estatecrm.tenancy.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def events(company) -> list[tuple]:
    with company_scope(company):
        return list(AuditEvent.objects.filter(object_type="tenancy.user", verb="update").order_by("pk")
                    .values_list("actor_id", "object_id", "before", "after"))


def test_the_account_page_shows_the_setting_checked_by_default(client, agent):
    client.force_login(agent)
    page = client.get(reverse("account:home")).content.decode()
    assert 'id="notifications"' in page
    assert 'action="/account/notifications/"' in page
    assert '<input type="checkbox" name="inquiry_mail" aria-describedby="id_inquiry_mail_helptext" id="id_inquiry_mail" checked>' in page
    assert "Receive an e-mail for each new inquiry assigned to me" in page


def test_unticking_turns_the_mail_off_and_is_audited(client, company, agent):
    # given
    client.force_login(agent)
    # when
    response = client.post(reverse("account:notifications"), {"assignment_mail": "on", "reply_mail": "on"})
    # then
    assert response["Location"] == "/account/#notifications"
    agent.refresh_from_db()
    assert (agent.assignment_mail, agent.inquiry_mail, agent.reply_mail) == (True, False, True)
    assert events(company) == [(agent.pk, str(agent.pk), {"inquiry_mail": True}, {"inquiry_mail": False})]
    page = client.get(reverse("account:home")).content.decode()
    assert "Saved your notification settings." in page
    assert '<input type="checkbox" name="inquiry_mail" aria-describedby="id_inquiry_mail_helptext" id="id_inquiry_mail">' in page


def test_the_three_mails_are_turned_off_at_once_in_one_audit_event(client, company, agent):
    # given
    client.force_login(agent)
    # when
    client.post(reverse("account:notifications"), {})
    # then
    agent.refresh_from_db()
    assert (agent.assignment_mail, agent.inquiry_mail, agent.reply_mail) == (False, False, False)
    assert events(company) == [(agent.pk, str(agent.pk),
                                {"assignment_mail": True, "inquiry_mail": True, "reply_mail": True},
                                {"assignment_mail": False, "inquiry_mail": False, "reply_mail": False})]


def test_the_page_shows_the_three_mails_and_says_newsletters_are_an_admins(client, agent):
    # given
    User.objects.filter(pk=agent.pk).update(reply_mail=False)
    client.force_login(agent)
    # when
    page = client.get(reverse("account:home")).content.decode()
    # then
    assert '<input type="checkbox" name="assignment_mail" aria-describedby="id_assignment_mail_helptext" id="id_assignment_mail" checked>' in page
    assert '<input type="checkbox" name="reply_mail" aria-describedby="id_reply_mail_helptext" id="id_reply_mail">' in page
    assert "A mail when someone makes you the main assignee of cases (a transfer, a retirement, a reassignment)." in page
    assert "A mail when a customer of one of your cases writes on LINE, with the start of the message." in page
    assert "Company newsletters and announcements are not set here: an administrator sets who receives them." in page


def test_the_action_changes_only_the_flags_given(company, agent):
    # when
    changed = do_set_notification_mails(user=agent, acting_user=agent, reply_mail=False)
    # then
    assert changed is True
    agent.refresh_from_db()
    assert (agent.assignment_mail, agent.inquiry_mail, agent.reply_mail) == (True, True, False)
    assert events(company) == [(agent.pk, str(agent.pk), {"reply_mail": True}, {"reply_mail": False})]


def test_the_action_refuses_an_unknown_flag(company, agent):
    with pytest.raises(TypeError):
        do_set_notification_mails(user=agent, acting_user=agent, newsletter_mail=False)
    assert events(company) == []


def test_ticking_turns_it_on_again(client, company, agent):
    # given
    User.objects.filter(pk=agent.pk).update(inquiry_mail=False)
    client.force_login(agent)
    # when
    client.post(reverse("account:notifications"), {"assignment_mail": "on", "inquiry_mail": "on", "reply_mail": "on"})
    # then
    agent.refresh_from_db()
    assert agent.inquiry_mail is True
    assert events(company) == [(agent.pk, str(agent.pk), {"inquiry_mail": False}, {"inquiry_mail": True})]


def test_saving_without_a_change_writes_nothing(client, company, agent):
    client.force_login(agent)
    response = client.post(reverse("account:notifications"), {"assignment_mail": "on", "inquiry_mail": "on", "reply_mail": "on"})
    assert response.status_code == 302
    assert events(company) == []
    assert do_set_inquiry_mail(user=agent, enabled=True, acting_user=agent) is False


def test_the_setting_is_only_the_users_own(client, company, agent, company_admin):
    # when: the admin saves the form: it is the admin's own setting that changes
    client.force_login(company_admin)
    client.post(reverse("account:notifications"), {})
    # then
    agent.refresh_from_db()
    company_admin.refresh_from_db()
    assert (agent.inquiry_mail, company_admin.inquiry_mail) == (True, False)


def test_get_and_anonymous(client, agent):
    assert client.get(reverse("account:notifications"))["Location"] == "/login/?next=/account/notifications/"
    assert client.post(reverse("account:notifications"), {})["Location"] == "/login/?next=/account/notifications/"
    client.force_login(agent)
    assert client.get(reverse("account:notifications"))["Location"] == "/account/"
    agent.refresh_from_db()
    assert agent.inquiry_mail is True


def test_the_page_is_japanese(client, agent):
    client.force_login(agent)
    page = client.get(reverse("account:home"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    with translation.override("ja"):
        from django.utils.translation import gettext

        assert gettext("Receive an e-mail for each new inquiry assigned to me") in page
        assert gettext("Notification e-mails") in page
