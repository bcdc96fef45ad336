"""The CRM API: every endpoint with its 401/403/404/409/422 paths, token and session authentication."""

import datetime
import json

import pytest
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm import actions
from estatecrm.crm.models import Activity, Case, ContactPoint, Customer, DesiredConditions, Rank, Tag
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db


class Api:
    """A test client that calls the API with a personal token (or a session when `session=True`)."""

    def __init__(self, client, user=None, *, session: bool = False):
        self.client = client
        self.headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
        if user is not None and session:
            client.force_login(user)
        elif user is not None:
            _token, clear = do_create_api_token(user=user, name="tests", acting_user=user)
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {clear}"

    def get(self, path, data=None, **headers):
        return self.client.get(f"/api/v1{path}", data, **self.headers, **headers)

    def send(self, method, path, body=None, **headers):
        call = getattr(self.client, method)
        return call(f"/api/v1{path}", json.dumps(body if body is not None else {}), content_type="application/json",
                    **self.headers, **headers)

    def post(self, path, body=None, **headers):
        return self.send("post", path, body, **headers)

    def patch(self, path, body=None, **headers):
        return self.send("patch", path, body, **headers)

    def put(self, path, body=None, **headers):
        return self.send("put", path, body, **headers)


@pytest.fixture
def admin_api(client, company_admin):
    return Api(client, company_admin)


@pytest.fixture
def agent_api(client, agent):
    return Api(client, agent)


@pytest.fixture
def case(company, org, agent):
    return testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")


def error(response) -> tuple:
    body = response.json()["error"]
    return response.status_code, body["code"], body["fields"]


# ---------------------------------------------------------------------------------------------
# Authentication


def test_every_route_but_health_needs_authentication(client, case):
    from estatecrm.config.api import api

    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method in operations:
            url = path.replace("{case_id}", str(case.pk)).replace("{", "").replace("}", "")
            url = url.replace("customer_id", "1").replace("activity_id", "1").replace("listing_id", "1")
            response = getattr(client, method)(url, HTTP_ACCEPT_LANGUAGE="en")
            if path == "/api/v1/health":
                assert response.status_code == 200
                continue
            assert (path, method, response.status_code, response.json()["error"]["code"]) == (path, method, 401, "unauthorized")


def test_a_wrong_or_revoked_token_is_401(client, agent, case):
    from estatecrm.tenancy.tokens import do_revoke_api_token

    token, clear = do_create_api_token(user=agent, name="sync", acting_user=agent)
    do_revoke_api_token(token=token, acting_user=agent)
    for value in (f"Bearer {clear}", "Bearer ecrm_nonsense", f"Token {clear}"):
        response = client.get(f"/api/v1/cases/{case.pk}", HTTP_AUTHORIZATION=value)
        assert (value, response.status_code) == (value, 401)


def test_session_needs_the_csrf_token_for_writes(agent, case):
    from django.test import Client

    # given
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    # when
    read = client.get(f"/api/v1/cases/{case.pk}")
    write = client.post(f"/api/v1/cases/{case.pk}/activities", json.dumps({"kind": "note"}), content_type="application/json",
                        HTTP_ACCEPT_LANGUAGE="en")
    client.get("/account/tokens/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    allowed = client.post(f"/api/v1/cases/{case.pk}/activities", json.dumps({"kind": "note"}), content_type="application/json",
                          HTTP_X_CSRFTOKEN=csrf)
    # then
    assert read.status_code == 200
    assert error(write) == (403, "csrf_failed", {})
    assert allowed.status_code == 201


def test_token_calls_need_no_csrf_token(agent, case):
    from django.test import Client

    api = Api(Client(enforce_csrf_checks=True), agent)
    assert api.post(f"/cases/{case.pk}/activities", {"kind": "note", "subject": "電話"}).status_code == 201


def test_session_and_token_act_as_the_same_user(client, agent, case):
    by_session = Api(client, agent, session=True).get(f"/cases/{case.pk}")
    client.logout()
    by_token = Api(client, agent).get(f"/cases/{case.pk}")
    assert by_session.json() == by_token.json()


