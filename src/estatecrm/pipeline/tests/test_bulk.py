"""`insert_rows`: constant columns (bound once on SQLite, sent per row by COPY on PostgreSQL) read back
exactly as the ORM would have written them."""

import pytest
from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Customer
from estatecrm.pipeline.bulk import allocate_ids, column_adapters, insert_rows

pytestmark = pytest.mark.django_db


def test_constant_columns_are_written_into_every_row_as_given(company):
    # given: constants with a quote, a percent sign (the driver's placeholder syntax), NULL, a boolean,
    # JSON and a timestamp, beside per-row values (one of them adapted like a job adapts them)
    now = timezone.now()
    ids = allocate_ids(Customer, 2)
    custom_adapter = column_adapters(Customer, ["custom_values"])[0]
    rows = [(ids[0], "株式会社A'B", "a'b", custom_adapter({"n": 1})), (ids[1], "100% 商事", "100%s", custom_adapter({}))]
    constants = {
        "company_id": company.pk, "kind": "company", "kana": "オーズ'%s", "kana_key": "", "gender": "", "birth_date": None,
        "postal_code": "", "prefecture": "", "city": "", "street": "", "building": "", "employer": "", "annual_income": None,
        "household_size": None, "homepage": "", "line_link_number": "", "line_user_id": "", "is_unsubscribed": True,
        "created_at": now, "updated_at": now, "deleted_at": None,
    }
    # when
    insert_rows(Customer, ("id", "name", "name_key", "custom_values"), rows, adapted=True, constants=constants)
    # then
    with company_scope(company):
        written = list(Customer.objects.filter(pk__in=ids).order_by("pk").values_list(
            "name", "name_key", "custom_values", "kana", "birth_date", "is_unsubscribed", "created_at"))
    assert written == [("株式会社A'B", "a'b", {"n": 1}, "オーズ'%s", None, True, now), ("100% 商事", "100%s", {}, "オーズ'%s", None, True, now)]


def test_a_constant_the_database_cannot_hold_is_refused(company):
    # SQLite: refused before it becomes SQL text; PostgreSQL: its driver refuses NUL in text
    from django.db import connection

    refusal = TypeError if connection.vendor == "sqlite" else connection.Database.DataError
    with pytest.raises(refusal):
        insert_rows(Customer, ("id",), [(allocate_ids(Customer, 1)[0],)], constants={"company_id": company.pk, "name": "NUL\x00"})


def planner_settings() -> tuple[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('random_page_cost'), current_setting('max_parallel_workers_per_gather')")
        return cursor.fetchone()


def test_a_run_plans_its_batches_for_index_probes_and_gives_the_settings_back(company):
    # PostgreSQL: a run's connection prices random reads as the cached data they are (its IN lists probe the
    # (company, ...) indexes instead of scanning the company's tables) and starts no parallel workers;
    # the connection's own settings come back when the run ends. SQLite: nothing changes.
    from django.db import connection

    from estatecrm.pipeline.engine import bulk_session

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner settings")
    # given
    before = planner_settings()
    # when
    with bulk_session():
        during = planner_settings()
    # then
    assert during == ("1.1", "0")
    assert planner_settings() == before
    assert before != during


@pytest.mark.django_db(transaction=True)
def test_a_run_analyzes_the_tables_its_writes_made_stale(company):
    # PostgreSQL: a table that received more than STALE_STATISTICS_ROWS rows (and a fifth of its size) since its
    # last ANALYZE is analyzed before a run's next lookups; a table analyzed since is left alone. SQLite: nothing.
    import time

    from django.db import connection

    from estatecrm.pipeline.bulk import STALE_STATISTICS_ROWS, refresh_statistics

    if connection.vendor != "postgresql":
        assert refresh_statistics() == []
        return
    # given: committed rows the statistics do not know yet
    count = STALE_STATISTICS_ROWS + 1000
    now = timezone.now()
    constants = {
        "company_id": company.pk, "kind": "person", "kana": "", "kana_key": "", "gender": "", "birth_date": None, "postal_code": "",
        "prefecture": "", "city": "", "street": "", "building": "", "employer": "", "annual_income": None, "household_size": None,
        "homepage": "", "line_link_number": "", "line_user_id": "", "is_unsubscribed": False, "created_at": now, "updated_at": now,
        "deleted_at": None, "custom_values": {},
    }
    insert_rows(Customer, ("id", "name", "name_key"), [(pk, f"顧客{pk}", f"key{pk}") for pk in allocate_ids(Customer, count)],
                constants=constants)
    # when (the server publishes a backend's table counts within a second or so of its commit)
    analyzed: list[str] = []
    deadline = time.monotonic() + 10
    while "crm_customer" not in analyzed and time.monotonic() < deadline:
        time.sleep(0.3)
        analyzed = refresh_statistics()
    # then
    assert "crm_customer" in analyzed
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'crm_customer'")
        assert cursor.fetchone()[0] >= count
    assert "crm_customer" not in refresh_statistics()
