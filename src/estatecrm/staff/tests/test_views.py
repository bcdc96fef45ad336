"""The staff pages (異動・退職, 担当案件, 担当変更履歴) through Django's client: each page as a company admin, an org
admin of another unit and an agent; refusals shown; POSTs change what they should, and nothing on refusal."""

import pytest
from django.test import Client
from django.urls import reverse

from estatecrm.core import testing
from estatecrm.crm.models import Case, Customer, Reassignment
from estatecrm.inquiries.models import InquirySource
from estatecrm.staff.selectors import primary_membership
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import User

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def html_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def people(company, org, company_admin, agent):
    """The agent of 渋谷店 with two cases (one of an unsubscribed customer), a colleague, and the admin of 新宿店."""
    colleague = testing.make_user(company, org["SBY"], email="colleague@acme.example.jp", name="渋谷 二郎")
    sjk_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp", name="新宿 管理")
    kept = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")
    unsubscribed = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="鈴木 一郎", emails=("ichiro@example.jp",))
    Customer.objects.for_company(company).filter(pk=unsubscribed.customer_id).update(is_unsubscribed=True)
    return {"admin": company_admin, "agent": agent, "colleague": colleague, "sjk_admin": sjk_admin, "cases": [kept, unsubscribed]}


def main_assignees(cases) -> list[int]:
    return [Case.objects.unscoped().get(pk=case.pk).main_assignee_id for case in cases]


def test_home_lists_the_administered_people_with_counts_and_default_assignee_roles(company, org, people):
    # given: the agent receives the inquiries of a source
    InquirySource.objects.create(company=company, code="web", name="自社HP", org_unit=org["SBY"], default_assignee=people["agent"])
    # when
    response = client_of(people["admin"]).get(reverse("staff:home"))
    # then
    html = html_of(response)
    assert response.status_code == 200
    row = html.split(f'data-user-id="{people["agent"].pk}"')[1].split("</tr>")[0]
    assert "渋谷店" in row
    assert "2 <span" in row and "1 unsubscribed" in row
    assert "Inquiry source 自社HP" in row
    assert reverse("staff:transfer", kwargs={"user_id": people["agent"].pk}) in row


def test_home_of_an_org_admin_lists_only_the_people_of_their_units(people):
    # when
    html = html_of(client_of(people["sjk_admin"]).get(reverse("staff:home")))
    # then
    assert f'data-user-id="{people["sjk_admin"].pk}"' in html
    assert f'data-user-id="{people["agent"].pk}"' not in html


def test_agent_cannot_open_the_staff_pages(people):
    # when
    client = client_of(people["agent"])
    # then
    assert client.get(reverse("staff:home")).status_code == 403
    assert client.get(reverse("staff:history")).status_code == 403


def test_transfer_of_a_default_assignee_is_blocked_until_a_successor_is_set_on_the_page(company, org, people):
    # given
    source = InquirySource.objects.create(company=company, code="web", name="自社HP", org_unit=org["SBY"], default_assignee=people["agent"])
    client = client_of(people["admin"])
    url = reverse("staff:transfer", kwargs={"user_id": people["agent"].pk}) + f"?to_unit={org['SJK'].pk}&mode=with_cases"
    # when
    blocked = html_of(client.get(url))
    # then: the role, its receiving unit and a link to its settings; no confirmation
    assert 'data-testid="default-assignee-block"' in blocked
    assert reverse("inquiry_settings:source_edit", args=[source.pk]) in blocked
    assert 'data-testid="transfer-confirmation"' not in blocked
    # when: the successor is set right there
    response = client.post(reverse("staff:set_successor", kwargs={"user_id": people["agent"].pk}),
                           {"key": f"inquiry_source:{source.pk}", "successor": people["colleague"].pk, "next": url})
    # then: back on the transfer, now the confirmation with the counts
    assert response.status_code == 302 and response.url == url
    assert InquirySource.objects.for_company(company).get(pk=source.pk).default_assignee_id == people["colleague"].pk
    confirmation = html_of(client.get(url))
    assert 'data-testid="transfer-confirmation"' in confirmation
    assert "2 cases move with them to the new unit" in confirmation
    assert "of them unsubscribed customers': 1" in confirmation


