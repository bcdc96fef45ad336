"""The 名寄せ API: candidates, 「別人」, shared values and settings, with their rules and tenant isolation."""

import pytest

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.crm.models import (
    Case,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
    SharedContactValue,
)
from estatecrm.crm.tests.test_api import Api
from estatecrm.tenancy.choices import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(client, company_admin):
    return Api(client, company_admin)


@pytest.fixture
def agent_api(client, agent):
    return Api(client, agent)


@pytest.fixture
def trio(company, org, agent):
    """Three SBY cases of three customers sharing one phone and one e-mail (make_case's defaults): three pairs, two rules each."""
    return [testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=name) for name in ("佐藤 花子", "佐藤 はなこ", "サトウ ハナコ")]


def candidate_rows(company):
    return sorted(DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule"))


def pairs_of(items):
    return [(item["case_a"]["id"], item["case_b"]["id"], item["rule"]) for item in items]


def delete(api, path):
    return api.client.delete(f"/api/v1{path}", **api.headers)


def test_candidates_list_every_pair_and_rule_newest_first_with_reason_and_key(agent_api, trio):
    a, b, c = (case.pk for case in trio)
    # when
    response = agent_api.get("/dedup/candidates")
    # then
    assert response.status_code == 200
    items = response.json()["items"]
    assert pairs_of(items) == [(b, c, "phone"), (b, c, "email"), (a, c, "phone"), (a, c, "email"), (a, b, "phone"), (a, b, "email")]
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)
    phone = next(item for item in items if item["rule"] == "phone" and item["case_a"]["id"] == a and item["case_b"]["id"] == b)
    assert phone["reason"] == "Same phone number"
    assert phone["score"] == 1.0
    assert phone["key"] == "+819012345678"
    assert phone["case_a"]["customer_name"] == "佐藤 花子"
    assert phone["case_a"]["number"] == trio[0].number
    assert response.json()["next_cursor"] is None


def test_candidates_filter_by_case_and_rule_and_page_by_cursor(agent_api, trio):
    a, b, c = (case.pk for case in trio)
    # when
    of_c = agent_api.get("/dedup/candidates", {"case_id": c, "rule": "email"}).json()["items"]
    first = agent_api.get("/dedup/candidates", {"limit": 4}).json()
    second = agent_api.get("/dedup/candidates", {"limit": 4, "cursor": first["next_cursor"]}).json()
    # then
    assert sorted(pairs_of(of_c)) == [(a, c, "email"), (b, c, "email")]
    assert len(first["items"]) == 4 and first["next_cursor"]
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    assert sorted(pairs_of(first["items"] + second["items"])) == candidate_rows(trio[0].company_id)


def test_candidates_show_only_pairs_whose_both_cases_the_caller_sees(agent_api, company, org, agent, trio):
    # given: a fourth holder of the same phone in 新宿店 (assignees visibility; the agent is not its assignee)
    hidden = testing.make_case(company, org["SJK"], customer_name="新宿 花子")
    # when
    items = agent_api.get("/dedup/candidates").json()["items"]
    unknown = agent_api.get("/dedup/candidates", {"case_id": hidden.pk})
    # then
    assert len(candidate_rows(company)) == 12
    assert hidden.pk not in {item["case_a"]["id"] for item in items} | {item["case_b"]["id"] for item in items}
    assert len(items) == 6
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"] == {"case_id": ["Unknown value."]}


def test_candidates_of_another_company_never_show(client, other_company, trio):
    # given: company B's admin (its case holds the same phone and e-mail)
    api = Api(client, other_company["admin"])
    # when
    listed = api.get("/dedup/candidates")
    by_case = api.get("/dedup/candidates", {"case_id": trio[0].pk})
    dismissed = api.post("/dedup/dismissals", {"case_a_id": trio[0].pk, "case_b_id": trio[1].pk})
    # then
    assert listed.json() == {"items": [], "next_cursor": None}
    assert by_case.status_code == 422
    assert dismissed.status_code == 422
    assert not DuplicateDismissal.objects.unscoped().exists()


