"""The worker keeps SQLite's planner statistics fresh; PostgreSQL does that itself (autovacuum)."""

import pytest
from django.db import connection

from estatecrm.core import testing
from estatecrm.core.management.commands.worker import optimize_sqlite

pytestmark = pytest.mark.django_db


def test_optimize_gathers_statistics_for_the_case_indexes(company, org, agent):
    for _ in range(3):
        testing.make_case(company, org["SBY"], main_assignee=agent)
    optimize_sqlite()
    if connection.vendor != "sqlite":
        return  # nothing to do there; the call must simply not fail
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx FROM sqlite_stat1 WHERE tbl = 'crm_case'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert {"case_org_updated_idx", "case_updated_idx"} <= indexes
