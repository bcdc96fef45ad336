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
