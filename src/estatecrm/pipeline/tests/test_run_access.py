"""Runs through the API follow the rule of their kind: a data migration or a lead import into a unit belongs to the admins of that unit."""

import pytest

from estatecrm.core import testing
from estatecrm.legacy.choices import RUN_KIND as LEGACY_RUN_KIND
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db


def headers_for(user):
    _token, clear = do_create_api_token(user=user, name="tests", acting_user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {clear}", "HTTP_ACCEPT_LANGUAGE": "en"}


def test_a_migration_of_a_unit_is_read_and_aborted_only_by_admins_of_that_unit(client, company, org, company_admin, agent):
    # given: a running migration into 渋谷店 (SBY), an admin of SBY and an admin of the sibling 新宿店 (SJK)
    migration = Run.objects.create(company=company, kind=LEGACY_RUN_KIND, status=RunStatus.RUNNING, token="m", created_by=company_admin,
                                   source_name="bundle.zip", params={"org_unit_id": org["SBY"].pk})
    lead_import = Run.objects.create(company=company, kind="lead_import", status=RunStatus.RUNNING, token="l", created_by=company_admin,
                                     source_name="leads.csv", params={"org_unit_id": org["SJK"].pk})
    sby_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp")
    sjk_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp")
    answers = {}
    # when
    for name, user in {"sjk admin": sjk_admin, "agent": agent, "sby admin": sby_admin}.items():
        headers = headers_for(user)
        answers[name] = (
            sorted(row["id"] for row in client.get("/api/v1/runs", **headers).json()["items"]),
            client.get(f"/api/v1/runs/{migration.pk}", **headers).status_code,
            client.post(f"/api/v1/runs/{migration.pk}/abort", **headers).status_code,
        )
    migration.refresh_from_db()
    # then: as on the migration and import pages: a run belongs to the admins of its unit
    assert answers == {
        "sjk admin": ([lead_import.pk], 404, 404),
        "agent": ([], 404, 404),
        "sby admin": ([migration.pk], 200, 200),
    }
    assert migration.abort_requested_at is not None