def test_a_user_without_company_is_403(client, case):
    from estatecrm.tenancy.models import User

    superuser = User.objects.create_superuser("root@example.jp", "pass-Word-123")
    api = Api(client, superuser, session=True)
    assert error(api.get("/cases"))[:2] == (403, "permission_denied")


def test_leads_routes_accept_tokens(admin_api):
    response = admin_api.get("/lead-imports")
    assert (response.status_code, response.json()) == (200, [])


# ---------------------------------------------------------------------------------------------
# Cases: list


def test_list_pages_by_cursor(admin_api, company, org, agent):
    # given
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=f"顧客 {i}") for i in range(5)]
    # when
    first = admin_api.get("/cases", {"limit": 2}).json()
    second = admin_api.get("/cases", {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = admin_api.get("/cases", {"limit": 2, "cursor": second["next_cursor"]}).json()
    # then
    newest_first = [case.pk for case in reversed(cases)]
    assert [row["id"] for row in first["items"] + second["items"] + third["items"]] == newest_first
    assert third["next_cursor"] is None


def test_list_uses_the_case_filters(admin_api, company, org, agent):
    # given
    rank, _ = actions.do_upsert_rank(company=company, name="A")
    wanted = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="髙橋 一郎", rank=rank, kind="buy")
    testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="高橋 二郎", kind="rent")
    testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="山田 三郎", rank=rank, kind="buy")
    # when
    response = admin_api.get("/cases", {"q": "高橋", "kind": "buy", "rank": rank.pk})
    # then
    assert [row["id"] for row in response.json()["items"]] == [wanted.pk]


def test_list_shows_only_visible_cases(agent_api, company, org, case, other_company):
    testing.make_case(company, org["SJK"])  # another unit: the SBY agent does not see it
    assert [row["id"] for row in agent_api.get("/cases").json()["items"]] == [case.pk]


def test_list_rejects_bad_filters_and_cursors_with_field_errors(agent_api, case):
    assert error(agent_api.get("/cases", {"rank": "abc", "kind": "castle"})) == (
        422, "invalid", {"rank": ["Choose a valid option."], "kind": ["Choose a valid option."]})
    assert error(agent_api.get("/cases", {"limit": 1000}))[:2] == (422, "invalid")
    assert error(agent_api.get("/cases", {"cursor": "garbage"})) == (
        422, "invalid", {"cursor": ["The cursor is not valid; start again from the first page."]})


def test_a_cursor_of_another_sort_is_refused(agent_api, company, org, agent):
    testing.make_case(company, org["SBY"], main_assignee=agent)
    testing.make_case(company, org["SBY"], main_assignee=agent)
    cursor = agent_api.get("/cases", {"limit": 1, "sort": "created"}).json()["next_cursor"]
    assert agent_api.get("/cases", {"limit": 1, "sort": "created", "cursor": cursor}).status_code == 200
    assert error(agent_api.get("/cases", {"limit": 1, "cursor": cursor}))[:2] == (422, "invalid")


@pytest.mark.parametrize("rows", [1, 10])
def test_list_query_count_does_not_grow_with_rows(admin_api, company, org, agent, django_assert_num_queries, rows):
    for i in range(rows):
        testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=f"顧客 {i}")
    admin_api.get("/cases")  # the token's first use is recorded; later calls within a minute write nothing
    # token, actor (units, memberships), cases, tags, sub-assignees
    with django_assert_num_queries(6):
        response = admin_api.get("/cases")
    assert len(response.json()["items"]) == rows


# ---------------------------------------------------------------------------------------------
# Cases: get, create, update


def test_get_case_with_etag(agent_api, case):
    response = agent_api.get(f"/cases/{case.pk}")
    body = response.json()
    assert response.status_code == 200
    assert (body["id"], body["customer"]["name"], body["status"], body["owning_org_id"]) == (case.pk, "佐藤 花子", "追客中", case.owning_org_id)
    assert response["ETag"] == f'"{case.pk}-{case.updated_at.timestamp():.6f}"'


