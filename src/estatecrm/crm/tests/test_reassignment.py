"""The 担当変更 engine (crm.reassignment) through every door: the case page's edit and the case list's bulk
reassign write the history, take the open visits along and mail the new main assignee, with their own audit
events only; and a reassignment takes the same number of statements for 20 and for 200 cases."""

import datetime
import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.crm.actions import BulkOperation, do_book_visit, do_bulk_update_cases, do_update_case
from estatecrm.crm.choices import ReassignmentKind, ReassignmentOutcome
from estatecrm.crm.models import Activity, Case, CaseAssignee, Reassignment, ReassignmentCase
from estatecrm.staff.actions import do_reassign_cases
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


def cases_of(company, unit, user, count, start=0):
    return [testing.make_case(company, unit, main_assignee=user, customer_name=f"顧客 {start + i}",
                              phones=(("mobile", f"090-3{start + i:03d}-{1000 + i}"),), emails=(f"r{start + i}@example.jp",))
            for i in range(count)]


def test_a_case_edit_of_the_main_assignee_goes_through_the_engine(company, org, company_admin, agent, django_capture_on_commit_callbacks):
    # given: the new main assignee was a sub-assignee; an open future visit of the agent
    successor = testing.make_user(company, org["SBY"], email="b@acme.example.jp", name="渋谷 二郎")
    [case] = cases_of(company, org["SBY"], agent, 1)
    CaseAssignee.objects.create(company_id=company.pk, case=case, user=successor, position=0)
    visit = do_book_visit(actor=actor_for(company_admin), case=case, visit_at=timezone.now() + datetime.timedelta(days=1))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        changed = do_update_case(case=case, changes={"main_assignee": successor}, acting_user=company_admin)
    # then
    assert changed is True
    record = Reassignment.objects.for_company(company).get()
    assert (record.kind, record.agent_id, record.to_user_id, record.actor_id, record.cases_reassigned, record.visits_moved) == (
        ReassignmentKind.REASSIGN, agent.pk, successor.pk, company_admin.pk, 1, 1)
    item = ReassignmentCase.objects.for_company(company).get()
    assert (item.outcome, item.from_user_id, item.to_user_id, item.visit_ids, item.to_user_was_sub_assignee) == (
        ReassignmentOutcome.REASSIGNED, agent.pk, successor.pk, [visit.pk], True)
    assert Case.objects.for_company(company).get(pk=case.pk).main_assignee_id == successor.pk
    assert Activity.objects.for_company(company).get(pk=visit.pk).actor_id == successor.pk
    assert not CaseAssignee.objects.for_company(company).filter(case=case).exists()
    events = AuditEvent.objects.for_company(company).filter(object_type="crm.case", object_id=str(case.pk)).exclude(verb="create")
    assert list(events.values_list("verb", "before", "after")) == [
        ("update", {"main_assignee_id": agent.pk}, {"main_assignee_id": successor.pk})]
    assert AuditEvent.objects.for_company(company).filter(verb=ReassignmentKind.REASSIGN, object_id=str(record.pk)).count() == 1
    assert [message.to for message in mail.outbox] == [["b@acme.example.jp"]]
    assert f"#{case.number} 顧客 0" in mail.outbox[0].body


def test_a_case_edit_without_a_new_main_assignee_writes_no_history(company, org, company_admin, agent):
    [case] = cases_of(company, org["SBY"], agent, 1)
    do_update_case(case=case, changes={"main_assignee": None, "next_action": ""}, acting_user=company_admin)
    do_update_case(case=case, changes={"main_assignee": None}, acting_user=company_admin)
    assert Reassignment.objects.for_company(company).count() == 0


