"""crm 0012-0014 carry the old listing columns over: is_active to a status, the line/station text to a
ListingStation row, the JSON feature names to bits (names that were never flags are dropped)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from estatecrm.crm.choices import FEATURE_BITS

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("crm", "0011_visit_dashboard_indexes")]
AFTER = [("crm", "0014_listing_drop_is_active")]


def test_old_listings_become_statuses_stations_and_feature_bits():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    company = old.get_model("tenancy", "Company").objects.create(code="mig", name="移行不動産")
    Listing = old.get_model("crm", "Listing")
    Listing._base_manager.create(company=company, ref="A", name="公開中", is_active=True, line_station="JR山手線/渋谷駅", walk_minutes=7,
                                 features=["ペット相談", "オートロック", "眺望良好"])
    Listing._base_manager.create(company=company, ref="B", name="掲載終了", is_active=False, line_station="", features=[])
    # when
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    # then
    rows = {row.ref: row for row in new.get_model("crm", "Listing")._base_manager.all()}
    assert (rows["A"].status, rows["B"].status) == ("available", "hidden")
    assert rows["A"].feature_bits == FEATURE_BITS["ペット相談"] | FEATURE_BITS["オートロック"]
    stations = list(new.get_model("crm", "ListingStation")._base_manager.values_list("listing__ref", "line", "station", "walk_minutes"))
    assert stations == [("A", "JR山手線", "渋谷", 7)]
    # back to the latest state for the other tests
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
