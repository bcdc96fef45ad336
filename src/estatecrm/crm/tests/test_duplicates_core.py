"""The candidate store's core (crm.duplicates): exact rules, shared values, dismissals, flags."""

import pytest
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm import duplicates
from estatecrm.crm.models import Case, DuplicateCandidate, DuplicateDismissal, SharedContactValue

pytestmark = pytest.mark.django_db


def rows(company):
    return sorted(DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule", "score", "key"))


def test_a_new_case_sharing_a_phone_with_another_customer_becomes_a_candidate_pair(company, org):
    # given
    first = testing.make_case(company, org["SBY"], phones=(("mobile", "090-1111-2222"),), emails=("a@example.jp",))
    # when: another customer, the same mobile typed differently
    second = testing.make_case(company, org["SBY"], customer_name="佐藤 花", phones=(("mobile", "０９０（１１１１）２２２２"),), emails=("b@example.jp",))
    # then
    assert rows(company) == [(first.pk, second.pk, "phone", 1.0, "+819011112222")]
    assert set(Case.objects.for_company(company).filter(has_duplicates=True).values_list("pk", flat=True)) == {first.pk, second.pk}
    assert second.has_duplicates is True


def test_a_value_held_by_the_threshold_of_customers_is_shared_and_finds_nobody(company, org):
    # given: the default threshold (5): four customers share a switchboard
    cases = [testing.make_case(company, org["SBY"], customer_name=f"客 {n}", phones=(("phone", "03-1234-5678"),), emails=(f"c{n}@example.jp",))
             for n in range(4)]
    assert len(rows(company)) == 6
    # when: a fifth one
    cases.append(testing.make_case(company, org["SBY"], customer_name="客 5", phones=(("phone", "03-1234-5678"),), emails=("c5@example.jp",)))
    for case in cases:
        duplicates.refresh_customers(company.pk, [case.customer_id])
    # then
    assert rows(company) == []
    assert not Case.objects.for_company(company).filter(has_duplicates=True).exists()


def test_an_admin_marking_overrides_the_threshold(company, org):
    # given
    first = testing.make_case(company, org["SBY"], phones=(("phone", "03-1234-5678"),), emails=("a@example.jp",))
    SharedContactValue.objects.create(company=company, normalized="+81312345678", marking="shared")
    # when
    second = testing.make_case(company, org["SBY"], customer_name="別 人", phones=(("phone", "03-1234-5678"),), emails=("b@example.jp",))
    # then
    assert rows(company) == []
    assert first.pk < second.pk


def test_a_dismissed_pair_gets_no_row_again(company, org):
    # given
    first = testing.make_case(company, org["SBY"], emails=("same@example.jp",), phones=())
    second = testing.make_case(company, org["SBY"], customer_name="佐藤 次郎", emails=("SAME@example.jp",), phones=())
    assert rows(company) == [(first.pk, second.pk, "email", 1.0, "same@example.jp")]
    # when
    DuplicateDismissal.objects.create(company=company, case_a=first, case_b=second, dismissed_at=timezone.now())
    duplicates.refresh_customers(company.pk, [first.customer_id])
    # then
    assert rows(company) == []
    assert not Case.objects.for_company(company).filter(has_duplicates=True).exists()


def test_a_trashed_case_leaves_the_candidates(company, org):
    # given
    first = testing.make_case(company, org["SBY"], emails=("same@example.jp",), phones=())
    testing.make_case(company, org["SBY"], customer_name="佐藤 次郎", emails=("same@example.jp",), phones=())
    # when
    Case.objects.for_company(company).filter(pk=first.pk).update(deleted_at=timezone.now())
    duplicates.refresh_customers(company.pk, [first.customer_id])
    # then
    assert rows(company) == []
    assert not Case.objects.for_company(company).filter(has_duplicates=True).exists()


def test_other_companies_never_match(company, org):
    # given
    other = testing.make_company("other")
    unit = testing.make_unit(other, "X")
    testing.make_case(company, org["SBY"], emails=("same@example.jp",), phones=())
    # when
    testing.make_case(other, unit, emails=("same@example.jp",), phones=())
    # then
    assert rows(company) == [] and rows(other) == []
