"""Case numbers (#): a sequence per company, allocated on every creation path, searched, never reused."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from estatecrm.core import testing
from estatecrm.crm.case_numbers import allocate_case_numbers, parse_case_number
from estatecrm.crm.filtersets import CaseFilters, filter_cases
from estatecrm.crm.models import Case, CaseNumberSequence
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


def test_numbers_count_per_company_from_one(company, org, agent, other_company):
    # given: company B (other_company) created its case first
    # when
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=f"顧客 {index}") for index in range(3)]
    # then
    assert [case.number for case in cases] == [1, 2, 3]
    assert other_company["case"].number == 1
    assert str(cases[2]).startswith("#3 ")
    assert CaseNumberSequence.objects.for_company(company).get().last_number == 3


def test_allocation_in_batches_continues_the_sequence_and_survives_a_gap(company, org, agent):
    # given
    first = testing.make_case(company, org["SBY"], main_assignee=agent)
    # when
    with transaction.atomic():
        batch = allocate_case_numbers(company.pk, 4)
    with pytest.raises(RuntimeError), transaction.atomic():
        allocate_case_numbers(company.pk, 10)
        raise RuntimeError("rolled back: its numbers come back")
    later = testing.make_case(company, org["SBY"], main_assignee=agent)
    # then
    assert (first.number, batch, later.number) == (1, [2, 3, 4, 5], 6)
    assert allocate_case_numbers(company.pk, 0) == []


def test_a_company_without_a_sequence_row_starts_after_its_highest_number(company, org, agent):
    # given: cases numbered by an earlier release, but no sequence row
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    Case.objects.for_company(company).filter(pk=case.pk).update(number=41)
    CaseNumberSequence.objects.for_company(company).delete()
    # when / then
    assert allocate_case_numbers(company.pk, 2) == [42, 43]


def test_a_trashed_or_purged_case_keeps_its_number_out_of_use(company, org, agent, company_admin):
    from estatecrm.crm import actions

    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    actions.do_trash_case(case=case, acting_user=company_admin)
    Case.objects.for_company(company).filter(pk=case.pk).delete()
    # when
    again = testing.make_case(company, org["SBY"], main_assignee=agent)
    # then
    assert again.number == 2


@pytest.mark.parametrize(("text", "number"), [
    ("#123", 123), ("＃１２３", 123), ("123", 123), (" # 7 ", 7), ("0", None), ("#", None), ("12a", None), ("1234567890", None),
])
def test_parse_case_number(text, number):
    assert parse_case_number(text) == number


def test_the_list_search_finds_the_company_number_not_the_database_id(company, org, agent, other_company):
    # given
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=f"顧客 {index}") for index in range(3)]
    actor = actor_for(agent)
    # when
    found = {text: list(filter_cases(actor=actor, filters=CaseFilters.from_query({"q": text})).values_list("pk", flat=True))
             for text in ("#2", "2", "＃３", "#9", "090-1234-5678")}
    # then
    assert found["#2"] == found["2"] == [cases[1].pk]
    assert found["＃３"] == [cases[2].pk]
    assert found["#9"] == []
    assert sorted(found["090-1234-5678"]) == sorted(case.pk for case in cases)  # a phone is still a phone search


@pytest.mark.django_db(transaction=True)
def test_two_transactions_allocating_at_once_never_share_a_number(company):
    """The allocator under two real transactions (two connections): the second waits for the first to commit
    (PostgreSQL row lock; SQLite's one writer) and continues after its numbers."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has one writer: the second transaction cannot start before the first commits")
    results: dict[str, list[int]] = {}
    first_holds = threading.Event()

    def first():
        try:
            with transaction.atomic():
                results["first"] = allocate_case_numbers(company.pk, 5)
                first_holds.set()
                time.sleep(0.5)  # the second allocation runs now, and must wait
        finally:
            connections.close_all()

    def second():
        try:
            first_holds.wait(5)
            with transaction.atomic():
                started = time.monotonic()
                results["second"] = allocate_case_numbers(company.pk, 5)
                results["waited"] = [round(time.monotonic() - started, 1)]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["first"] == [1, 2, 3, 4, 5]
    assert results["second"] == [6, 7, 8, 9, 10]
    assert results["waited"][0] >= 0.3
