"""The 名寄せ API's merges: 201 with the merge, 403 naming the cases, 409 for a stale merge, history, undo, isolation."""

import datetime

import pytest

from estatecrm.core import testing
from estatecrm.crm.models import Case
from estatecrm.crm.tests.test_api import Api
from estatecrm.dedup.models import Merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_api(client, agent):
    return Api(client, agent)


@pytest.fixture
def own(company, org, agent):
    """Two cases of two customers (same phone) the agent is main assignee of, and a third one."""
    return [testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=name) for name in ("佐藤 花子", "佐藤 はなこ", "サトウ ハナコ")]


def merge_body(survivor, *others, integrate=True):
    return {"survivor_id": survivor.pk, "case_ids": [case.pk for case in others], "integrate": integrate}


def test_merge_integrates_and_answers_201_with_the_merge(agent_api, agent, own):
    survivor, other, _third = own
    # when
    response = agent_api.post("/dedup/merges", merge_body(survivor, other))
    # then
    assert response.status_code == 201
    body = response.json()
    merge = Merge.objects.for_company(survivor.company_id).get()
    assert body["id"] == merge.pk
    assert (body["survivor_id"], body["merged_case_ids"], body["mode"], body["is_automatic"], body["acting_user_id"], body["undone_at"]) == (
        survivor.pk, [other.pk], "integrate", False, agent.pk, None)
    # (JSON carries milliseconds)
    assert datetime.datetime.fromisoformat(body["undo_until"]) == (merge.created_at + datetime.timedelta(days=30)).replace(
        microsecond=merge.created_at.microsecond // 1000 * 1000)
    other.refresh_from_db()
    assert (other.merged_into_id, other.deleted_at is not None) == (survivor.pk, True)


def test_link_keeps_every_case_on_the_survivors_customer(agent_api, own):
    survivor, other, third = own
    # when
    response = agent_api.post("/dedup/merges", merge_body(survivor, other, third, integrate=False))
    # then
    assert response.status_code == 201
    assert (response.json()["mode"], response.json()["merged_case_ids"]) == ("link", sorted([other.pk, third.pk]))
    cases = Case.objects.for_company(survivor.company_id).filter(pk__in=[case.pk for case in own])
    assert sorted(cases.values_list("customer_id", "deleted_at")) == [(survivor.customer_id, None)] * 3


def test_merge_of_cases_the_agent_may_not_edit_is_403_naming_them(agent_api, company, org, agent, own):
    # given: a 渋谷店 case the agent sees (org visibility) but is not assigned to
    colleague = testing.make_user(company, org["SBY"], email="colleague@acme.example.jp")
    theirs = testing.make_case(company, org["SBY"], main_assignee=colleague, customer_name="佐藤 華子")
    # when
    response = agent_api.post("/dedup/merges", merge_body(own[0], theirs))
    # then
    assert response.status_code == 403
    assert f"#{theirs.number}" in response.json()["error"]["message"]
    assert f"#{own[0].number}" not in response.json()["error"]["message"]
    assert not Merge.objects.for_company(company).exists()
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


def test_merge_refuses_unknown_cases_and_the_survivor_among_the_others(agent_api, company, org, other_company, own):
    hidden = testing.make_case(company, org["SJK"], customer_name="新宿 花子")
    # when
    unseen = agent_api.post("/dedup/merges", merge_body(own[0], hidden))
    foreign = agent_api.post("/dedup/merges", merge_body(other_company["case"], own[1]))
    itself = agent_api.post("/dedup/merges", merge_body(own[0], own[0]))
    empty = agent_api.post("/dedup/merges", merge_body(own[0]))
    # then
    assert (unseen.status_code, unseen.json()["error"]["fields"]) == (422, {"case_ids": ["Unknown value."]})
    assert (foreign.status_code, foreign.json()["error"]["fields"]) == (422, {"survivor_id": ["Unknown value."]})
    assert (itself.status_code, list(itself.json()["error"]["fields"])) == (422, ["case_ids"])
    assert (empty.status_code, list(empty.json()["error"]["fields"])) == (422, ["case_ids"])
    assert not Merge.objects.for_company(company).exists()


def test_a_stale_second_merge_of_the_same_case_is_a_409_conflict(agent_api, own):
    survivor, other, third = own
    agent_api.post("/dedup/merges", merge_body(survivor, other))
    # when: someone who read the candidates before merges the merged case elsewhere
    response = agent_api.post("/dedup/merges", merge_body(third, other))
    # then
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "merge_conflict"
    assert Merge.objects.for_company(survivor.company_id).count() == 1
    third.refresh_from_db()
    assert (third.deleted_at, third.merged_into_id) == (None, None)


def test_merges_are_listed_newest_first_and_read_by_id_by_who_sees_the_survivor(client, agent_api, other_company, own):
    survivor, other, third = own
    first = agent_api.post("/dedup/merges", merge_body(survivor, other)).json()
    second = agent_api.post("/dedup/merges", merge_body(survivor, third, integrate=False)).json()
    outsider = Api(client, other_company["admin"])
    # when
    listed = agent_api.get("/dedup/merges")
    of_third = agent_api.get("/dedup/merges", {"case_id": third.pk})
    one = agent_api.get(f"/dedup/merges/{first['id']}")
    # then
    assert [item["id"] for item in listed.json()["items"]] == [second["id"], first["id"]]
    assert [item["id"] for item in of_third.json()["items"]] == [second["id"]]
    assert one.json() == first
    assert outsider.get(f"/dedup/merges/{first['id']}").status_code == 404
    assert outsider.get("/dedup/merges").json() == {"items": [], "next_cursor": None}
    assert outsider.post(f"/dedup/merges/{first['id']}/undo").status_code == 404


def test_undo_restores_the_cases_and_a_second_undo_is_refused(agent_api, agent, own):
    survivor, other, _third = own
    merge_id = agent_api.post("/dedup/merges", merge_body(survivor, other)).json()["id"]
    # when
    undone = agent_api.post(f"/dedup/merges/{merge_id}/undo")
    again = agent_api.post(f"/dedup/merges/{merge_id}/undo")
    # then
    assert undone.status_code == 200
    assert (undone.json()["undone_by_id"], undone.json()["undo_until"]) == (agent.pk, None)
    assert undone.json()["undone_at"] is not None
    other.refresh_from_db()
    assert (other.deleted_at, other.merged_into_id) == (None, None)
    assert again.status_code == 400
    assert Merge.objects.for_company(survivor.company_id).get().undone_at.isoformat().replace("+00:00", "Z")[:19] == \
        undone.json()["undone_at"][:19]