def test_dismiss_removes_the_pair_for_every_rule_and_again_changes_nothing(agent_api, agent, trio):
    a, b, c = trio
    # when
    first = agent_api.post("/dedup/dismissals", {"case_a_id": b.pk, "case_b_id": a.pk})
    again = agent_api.post("/dedup/dismissals", {"case_a_id": a.pk, "case_b_id": b.pk})
    # then
    assert first.status_code == 201
    body = first.json()
    assert (body["case_a_id"], body["case_b_id"], body["dismissed_by_id"]) == (a.pk, b.pk, agent.pk)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert candidate_rows(a.company_id) == sorted([(a.pk, c.pk, "email"), (a.pk, c.pk, "phone"), (b.pk, c.pk, "email"), (b.pk, c.pk, "phone")])
    assert AuditEvent.objects.for_company(a.company_id).filter(verb="dismiss_duplicate").count() == 1


def test_dismissed_pair_stays_out_until_taken_back(agent_api, company, org, agent):
    # given: a dismissed pair of two cases
    a = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="山田 太郎")
    b = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="山田 次郎")
    dismissal_id = agent_api.post("/dedup/dismissals", {"case_a_id": a.pk, "case_b_id": b.pk}).json()["id"]
    assert Case.objects.for_company(company).filter(pk__in=[a.pk, b.pk], has_duplicates=True).count() == 0
    # when: a third holder comes (a refresh of the same phone) and then the dismissal is taken back
    c = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="山田 三郎")
    after_new_case = candidate_rows(company)
    taken_back = delete(agent_api, f"/dedup/dismissals/{dismissal_id}")
    not_dismissed = delete(agent_api, f"/dedup/dismissals/{dismissal_id}")
    # then
    assert (a.pk, b.pk, "phone") not in after_new_case and (a.pk, c.pk, "phone") in after_new_case
    assert taken_back.status_code == 204
    assert (a.pk, b.pk, "phone") in candidate_rows(company) and (a.pk, b.pk, "email") in candidate_rows(company)
    assert not DuplicateDismissal.objects.for_company(company).exists()
    assert not_dismissed.status_code == 404


def test_dismiss_refuses_the_same_case_and_a_case_the_caller_does_not_see(agent_api, company, org, trio):
    hidden = testing.make_case(company, org["SJK"], customer_name="新宿 花子")
    # when
    same = agent_api.post("/dedup/dismissals", {"case_a_id": trio[0].pk, "case_b_id": trio[0].pk})
    unseen = agent_api.post("/dedup/dismissals", {"case_a_id": trio[0].pk, "case_b_id": hidden.pk})
    # then
    assert (same.status_code, same.json()["error"]["fields"]) == (422, {"case_b_id": ["Choose two different cases."]})
    assert unseen.status_code == 422
    assert unseen.json()["error"]["fields"] == {"case_a_id": ["Unknown value."], "case_b_id": ["Unknown value."]}
    assert not DuplicateDismissal.objects.for_company(company).exists()
    assert (trio[0].pk, hidden.pk, "phone") in candidate_rows(company)


def test_shared_values_are_for_administrators(agent_api, admin_api, company, org, trio):
    # given: the threshold at 3, so the trio's phone and e-mail are shared by count
    DuplicateSettings.objects.create(company=company, shared_threshold=3)
    # when
    refused = agent_api.get("/dedup/shared-values")
    listed = admin_api.get("/dedup/shared-values")
    # then
    assert refused.status_code == 403
    assert listed.json() == [
        {"value": "+819012345678", "display": "090-1234-5678", "kind": "mobile", "customers": 3, "marking": None, "note": "",
         "is_shared": True},
        {"value": "hanako@example.jp", "display": "hanako@example.jp", "kind": "email", "customers": 3, "marking": None, "note": "",
         "is_shared": True},
    ]


def test_marking_a_value_shared_or_personal_recomputes_its_holders(admin_api, company, trio):
    a, b, c = (case.pk for case in trio)
    # when: the phone is marked shared (typed as the office writes it)
    shared = admin_api.put("/dedup/shared-values", {"value": "０９０－１２３４－５６７８", "marking": "shared", "note": "代表番号"})
    after_shared = candidate_rows(company)
    cleared = admin_api.put("/dedup/shared-values", {"value": "090-1234-5678", "marking": None})
    # then
    assert shared.status_code == 200
    assert shared.json() == {"value": "+819012345678", "display": "090-1234-5678", "kind": "mobile", "customers": 3, "marking": "shared",
                             "note": "代表番号", "is_shared": True}
    assert after_shared == [(a, b, "email"), (a, c, "email"), (b, c, "email")]
    assert cleared.json()["marking"] is None and cleared.json()["is_shared"] is False
    assert not SharedContactValue.objects.for_company(company).exists()
    assert len(candidate_rows(company)) == 6


