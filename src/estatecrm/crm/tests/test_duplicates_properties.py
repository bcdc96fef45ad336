"""Property: after any sequence of writes through the actions, the stored candidates and flags are exactly what a
computation from scratch finds (refresh_company, and refresh_customers over every customer after wiping)."""

import datetime

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estatecrm.crm import actions, duplicates
from estatecrm.crm.models import (
    Case,
    Contact,
    Customer,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
)
from estatecrm.normalize import similarity

pytestmark = pytest.mark.django_db

# Small pools, a threshold of 3 holders and blocks of at most 3 customers: every crossing happens in a few steps.
PHONES = ("03-1234-5678", "090-1111-2222", "080-3333-4444")
READINGS = ("ヤマダ タロウ", "ヤマダ タロウ", "スズキ ハナコ")
NAMES = ("山田 太郎", "山田 太朗", "鈴木 花子")
BIRTHS = (None, datetime.date(1980, 4, 1))
PLACES = (("", "", ""), ("150-0002", "東京都", "渋谷区渋谷2-1-1"), ("150-0002", "東京都", "渋谷区渋谷2-1-10"))

index = st.integers(min_value=0, max_value=7)
operation = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 2), st.integers(0, 2), st.integers(0, 1), st.integers(0, 2)),
    st.tuples(st.just("phone"), index, st.integers(-1, 2)),
    st.tuples(st.just("details"), index, st.integers(0, 2), st.integers(0, 1), st.integers(0, 2)),
    st.tuples(st.just("trash_case"), index),
    st.tuples(st.just("restore_case"), index),
    st.tuples(st.just("trash_customer"), index),
    st.tuples(st.just("restore_customer"), index),
    st.tuples(st.just("dismiss"), index, index),
)


def stored(company) -> tuple[list, list]:
    candidates = sorted(DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule", "score", "key"))
    return candidates, sorted(Case.objects.for_company(company).filter(has_duplicates=True).values_list("pk", flat=True))


def wipe(company) -> None:
    DuplicateCandidate.objects.for_company(company).delete()
    Case.objects.for_company(company).update(has_duplicates=False)


def apply(company, org, admin, step, cases: list[Case]) -> None:
    kind = step[0]
    customer = None
    if kind not in ("create", "dismiss") and cases:
        case = Case.objects.for_company(company).get(pk=cases[step[1] % len(cases)].pk)
        customer = Customer.objects.for_company(company).get(pk=case.customer_id)
    if kind == "create":
        _kind, person, phone, birth, place = step
        postal, prefecture, street = PLACES[place]
        new = actions.do_create_customer(company=company, acting_user=None, data=actions.CustomerInput(
            name=NAMES[person], kana=READINGS[person], birth_date=BIRTHS[birth], postal_code=postal, prefecture=prefecture, street=street,
            contacts=[actions.ContactInput(name=NAMES[person], phones=[("phone", PHONES[phone])])]))
        cases.append(actions.do_create_case(customer=new, acting_user=None, data=actions.CaseInput(kind="rent", owning_org=org["SBY"])))
    elif customer is None:
        if kind == "dismiss" and len(cases) > 1:
            low, high = sorted({cases[step[1] % len(cases)].pk, cases[step[2] % len(cases)].pk})
            if low != high:
                DuplicateDismissal.objects.get_or_create(company=company, case_a_id=low, case_b_id=high,
                                                         defaults={"dismissed_at": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)})
                duplicates.refresh_customers(company.pk, set(Case.objects.for_company(company).filter(pk__in=(low, high))
                                                             .values_list("customer_id", flat=True)))
    elif kind == "phone":
        contact = Contact.objects.for_company(company).filter(customer=customer).order_by("position").first()
        points = [actions.ContactPointEdit(kind="phone", raw=PHONES[step[2]])] if step[2] >= 0 else []
        actions.do_save_contact(customer=customer, contact=contact, acting_user=None, data=actions.ContactEdit(name=contact.name, points=points))
    elif kind == "details" and not customer.is_trashed:
        _kind, _index, person, birth, place = step
        postal, prefecture, street = PLACES[place]
        actions.do_update_customer(customer=customer, acting_user=None, changes={
            "name": NAMES[person], "kana": READINGS[person], "birth_date": BIRTHS[birth], "postal_code": postal, "prefecture": prefecture,
            "street": street})
    elif kind == "trash_case" and case.deleted_at is None:
        actions.do_trash_case(case=case, acting_user=admin)
    elif kind == "restore_case" and case.is_trashed:
        actions.do_restore_case(case=case, acting_user=admin)
    elif kind == "trash_customer" and not customer.is_trashed:
        actions.do_trash_customer(customer=customer, acting_user=admin)
    elif kind == "restore_customer" and customer.is_trashed:
        actions.do_restore_customer(customer=customer, acting_user=admin)


@settings(max_examples=12, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operation, min_size=3, max_size=12))
def test_after_any_writes_the_stored_candidates_equal_a_computation_from_scratch(company, org, company_admin, monkeypatch, steps):
    monkeypatch.setattr(similarity, "MAX_BLOCK_SIZE", 3)
    with transaction.atomic():
        # given
        DuplicateSettings.objects.create(company=company, shared_threshold=3)
        cases: list[Case] = []
        # when
        for step in steps:
            apply(company, org, company_admin, step, cases)
        kept = stored(company)
        # then
        wipe(company)
        duplicates.refresh_company(company.pk)
        assert stored(company) == kept
        wipe(company)
        duplicates.refresh_customers(company.pk, Customer.objects.for_company(company).values_list("pk", flat=True))
        assert stored(company) == kept
        transaction.set_rollback(True)


def test_the_property_pools_reach_every_rule(company, org):
    # given: the pools above, written once each way (a guard that the property exercises all rules)
    DuplicateSettings.objects.create(company=company, shared_threshold=3)
    cases: list[Case] = []
    for step in (("create", 0, 0, 1, 1), ("create", 1, 1, 1, 2), ("create", 2, 0, 0, 0)):
        apply(company, org, None, step, cases)
    # then
    assert sorted({rule for _a, _b, rule, _score, _key in stored(company)[0]}) == ["kana_address", "kana_birth", "name_postal", "phone"]
