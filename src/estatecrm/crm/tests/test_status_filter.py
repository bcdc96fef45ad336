"""The case list's status filter (`/cases/?status=追客中`): exactly the visible live cases of the status, in list order,
for the company admin and for agents of both visibility kinds; and, on SQLite, read in list order from one index."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.actions import do_update_customer
from estatecrm.crm.choices import CaseStatus
from estatecrm.crm.filtersets import CaseFilters, filter_cases, paginate_cases
from estatecrm.crm.models import Case
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def shinjuku_agent(company, org):
    """A member of 新宿店, whose cases only their assignees see."""
    return testing.make_user(company, org["SJK"], email="shinjuku@acme.example.jp", name="新宿 花子")


@pytest.fixture
def cases(company, org, agent, company_admin, shinjuku_agent, other_company):
    """Cases of both stores in every state the filter must tell apart; updated one hour apart (newest first in the
    dict's order), two of them at the same moment (the id breaks the tie)."""
    made = {
        "sby_following": testing.make_case(company, org["SBY"], main_assignee=agent),
        "sjk_main": testing.make_case(company, org["SJK"], main_assignee=shinjuku_agent),
        "sjk_sub": testing.make_case(company, org["SJK"], main_assignee=company_admin, sub_assignees=[shinjuku_agent]),
        "sby_admin_tie": testing.make_case(company, org["SBY"], main_assignee=company_admin),
        "sby_admin_tie_newer_id": testing.make_case(company, org["SBY"], main_assignee=company_admin),
        "sjk_other": testing.make_case(company, org["SJK"], main_assignee=company_admin),
        "sby_new": testing.make_case(company, org["SBY"], main_assignee=agent, status=CaseStatus.NEW),
        "sjk_new": testing.make_case(company, org["SJK"], main_assignee=shinjuku_agent, status=CaseStatus.NEW),
        "sby_trashed": testing.make_case(company, org["SBY"], main_assignee=agent),
        "sby_unsubscribed": testing.make_case(company, org["SBY"], main_assignee=agent),
        "hq_closed": testing.make_case(company, org["HQ"], main_assignee=company_admin, status=CaseStatus.CLOSED),
    }
    now = timezone.now()
    for hours, (name, case) in enumerate(made.items()):
        tie = name.startswith("sby_admin_tie")
        Case.objects.for_company(company).filter(pk=case.pk).update(
            updated_at=now - datetime.timedelta(hours=3 if tie else hours))
    Case.objects.for_company(company).filter(pk=made["sby_trashed"].pk).update(deleted_at=now)
    do_update_customer(customer=made["sby_unsubscribed"].customer, changes={"is_unsubscribed": True}, acting_user=None)
    return made


def listed(client, user, query: dict) -> list[int]:
    client.force_login(user)
    response = client.get(reverse("crm:list"), query)
    assert response.status_code == 200
    return [case.pk for case in response.context["page"].items]


def ids(cases, *names) -> list[int]:
    return [cases[name].pk for name in names]


def test_the_status_filter_lists_exactly_the_visible_live_cases_of_the_status_in_list_order(
        client, cases, company_admin, agent, shinjuku_agent, org):
    # given: the cases above
    following = {"status": CaseStatus.FOLLOWING.value}
    # when / then: the admin sees the status in every unit, the ties by id (newest first), no trashed or unsubscribed case
    assert listed(client, company_admin, following) == ids(
        cases, "sby_following", "sjk_main", "sjk_sub", "sby_admin_tie_newer_id", "sby_admin_tie", "sjk_other")
    # an agent of 渋谷店 (every member sees its cases): that store's only
    assert listed(client, agent, following) == ids(cases, "sby_following", "sby_admin_tie_newer_id", "sby_admin_tie")
    # an agent of 新宿店 (assignees only): the cases they are the main or a sub-assignee of
    assert listed(client, shinjuku_agent, following) == ids(cases, "sjk_main", "sjk_sub")
    # with a unit, and with two statuses
    assert listed(client, company_admin, {**following, "org": org["SJK"].pk}) == ids(cases, "sjk_main", "sjk_sub", "sjk_other")
    assert listed(client, shinjuku_agent, {"status": [CaseStatus.FOLLOWING.value, CaseStatus.NEW.value]}) == ids(
        cases, "sjk_main", "sjk_sub", "sjk_new")
    assert listed(client, agent, {"status": CaseStatus.CLOSED.value}) == []
    assert listed(client, company_admin, {"status": CaseStatus.CLOSED.value}) == ids(cases, "hq_closed")


def test_the_status_filter_pages_by_keyset_without_repeating_or_skipping(cases, company_admin, agent):
    for user, expected in ((company_admin, ids(cases, "sby_following", "sjk_main", "sjk_sub", "sby_admin_tie_newer_id",
                                                "sby_admin_tie", "sjk_other")),
                           (agent, ids(cases, "sby_following", "sby_admin_tie_newer_id", "sby_admin_tie"))):
        # given
        filtered = filter_cases(actor=actor_for(user), filters=CaseFilters(status=[CaseStatus.FOLLOWING.value]))
        # when: pages of two
        seen, cursor = [], ""
        for _ in range(len(expected) + 1):
            page = paginate_cases(filtered, sort="-updated", cursor=cursor, size=2)
            seen.extend(case.pk for case in page.items)
            cursor = page.next_cursor
            if not cursor:
                break
        # then
        assert seen == expected


# Planner statistics of the cases table as bench/case_list.py leaves it at 1,000,000 cases (one company, four stores,
# six statuses; `ANALYZE`, sqlite_stat1), so that SQLite plans the page as it does at that size.
MILLION_CASES_STATISTICS = {
    "case_assignee_next_action_idx": "399233 399233 33270 2",
    "case_customer_idx": "1000000 1000000 1",
    "case_deleted_idx": "1000000 1000000 1000000",
    "case_live_created_idx": "1000000 1000000 1000000 166667 41667",
    "case_live_status_idx": "1000000 1000000 166667 1 1 1",
    "case_main_assignee_idx": "1000000 1000000 83334 1",
    "case_new_inquiry_idx": "66702 66702 11117 1 1 1",
    "case_new_inquiry_unit_idx": "66702 66702 11117 2780",
    "case_next_action_cover_idx": "399233 399233 4 2 2 2",
    "case_next_action_idx": "399233 399233 4 1",
    "case_org_next_action_idx": "399233 399233 99809 2 1",
    "case_org_updated_idx": "1000000 1000000 250000 250000 1 1",
    "case_origin_created_idx": "1000000 1000000 166667 166667",
    "case_project_idx": "1000000 1000000 1000000",
    "case_source_idx": "1000000 1000000 1000000 1000000",
    "case_started_idx": "1000000 1000000 667",
    "case_status_contact_idx": "200512 200512 33419 1 1 1",
    "case_updated_idx": "1000000 1000000 1 1",
}


@pytest.fixture
def million_case_statistics():
    """The statistics above in sqlite_stat1 (reloaded: `ANALYZE sqlite_schema`), and the previous ones back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 when missing, without computing anything
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone():
            cursor.execute("CREATE TABLE sqlite_stat1(tbl, idx, stat)")
        cursor.execute("SELECT tbl, idx, stat FROM sqlite_stat1")
        previous = cursor.fetchall()
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'crm_case'")
        cursor.executemany("INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES ('crm_case', %s, %s)", list(MILLION_CASES_STATISTICS.items()))
        cursor.execute("ANALYZE sqlite_schema")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_stat1")
        cursor.executemany("INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES (%s, %s, %s)", previous)
        cursor.execute("ANALYZE sqlite_schema")


def page_plan(client, user, query: dict) -> str:
    """The query plan of the page's list statement (the one that reads the cases in order), as the page runs it."""
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    client.force_login(user)
    with connection.execute_wrapper(capture):
        assert client.get(reverse("crm:list"), query).status_code == 200
    [(sql, params)] = [(sql, params) for sql, params in statements if 'FROM "crm_case"' in sql and "ORDER BY" in sql]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(" ".join(str(value) for value in row) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plans (PostgreSQL reads the same index: docs/performance.md)")
def test_the_status_page_reads_the_live_status_index_in_list_order_without_a_sort(
        client, cases, company_admin, agent, shinjuku_agent, million_case_statistics):
    # given: planner statistics of a million cases
    # when
    plans = {user.email: page_plan(client, user, {"status": CaseStatus.FOLLOWING.value})
             for user in (company_admin, agent, shinjuku_agent)}
    # then: the status's range in list order (the unit tested on the index entry), no sort of the status's cases
    for email, plan in plans.items():
        assert "USING INDEX case_live_status_idx (company_id=? AND status=?)" in plan, (email, plan)
        assert "TEMP B-TREE" not in plan, (email, plan)
    # and a sub-assignee's link is probed by its whole key, not scanned
    assert "crm_caseassignee_1 (company_id=? AND case_id=? AND user_id=?)" in plans[shinjuku_agent.email], plans[shinjuku_agent.email]
