"""The migration that computes the exact-rule candidates of existing data, once, as crm.duplicates keeps them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("crm", "0021_duplicate_rules_name_birth")]
AFTER = [("crm", "0022_existing_candidates")]


@pytest.mark.django_db(transaction=True)
def test_existing_customers_sharing_a_phone_or_an_e_mail_become_candidates_except_trashed_and_shared():
    # given: at the schema before, a company whose customers share values, one of them trashed, one value held by five
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Company, OrgUnit, Customer, Contact, ContactPoint, Case = (apps.get_model(*name) for name in (
        ("tenancy", "Company"), ("tenancy", "OrgUnit"), ("crm", "Customer"), ("crm", "Contact"), ("crm", "ContactPoint"), ("crm", "Case")))
    try:
        company = Company.objects.create(code="a", name="a")
        unit = OrgUnit.objects.create(company=company, code="HQ", name="本社")
        cases = {}

        def person(name, *points, trashed=False):
            customer = Customer.objects.create(company=company, name=name, deleted_at="2026-01-01T00:00:00Z" if trashed else None)
            contact = Contact.objects.create(company=company, customer=customer, name=name)
            for kind, normalized in points:
                ContactPoint.objects.create(company=company, customer=customer, contact=contact, kind=kind, raw=normalized, normalized=normalized)
            cases[name] = Case.objects.create(company=company, customer=customer, owning_org=unit, number=len(cases) + 1,
                                              deleted_at=customer.deleted_at).pk

        person("甲", ("mobile", "+819011112222"), ("email", "a@example.jp"))
        person("乙", ("mobile", "+819011112222"), ("email", "a@example.jp"))
        person("丙", ("email", "a@example.jp"), trashed=True)
        for name in ("一", "二", "三", "四", "五"):
            person(name, ("phone", "+81312345678"))
        # when
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        # then
        with connection.cursor() as cursor:
            cursor.execute("SELECT case_a_id, case_b_id, rule, score, key FROM crm_duplicatecandidate ORDER BY case_a_id, case_b_id, rule")
            rows = cursor.fetchall()
            cursor.execute("SELECT id FROM crm_case WHERE has_duplicates ORDER BY id")
            flagged = [pk for (pk,) in cursor.fetchall()]
        assert rows == [(cases["甲"], cases["乙"], "email", 1.0, "a@example.jp"), (cases["甲"], cases["乙"], "phone", 1.0, "+819011112222")]
        assert flagged == [cases["甲"], cases["乙"]]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