def test_get_case_of_another_unit_or_company_is_404(agent_api, company, org, other_company):
    hidden = testing.make_case(company, org["SJK"])
    for case_id in (hidden.pk, other_company["case"].pk, 999999):
        assert error(agent_api.get(f"/cases/{case_id}")) == (404, "not_found", {})


def test_create_case_with_a_new_customer(agent_api, company, org, agent):
    # given
    tag, _ = actions.do_upsert_tag(company=company, name="VIP")
    body = {
        "customer": {"name": "鈴木　一郎", "kana": "ｽｽﾞｷ ｲﾁﾛｳ", "contacts": [{"name": "鈴木 一郎", "mobiles": ["090-1111-2222"],
                                                                           "emails": ["Ichiro@Example.JP"]}]},
        "kind": "buy", "tag_ids": [tag.pk], "desired": {"price_min": 3000, "price_max": 5000, "layouts": ["3LDK"]},
    }
    # when
    response = agent_api.post("/cases", body)
    # then
    created = response.json()
    assert response.status_code == 201
    assert (created["kind"], created["owning_org_id"], created["main_assignee_id"], created["tag_ids"], created["origin"]) == (
        "buy", org["SBY"].pk, agent.pk, [tag.pk], "manual")
    assert created["customer"]["name"] == "鈴木 一郎"
    with company_scope(company):
        customer = Customer.objects.get(pk=created["customer"]["id"])
        assert customer.kana == "スズキ イチロウ"
        assert sorted(ContactPoint.objects.filter(customer=customer).values_list("normalized", flat=True)) == [
            "+819011112222", "ichiro@example.jp"]
        desired = DesiredConditions.objects.get(case_id=created["id"])
    assert (desired.price_min, desired.price_max, desired.layouts) == (3000, 5000, ["3LDK"])


def test_create_case_for_an_existing_customer(agent_api, case):
    response = agent_api.post("/cases", {"customer_id": case.customer_id, "kind": "rent"})
    assert (response.status_code, response.json()["customer"]["id"]) == (201, case.customer_id)


def test_create_case_refuses_unknown_references_with_field_errors(agent_api, company, other_company, case):
    other_tag, _ = actions.do_upsert_tag(company=other_company["company"], name="他社")
    cases_before = Case.objects.for_company(company).count()
    assert error(agent_api.post("/cases", {"customer_id": other_company["case"].customer_id})) == (
        422, "invalid", {"customer_id": ["Unknown value."]})
    assert error(agent_api.post("/cases", {"customer_id": case.customer_id, "tag_ids": [other_tag.pk]})) == (
        422, "invalid", {"tag_ids": ["Unknown value."]})
    assert error(agent_api.post("/cases", {"customer_id": case.customer_id, "owning_org_id": other_company["unit"].pk})) == (
        422, "invalid", {"owning_org_id": ["Unknown value."]})
    assert error(agent_api.post("/cases", {"customer_id": case.customer_id, "main_assignee_id": other_company["admin"].pk})) == (
        422, "invalid", {"main_assignee_id": ["Unknown value."]})
    assert error(agent_api.post("/cases", {})) == (422, "invalid", {"customer": ["Give either customer_id or customer."]})
    assert error(agent_api.post("/cases", {"customer": {"name": ""}, "kind": "castle"}))[:2] == (422, "invalid")
    assert Case.objects.for_company(company).count() == cases_before


def test_create_case_schema_errors_name_the_field(agent_api):
    status, code, fields = error(agent_api.post("/cases", {"customer": {"name": "x"}, "kind": "castle"}))
    assert (status, code, list(fields)) == (422, "invalid", ["kind"])


def test_agent_cannot_put_a_case_in_a_unit_outside_their_reach(agent_api, org, case):
    assert error(agent_api.post("/cases", {"customer_id": case.customer_id, "owning_org_id": org["SJK"].pk})) == (
        403, "permission_denied", {})


