"""The account page's notification setting: whether new inquiries assigned to the user are mailed to them."""

import pytest
from django.urls import reverse
from django.utils import translation

from estatecrm.audit.models import AuditEvent
from estatecrm.core.scope import company_scope
from estatecrm.tenancy.actions import do_set_inquiry_mail
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
    response = client.post(reverse("account:notifications"), {})
    # then
    assert response["Location"] == "/account/#notifications"
    agent.refresh_from_db()
    assert agent.inquiry_mail is False
    assert events(company) == [(agent.pk, str(agent.pk), {"inquiry_mail": True}, {"inquiry_mail": False})]
    page = client.get(reverse("account:home")).content.decode()
    assert "New inquiries assigned to you will no longer be mailed to you." in page
    assert '<input type="checkbox" name="inquiry_mail" aria-describedby="id_inquiry_mail_helptext" id="id_inquiry_mail">' in page


def test_ticking_turns_it_on_again(client, company, agent):
    # given
    User.objects.filter(pk=agent.pk).update(inquiry_mail=False)
    client.force_login(agent)
    # when
    client.post(reverse("account:notifications"), {"inquiry_mail": "on"})
    # then
    agent.refresh_from_db()
    assert agent.inquiry_mail is True
    assert events(company) == [(agent.pk, str(agent.pk), {"inquiry_mail": False}, {"inquiry_mail": True})]


def test_saving_without_a_change_writes_nothing(client, company, agent):
    client.force_login(agent)
    response = client.post(reverse("account:notifications"), {"inquiry_mail": "on"})
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
        assert gettext("Notifications") in page
