"""Background runs through the API: the caller's company only, abort for administrators."""

import pytest

from estatecrm.core import testing
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db


def headers_for(user):
    _token, clear = do_create_api_token(user=user, name="tests", acting_user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {clear}", "HTTP_ACCEPT_LANGUAGE": "en"}


def make_run(company, user, status=RunStatus.PENDING, kind="lead_import"):
    return Run.objects.create(company=company, kind=kind, status=status, token=f"t{Run.objects.unscoped().count()}",
                              created_by=user, source_name="leads.csv")


def error(response):
    return response.status_code, response.json()["error"]["code"]


def test_admin_lists_every_run_newest_first_by_cursor(client, company, company_admin, agent, other_company):
    # given
    runs = [make_run(company, agent), make_run(company, company_admin, RunStatus.RUNNING), make_run(company, company_admin)]
    make_run(other_company["company"], other_company["admin"])
    headers = headers_for(company_admin)
    # when
    first = client.get("/api/v1/runs", {"limit": 2}, **headers).json()
    rest = client.get("/api/v1/runs", {"limit": 2, "cursor": first["next_cursor"]}, **headers).json()
    running = client.get("/api/v1/runs", {"status": "running"}, **headers).json()
    # then
    assert [row["id"] for row in first["items"] + rest["items"]] == [runs[2].pk, runs[1].pk, runs[0].pk]
    assert rest["next_cursor"] is None
    assert [row["id"] for row in running["items"]] == [runs[1].pk]


def test_agent_sees_only_own_runs(client, company, company_admin, agent):
    own = make_run(company, agent)
    admins = make_run(company, company_admin)
    headers = headers_for(agent)
    assert [row["id"] for row in client.get("/api/v1/runs", **headers).json()["items"]] == [own.pk]
    assert client.get(f"/api/v1/runs/{own.pk}", **headers).json()["source_name"] == "leads.csv"
    assert error(client.get(f"/api/v1/runs/{admins.pk}", **headers)) == (404, "not_found")


def test_admin_aborts_a_pending_run(client, company, company_admin):
    run = make_run(company, company_admin)
    response = client.post(f"/api/v1/runs/{run.pk}/abort", **headers_for(company_admin))
    assert (response.status_code, response.json()["status"]) == (200, "aborted")
    assert response.json()["abort_requested_at"] is not None


def test_admin_asks_a_running_run_to_stop(client, company, company_admin):
    run = make_run(company, company_admin, RunStatus.RUNNING)
    response = client.post(f"/api/v1/runs/{run.pk}/abort", **headers_for(company_admin))
    run.refresh_from_db()
    assert (response.status_code, run.status, run.abort_requested_at is not None) == (200, "running", True)


def test_finished_run_cannot_be_aborted(client, company, company_admin):
    run = make_run(company, company_admin, RunStatus.COMPLETED)
    assert error(client.post(f"/api/v1/runs/{run.pk}/abort", **headers_for(company_admin))) == (409, "run_finished")
    run.refresh_from_db()
    assert run.abort_requested_at is None


def test_agent_may_not_abort_even_own_run(client, company, agent):
    run = make_run(company, agent)
    assert error(client.post(f"/api/v1/runs/{run.pk}/abort", **headers_for(agent))) == (403, "permission_denied")
    run.refresh_from_db()
    assert (run.status, run.abort_requested_at) == ("pending", None)


def test_runs_of_other_companies_are_404(client, company_admin, other_company):
    foreign = make_run(other_company["company"], other_company["admin"])
    headers = headers_for(company_admin)
    assert error(client.get(f"/api/v1/runs/{foreign.pk}", **headers)) == (404, "not_found")
    assert error(client.post(f"/api/v1/runs/{foreign.pk}/abort", **headers)) == (404, "not_found")
    foreign.refresh_from_db()
    assert foreign.status == "pending"


def test_org_admin_counts_as_admin(client, company, org, agent):
    from estatecrm.tenancy.choices import Role

    org_admin = testing.make_user(company, org["TKY"], role=Role.ADMIN)
    run = make_run(company, agent)
    # An import into the agent's unit (under TKY): the org admin's to abort (the rule of lead imports is unit scoped).
    Run.objects.for_company(company).filter(pk=run.pk).update(params={"org_unit_id": org["SBY"].pk})
    assert client.post(f"/api/v1/runs/{run.pk}/abort", **headers_for(org_admin)).status_code == 200


@pytest.mark.parametrize("method, path", [("get", "/api/v1/runs"), ("get", "/api/v1/runs/1"), ("post", "/api/v1/runs/1/abort")])
def test_authentication_is_required(client, method, path):
    response = getattr(client, method)(path)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")
