"""The schema rule of DESIGN.md: every index on a tenant table starts with company_id, so the schema
can be distributed by company later. Read from the real database, not from the models."""

import pytest
from django.apps import apps
from django.db import connection

from estatecrm.core.models import TenantOwnedModel

pytestmark = pytest.mark.django_db

# A one-to-one link is unique on its own column; the case it belongs to is already company-scoped.
ALLOWED = {("crm_desiredconditions", ("case_id",))}


def tenant_models():
    return [model for model in apps.get_models() if issubclass(model, TenantOwnedModel)]


def test_every_tenant_model_has_a_company_column():
    assert len(tenant_models()) >= 20
    for model in tenant_models():
        assert model._meta.get_field("company").column == "company_id"


@pytest.mark.parametrize("model", tenant_models(), ids=lambda model: model._meta.label)
def test_every_index_on_a_tenant_table_starts_with_company_id(model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    offending = []
    for name, constraint in constraints.items():
        if constraint["primary_key"] or constraint["foreign_key"] or constraint.get("check"):
            continue
        if not (constraint["index"] or constraint["unique"]):
            continue
        columns = tuple(column for column in constraint["columns"] if column)
        if not columns or (table, columns) in ALLOWED:
            continue
        if columns[0] != "company_id":
            offending.append((name, columns))
    assert offending == []
