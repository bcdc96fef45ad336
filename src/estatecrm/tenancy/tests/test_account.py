"""Account pages: password change, password reset by e-mail, and the unit the user acts in."""

import datetime
import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.tenancy.actions import do_add_membership
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.context_processors import ACTING_UNIT_SESSION_KEY
from estatecrm.tenancy.models import Membership, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_pages(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def test_account_pages_render_in_japanese_by_default(client, agent):
    client.force_login(agent)
    for name in ["account:home", "account:password_change"]:
        response = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="ja")
        assert response.status_code == 200
        assert 'lang="ja"' in response.content.decode()
    client.logout()
    for name in ["account:password_reset", "account:password_reset_done", "account:password_reset_complete"]:
        assert client.get(reverse(name)).status_code == 200


def test_account_pages_need_a_login(client):
    assert client.get(reverse("account:password_change"))["Location"] == "/login/?next=/account/password/"
    assert client.get(reverse("account:home"))["Location"] == "/login/?next=/account/"


def test_login_page_links_to_password_reset(client):
    assert 'href="/account/password-reset/"' in client.get("/login/").content.decode()


def test_password_change_sets_the_new_password_keeps_the_session_and_is_audited(client, company, agent):
    # given
    client.force_login(agent)
    # when
    response = client.post(reverse("account:password_change"), {
        "old_password": "pass-Word-123", "new_password1": "Momiji-Gari-2026", "new_password2": "Momiji-Gari-2026",
    })
    # then
    assert response["Location"] == reverse("account:password_change_done")
    agent.refresh_from_db()
    assert agent.check_password("Momiji-Gari-2026")
    assert client.get(reverse("account:home")).status_code == 200
    [event] = AuditEvent.objects.for_company(company).filter(verb="set_password")
    assert (event.actor_id, event.object_id, event.after) == (agent.pk, str(agent.pk), {"password": "***"})


def test_password_change_with_a_wrong_old_password_shows_the_error_next_to_the_field(client, agent):
    client.force_login(agent)
    response = client.post(reverse("account:password_change"), {
        "old_password": "wrong", "new_password1": "Momiji-Gari-2026", "new_password2": "Momiji-Gari-2026",
    })
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "old_password": ["Your old password was entered incorrectly. Please enter it again."]
    }
    assert 'id="id_old_password_error"' in response.content.decode()
    agent.refresh_from_db()
    assert agent.check_password("pass-Word-123")


