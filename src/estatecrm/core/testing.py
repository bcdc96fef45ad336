"""Test helpers shared by every app's tests: factories for a company with units, users and cases."""

import itertools
import os

from django.db import connection
from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import CaseInput, ContactInput, CustomerInput, do_create_case, do_create_customer
from estatecrm.crm.choices import CaseKind, CaseStatus
from estatecrm.tenancy.actions import do_add_membership, do_upsert_company, do_upsert_org_unit, do_upsert_user
from estatecrm.tenancy.choices import CaseVisibility, Role
from estatecrm.tenancy.models import Company, OrgUnit, User

_sequence = itertools.count(1)


def make_company(code: str | None = None, name: str = "テスト不動産株式会社") -> Company:
    company, _ = do_upsert_company(code=code or f"c{next(_sequence):04d}", name=name)
    return company


def make_unit(company: Company, code: str, *, parent: OrgUnit | None = None, visibility: str = CaseVisibility.ORG, name: str | None = None) -> OrgUnit:
    unit, _ = do_upsert_org_unit(company=company, code=code, name=name or code, parent=parent, case_visibility=visibility)
    return unit


def make_user(company: Company, unit: OrgUnit | None = None, *, role: str = Role.AGENT, email: str | None = None,
              name: str = "山田 太郎", password: str | None = "pass-Word-123") -> User:
    user, _ = do_upsert_user(company=company, email=email or f"user{next(_sequence)}@{company.code}.example.jp", name=name, password=password)
    if unit is not None:
        do_add_membership(user=user, org_unit=unit, role=role)
    return user


def make_case(
    company: Company, unit: OrgUnit, *, main_assignee: User | None = None, sub_assignees=(), status: str = CaseStatus.FOLLOWING,
    customer_name: str = "佐藤 花子", phones=(("mobile", "090-1234-5678"),), emails=("hanako@example.jp",), acting_user=None, **fields,
):
    """A customer with one contact and a case owned by `unit`."""
    with company_scope(company):
        customer = do_create_customer(
            company=company,
            data=CustomerInput(name=customer_name, kana="サトウ ハナコ",
                               contacts=[ContactInput(name=customer_name, phones=list(phones), emails=list(emails))]),
            acting_user=acting_user,
        )
        return do_create_case(
            customer=customer,
            data=CaseInput(kind=fields.pop("kind", CaseKind.RENT), owning_org=unit, status=status, main_assignee=main_assignee,
                           sub_assignees=list(sub_assignees), started_on=fields.pop("started_on", timezone.localdate()), **fields),
            acting_user=acting_user,
        )


def process_environment(**extra: str) -> dict:
    """The environment of another process (a command, a worker, a server) that opens the test database: its file on
    SQLite, its server database on PostgreSQL. `extra` adds variables (LANGUAGE_CODE...)."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{settings_dict['NAME']}"
    else:
        url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    return dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="estatecrm.config.settings.test", **extra)
