"""Org units and users through the API: read only, the caller's company only."""

import pytest

from estatecrm.core import testing
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_headers(agent):
    _token, clear = do_create_api_token(user=agent, name="tests", acting_user=agent)
    return {"HTTP_AUTHORIZATION": f"Bearer {clear}", "HTTP_ACCEPT_LANGUAGE": "en"}


def test_org_units_in_tree_order(client, agent_headers, org, other_company):
    response = client.get("/api/v1/org-units", **agent_headers)
    assert response.status_code == 200
    assert [(row["code"], row["parent_id"], row["depth"], row["case_visibility"]) for row in response.json()] == [
        ("HQ", None, 0, "org"), ("TKY", org["HQ"].pk, 1, "org"), ("SBY", org["TKY"].pk, 2, "org"), ("SJK", org["TKY"].pk, 2, "assignees")]


def test_one_org_unit(client, agent_headers, org):
    response = client.get(f"/api/v1/org-units/{org['SBY'].pk}", **agent_headers)
    assert response.json() == {"id": org["SBY"].pk, "code": "SBY", "name": "渋谷店", "parent_id": org["TKY"].pk, "depth": 2,
                               "case_visibility": "org"}


def test_users_with_memberships(client, agent_headers, company, org, agent, company_admin, other_company):
    # given
    retired = testing.make_user(company, org["SJK"], email="retired@acme.example.jp")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    # when
    everyone = client.get("/api/v1/users", **agent_headers).json()
    active = client.get("/api/v1/users", {"active": "true"}, **agent_headers).json()
    one = client.get(f"/api/v1/users/{agent.pk}", **agent_headers).json()
    # then
    assert [row["email"] for row in everyone] == ["admin@acme.example.jp", "agent@acme.example.jp", "retired@acme.example.jp"]
    assert [row["email"] for row in active] == ["admin@acme.example.jp", "agent@acme.example.jp"]
    assert one == {"id": agent.pk, "email": "agent@acme.example.jp", "name": "渋谷 一郎", "is_active": True,
                   "memberships": [{"org_unit_id": org["SBY"].pk, "role": "agent", "is_primary": True}]}


def test_other_companies_units_and_users_are_404(client, agent_headers, other_company):
    for path in (f"/api/v1/org-units/{other_company['unit'].pk}", f"/api/v1/users/{other_company['admin'].pk}",
                 "/api/v1/org-units/999999", "/api/v1/users/999999"):
        response = client.get(path, **agent_headers)
        assert (path, response.status_code, response.json()["error"]["code"]) == (path, 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/org-units", "/api/v1/users", "/api/v1/org-units/1", "/api/v1/users/1"])
def test_authentication_is_required(client, path):
    response = client.get(path)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")