def test_transfer_with_cases_moves_the_agent_and_their_cases(org, people):
    # given
    agent = people["agent"]
    # when
    response = client_of(people["admin"]).post(reverse("staff:transfer", kwargs={"user_id": agent.pk}), {
        "to_unit": org["SJK"].pk, "mode": "with_cases", "keep_sub_assignments": "keep", "handover_note": "よろしくお願いします"})
    # then
    record = Reassignment.objects.unscoped().get()
    assert response.status_code == 302 and response.url == reverse("staff:history_detail", kwargs={"pk": record.pk})
    assert primary_membership(agent).org_unit_id == org["SJK"].pk
    assert [Case.objects.unscoped().get(pk=case.pk).owning_org_id for case in people["cases"]] == [org["SJK"].pk, org["SJK"].pk]
    assert (record.kind, record.cases_moved, record.handover_note) == ("transfer", 2, "よろしくお願いします")


def test_transfer_agent_only_with_cases_left_behind_is_refused_and_offers_the_cases(org, people):
    # given
    agent = people["agent"]
    client = client_of(people["admin"])
    url = reverse("staff:transfer", kwargs={"user_id": agent.pk})
    # when
    page = html_of(client.get(url, {"to_unit": org["SJK"].pk, "mode": "agent_only"}))
    refused = client.post(url, {"to_unit": org["SJK"].pk, "mode": "agent_only", "keep_sub_assignments": "keep"})
    # then: explained, with the cases' link; the POST without a new main assignee changes nothing
    assert 'data-testid="missing-reassignment"' in page
    assert reverse("staff:cases", kwargs={"user_id": agent.pk}) + f"?to={org['SJK'].pk}" in page
    assert refused.status_code == 400
    assert "is the main assignee of 2 cases that would stay behind" in html_of(refused)
    assert primary_membership(agent).org_unit_id == org["SBY"].pk
    assert Reassignment.objects.unscoped().count() == 0


def test_transfer_agent_only_reassigning_all_in_one_step(org, people):
    # when
    response = client_of(people["admin"]).post(reverse("staff:transfer", kwargs={"user_id": people["agent"].pk}), {
        "to_unit": org["SJK"].pk, "mode": "agent_only", "reassign_to": people["colleague"].pk, "keep_sub_assignments": "keep"})
    # then
    assert response.status_code == 302
    assert primary_membership(people["agent"]).org_unit_id == org["SJK"].pk
    assert main_assignees(people["cases"]) == [people["colleague"].pk, people["colleague"].pk]


def test_admin_of_another_unit_cannot_transfer_and_nothing_changes(org, people):
    # when
    response = client_of(people["sjk_admin"]).post(reverse("staff:transfer", kwargs={"user_id": people["agent"].pk}), {
        "to_unit": org["SJK"].pk, "mode": "with_cases", "keep_sub_assignments": "keep"})
    # then
    assert response.status_code == 403
    assert primary_membership(people["agent"]).org_unit_id == org["SBY"].pk


def test_retire_shows_the_counts_and_trashes_the_cases(people):
    # given
    client = client_of(people["admin"])
    url = reverse("staff:retire", kwargs={"user_id": people["agent"].pk})
    # when
    page = html_of(client.get(url))
    response = client.post(url, {"choice": "trash"})
    # then
    assert "2 cases in charge" in page and "of them unsubscribed customers': 1" in page
    assert "never deleted" in page
    assert response.status_code == 302
    assert User.objects.get(pk=people["agent"].pk).is_active is False
    assert all(Case.objects.unscoped().get(pk=case.pk).deleted_at is not None for case in people["cases"])


def test_retire_without_a_successor_is_refused_and_changes_nothing(people):
    # when
    response = client_of(people["admin"]).post(reverse("staff:retire", kwargs={"user_id": people["agent"].pk}), {"choice": "reassign"})
    # then
    assert response.status_code == 400
    assert "Choose who takes over the cases." in html_of(response)
    assert User.objects.get(pk=people["agent"].pk).is_active is True
    assert Reassignment.objects.unscoped().count() == 0


