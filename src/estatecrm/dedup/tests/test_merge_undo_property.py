"""Property: any merge (either mode, fill or not, any picks) then its undo gives back the same database:
every case, customer, contact, contact point, moved row and desired condition as it was, and the same candidates."""

import datetime
import decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import CaseInput, do_create_case
from estatecrm.crm.choices import CaseKind
from estatecrm.crm.duplicates import refresh_customers
from estatecrm.crm.models import Customer
from estatecrm.dedup.merge import CASE_FIELDS, CUSTOMER_FIELDS, MergeRequest, do_merge_cases, do_undo_merge
from estatecrm.dedup.tests.factories import add_history, database_state

PHONES = ["090-1111-1111", "090-2222-2222", "03-1234-5678", ""]
EMAILS = ["a@example.jp", "b@example.jp", ""]
NAMES = ["佐藤 花子", "佐藤 華子", "鈴木 一郎"]

case_spec = st.fixed_dictionaries({
    "unit": st.sampled_from(["SBY", "SJK"]),
    "kind": st.sampled_from([CaseKind.RENT, CaseKind.BUY]),
    "name": st.sampled_from(NAMES),
    "phone": st.sampled_from(PHONES),
    "email": st.sampled_from(EMAILS),
    "first_inquiry": st.one_of(st.none(), st.dates(datetime.date(2024, 1, 1), datetime.date(2026, 1, 1))),
    "rent_max": st.one_of(st.none(), st.sampled_from([decimal.Decimal("8.0"), decimal.Decimal("12.5")])),
    "layouts": st.sampled_from([[], ["1LDK"], ["2LDK", "3LDK"]]),
    "activities": st.integers(0, 3),
    "open_visits": st.integers(0, 2),
    "introductions": st.integers(0, 2),
    "city": st.sampled_from(["", "渋谷区"]),
    "birth_date": st.one_of(st.none(), st.just(datetime.date(1990, 5, 1))),
    "line": st.booleans(),
    "same_customer_as_previous": st.booleans(),
})


@st.composite
def merges(draw):
    specs = draw(st.lists(case_spec, min_size=2, max_size=4))
    count = len(specs)
    survivor = draw(st.integers(0, count - 1))
    others = draw(st.lists(st.sampled_from([i for i in range(count) if i != survivor]), min_size=1, unique=True))
    fields = list(CASE_FIELDS) + list(CUSTOMER_FIELDS)
    picks = draw(st.dictionaries(st.sampled_from(fields), st.sampled_from([survivor, *others]), max_size=3))
    return specs, survivor, others, draw(st.booleans()), draw(st.booleans()), picks


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(example=merges())
def test_merge_then_undo_gives_back_the_same_database(company, org, company_admin, example):
    specs, survivor_index, other_indexes, integrate, fill_empty, picks = example
    with company_scope(company), transaction.atomic():
        cases = []
        for spec in specs:
            desired = {"rent_max": spec["rent_max"], "layouts": spec["layouts"]}
            if spec["same_customer_as_previous"] and cases:
                case = do_create_case(customer=cases[-1].customer, data=CaseInput(
                    kind=spec["kind"], owning_org=org[spec["unit"]], first_inquiry_date=spec["first_inquiry"], desired=desired), acting_user=None)
            else:
                case = testing.make_case(company, org[spec["unit"]], kind=spec["kind"], customer_name=spec["name"],
                                         phones=[("mobile", spec["phone"])] if spec["phone"] else [],
                                         emails=[spec["email"]] if spec["email"] else [], first_inquiry_date=spec["first_inquiry"],
                                         desired=desired)
                Customer.objects.filter(pk=case.customer_id).update(
                    city=spec["city"], birth_date=spec["birth_date"], line_user_id=f"U{case.pk}" if spec["line"] else "")
                # A bare UPDATE passes no writer: the candidates follow the new birth date as an edit's would.
                refresh_customers(company.pk, [case.customer_id])
            add_history(case, activities=spec["activities"], open_visits=spec["open_visits"], introductions=spec["introductions"],
                        attachments=1, line_messages=1, inquiries=1)
            cases.append(case)
        survivor = cases[survivor_index]
        request = MergeRequest(survivor.pk, [cases[i].pk for i in other_indexes], integrate=integrate, fill_empty=fill_empty,
                               picks={name: cases[i].pk for name, i in picks.items()})
        before = database_state(company.pk)
        try:
            merge = do_merge_cases(acting_user=company_admin, request=request)
        except ApplicationError as refused:
            # cases with a LINE link in two units: refused before anything was written
            assert refused.code == "merge_line_units"
            assert database_state(company.pk) == before
        else:
            do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
            assert database_state(company.pk) == before
        transaction.set_rollback(True)
