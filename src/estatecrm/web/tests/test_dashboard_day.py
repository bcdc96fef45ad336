"""The agent's day on the dashboard: the five numbers per agent and per unit, from a known data set."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm import selectors
from estatecrm.crm.actions import do_book_visit, do_complete_visit
from estatecrm.crm.models import Case
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
# Wednesday 2026-03-04 15:00 in Tokyo (06:00 UTC): the week runs from Monday 03-02 to Sunday 03-08.
NOW = datetime.datetime(2026, 3, 4, 15, 0, tzinfo=TOKYO)
LAST_WEEK = datetime.date(2026, 2, 25)


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=TOKYO)


def case_for(company, unit, assignee, *, next_action_at=None, started_on=LAST_WEEK, **fields) -> Case:
    case = testing.make_case(company, unit, main_assignee=assignee, started_on=started_on, **fields)
    Case.objects.for_company(company.pk).filter(pk=case.pk).update(next_action_at=next_action_at, next_action="電話で内見日程の確認")
    return case


@pytest.fixture
def day_data(company, org, agent, company_admin, other_company):
    """渋谷店's agent: next actions due today at 10:00 (overdue at 15:00) and 18:00, one yesterday, one tomorrow;
    a case started on Monday; visits today, on Friday and next Monday. 新宿店's agent: one overdue case,
    one visit today. A trashed case and another company's case count nowhere."""
    sjk_agent = testing.make_user(company, org["SJK"], name="新宿 二郎")
    sby = org["SBY"]
    case_for(company, sby, agent, next_action_at=at(4, 10))
    evening = case_for(company, sby, agent, next_action_at=at(4, 18))
    case_for(company, sby, agent, next_action_at=at(3, 9))
    case_for(company, sby, agent, next_action_at=at(5, 9))
    case_for(company, sby, agent, started_on=datetime.date(2026, 3, 2))
    case_for(company, sby, agent, started_on=datetime.date(2026, 3, 1))
    trashed = case_for(company, sby, agent, next_action_at=at(4, 11), started_on=datetime.date(2026, 3, 3))
    Case.objects.for_company(company.pk).filter(pk=trashed.pk).update(deleted_at=timezone.now())
    sjk_case = case_for(company, org["SJK"], sjk_agent, next_action_at=at(2, 9))
    Case.objects.for_company(other_company["company"].pk).filter(pk=other_company["case"].pk).update(next_action_at=at(4, 12))
    as_agent = actor_for(agent)
    done = do_book_visit(actor=as_agent, case=evening, visit_at=at(4, 11))
    do_complete_visit(actor=as_agent, activity=done)
    do_book_visit(actor=as_agent, case=evening, visit_at=at(6, 13))
    do_book_visit(actor=as_agent, case=evening, visit_at=at(9, 10))
    do_book_visit(actor=actor_for(sjk_agent), case=sjk_case, visit_at=at(4, 16))
    do_book_visit(actor=actor_for(other_company["admin"]), case=other_company["case"], visit_at=at(4, 16))
    return {"sjk_agent": sjk_agent}


def numbers(row) -> tuple:
    return tuple(row[name] for name in selectors.DAY_NUMBERS)


def test_an_agents_numbers(agent, day_data):
    # when
    day = selectors.DayBounds.at(NOW)
    result = selectors.agent_day_numbers(actor=actor_for(agent), day=day)
    # then: (next today, overdue, visits today, visits this week, new this week)
    assert (day.monday, day.today) == (datetime.date(2026, 3, 2), datetime.date(2026, 3, 4))
    assert numbers(result) == (2, 2, 1, 2, 1)


def test_an_agents_next_actions_due_today_with_phone(agent, day_data):
    # when
    due = selectors.next_actions_due(actor=actor_for(agent), day=selectors.DayBounds.at(NOW))
    # then
    assert [(case.next_action_at, case.phone) for case in due] == [(at(4, 10), "090-1234-5678"), (at(4, 18), "090-1234-5678")]


def test_a_company_admin_sees_every_agent_and_unit_in_eight_queries(company_admin, agent, org, day_data, django_assert_num_queries):
    # given
    actor = actor_for(company_admin)
    # when: units, agents, then per table two GROUP BY of cases (next actions, started) and one of visits
    with django_assert_num_queries(8):
        agent_rows, unit_rows = selectors.admin_day_tables(actor=actor, day=selectors.DayBounds.at(NOW))
    # then
    assert {row["agent"].pk: numbers(row) for row in agent_rows} == {
        company_admin.pk: (0, 0, 0, 0, 0),
        agent.pk: (2, 2, 1, 2, 1),
        day_data["sjk_agent"].pk: (0, 1, 1, 1, 0),
    }
    assert {row["unit"].pk: numbers(row) for row in unit_rows} == {
        org["HQ"].pk: (0, 0, 0, 0, 0), org["TKY"].pk: (0, 0, 0, 0, 0),
        org["SBY"].pk: (2, 2, 1, 2, 1), org["SJK"].pk: (0, 1, 1, 1, 0),
    }


def test_an_org_admin_sees_the_agents_and_unit_they_administer(company, org, agent, day_data):
    # given
    sby_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN, name="渋谷 店長")
    # when
    agent_rows, unit_rows = selectors.admin_day_tables(actor=actor_for(sby_admin), day=selectors.DayBounds.at(NOW))
    # then
    assert {row["agent"].pk: numbers(row) for row in agent_rows} == {agent.pk: (2, 2, 1, 2, 1), sby_admin.pk: (0, 0, 0, 0, 0)}
    assert [(row["unit"].pk, numbers(row)) for row in unit_rows] == [(org["SBY"].pk, (2, 2, 1, 2, 1))]


def test_the_page_links_each_number(client, agent, company_admin, org, day_data):
    # given
    client.force_login(company_admin)
    # when
    response = client.get(reverse("web:dashboard"))
    # then: the tables are there, each number a link to the filtered list or the calendar
    body = response.content.decode()
    assert response.status_code == 200
    assert {row["agent"].pk for row in response.context["agent_rows"]} == {company_admin.pk, agent.pk, day_data["sjk_agent"].pk}
    assert body.count('data-unit-id="') == 4
    assert f"?assignee={agent.pk}&amp;follow_up=today&amp;sort=next_action" in body
    assert f"?assignee={agent.pk}&amp;follow_up=overdue&amp;sort=next_action" in body
    assert f"?org={org['SJK'].pk}&amp;follow_up=overdue&amp;sort=next_action" in body
    assert f'{reverse("visits:calendar")}?agent={agent.pk}&amp;week=' in body


def test_an_agent_gets_no_tables(client, agent, day_data):
    # given
    client.force_login(agent)
    # when
    response = client.get(reverse("web:dashboard"))
    # then
    assert (response.context["agent_rows"], response.context["unit_rows"]) == ([], [])
    assert 'data-testid="agents-table"' not in response.content.decode()


def test_the_overview_is_computed_once_a_minute_and_the_users_own_numbers_are_live(client, company, org, company_admin, agent):
    # given: the admin has seen the dashboard once
    client.force_login(company_admin)
    first = client.get(reverse("web:dashboard"))
    # when: a case of the admin becomes due today
    case_for(company, org["HQ"], company_admin, next_action_at=timezone.now())
    again = client.get(reverse("web:dashboard"))
    # then: their own number moved at once; the tables over every agent come from the minute's copy
    assert (first.context["numbers"]["next_today"], again.context["numbers"]["next_today"]) == (0, 1)
    admin_row = [row for row in again.context["agent_rows"] if row["agent"].pk == company_admin.pk]
    assert [row["next_today"] for row in admin_row] == [0]
