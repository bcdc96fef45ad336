"""The sending address for customer e-mail: set by an administrator, shown on the profile, a change of a set
address only with a confirmation (customers' replies to the old one no longer arrive)."""

import pytest
from django.urls import reverse

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.core.testing import make_user
from estatecrm.tenancy.actions import do_set_customer_mail_from
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def events(company) -> list[tuple]:
    with company_scope(company):
        return list(AuditEvent.objects.filter(object_type="tenancy.user", verb="update", after__has_key="customer_mail_from")
                    .order_by("pk").values_list("actor_id", "before", "after"))


def test_an_admin_sets_the_address_normalised_and_audited(company, company_admin, agent):
    # when
    changed = do_set_customer_mail_from(user=agent, address="  Shibuya.Ichiro@Mail.ACME.example.JP ", acting_user=company_admin)
    # then
    assert changed is True
    assert User.objects.get(pk=agent.pk).customer_mail_from == "Shibuya.Ichiro@mail.acme.example.jp"
    assert events(company) == [(company_admin.pk, {"customer_mail_from": ""}, {"customer_mail_from": "Shibuya.Ichiro@mail.acme.example.jp"})]


@pytest.mark.parametrize("address", ["ichiro", "ichiro@", "a b@acme.example.jp", "x" * 250 + "@acme.example.jp"])
def test_an_invalid_address_is_refused(company, company_admin, agent, address):
    with pytest.raises(ApplicationError) as refused:
        do_set_customer_mail_from(user=agent, address=address, acting_user=company_admin)
    assert (refused.value.code, refused.value.fields) == (
        "invalid_email", {"address": ["Enter a valid e-mail address of at most 254 characters."]})
    assert User.objects.get(pk=agent.pk).customer_mail_from == ""
    assert events(company) == []


def test_changing_a_set_address_needs_the_confirmation(company, company_admin, agent):
    # given
    User.objects.filter(pk=agent.pk).update(customer_mail_from="old@acme.example.jp")
    agent.refresh_from_db()
    # when
    with pytest.raises(ApplicationError) as refused:
        do_set_customer_mail_from(user=agent, address="new@acme.example.jp", acting_user=company_admin)
    # then
    assert refused.value.code == "confirmation_required"
    assert refused.value.fields == {"address": [
        "Customers' replies to the old address old@acme.example.jp will no longer arrive. Confirm the change to go on."]}
    assert User.objects.get(pk=agent.pk).customer_mail_from == "old@acme.example.jp"
    # when: confirmed
    assert do_set_customer_mail_from(user=agent, address="new@acme.example.jp", acting_user=company_admin, confirmed=True) is True
    assert User.objects.get(pk=agent.pk).customer_mail_from == "new@acme.example.jp"
    assert events(company) == [(company_admin.pk, {"customer_mail_from": "old@acme.example.jp"}, {"customer_mail_from": "new@acme.example.jp"})]


def test_an_agent_cannot_set_an_address_not_even_their_own(company, agent):
    with pytest.raises(PermissionDenied):
        do_set_customer_mail_from(user=agent, address="me@acme.example.jp", acting_user=agent)
    assert User.objects.get(pk=agent.pk).customer_mail_from == ""


def test_an_org_admin_of_another_branch_cannot_set_it(company, org, agent):
    other_admin = make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp")
    with pytest.raises(PermissionDenied):
        do_set_customer_mail_from(user=agent, address="x@acme.example.jp", acting_user=other_admin)


def test_the_user_page_asks_for_the_confirmation_then_saves(client, company, company_admin, agent):
    # given
    User.objects.filter(pk=agent.pk).update(customer_mail_from="old@acme.example.jp")
    client.force_login(company_admin)
    url = reverse("settings:user_mail_from", args=[agent.pk])
    page = client.get(reverse("settings:user", args=[agent.pk])).content.decode()
    assert "Changing it: customers' replies to old@acme.example.jp will no longer arrive." in page
    # when: without the box
    response = client.post(url, {"address": "new@acme.example.jp"})
    # then
    assert response.status_code == 400
    assert ("Customers&#x27; replies to the old address old@acme.example.jp will no longer arrive. Confirm the change to go on."
            in response.content.decode())
    assert User.objects.get(pk=agent.pk).customer_mail_from == "old@acme.example.jp"
    # when: with the box
    response = client.post(url, {"address": "new@acme.example.jp", "confirmed": "on"})
    # then
    assert response["Location"] == f"/settings/users/{agent.pk}/#mail-from"
    assert User.objects.get(pk=agent.pk).customer_mail_from == "new@acme.example.jp"


def test_the_profile_shows_the_address_set_by_an_administrator(client, agent):
    # given
    User.objects.filter(pk=agent.pk).update(customer_mail_from="shibuya@acme.example.jp")
    client.force_login(agent)
    # when
    page = client.get(reverse("account:home")).content.decode()
    # then
    assert "<dd>shibuya<wbr>@acme.example.jp</dd>" in page
    assert ("It is set by an administrator, and it stays the same when you move to another unit.") in page
