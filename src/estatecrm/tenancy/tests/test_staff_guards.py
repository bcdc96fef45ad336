"""No other door loses a customer: deactivating a user and removing a membership are refused while the user
is a default assignee or the main assignee of live cases that would be left behind (staff/ moves them)."""

import pytest
from django.urls import reverse

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.core.testing import make_case, make_user
from estatecrm.crm.models import Case
from estatecrm.inquiries.models import InquirySource
from estatecrm.tenancy.actions import do_add_membership, do_remove_membership, do_set_user_active
from estatecrm.tenancy.models import ApiToken, Membership, User
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_deactivating_the_main_assignee_of_live_cases_is_refused(company, org, company_admin, agent):
    # given
    make_case(company, org["SBY"], main_assignee=agent)
    make_case(company, org["SBY"], main_assignee=agent, customer_name="鈴木 一郎")
    # when
    with pytest.raises(ApplicationError) as refused:
        do_set_user_active(user=agent, is_active=False, acting_user=company_admin)
    # then
    assert refused.value.code == "has_cases"
    assert refused.value.message == "渋谷 一郎 is main assignee of 2 cases. Retire them instead: choose who takes their 2 cases."
    agent.refresh_from_db()
    assert agent.is_active is True


def test_cases_in_the_trash_do_not_block_deactivation_and_tokens_are_revoked(company, org, company_admin, agent):
    # given
    case = make_case(company, org["SBY"], main_assignee=agent)
    with company_scope(company):
        Case.objects.filter(pk=case.pk).update(deleted_at=case.created_at)
    token, _ = do_create_api_token(user=agent, name="スクリプト", acting_user=agent)
    # when
    changed = do_set_user_active(user=agent, is_active=False, acting_user=company_admin)
    # then
    assert changed is True
    agent.refresh_from_db()
    assert agent.is_active is False
    with company_scope(company):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_deactivating_a_default_assignee_is_refused_naming_the_role(company, org, company_admin, agent):
    # given
    InquirySource.objects.create(company=company, code="suumo", name="SUUMO", org_unit=org["SBY"], default_assignee=agent)
    # when
    with pytest.raises(ApplicationError) as refused:
        do_set_user_active(user=agent, is_active=False, acting_user=company_admin)
    # then
    assert refused.value.code == "default_assignee"
    assert refused.value.message == ("渋谷 一郎 is the default assignee of Inquiry source SUUMO (渋谷店). "
                                     "Choose a successor there before deactivating them.")
    assert User.objects.get(pk=agent.pk).is_active is True


def test_the_deactivate_button_refusal_links_to_the_retirement_page(client, company, org, company_admin, agent):
    # given
    make_case(company, org["SBY"], main_assignee=agent)
    client.force_login(company_admin)
    # when
    response = client.post(reverse("settings:user_set_active", args=[agent.pk]), {"is_active": "0"}, follow=True)
    # then
    page = response.content.decode()
    assert ("渋谷 一郎 is main assignee of 1 case. Retire them instead: choose who takes their case. "
            f'<a href="/staff/{agent.pk}/retire/">Retire</a>') in page
    assert User.objects.get(pk=agent.pk).is_active is True


def test_removing_the_membership_that_shows_the_cases_is_refused(company, org, company_admin):
    # given: the agent is in 渋谷店 (primary) and 新宿店, with a case in 新宿店
    agent = make_user(company, org["SBY"], email="two@acme.example.jp", name="二店 花子")
    do_add_membership(user=agent, org_unit=org["SJK"])
    make_case(company, org["SJK"], main_assignee=agent)
    with company_scope(company):
        membership = Membership.objects.get(user=agent, org_unit=org["SJK"])
    # when
    with pytest.raises(ApplicationError) as refused:
        do_remove_membership(membership=membership, acting_user=company_admin)
    # then
    assert refused.value.code == "has_cases"
    assert refused.value.message == ("二店 花子 would no longer see 1 case they are main assignee of. "
                                     "Transfer them on the transfer page instead.")
    with company_scope(company):
        assert Membership.objects.filter(pk=membership.pk).exists()


def test_removing_a_membership_whose_cases_stay_visible_is_allowed(company, org, company_admin):
    # given: a case in 渋谷店, which the 東京エリア membership also shows
    agent = make_user(company, org["TKY"], email="area@acme.example.jp")
    do_add_membership(user=agent, org_unit=org["SBY"])
    make_case(company, org["SBY"], main_assignee=agent)
    with company_scope(company):
        membership = Membership.objects.get(user=agent, org_unit=org["SBY"])
    # when
    do_remove_membership(membership=membership, acting_user=company_admin)
    # then
    with company_scope(company):
        assert list(Membership.objects.filter(user=agent).values_list("org_unit_id", flat=True)) == [org["TKY"].pk]


def test_removing_the_membership_of_a_default_assignee_unit_is_refused(client, company, org, company_admin):
    # given
    agent = make_user(company, org["SBY"], email="two@acme.example.jp", name="二店 花子")
    do_add_membership(user=agent, org_unit=org["SJK"])
    source = InquirySource.objects.create(company=company, code="web", name="ホームページ", org_unit=org["SJK"], default_assignee=agent)
    with company_scope(company):
        membership = Membership.objects.get(user=agent, org_unit=org["SJK"])
    client.force_login(company_admin)
    # when
    response = client.post(reverse("settings:membership_change", args=[membership.pk]), {"operation": "remove"}, follow=True)
    # then
    page = response.content.decode()
    assert ("二店 花子 is the default assignee of Inquiry source ホームページ (新宿店). Choose a successor there, or transfer them "
            f'on the transfer page. <a href="/settings/inquiries/sources/{source.pk}/">Inquiry source ホームページ</a>') in page
    with company_scope(company):
        assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_user_page_counts_the_live_cases_and_links_to_the_staff_pages(client, company, org, company_admin, agent):
    # given
    make_case(company, org["SBY"], main_assignee=agent)
    trashed = make_case(company, org["SBY"], main_assignee=agent, customer_name="鈴木 一郎")
    with company_scope(company):
        Case.objects.filter(pk=trashed.pk).update(deleted_at=trashed.created_at)
    client.force_login(company_admin)
    # when
    page = client.get(reverse("settings:user", args=[agent.pk])).content.decode()
    # then
    assert '<p data-testid="live-case-count">Main assignee of 1 case (not in the trash).</p>' in page
    for href in [f"/staff/{agent.pk}/cases/", f"/staff/{agent.pk}/transfer/", f"/staff/{agent.pk}/retire/", f"/staff/history/?user={agent.pk}"]:
        assert f'href="{href}"' in page


def test_the_users_list_counts_the_live_cases_in_one_query(client, company, org, company_admin, agent):
    # given
    make_case(company, org["SBY"], main_assignee=agent)
    make_case(company, org["SBY"], main_assignee=agent, customer_name="鈴木 一郎")
    client.force_login(company_admin)
    client.get(reverse("settings:users"))
    # when
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("settings:users")).content.decode()
    # then
    assert [query["sql"].count('"crm_case"') > 0 for query in queries.captured_queries].count(True) == 1
    assert f'<a href="/settings/users/{agent.pk}/">渋谷 一郎</a>' in page
    cells = page.split('data-testid="live-cases">')[1:]
    assert [cell.split("<")[0] for cell in cells] == ["0", "2"]  # admin@ then agent@ (by e-mail)
