"""LINE link numbers: eight digits, unique in the company, for every customer whoever wrote it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import CustomerInput, do_create_customer
from estatecrm.crm.link_numbers import (
    LINK_NUMBER_SPACE,
    LINK_NUMBER_STEP,
    allocate_link_numbers,
    link_number,
    normalize_link_number,
)
from estatecrm.crm.models import Customer
from estatecrm.leads import actions as lead_actions
from estatecrm.pipeline.engine import execute_run

BEFORE = [("crm", "0016_dashboard_summary_indexes")]
AFTER = [("crm", "0017_line_link_numbers")]


def test_the_map_is_one_to_one():
    assert LINK_NUMBER_STEP % 2 and LINK_NUMBER_STEP % 5
    numbers = {link_number(serial, 12345) for serial in range(1, 200_001)}
    assert len(numbers) == 200_000 and all(len(number) == 8 and number.isdigit() for number in numbers)
    assert link_number(LINK_NUMBER_SPACE + 7, 3) == link_number(7, 3)


def test_typed_link_numbers_are_read():
    assert normalize_link_number("１２３４ ５６７８") == "12345678"
    assert normalize_link_number("No.00012345") == "00012345"
    assert normalize_link_number("1234567") is None


@pytest.mark.django_db
def test_batches_continue_and_companies_are_separate(company, other_company):
    first, second = allocate_link_numbers(company.pk, 3), allocate_link_numbers(company.pk, 2)
    assert len(set(first + second)) == 5
    assert allocate_link_numbers(company.pk, 0) == []
    assert len(allocate_link_numbers(other_company["company"].pk, 2)) == 2


@pytest.mark.django_db
def test_every_writer_gives_customers_a_number(company, org, company_admin, tmp_path):
    from estatecrm.crm.actions import do_upsert_project
    from estatecrm.tenancy.selectors import actor_for

    typed = do_create_customer(company=company, data=CustomerInput(name="山田 太郎"), acting_user=None)
    project, _ = do_upsert_project(company=company, name="リスト")
    path = tmp_path / "leads.csv"
    path.write_bytes("会社名,担当者,電話番号\r\n株式会社ABC,本社,03-1234-5678\r\n田中家,田中 一郎,090-1111-2222\r\n".encode("cp932"))
    run = lead_actions.do_start_lead_import(actor=actor_for(company_admin), path=path, file_name=path.name, project=project, background=False)
    execute_run(run.pk)
    with company_scope(company):
        numbers = list(Customer.objects.values_list("line_link_number", flat=True))
    assert len(numbers) == 3 and len(set(numbers)) == 3 and typed.line_link_number in numbers
    assert all(len(number) == 8 for number in numbers)


@pytest.mark.django_db(transaction=True)
def test_the_migration_numbers_existing_customers_per_company():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Company, Customer = apps.get_model("tenancy", "Company"), apps.get_model("crm", "Customer")
    try:
        companies = [Company.objects.create(code=code, name=code) for code in ("a", "b")]
        for index in range(5):
            Customer.objects.create(company=companies[index % 2], name=f"顧客 {index}")
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        with connection.cursor() as cursor:
            cursor.execute("SELECT company_id, line_link_number FROM crm_customer ORDER BY id")
            rows = cursor.fetchall()
            cursor.execute("SELECT company_id, last_serial FROM crm_linknumbersequence ORDER BY company_id")
            sequences = cursor.fetchall()
        assert len({number for _company, number in rows}) == 5 and all(len(number) == 8 for _company, number in rows)
        assert sequences == [(companies[0].pk, 3), (companies[1].pk, 2)]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