def test_create_case_refuses_an_upside_down_band_and_writes_nothing(agent_api, company, case):
    before = Case.objects.for_company(company).count()
    response = agent_api.post("/cases", {"customer_id": case.customer_id, "desired": {"rent_min": "9", "rent_max": "8"}})
    assert error(response) == (400, "desired_invalid", {"rent_max": ["Must not be lower than the lower limit."]})
    assert Case.objects.for_company(company).count() == before


def test_update_with_the_etag(agent_api, company, case):
    # given
    rank, _ = actions.do_upsert_rank(company=company, name="A")
    etag = agent_api.get(f"/cases/{case.pk}")["ETag"]
    # when
    response = agent_api.patch(f"/cases/{case.pk}", {"status": "申込中", "rank_id": rank.pk, "other_info": "駐車場2台"}, HTTP_IF_MATCH=etag)
    # then
    body = response.json()
    assert (response.status_code, body["status"], body["rank_id"], body["other_info"]) == (200, "申込中", rank.pk, "駐車場2台")
    assert response["ETag"] != etag
    event = AuditEvent.objects.for_company(company).filter(object_type="crm.case", verb="update").latest("pk")
    assert event.after == {"status": "申込中", "rank_id": rank.pk, "other_info": "駐車場2台"}


def test_update_with_updated_at_and_tags(agent_api, company, case):
    tags = [actions.do_upsert_tag(company=company, name=name)[0] for name in ("VIP", "至急")]
    read = agent_api.get(f"/cases/{case.pk}").json()
    response = agent_api.patch(f"/cases/{case.pk}", {"updated_at": read["updated_at"], "tag_ids": [tags[1].pk, tags[0].pk]})
    assert (response.status_code, response.json()["tag_ids"]) == (200, [tags[1].pk, tags[0].pk])


def test_stale_update_is_refused_with_409_and_not_applied(agent_api, company, case):
    # given: read, then someone else changes the case
    etag = agent_api.get(f"/cases/{case.pk}")["ETag"]
    read = agent_api.get(f"/cases/{case.pk}").json()
    with company_scope(company):
        actions.do_update_case(case=case, changes={"other_info": "他の人の変更"}, acting_user=None)
    # when
    by_etag = agent_api.patch(f"/cases/{case.pk}", {"status": "保留"}, HTTP_IF_MATCH=etag)
    by_time = agent_api.patch(f"/cases/{case.pk}", {"status": "保留", "updated_at": read["updated_at"]})
    # then
    assert error(by_etag)[:2] == (409, "stale")
    assert error(by_time)[:2] == (409, "stale")
    case.refresh_from_db()
    assert (case.status, case.other_info) == ("追客中", "他の人の変更")


def test_update_without_a_precondition_is_428(agent_api, case):
    assert error(agent_api.patch(f"/cases/{case.pk}", {"status": "保留"}))[:2] == (428, "precondition_required")
    case.refresh_from_db()
    assert case.status == "追客中"


def test_update_validation_errors(agent_api, company, case):
    etag = agent_api.get(f"/cases/{case.pk}")["ETag"]
    other_status, _ = actions.do_upsert_sub_status(company=company, status="保留", name="連絡待ち")
    assert error(agent_api.patch(f"/cases/{case.pk}", {"kind": None}, HTTP_IF_MATCH=etag)) == (
        422, "invalid", {"kind": ["This field is required."]})
    assert error(agent_api.patch(f"/cases/{case.pk}", {"status": "unknown"}, HTTP_IF_MATCH=etag))[:2] == (422, "invalid")
    assert error(agent_api.patch(f"/cases/{case.pk}", {"sub_status_id": other_status.pk}, HTTP_IF_MATCH=etag)) == (
        400, "sub_status_mismatch", {"sub_status": ["Choose a sub-status of the selected status."]})
    case.refresh_from_db()
    assert case.sub_status_id is None