def test_password_reset_sends_an_email_whose_link_sets_a_new_password(client, company, agent):
    # when: the agent asks for a reset (any case of the address)
    response = client.post(reverse("account:password_reset"), {"email": "Agent@acme.example.jp"})
    # then: one e-mail with a link
    assert response["Location"] == reverse("account:password_reset_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["agent@acme.example.jp"]
    assert mail.outbox[0].subject == "Reset your estate-crm password"
    link = re.search(r"http://testserver(/account/reset/\S+/)", mail.outbox[0].body).group(1)
    # when: the link is followed and a new password chosen
    page = client.get(link, follow=True)
    assert page.context["validlink"] is True
    response = client.post(page.redirect_chain[-1][0], {"new_password1": "Hanabi-Natsu-2026", "new_password2": "Hanabi-Natsu-2026"})
    # then: the password is set, audited, and the link is spent
    assert response["Location"] == reverse("account:password_reset_complete")
    agent.refresh_from_db()
    assert agent.check_password("Hanabi-Natsu-2026")
    assert AuditEvent.objects.for_company(company).filter(verb="set_password", object_id=str(agent.pk)).count() == 1
    assert client.get(link, follow=True).context["validlink"] is False


def test_password_reset_for_an_unknown_or_deactivated_address_sends_nothing(client, agent):
    User.objects.filter(pk=agent.pk).update(is_active=False)
    for email in ["nobody@acme.example.jp", "agent@acme.example.jp"]:
        response = client.post(reverse("account:password_reset"), {"email": email})
        # the same answer as for a known address: nothing reveals whether an account exists
        assert response["Location"] == reverse("account:password_reset_done")
    assert mail.outbox == []


def test_a_tampered_reset_link_is_refused(client, agent):
    client.post(reverse("account:password_reset"), {"email": "agent@acme.example.jp"})
    link = re.search(r"http://testserver(/account/reset/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link[:-3] + "xx/", follow=True)
    assert page.context["validlink"] is False
    assert "This link is invalid or has already been used." in page.content.decode()


def test_a_login_session_expires_after_session_cookie_age(client, agent):
    # when: the agent logs in through the form
    response = client.post("/login/", {"username": "agent@acme.example.jp", "password": "pass-Word-123"})
    # then: the session cookie lasts SESSION_COOKIE_AGE (12 hours unless configured)
    assert response.status_code == 302
    assert settings.SESSION_COOKIE_AGE == 60 * 60 * 12
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE


# ---------------------------------------------------------------------------------------------
# The unit the user acts in


def test_the_acting_unit_defaults_to_the_primary_unit(client, agent, org):
    # given: the agent is also a member of SJK (not primary)
    do_add_membership(user=agent, org_unit=org["SJK"])
    client.force_login(agent)
    # when
    response = client.get(reverse("account:home"))
    # then
    assert response.context["acting_unit"]().pk == org["SBY"].pk
    assert "Acting in: 渋谷店" in response.content.decode()
    assert response.context["acting_unit_form"] is not None


def test_a_user_with_several_units_switches_the_acting_unit(client, agent, org):
    do_add_membership(user=agent, org_unit=org["SJK"])
    client.force_login(agent)
    # when
    response = client.post(reverse("account:acting_unit"), {"org_unit": org["SJK"].pk})
    # then
    assert response["Location"] == reverse("account:home")
    assert client.session[ACTING_UNIT_SESSION_KEY] == org["SJK"].pk
    content = client.get(reverse("account:home")).content.decode()
    assert "Acting in: 新宿店" in content
    assert "Account (新宿店)" in content


def test_acting_in_a_unit_the_user_is_not_a_member_of_is_refused(client, agent, org, other_company):
    do_add_membership(user=agent, org_unit=org["SJK"])
    client.force_login(agent)
    for unit in [org["HQ"], other_company["unit"]]:
        response = client.post(reverse("account:acting_unit"), {"org_unit": unit.pk})
        assert response.status_code == 400
        assert list(response.context["acting_unit_form"].errors) == ["org_unit"]
    assert ACTING_UNIT_SESSION_KEY not in client.session


def test_a_stale_acting_unit_falls_back_to_the_primary_unit(client, company, agent, org):
    # given: the session names a unit the user has since left
    do_add_membership(user=agent, org_unit=org["SJK"])
    client.force_login(agent)
    client.post(reverse("account:acting_unit"), {"org_unit": org["SJK"].pk})
    Membership.objects.for_company(company).filter(user=agent, org_unit=org["SJK"]).delete()
    # when
    response = client.get(reverse("account:home"))
    # then
    assert response.context["acting_unit"]().pk == org["SBY"].pk
    assert response.context["acting_unit_form"] is None


def test_a_user_with_one_unit_sees_no_picker(client, agent):
    client.force_login(agent)
    response = client.get(reverse("account:home"))
    assert response.context["acting_unit_form"] is None
    assert 'action="/account/unit/"' not in response.content.decode()


def test_is_admin_in_the_page_context(client, company, org, agent):
    org_admin = testing.make_user(company, org["TKY"], role=Role.ADMIN, email="tky-admin@acme.example.jp")
    client.force_login(agent)
    assert client.get(reverse("account:home")).context["is_admin"]() is False
    client.force_login(org_admin)
    assert client.get(reverse("account:home")).context["is_admin"]() is True


def test_the_reset_form_sends_one_mail_per_address_per_interval_and_answers_the_same(client, agent, settings):
    # given: a stranger asks for the agent's reset link again and again
    settings.PASSWORD_RESET_MAIL_INTERVAL_SECONDS = 300
    answers = {client.post(reverse("account:password_reset"), {"email": "agent@acme.example.jp"})["Location"] for _ in range(5)}
    # then: one mail, and the same answer every time (nothing tells the stranger a mail was held back)
    assert (answers, len(mail.outbox)) == ({reverse("account:password_reset_done")}, 1)
    # when: the interval has passed
    User.objects.filter(pk=agent.pk).update(password_reset_sent_at=timezone.now() - datetime.timedelta(seconds=301))
    client.post(reverse("account:password_reset"), {"email": "agent@acme.example.jp"})
    # then: the next mail goes out
    assert len(mail.outbox) == 2