def test_marking_refuses_what_is_neither_phone_nor_email(admin_api, agent_api, company, trio):
    # when
    invalid = admin_api.put("/dedup/shared-values", {"value": "abc", "marking": "shared"})
    refused = agent_api.put("/dedup/shared-values", {"value": "090-1234-5678", "marking": "shared"})
    # then
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (400, "dedup_invalid_value")
    assert invalid.json()["error"]["fields"] == {"value": ["Enter a phone number or an e-mail address."]}
    assert refused.status_code == 403
    assert not SharedContactValue.objects.for_company(company).exists()


def test_settings_are_for_company_administrators_and_a_rule_turned_off_loses_its_candidates(client, admin_api, company, org, trio,
                                                                                            django_capture_on_commit_callbacks):
    org_admin = Api(client, testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp"))
    # when
    defaults = admin_api.get("/dedup/settings")
    refused = org_admin.put("/dedup/settings", {"enabled_rules": ["email"], "shared_threshold": 5, "fuzzy_min_score": 0.85})
    with django_capture_on_commit_callbacks(execute=True) as rescans:
        saved = admin_api.put("/dedup/settings", {"enabled_rules": ["email"], "shared_threshold": 4, "fuzzy_min_score": 0.9})
    # then
    assert defaults.json() == {"enabled_rules": ["phone", "email", "kana_birth", "kana_address", "name_postal", "name_birth", "birth_address"],
                               "shared_threshold": 5,
                               "fuzzy_min_score": 0.85}
    assert refused.status_code == 403
    assert saved.json() == {"enabled_rules": ["email"], "shared_threshold": 4, "fuzzy_min_score": 0.9}
    assert len(rescans) == 1
    assert {rule for _a, _b, rule in candidate_rows(company)} == {"email"}
    assert len(candidate_rows(company)) == 3


def test_settings_refuse_unknown_rules_and_out_of_range_values(admin_api, company):
    # when
    unknown_rule = admin_api.put("/dedup/settings", {"enabled_rules": ["fax"], "shared_threshold": 5, "fuzzy_min_score": 0.85})
    low = admin_api.put("/dedup/settings", {"enabled_rules": [], "shared_threshold": 1, "fuzzy_min_score": 0.85})
    # then
    assert unknown_rule.status_code == 422 and list(unknown_rule.json()["error"]["fields"]) == ["enabled_rules.0"]
    assert low.status_code == 422 and list(low.json()["error"]["fields"]) == ["shared_threshold"]
    assert not DuplicateSettings.objects.for_company(company).exists()


def test_dismiss_of_a_case_the_agent_may_not_edit_is_403_naming_it(agent_api, company, org, trio):
    # given: a 渋谷店 case the agent sees (org visibility) but is not assigned to
    colleague = testing.make_user(company, org["SBY"], email="colleague@acme.example.jp")
    theirs = testing.make_case(company, org["SBY"], main_assignee=colleague, customer_name="佐藤 華子")
    # when
    response = agent_api.post("/dedup/dismissals", {"case_a_id": trio[0].pk, "case_b_id": theirs.pk})
    # then
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        f"You may not merge case #{theirs.number}: only its assignees and the administrators of its unit may.")
    assert not DuplicateDismissal.objects.for_company(company).exists()
    assert (trio[0].pk, theirs.pk, "phone") in candidate_rows(company)


def test_the_candidate_list_costs_the_same_queries_for_more_rows(agent_api, company, org, agent, trio):
    # given: a page of 6 rows, then one of 12 (four holders: six pairs, two rules each; five would make the values shared)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent_api.get("/dedup/candidates")  # the token's first use is written down once
    with CaptureQueriesContext(connection) as few:
        assert len(agent_api.get("/dedup/candidates").json()["items"]) == 6
    testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 華")
    # when
    with CaptureQueriesContext(connection) as more:
        assert len(agent_api.get("/dedup/candidates").json()["items"]) == 12
    # then: token, actor (2), the page with both cases and customers in one join
    assert len(more.captured_queries) == len(few.captured_queries) == 4