def test_update_of_a_hidden_case_is_404(agent_api, company, org, other_company):
    hidden = testing.make_case(company, org["SJK"])
    for case_id in (hidden.pk, other_company["case"].pk):
        assert error(agent_api.patch(f"/cases/{case_id}", {"status": "保留"}, HTTP_IF_MATCH="*"))[:2] == (404, "not_found")


# ---------------------------------------------------------------------------------------------
# Cases: trash and restore


def test_admin_trashes_and_restores(admin_api, case):
    trashed = admin_api.post(f"/cases/{case.pk}/trash")
    assert (trashed.status_code, trashed.json()["deleted_at"] is not None) == (200, True)
    assert admin_api.get("/cases").json()["items"] == []
    assert [row["id"] for row in admin_api.get("/cases", {"view": "trash"}).json()["items"]] == [case.pk]
    restored = admin_api.post(f"/cases/{case.pk}/restore")
    assert (restored.status_code, restored.json()["deleted_at"]) == (200, None)
    assert error(admin_api.post(f"/cases/{case.pk}/restore"))[:2] == (400, "not_in_trash")


def test_agent_may_not_trash(agent_api, case):
    assert error(agent_api.post(f"/cases/{case.pk}/trash")) == (403, "permission_denied", {})
    case.refresh_from_db()
    assert case.deleted_at is None


def test_update_of_a_trashed_case_is_refused(admin_api, case):
    admin_api.post(f"/cases/{case.pk}/trash")
    assert error(admin_api.patch(f"/cases/{case.pk}", {"status": "保留"}, HTTP_IF_MATCH="*"))[:2] == (400, "in_trash")


def test_trash_of_another_company_case_is_404(admin_api, other_company):
    assert error(admin_api.post(f"/cases/{other_company['case'].pk}/trash"))[:2] == (404, "not_found")
    assert error(admin_api.post(f"/cases/{other_company['case'].pk}/restore"))[:2] == (404, "not_found")


# ---------------------------------------------------------------------------------------------
# Desired conditions


def test_desired_conditions_get_and_put(agent_api, company, case):
    # when
    put = agent_api.put(f"/cases/{case.pk}/desired-conditions",
                        {"rent_min": "8.5", "rent_max": "10", "layouts": ["1LDK", "2DK"], "walk_minutes": 10, "move_in": "即入居",
                         "features": ["ペット相談"]})
    got = agent_api.get(f"/cases/{case.pk}/desired-conditions").json()
    # then
    assert put.status_code == 200
    assert (got["rent_min"], got["rent_max"], got["layouts"], got["walk_minutes"], got["move_in"], got["features"]) == (
        "8.5", "10.0", ["1LDK", "2DK"], 10, "即入居", ["ペット相談"])


def test_desired_conditions_validation(agent_api, case):
    assert error(agent_api.put(f"/cases/{case.pk}/desired-conditions", {"rent_min": "12", "rent_max": "10"})) == (
        400, "desired_invalid", {"rent_max": ["Must not be lower than the lower limit."]})
    status, code, fields = error(agent_api.put(f"/cases/{case.pk}/desired-conditions", {"layouts": ["7LDK"], "walk_minutes": 4}))
    assert (status, code, sorted(fields)) == (422, "invalid", ["layouts.0", "walk_minutes"])


def test_desired_conditions_with_a_stale_if_match_is_409(agent_api, case):
    assert error(agent_api.put(f"/cases/{case.pk}/desired-conditions", {"price_max": 1}, HTTP_IF_MATCH='"stale"'))[:2] == (409, "stale")
    with company_scope(case.company_id):
        assert DesiredConditions.objects.get(case=case).price_max is None


def test_desired_conditions_of_a_hidden_case_is_404(agent_api, other_company):
    case_id = other_company["case"].pk
    assert error(agent_api.get(f"/cases/{case_id}/desired-conditions"))[:2] == (404, "not_found")
    assert error(agent_api.put(f"/cases/{case_id}/desired-conditions", {}))[:2] == (404, "not_found")


# ---------------------------------------------------------------------------------------------
# Activities


