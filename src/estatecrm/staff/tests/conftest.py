"""Fixtures of the staff moves' action tests: a second area (神奈川エリア > 横浜店), unit admins, and an agent of
渋谷店 with cases (one of an unsubscribed customer), visits and a sub-assignee role."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm import actions as crm_actions
from estatecrm.crm.models import Activity, Case, Customer
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for


@dataclass
class Office:
    company: object
    units: dict
    admin: object  # company admin
    sby_admin: object  # org admin of 渋谷店
    sjk_admin: object  # org admin of 新宿店
    agent: object  # 渋谷店, moves and leaves
    colleague: object  # 渋谷店
    sjk_agent: object  # 新宿店 (assignees visibility)
    cases: list  # the agent's cases in 渋谷店; cases[1]'s customer is unsubscribed
    other_case: object  # the colleague's case where the agent is a sub-assignee

    def actor(self, user=None):
        return actor_for(user or self.admin)


def book(office, case, when, *, done=False):
    visit = crm_actions.do_book_visit(actor=office.actor(), case=case, visit_at=when)
    if done:
        Activity.objects.for_company(office.company).filter(pk=visit.pk).update(is_done=True)
    return visit


@pytest.fixture
def office(company, org, company_admin, agent):
    units = dict(org)
    units["KNG"] = testing.make_unit(company, "KNG", parent=org["HQ"], name="神奈川エリア")
    units["YKH"] = testing.make_unit(company, "YKH", parent=units["KNG"], name="横浜店")
    sby_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp", name="渋谷 店長")
    sjk_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp", name="新宿 店長")
    colleague = testing.make_user(company, org["SBY"], email="colleague@acme.example.jp", name="渋谷 二郎")
    sjk_agent = testing.make_user(company, org["SJK"], email="sjk@acme.example.jp", name="新宿 三郎")
    cases = [
        testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=f"顧客 {i}", phones=(("mobile", f"090-1111-{1000 + i}"),),
                          emails=(f"c{i}@example.jp",))
        for i in range(3)
    ]
    Customer.objects.for_company(company).filter(pk=cases[1].customer_id).update(is_unsubscribed=True)
    other_case = testing.make_case(company, org["SBY"], main_assignee=colleague, sub_assignees=[agent], customer_name="他 顧客",
                                   phones=(("mobile", "090-2222-3333"),), emails=("other@example.jp",))
    cases = list(Case.objects.for_company(company).filter(pk__in=[case.pk for case in cases]).order_by("pk"))
    return Office(company=company, units=units, admin=company_admin, sby_admin=sby_admin, sjk_admin=sjk_admin, agent=agent,
                  colleague=colleague, sjk_agent=sjk_agent, cases=cases, other_case=other_case)


@pytest.fixture
def soon():
    return timezone.now() + datetime.timedelta(days=2)
