"""The migration that brings case numbers numbers the existing cases per company, in id order."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("crm", "0007_next_action_last_contact_direction")]
AFTER = [("crm", "0008_case_number_review")]


@pytest.mark.django_db(transaction=True)
def test_existing_cases_are_numbered_per_company_by_id_and_the_sequences_continue():
    # given: two companies' cases interleaved, at the schema before numbers
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Company, OrgUnit, Customer, Case = (apps.get_model(*name) for name in (
        ("tenancy", "Company"), ("tenancy", "OrgUnit"), ("crm", "Customer"), ("crm", "Case")))
    ids = {}
    try:
        companies = [Company.objects.create(code=code, name=code) for code in ("a", "b")]
        units = {company.pk: OrgUnit.objects.create(company=company, code="HQ", name="本社") for company in companies}
        for index, company in enumerate([companies[0], companies[1], companies[0], companies[0], companies[1]]):
            customer = Customer.objects.create(company=company, name=f"顧客 {index}")
            ids[index] = Case.objects.create(company=company, customer=customer, owning_org=units[company.pk]).pk
        # when
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        # then
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, number FROM crm_case ORDER BY id")
            numbers = dict(cursor.fetchall())
            cursor.execute("SELECT company_id, last_number FROM crm_casenumbersequence ORDER BY company_id")
            sequences = cursor.fetchall()
        assert [numbers[ids[index]] for index in range(5)] == [1, 1, 2, 3, 2]
        assert sequences == [(companies[0].pk, 3), (companies[1].pk, 2)]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