def test_log_and_list_activities(agent_api, company, case, agent):
    # given
    when = timezone.now().replace(microsecond=0) - datetime.timedelta(days=1)
    # when
    note = agent_api.post(f"/cases/{case.pk}/activities", {"kind": "call", "subject": "初回架電", "occurred_at": when.isoformat()})
    agent_api.post(f"/cases/{case.pk}/activities", {"kind": "note", "body": "メモ"})
    listed = agent_api.get(f"/cases/{case.pk}/activities", {"limit": 1}).json()
    rest = agent_api.get(f"/cases/{case.pk}/activities", {"limit": 1, "cursor": listed["next_cursor"]}).json()
    # then
    assert (note.status_code, note.json()["kind"], note.json()["actor_id"], note.json()["is_done"]) == (201, "call", agent.pk, True)
    assert [row["kind"] for row in listed["items"] + rest["items"]] == ["note", "call"]
    assert rest["next_cursor"] is None


def test_book_and_complete_a_visit(agent_api, company, case, org):
    # given
    visit_at = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)
    # when
    booked = agent_api.post(f"/cases/{case.pk}/activities", {"kind": "visit_appointment", "occurred_at": visit_at.isoformat()}).json()
    completed = agent_api.post(f"/activities/{booked['id']}/complete")
    # then
    assert (booked["is_done"], booked["org_unit_id"]) == (False, org["SBY"].pk)
    assert (completed.status_code, completed.json()["is_done"]) == (200, True)


def test_activity_validation(agent_api, case):
    assert error(agent_api.post(f"/cases/{case.pk}/activities", {"kind": "visit_appointment"})) == (
        422, "invalid", {"occurred_at": ["Give the date and time of the visit."]})
    assert error(agent_api.post(f"/cases/{case.pk}/activities", {"kind": "system"}))[:2] == (422, "invalid")
    assert error(agent_api.post(f"/cases/{case.pk}/activities", {"kind": "dance"}))[:2] == (422, "invalid")
    note = agent_api.post(f"/cases/{case.pk}/activities", {"kind": "note"}).json()
    assert error(agent_api.post(f"/activities/{note['id']}/complete"))[:2] == (400, "not_an_appointment")
    with company_scope(case.company_id):
        assert Activity.objects.filter(case=case).count() == 1


def test_activities_of_hidden_cases_are_404(agent_api, company, org, other_company):
    hidden = testing.make_case(company, org["SJK"])
    for case_id in (hidden.pk, other_company["case"].pk):
        assert error(agent_api.get(f"/cases/{case_id}/activities"))[:2] == (404, "not_found")
        assert error(agent_api.post(f"/cases/{case_id}/activities", {"kind": "note"}))[:2] == (404, "not_found")
        assert error(agent_api.get(f"/cases/{case_id}/introductions"))[:2] == (404, "not_found")
    with company_scope(company):
        assert Activity.objects.filter(case=hidden).count() == 0


def test_completing_an_activity_of_a_hidden_case_is_404(agent_api, company, org, company_admin):
    from estatecrm.tenancy.selectors import actor_for

    hidden = testing.make_case(company, org["SJK"])
    visit = actions.do_book_visit(actor=actor_for(company_admin), case=hidden, visit_at=timezone.now())
    assert error(agent_api.post(f"/activities/{visit.pk}/complete"))[:2] == (404, "not_found")
    visit.refresh_from_db()
    assert visit.is_done is False


def test_introductions_of_a_case(agent_api, company, case):
    from estatecrm.crm.models import Introduction

    Introduction.objects.create(company=company, case=case, listing_name="メゾン渋谷 101", listing_ref="L-1", layout="1K",
                                introduced_on=datetime.date(2026, 4, 1))
    rows = agent_api.get(f"/cases/{case.pk}/introductions").json()
    assert [(row["listing_ref"], row["listing_name"], row["introduced_on"]) for row in rows] == [("L-1", "メゾン渋谷 101", "2026-04-01")]


# ---------------------------------------------------------------------------------------------
# Customers and contacts