def test_cases_page_includes_unsubscribed_customers_by_default_and_filters_them(people):
    # given
    kept, unsubscribed = people["cases"]
    client = client_of(people["admin"])
    url = reverse("staff:cases", kwargs={"user_id": people["agent"].pk})
    # when
    everything = html_of(client.get(url))
    only = html_of(client.get(url, {"unsubscribed": "only"}))
    excluded = html_of(client.get(url, {"unsubscribed": "exclude"}))
    # then
    assert f'data-case-id="{kept.pk}"' in everything and f'data-case-id="{unsubscribed.pk}"' in everything
    assert everything.count('data-testid="unsubscribed-badge"') == 1
    assert f'data-case-id="{kept.pk}"' not in only and f'data-case-id="{unsubscribed.pk}"' in only
    assert f'data-case-id="{kept.pk}"' in excluded and f'data-case-id="{unsubscribed.pk}"' not in excluded


def test_cases_page_reassigns_one_case_then_all_of_the_filter(people):
    # given
    kept, unsubscribed = people["cases"]
    client = client_of(people["admin"])
    url = reverse("staff:cases", kwargs={"user_id": people["agent"].pk})
    # when: one by one
    client.post(url, {"case_ids": [kept.pk], "scope": "selected", "to_user": people["colleague"].pk})
    # then
    assert main_assignees(people["cases"]) == [people["colleague"].pk, people["agent"].pk]
    # when: all of the list (the unsubscribed customer's case is in it)
    client.post(url, {"scope": "all", "to_user": people["colleague"].pk, "handover_note": "引継ぎ"})
    # then
    assert main_assignees(people["cases"]) == [people["colleague"].pk, people["colleague"].pk]
    assert Reassignment.objects.unscoped().filter(kind="reassign").count() == 2


def test_cases_page_without_ticked_cases_refuses_and_changes_nothing(people):
    # when
    response = client_of(people["admin"]).post(reverse("staff:cases", kwargs={"user_id": people["agent"].pk}),
                                                {"scope": "selected", "to_user": people["colleague"].pk}, follow=True)
    # then
    assert "Tick the cases to reassign" in html_of(response)
    assert main_assignees(people["cases"]) == [people["agent"].pk, people["agent"].pk]


def test_history_lists_the_reassignment_and_its_detail_undoes_it(people):
    # given
    client = client_of(people["admin"])
    client.post(reverse("staff:cases", kwargs={"user_id": people["agent"].pk}), {"scope": "all", "to_user": people["colleague"].pk})
    record = Reassignment.objects.unscoped().get()
    # when
    listing = html_of(client.get(reverse("staff:history"), {"user": people["agent"].pk, "kind": "reassign"}))
    detail = html_of(client.get(reverse("staff:history_detail", kwargs={"pk": record.pk})))
    response = client.post(reverse("staff:history_undo", kwargs={"pk": record.pk}))
    # then
    assert f'data-reassignment-id="{record.pk}"' in listing
    assert 'data-testid="reassignment-undo"' in detail and detail.count("Reassigned</td>") == 2
    assert response.status_code == 302
    assert main_assignees(people["cases"]) == [people["agent"].pk, people["agent"].pk]
    # when: a second undo is refused with its reason
    again = html_of(client.post(reverse("staff:history_undo", kwargs={"pk": record.pk}), follow=True))
    # then
    assert "This reassignment was already undone." in again


def test_history_filter_by_kind_hides_other_kinds(people):
    # given
    client = client_of(people["admin"])
    client.post(reverse("staff:cases", kwargs={"user_id": people["agent"].pk}), {"scope": "all", "to_user": people["colleague"].pk})
    record = Reassignment.objects.unscoped().get()
    # when
    html = html_of(client.get(reverse("staff:history"), {"kind": "retire"}))
    # then
    assert f'data-reassignment-id="{record.pk}"' not in html
    assert 'data-testid="history-empty"' in html


def test_org_admin_setting_a_successor_sees_the_refusal_of_the_intake_rule(company, org, people):
    # given: an admin of 渋谷店 (the intake settings are a company admin's)
    source = InquirySource.objects.create(company=company, code="web", name="自社HP", org_unit=org["SBY"], default_assignee=people["agent"])
    sby_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp", name="渋谷 管理")
    # when
    response = client_of(sby_admin).post(reverse("staff:set_successor", kwargs={"user_id": people["agent"].pk}),
                                         {"key": f"inquiry_source:{source.pk}", "successor": people["colleague"].pk}, follow=True)
    # then: the message of the refusal, and the source keeps its default assignee
    assert response.status_code == 200
    assert "You do not have permission to do this." in html_of(response)
    assert InquirySource.objects.for_company(company).get(pk=source.pk).default_assignee_id == people["agent"].pk
