"""The 異動・退職 API: every endpoint, its refusals (code and status, nothing written), another company's ids
(404) and an agent (403)."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm import actions as crm_actions
from estatecrm.crm.models import Case, Customer, Reassignment
from estatecrm.crm.tests.test_api import Api
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import Membership, User
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

RESULT_KEYS = ["cases_moved", "cases_reassigned", "cases_trashed", "visits_moved", "sub_assignments_removed", "refused", "reassignment_id"]


@pytest.fixture
def office(company, org, company_admin, agent):
    """渋谷店's agent with 3 live cases (one customer unsubscribed, one case with a future visit appointment) and a
    sub-assignee role on a colleague's case; the colleague (渋谷店) and 新宿店's manager."""
    colleague = testing.make_user(company, org["SBY"], email="colleague@acme.example.jp", name="渋谷 二郎")
    sjk_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp", name="新宿 店長")
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=name) for name in ("顧客 一", "顧客 二", "顧客 三")]
    Customer.objects.for_company(company).filter(pk=cases[1].customer_id).update(is_unsubscribed=True)
    with company_scope(company):
        visit = crm_actions.do_book_visit(actor=actor_for(company_admin), case=cases[0],
                                          visit_at=timezone.now() + datetime.timedelta(days=3))
    sub_case = testing.make_case(company, org["SBY"], main_assignee=colleague, sub_assignees=[agent], customer_name="顧客 四")
    return {"agent": agent, "colleague": colleague, "sjk_admin": sjk_admin, "cases": cases, "visit": visit, "sub_case": sub_case}


@pytest.fixture
def admin_api(client, company_admin):
    return Api(client, company_admin)


def footprint(company):
    return (list(Case.objects.for_company(company).order_by("pk").values_list("pk", "main_assignee_id", "owning_org_id", "deleted_at")),
            list(Membership.objects.for_company(company).order_by("pk").values_list("pk", "user_id", "org_unit_id")),
            list(User.objects.filter(company=company).order_by("pk").values_list("pk", "is_active")),
            Reassignment.objects.for_company(company).count(), AuditEvent.objects.for_company(company).count())


def error(response):
    body = response.json()["error"]
    return response.status_code, body["code"]


def make_source(company, org, user):
    from estatecrm.inquiries.models import InquirySource

    return InquirySource.objects.create(company=company, code="suumo", name="SUUMO", org_unit=org["SBY"], default_assignee=user)


# ---------------------------------------------------------------------------------------------
# Plan


def test_the_plan_counts_cases_unsubscribed_visits_sub_roles_and_names_the_blocking_roles(admin_api, company, org, office):
    # given
    source = make_source(company, org, office["agent"])
    before = footprint(company)
    # when
    response = admin_api.get(f"/staff/users/{office['agent'].pk}/plan", {"to_unit": org["SJK"].pk})
    # then
    assert response.status_code == 200
    assert response.json() == {
        "user_id": office["agent"].pk, "from_unit_id": org["SBY"].pk, "to_unit_id": org["SJK"].pk, "cases": 3, "unsubscribed_cases": 1,
        "open_visits": 1, "sub_assignee_cases": 1, "case_unit_ids": [org["SBY"].pk], "blocked": True,
        "roles": [{"key": f"inquiry_source:{source.pk}", "label": "Inquiry source SUUMO",
                   "settings_url": f"/settings/inquiries/sources/{source.pk}/", "org_unit_id": org["SBY"].pk, "org_unit_name": "渋谷店"}],
    }
    assert footprint(company) == before


def test_the_plan_of_a_retirement_and_an_unknown_unit(admin_api, org, office):
    retirement = admin_api.get(f"/staff/users/{office['agent'].pk}/plan").json()
    unknown = admin_api.get(f"/staff/users/{office['agent'].pk}/plan", {"to_unit": 999999})
    assert (retirement["to_unit_id"], retirement["cases"], retirement["blocked"]) == (None, 3, False)
    assert (unknown.status_code, unknown.json()["error"]["fields"]) == (422, {"to_unit": ["Unknown value."]})


# ---------------------------------------------------------------------------------------------
# Transfer


def test_a_transfer_with_cases_moves_them_and_answers_the_counts(admin_api, company, org, office):
    # when
    response = admin_api.post(f"/staff/users/{office['agent'].pk}/transfer",
                              {"to_unit": org["SJK"].pk, "with_cases": True, "handover_note": "よろしく"})
    # then
    record = Reassignment.objects.for_company(company).get()
    assert response.status_code == 200
    assert list(response.json()) == RESULT_KEYS
    assert response.json() == {"cases_moved": 3, "cases_reassigned": 0, "cases_trashed": 0, "visits_moved": 1, "sub_assignments_removed": 0,
                               "refused": None, "reassignment_id": record.pk}
    assert set(Case.objects.for_company(company).filter(main_assignee=office["agent"]).values_list("owning_org__code", flat=True)) == {"SJK"}
    assert record.handover_note == "よろしく"


def test_a_transfer_of_the_agent_only_reassigns_the_cases_and_removes_sub_roles(admin_api, company, org, office,
                                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/staff/users/{office['agent'].pk}/transfer", {
            "to_unit": org["SJK"].pk, "reassign_to": office["colleague"].pk, "remove_sub_assignments": True})
    assert {key: response.json()[key] for key in RESULT_KEYS[:-1]} == {
        "cases_moved": 0, "cases_reassigned": 3, "cases_trashed": 0, "visits_moved": 1, "sub_assignments_removed": 1, "refused": None}
    assert [message.to for message in mail.outbox] == [["colleague@acme.example.jp"]]


@pytest.mark.parametrize(("body", "expected"), [
    ({}, (400, "missing_reassignment")),
    ({"with_cases": True, "reassign_to": "colleague"}, (400, "conflicting_choice")),
    ({"to_unit": "SBY", "with_cases": True}, (400, "same_unit")),
], ids=["missing-reassignment", "both", "same-unit"])
def test_a_transfer_refused_by_a_rule_answers_its_code_and_writes_nothing(admin_api, company, org, office, body, expected):
    before = footprint(company)
    values = {"to_unit": org["SJK"].pk, **body}
    values["to_unit"] = org[values["to_unit"]].pk if isinstance(values["to_unit"], str) else values["to_unit"]
    if values.get("reassign_to") == "colleague":
        values["reassign_to"] = office["colleague"].pk
    response = admin_api.post(f"/staff/users/{office['agent'].pk}/transfer", values)
    assert error(response) == expected
    assert footprint(company) == before


def test_a_transfer_of_a_default_assignee_is_refused_naming_the_role(admin_api, company, org, office):
    make_source(company, org, office["agent"])
    before = footprint(company)
    response = admin_api.post(f"/staff/users/{office['agent'].pk}/transfer", {"to_unit": org["SJK"].pk, "with_cases": True})
    assert error(response) == (400, "default_assignee")
    assert response.json()["error"]["message"] == "渋谷 一郎 is the default assignee of Inquiry source SUUMO: set a successor there first."
    assert footprint(company) == before


def test_an_admin_of_another_unit_is_refused_with_403_not_unit_admin(client, company, org, office):
    # given: 新宿店's manager; the agent is of 渋谷店
    api = Api(client, office["sjk_admin"])
    before = footprint(company)
    # when
    responses = [api.get(f"/staff/users/{office['agent'].pk}/plan"),
                 api.post(f"/staff/users/{office['agent'].pk}/transfer", {"to_unit": org["SJK"].pk, "with_cases": True}),
                 api.post(f"/staff/users/{office['agent'].pk}/retire", {"trash_cases": True}),
                 api.post("/staff/reassign", {"from_user": office["agent"].pk, "to_user": office["colleague"].pk,
                                              "cases": [office["cases"][0].pk]})]
    # then
    assert [error(response) for response in responses] == [(403, "not_unit_admin")] * 4
    assert footprint(company) == before


def test_an_agent_is_refused_with_403_everywhere(client, company, org, office):
    api = Api(client, office["colleague"])
    before = footprint(company)
    agent_id = office["agent"].pk
    responses = [api.get(f"/staff/users/{agent_id}/plan"), api.post(f"/staff/users/{agent_id}/transfer", {"to_unit": org["SJK"].pk}),
                 api.post(f"/staff/users/{agent_id}/retire", {"trash_cases": True}),
                 api.post("/staff/reassign", {"from_user": agent_id, "to_user": office["colleague"].pk}),
                 api.post(f"/staff/users/{agent_id}/successor", {"role": "line_channel", "successor": office["colleague"].pk}),
                 api.get("/staff/reassignments")]
    assert [response.status_code for response in responses] == [403] * 6
    assert footprint(company) == before


def test_another_company_ids_are_not_found(client, company, org, office, other_company):
    # given: company B's administrator
    api = Api(client, other_company["admin"])
    record = Reassignment.objects.create(company=company, kind="reassign", agent=office["agent"], to_user=office["colleague"],
                                         from_unit=org["SBY"])
    agent_id = office["agent"].pk
    before = footprint(company)
    # when
    responses = [api.get(f"/staff/users/{agent_id}/plan"), api.post(f"/staff/users/{agent_id}/transfer", {"to_unit": org["SJK"].pk}),
                 api.post(f"/staff/users/{agent_id}/retire", {"trash_cases": True}),
                 api.post(f"/staff/users/{agent_id}/successor", {"role": "line_channel", "successor": agent_id}),
                 api.get(f"/staff/reassignments/{record.pk}"), api.post(f"/staff/reassignments/{record.pk}/undo")]
    reassign = api.post("/staff/reassign", {"from_user": agent_id, "to_user": office["colleague"].pk})
    listed = api.get("/staff/reassignments")
    # then
    assert [error(response) for response in responses] == [(404, "not_found")] * 6
    assert (reassign.status_code, reassign.json()["error"]["fields"]) == (422, {"from_user": ["Unknown value."]})
    assert listed.json() == {"items": [], "next_cursor": None}
    assert footprint(company) == before


# ---------------------------------------------------------------------------------------------
# Retirement


def test_a_retirement_to_the_trash_deactivates_the_agent(admin_api, company, office):
    response = admin_api.post(f"/staff/users/{office['agent'].pk}/retire", {"trash_cases": True})
    assert {key: response.json()[key] for key in RESULT_KEYS[:-1]} == {
        "cases_moved": 0, "cases_reassigned": 0, "cases_trashed": 3, "visits_moved": 0, "sub_assignments_removed": 1, "refused": None}
    assert User.objects.get(pk=office["agent"].pk).is_active is False
    assert Case.objects.for_company(company).filter(main_assignee=office["agent"], deleted_at__isnull=False).count() == 3


def test_a_retirement_without_a_choice_or_of_oneself_is_refused(admin_api, company, company_admin, office):
    before = footprint(company)
    missing = admin_api.post(f"/staff/users/{office['agent'].pk}/retire", {})
    unknown = admin_api.post(f"/staff/users/{office['agent'].pk}/retire", {"reassign_to": 999999})
    too_long = admin_api.post(f"/staff/users/{office['agent'].pk}/retire", {"trash_cases": True, "handover_note": "あ" * 2001})
    assert error(missing) == (400, "missing_reassignment")
    assert (unknown.status_code, unknown.json()["error"]["fields"]) == (422, {"reassign_to": ["Unknown value."]})
    assert (too_long.status_code, list(too_long.json()["error"]["fields"])) == (422, ["handover_note"])
    assert footprint(company) == before


# ---------------------------------------------------------------------------------------------
# Reassignment and its undo


def test_a_bulk_reassignment_of_named_cases_and_its_undo(admin_api, company, office):
    # given
    first, second, third = office["cases"]
    # when
    done = admin_api.post("/staff/reassign", {"from_user": office["agent"].pk, "to_user": office["colleague"].pk,
                                              "cases": [first.pk, second.pk], "handover_note": "引継ぎ"})
    moved = dict(Case.objects.for_company(company).filter(pk__in=[first.pk, second.pk, third.pk]).values_list("pk", "main_assignee__email"))
    undone = admin_api.post(f"/staff/reassignments/{done.json()['reassignment_id']}/undo")
    again = admin_api.post(f"/staff/reassignments/{done.json()['reassignment_id']}/undo")
    # then
    assert {key: done.json()[key] for key in RESULT_KEYS[:-1]} == {
        "cases_moved": 0, "cases_reassigned": 2, "cases_trashed": 0, "visits_moved": 1, "sub_assignments_removed": 0, "refused": None}
    assert moved == {first.pk: "colleague@acme.example.jp", second.pk: "colleague@acme.example.jp", third.pk: "agent@acme.example.jp"}
    assert (undone.status_code, undone.json()["cases_reassigned"], undone.json()["visits_moved"]) == (200, 2, 1)
    assert set(Case.objects.for_company(company).filter(pk__in=[first.pk, second.pk]).values_list("main_assignee__email", flat=True)) == {
        "agent@acme.example.jp"}
    assert error(again) == (400, "undo_already")


def test_a_reassignment_of_a_case_not_of_the_agent_is_refused(admin_api, company, office):
    before = footprint(company)
    response = admin_api.post("/staff/reassign", {"from_user": office["agent"].pk, "to_user": office["colleague"].pk,
                                                  "cases": [office["cases"][0].pk, office["sub_case"].pk]})
    assert error(response) == (400, "not_main_assignee")
    assert footprint(company) == before


# ---------------------------------------------------------------------------------------------
# Successor


def test_setting_a_successor_unblocks_the_transfer(admin_api, company, org, office):
    # given
    source = make_source(company, org, office["agent"])
    # when
    unknown_role = admin_api.post(f"/staff/users/{office['agent'].pk}/successor", {"role": "line_channel", "successor": office["colleague"].pk})
    response = admin_api.post(f"/staff/users/{office['agent'].pk}/successor",
                              {"role": f"inquiry_source:{source.pk}", "successor": office["colleague"].pk})
    transfer = admin_api.post(f"/staff/users/{office['agent'].pk}/transfer", {"to_unit": org["SJK"].pk, "with_cases": True})
    # then
    assert (unknown_role.status_code, unknown_role.json()["error"]["fields"]) == (422, {"role": ["Unknown value."]})
    assert response.json() == {"blocked": False, "roles": []}
    source.refresh_from_db()
    assert source.default_assignee_id == office["colleague"].pk
    assert transfer.json()["cases_moved"] == 3


# ---------------------------------------------------------------------------------------------
# 担当変更履歴


def test_the_history_lists_newest_first_filters_pages_and_shows_the_cases(admin_api, company, org, office):
    # given: a reassignment of one case, then the agent's transfer with the others
    first = admin_api.post("/staff/reassign", {"from_user": office["agent"].pk, "to_user": office["colleague"].pk,
                                               "cases": [office["cases"][0].pk]}).json()["reassignment_id"]
    second = admin_api.post(f"/staff/users/{office['agent'].pk}/transfer", {"to_unit": org["SJK"].pk, "with_cases": True}).json()[
        "reassignment_id"]
    # when
    page_one = admin_api.get("/staff/reassignments", {"limit": 1}).json()
    page_two = admin_api.get("/staff/reassignments", {"limit": 1, "cursor": page_one["next_cursor"]}).json()
    reassigns = admin_api.get("/staff/reassignments", {"kind": "reassign"}).json()
    of_colleague = admin_api.get("/staff/reassignments", {"user": office["colleague"].pk}).json()
    detail = admin_api.get(f"/staff/reassignments/{first}").json()
    # then
    assert [item["id"] for item in page_one["items"] + page_two["items"]] == [second, first]
    assert page_two["next_cursor"] is None
    assert [item["id"] for item in reassigns["items"]] == [first]
    assert [item["id"] for item in of_colleague["items"]] == [first]
    assert (detail["kind"], detail["agent_id"], detail["to_user_id"], detail["cases_reassigned"]) == (
        "reassign", office["agent"].pk, office["colleague"].pk, 1)
    assert detail["undo_until"] is not None
    assert detail["cases"] == [{"case_id": office["cases"][0].pk, "case_number": office["cases"][0].number, "customer_name": "顧客 一",
                                "outcome": "reassigned", "from_user_id": office["agent"].pk, "to_user_id": office["colleague"].pk,
                                "from_unit_id": org["SBY"].pk, "to_unit_id": org["SBY"].pk, "visit_ids": [office["visit"].pk]}]


def test_an_org_admin_reads_only_the_history_of_their_units(client, company, org, office, admin_api):
    # given: a reassignment in 渋谷店
    record_id = admin_api.post("/staff/reassign", {"from_user": office["agent"].pk, "to_user": office["colleague"].pk}).json()[
        "reassignment_id"]
    sjk = Api(client, office["sjk_admin"])
    # when
    listed = sjk.get("/staff/reassignments").json()
    detail = sjk.get(f"/staff/reassignments/{record_id}")
    # then
    assert listed == {"items": [], "next_cursor": None}
    assert error(detail) == (404, "not_found")