def test_customers_visible_to_the_agent(agent_api, company, org, case, other_company):
    testing.make_case(company, org["SJK"], customer_name="見えない 顧客")
    assert [row["id"] for row in agent_api.get("/customers").json()["items"]] == [case.customer_id]


def test_customer_detail_with_contacts(agent_api, case):
    body = agent_api.get(f"/customers/{case.customer_id}").json()
    assert (body["name"], body["case_ids"]) == ("佐藤 花子", [case.pk])
    assert [(p["kind"], p["raw"], p["normalized"]) for p in body["contacts"][0]["points"]] == [
        ("mobile", "090-1234-5678", "+819012345678"), ("email", "hanako@example.jp", "hanako@example.jp")]
    contacts = agent_api.get(f"/customers/{case.customer_id}/contacts").json()
    assert contacts == body["contacts"]


def test_customer_update_with_precondition(agent_api, company, case):
    etag = agent_api.get(f"/customers/{case.customer_id}")["ETag"]
    updated = agent_api.patch(f"/customers/{case.customer_id}", {"name": "佐藤　花子", "city": "渋谷区"}, HTTP_IF_MATCH=etag)
    stale = agent_api.patch(f"/customers/{case.customer_id}", {"city": "新宿区"}, HTTP_IF_MATCH=etag)
    missing = agent_api.patch(f"/customers/{case.customer_id}", {"city": "新宿区"})
    assert (updated.status_code, updated.json()["city"]) == (200, "渋谷区")
    assert (error(stale)[:2], error(missing)[:2]) == ((409, "stale"), (428, "precondition_required"))
    assert error(agent_api.patch(f"/customers/{case.customer_id}", {"name": None}, HTTP_IF_MATCH="*")) == (
        422, "invalid", {"name": ["This field is required."]})
    with company_scope(company):
        assert Customer.objects.get(pk=case.customer_id).city == "渋谷区"


def test_customer_create_trash_and_restore_are_for_company_admins(admin_api, agent_api, company, case):
    assert error(agent_api.post("/customers", {"name": "新規 顧客"})) == (403, "permission_denied", {})
    assert error(agent_api.post(f"/customers/{case.customer_id}/trash")) == (403, "permission_denied", {})
    created = admin_api.post("/customers", {"name": "新規 顧客", "contacts": [{"name": "新規 顧客", "phones": ["03-1234-5678"]}]})
    assert (created.status_code, created.json()["contacts"][0]["points"][0]["normalized"]) == (201, "+81312345678")
    trashed = admin_api.post(f"/customers/{case.customer_id}/trash").json()
    assert trashed["deleted_at"] is not None
    case.refresh_from_db()
    assert case.deleted_at is not None
    restored = admin_api.post(f"/customers/{case.customer_id}/restore").json()
    case.refresh_from_db()
    assert (restored["deleted_at"], case.deleted_at) == (None, None)


def test_customers_of_other_companies_are_404(admin_api, other_company):
    customer_id = other_company["case"].customer_id
    for method, path in (("get", ""), ("get", "/contacts"), ("post", "/trash"), ("post", "/restore"), ("patch", "")):
        response = admin_api.get(f"/customers/{customer_id}{path}") if method == "get" else admin_api.send(
            method, f"/customers/{customer_id}{path}", {}, HTTP_IF_MATCH="*")
        assert (method, path, error(response)[:2]) == (method, path, (404, "not_found"))


def test_customer_schema_errors(admin_api):
    status, code, fields = error(admin_api.post("/customers", {"name": "", "gender": "other"}))
    assert (status, code, sorted(fields)) == (422, "invalid", ["gender", "name"])


# ---------------------------------------------------------------------------------------------
# Masters