def test_the_case_list_bulk_reassign_goes_through_the_engine(company, org, company_admin, agent, django_capture_on_commit_callbacks):
    # given: cases of two agents
    other = testing.make_user(company, org["SBY"], email="c@acme.example.jp")
    successor = testing.make_user(company, org["SBY"], email="b@acme.example.jp")
    cases = cases_of(company, org["SBY"], agent, 2) + cases_of(company, org["SBY"], other, 1, start=10)
    visit = do_book_visit(actor=actor_for(company_admin), case=cases[2], visit_at=timezone.now() + datetime.timedelta(days=1))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        changed = do_bulk_update_cases(actor=actor_for(company_admin), case_ids=[case.pk for case in cases],
                                       operation=BulkOperation.REASSIGN, value=successor)
    # then
    assert changed == 3
    record = Reassignment.objects.for_company(company).get()
    assert (record.agent_id, record.to_user_id, record.cases_reassigned, record.visits_moved) == (None, successor.pk, 3, 1)
    assert sorted(ReassignmentCase.objects.for_company(company).values_list("case_id", "from_user_id")) == [
        (cases[0].pk, agent.pk), (cases[1].pk, agent.pk), (cases[2].pk, other.pk)]
    assert Activity.objects.for_company(company).get(pk=visit.pk).actor_id == successor.pk
    case_events = AuditEvent.objects.for_company(company).filter(object_type="crm.case").exclude(verb="create")
    assert sorted(case_events.values_list("verb", flat=True)) == ["update"] * 3
    assert [message.to for message in mail.outbox] == [["b@acme.example.jp"]]


def test_a_reassignment_takes_the_same_number_of_statements_for_20_and_for_200_cases(company, org, company_admin):
    # given
    users = [testing.make_user(company, org["SBY"], email=f"u{i}@acme.example.jp") for i in range(4)]
    cases_of(company, org["SBY"], users[0], 20)
    cases_of(company, org["SBY"], users[2], 200, start=100)
    actor = actor_for(company_admin)
    counts = {}
    # when
    for count, from_user, to_user in ((20, users[0], users[1]), (200, users[2], users[3])):
        with CaptureQueriesContext(connection) as queries:
            result = do_reassign_cases(actor=actor, from_user=from_user, to_user=to_user)
        assert result.cases_reassigned == count
        counts[count] = statements(queries)
    # then
    assert counts[20] == counts[200]
    # As measured on each database (PostgreSQL writes the rows with COPY, which the capture does not see).
    assert len(counts[20]) == {"postgresql": 11}.get(connection.vendor, 13), counts[20]


def statements(queries) -> list[str]:
    """The statements run, the values left out, and a bulk insert split in batches (SQLite's 999 parameters)
    counted once: what must not grow with the number of cases."""
    shapes = []
    for query in queries.captured_queries:
        shape = re.sub(r"\bIN \([^)]*\)", "IN (...)", query["sql"].split(" VALUES ")[0])
        shape = re.sub(r"'[^']*'|\d+", "?", shape)
        if not shapes or shapes[-1] != shape or not shape.startswith("INSERT"):
            shapes.append(shape)
    return shapes


def test_a_case_edit_of_unit_and_main_assignee_takes_the_visit_to_the_new_unit(company, org, company_admin, agent):
    # given
    successor = testing.make_user(company, org["SJK"], email="b@acme.example.jp")
    [case] = cases_of(company, org["SBY"], agent, 1)
    visit = do_book_visit(actor=actor_for(company_admin), case=case, visit_at=timezone.now() + datetime.timedelta(days=1))
    # when
    do_update_case(case=case, changes={"main_assignee": successor, "owning_org": org["SJK"]}, acting_user=company_admin)
    # then
    assert Activity.objects.for_company(company).values_list("actor_id", "org_unit_id").get(pk=visit.pk) == (successor.pk, org["SJK"].pk)
    assert Case.objects.for_company(company).values_list("main_assignee_id", "owning_org_id").get(pk=case.pk) == (successor.pk, org["SJK"].pk)
    record = Reassignment.objects.for_company(company).get()
    assert (record.cases_reassigned, record.visits_moved) == (1, 1)