def test_masters_are_read_by_everyone_and_written_by_company_admins(admin_api, agent_api, company, other_company):
    actions.do_upsert_tag(company=other_company["company"], name="他社タグ")
    assert error(agent_api.post("/ranks", {"name": "S"})) == (403, "permission_denied", {})
    created = admin_api.post("/ranks", {"name": "S", "position": 1})
    again = admin_api.post("/ranks", {"name": "S"})
    assert (created.status_code, again.status_code, again.json()["id"]) == (201, 200, created.json()["id"])
    assert [row["name"] for row in agent_api.get("/ranks").json()] == ["S"]
    assert admin_api.post("/tags", {"name": "VIP"}).status_code == 201
    assert [row["name"] for row in agent_api.get("/tags").json()] == ["VIP"]
    assert admin_api.post("/sub-statuses", {"status": "追客中", "name": "内見調整中"}).status_code == 201
    assert [(row["status"], row["name"]) for row in agent_api.get("/sub-statuses").json()] == [("追客中", "内見調整中")]
    field = admin_api.post("/custom-fields", {"name": "ペット", "field_type": "choice", "choices": ["犬", "猫"]})
    assert (field.status_code, field.json()["choices"]) == (201, ["犬", "猫"])
    assert admin_api.post("/custom-fields", {"name": "ペット", "field_type": "choice", "choices": ["犬"]}).status_code == 200
    project = admin_api.post("/projects", {"name": "春の反響", "custom_field_ids": [field.json()["id"]]})
    assert (project.status_code, project.json()["custom_field_ids"]) == (201, [field.json()["id"]])
    assert agent_api.get("/projects").json() == [project.json()]
    assert agent_api.get("/custom-fields").json()[0]["choices"] == ["犬"]
    for path in ("/tags", "/sub-statuses", "/custom-fields", "/projects"):
        assert error(agent_api.post(path, {"name": "x", "status": "新規"}))[:2] == (403, "permission_denied")
    assert (Rank.objects.for_company(company).count(), Tag.objects.for_company(company).count()) == (1, 1)


def test_master_validation(admin_api, other_company):
    from estatecrm.crm.models import CustomField

    foreign = CustomField.objects.create(company=other_company["company"], name="他社")
    assert error(admin_api.post("/projects", {"name": "P", "custom_field_ids": [foreign.pk]})) == (
        422, "invalid", {"custom_field_ids": ["Unknown value."]})
    assert error(admin_api.post("/ranks", {"name": ""}))[:2] == (422, "invalid")
    assert error(admin_api.post("/sub-statuses", {"status": "x", "name": "y"}))[:2] == (422, "invalid")


# ---------------------------------------------------------------------------------------------
# Schema and docs


def test_openapi_schema_and_docs_are_served_without_the_internet(client):
    import re

    schema = client.get("/api/v1/openapi.json")
    docs = client.get("/api/v1/docs")
    assert schema.status_code == 200
    assert {"/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/runs/{run_id}/abort"} <= set(schema.json()["paths"])
    assert docs.status_code == 200
    assert re.findall(r'(?:src|href)="(https?:)?//', docs.content.decode()) == []


def test_an_activity_time_with_any_offset_is_stored_as_its_instant_on_both_databases(agent_api, company, case):
    # given: an offset PostgreSQL cannot store (beyond +-15:59) and a usual one
    far = "2026-03-01T05:18:22-21:48"
    # when
    logged = agent_api.post(f"/cases/{case.pk}/activities", {"kind": "note", "occurred_at": far})
    # then: the same instant, in UTC
    assert logged.status_code == 201
    stored = Activity.objects.for_company(company).get(pk=logged.json()["id"]).occurred_at
    assert stored == datetime.datetime(2026, 3, 2, 3, 6, 22, tzinfo=datetime.UTC)


def test_an_activity_time_without_a_utc_form_is_a_422_on_its_field(agent_api, company, case):
    # when: the last hour of year 9999 west of Greenwich is in year 10000 in UTC
    response = agent_api.post(f"/cases/{case.pk}/activities", {"kind": "note", "occurred_at": "9999-12-31T23:30:00-05:00"})
    # then
    assert (response.status_code, response.json()["error"]["code"], list(response.json()["error"]["fields"])) == (
        422, "invalid", ["occurred_at"])
    assert Activity.objects.for_company(company).filter(case=case).count() == 0
