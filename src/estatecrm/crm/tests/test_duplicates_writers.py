"""Candidates kept current by every crm writer: edits of contacts and details, trash and restore, shared values
crossing the threshold both ways, admin markings, settings, fuzzy rules and their block size, the list and its count."""

import datetime

import pytest
from django.utils import timezone

from estatecrm.crm import actions, duplicates
from estatecrm.crm.filtersets import CaseFilters, View, duplicate_count, filter_cases
from estatecrm.crm.models import (
    Case,
    Contact,
    ContactPoint,
    Customer,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
    SharedContactValue,
)
from estatecrm.normalize import similarity
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


def rows(company):
    return sorted(DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule", "key"))


def flagged(company) -> set[int]:
    return set(Case.objects.for_company(company).filter(has_duplicates=True).values_list("pk", flat=True))


def person(company, org, name: str, *, phone: str = "", email: str = "", kana: str = "", birth_date=None):
    """A case of a new customer with at most one phone and one e-mail (make_case's defaults are one shared pair)."""
    customer = actions.do_create_customer(company=company, acting_user=None, data=actions.CustomerInput(
        name=name, kana=kana, birth_date=birth_date,
        contacts=[actions.ContactInput(name=name, phones=[("mobile", phone)] if phone else [], emails=[email] if email else [])]))
    return actions.do_create_case(customer=customer, acting_user=None, data=actions.CaseInput(kind="rent", owning_org=org["SBY"]))


def edit_points(customer: Customer, *points: tuple[str, str]):
    """Make the customer's first contact hold exactly these (kind, raw) points."""
    contact = Contact.objects.for_company(customer.company_id).filter(customer=customer).order_by("position").first()
    actions.do_save_contact(customer=customer, contact=contact, acting_user=None, data=actions.ContactEdit(
        name=contact.name, points=[actions.ContactPointEdit(kind=kind, raw=raw) for kind, raw in points]))


def test_a_phone_added_to_a_customer_makes_a_candidate_and_changing_it_away_removes_it(company, org):
    # given
    first = person(company, org, "佐藤 一郎", phone="090-1111-2222")
    second = person(company, org, "鈴木 次郎", email="jiro@example.jp")
    assert rows(company) == []
    # when: the phone typed differently is added to the second customer
    edit_points(second.customer, ("email", "jiro@example.jp"), ("mobile", "09011112222"))
    # then
    assert rows(company) == [(first.pk, second.pk, "phone", "+819011112222")]
    assert flagged(company) == {first.pk, second.pk}
    # when: changed to another number
    edit_points(second.customer, ("email", "jiro@example.jp"), ("mobile", "090-3333-4444"))
    # then
    assert rows(company) == []
    assert flagged(company) == set()


def test_removing_the_contact_that_held_the_shared_e_mail_removes_the_candidate(company, org):
    # given
    first = person(company, org, "佐藤 一郎", email="same@example.jp")
    second = person(company, org, "鈴木 次郎", phone="090-5555-6666")
    extra = actions.do_save_contact(customer=second.customer, contact=None, acting_user=None, data=actions.ContactEdit(
        name="鈴木 花子", points=[actions.ContactPointEdit(kind="email", raw="Same@Example.jp")]))
    assert rows(company) == [(first.pk, second.pk, "email", "same@example.jp")]
    # when
    actions.do_remove_contact(customer=second.customer, contact=extra, acting_user=None)
    # then
    assert rows(company) == []
    assert flagged(company) == set()


def test_a_trashed_case_is_no_candidate_and_comes_back_on_restore(company, org, company_admin):
    # given
    first = person(company, org, "佐藤 一郎", phone="090-1111-2222")
    second = person(company, org, "鈴木 次郎", phone="090-1111-2222")
    actor = actor_for(company_admin)
    assert duplicate_count(actor) == 2
    # when
    actions.do_trash_case(case=second, acting_user=company_admin)
    # then
    assert (rows(company), flagged(company), duplicate_count(actor)) == ([], set(), 0)
    assert list(filter_cases(actor=actor, filters=CaseFilters(view=View.DUPLICATES))) == []
    # when
    actions.do_restore_case(case=second, acting_user=company_admin)
    # then
    assert rows(company) == [(first.pk, second.pk, "phone", "+819011112222")]
    assert duplicate_count(actor) == 2
    assert [case.pk for case in filter_cases(actor=actor, filters=CaseFilters(view=View.DUPLICATES))] == [second.pk, first.pk]


def test_a_trashed_customer_is_no_candidate_and_does_not_count_and_comes_back_on_restore(company, org, company_admin):
    # given
    first = person(company, org, "佐藤 一郎", email="same@example.jp")
    second = person(company, org, "鈴木 次郎", email="same@example.jp")
    actor = actor_for(company_admin)
    # when
    actions.do_trash_customer(customer=second.customer, acting_user=company_admin)
    # then
    assert (rows(company), flagged(company), duplicate_count(actor)) == ([], set(), 0)
    # when
    actions.do_restore_customer(customer=Customer.objects.for_company(company).get(pk=second.customer_id), acting_user=company_admin)
    # then
    assert rows(company) == [(first.pk, second.pk, "email", "same@example.jp")]
    assert (flagged(company), duplicate_count(actor)) == ({first.pk, second.pk}, 2)


def test_a_pair_marked_different_people_stays_dismissed_through_edits_trash_and_restore(company, org, company_admin):
    # given
    first = person(company, org, "佐藤 一郎", phone="090-1111-2222")
    second = person(company, org, "鈴木 次郎", phone="090-1111-2222")
    DuplicateDismissal.objects.create(company=company, case_a=first, case_b=second, dismissed_at=timezone.now())
    duplicates.refresh_customers(company.pk, [first.customer_id])
    # when
    edit_points(second.customer, ("mobile", "090-1111-2222"), ("email", "jiro@example.jp"))
    actions.do_trash_case(case=first, acting_user=company_admin)
    actions.do_restore_case(case=first, acting_user=company_admin)
    third = person(company, org, "田中 三郎", phone="09011112222")
    # then: the third customer pairs with both, the dismissed pair stays away
    assert rows(company) == [(first.pk, third.pk, "phone", "+819011112222"), (second.pk, third.pk, "phone", "+819011112222")]


def test_the_fifth_holder_of_a_number_makes_it_shared_and_a_holder_leaving_brings_the_pairs_back(company, org, company_admin):
    # given: four customers share a switchboard (the default threshold is 5)
    cases = [person(company, org, f"客 {n}", phone="03-1234-5678") for n in range(4)]
    assert len(rows(company)) == 6
    # when: a fifth one, by the ordinary action and nothing else
    fifth = person(company, org, "客 5", phone="03-1234-5678")
    # then
    assert (rows(company), flagged(company)) == ([], set())
    # when: one of them goes to the trash
    actions.do_trash_customer(customer=fifth.customer, acting_user=company_admin)
    # then: the four are candidates again
    assert len(rows(company)) == 6
    assert flagged(company) == {case.pk for case in cases}
    # when: a holder changes the number away, down to three
    edit_points(cases[0].customer, ("mobile", "090-9999-0000"))
    # then
    assert [(a, b) for a, b, _rule, _key in rows(company)] == [(cases[1].pk, cases[2].pk), (cases[1].pk, cases[3].pk), (cases[2].pk, cases[3].pk)]


def test_an_admin_marking_a_value_shared_or_personal_refreshes_its_holders(company, org):
    # given
    first = person(company, org, "佐藤 一郎", phone="03-1234-5678")
    second = person(company, org, "鈴木 次郎", phone="03-1234-5678")
    # when
    marking = SharedContactValue.objects.create(company=company, normalized="+81312345678", marking="shared")
    changed = duplicates.refresh_values(company.pk, ["+81312345678"])
    # then
    assert (rows(company), changed, flagged(company)) == ([], {first.pk, second.pk}, set())
    # when: five holders, but an admin says the number is personal
    cases = [first, second] + [person(company, org, f"客 {n}", phone="03-1234-5678") for n in range(3)]
    marking.marking = "personal"
    marking.save()
    duplicates.refresh_values(company.pk, ["+81312345678"])
    # then
    assert len(rows(company)) == 10
    assert flagged(company) == {case.pk for case in cases}


def test_changed_settings_recompute_the_company(company, org):
    # given
    first = person(company, org, "佐藤 一郎", phone="090-1111-2222", email="same@example.jp")
    second = person(company, org, "鈴木 次郎", phone="090-1111-2222", email="same@example.jp")
    assert [rule for _a, _b, rule, _key in rows(company)] == ["email", "phone"]
    # when
    DuplicateSettings.objects.create(company=company, enabled_rules=["email"], shared_threshold=5, fuzzy_min_score=0.85)
    duplicates.refresh_company(company.pk)
    # then
    assert rows(company) == [(first.pk, second.pk, "email", "same@example.jp")]
    # when: the threshold goes down to two holders
    DuplicateSettings.objects.for_company(company).update(shared_threshold=2)
    duplicates.refresh_company(company.pk)
    # then
    assert (rows(company), flagged(company)) == ([], set())


def test_a_reading_and_birth_date_match_appears_when_the_details_are_edited(company, org):
    # given: the same reading, different phones, no birth dates yet
    first = person(company, org, "高橋 一郎", phone="090-1111-2222", kana="タカハシ イチロウ")
    second = person(company, org, "髙橋 一郎", phone="080-3333-4444", kana="ﾀｶﾊｼ ｲﾁﾛｳ")
    actions.do_update_customer(customer=first.customer, changes={"birth_date": datetime.date(1980, 4, 1)}, acting_user=None)
    assert rows(company) == []
    # when
    actions.do_update_customer(customer=second.customer, changes={"birth_date": datetime.date(1980, 4, 1)}, acting_user=None)
    # then
    [(case_a, case_b, rule, key)] = rows(company)
    assert (case_a, case_b, rule, key) == (first.pk, second.pk, "kana_birth", first.customer.kana_key)
    # when: the reading changes
    actions.do_update_customer(customer=second.customer, changes={"kana": "タカバシ イチロウ"}, acting_user=None)
    # then
    assert rows(company) == []


def test_a_block_growing_past_its_size_drops_the_pairs_of_its_members_and_shrinking_brings_them_back(company, org, company_admin, monkeypatch):
    # given: a block of at most three customers; two alike in it
    monkeypatch.setattr(similarity, "MAX_BLOCK_SIZE", 3)
    birth = datetime.date(1975, 1, 2)
    first = person(company, org, "山田 太郎", phone="090-1000-0001", kana="ヤマダ タロウ", birth_date=birth)
    second = person(company, org, "山田 太朗", phone="090-1000-0002", kana="ヤマダ タロウ", birth_date=birth)
    person(company, org, "山田 健", phone="090-1000-0003", kana="ヤマダ タロウ")
    assert [(a, b, rule) for a, b, rule, _key in rows(company)] == [(first.pk, second.pk, "kana_birth")]
    # when: a fourth one with that reading
    fourth = person(company, org, "山田 次郎", phone="090-1000-0004", kana="ヤマダ タロウ")
    # then: the block is too common to say anything
    assert rows(company) == []
    # when
    actions.do_trash_case(case=fourth, acting_user=company_admin)
    assert rows(company) == []  # the customer is still live: still four in the block
    actions.do_update_customer(customer=fourth.customer, changes={"kana": "ヤマダ ジロウ"}, acting_user=None)
    # then
    assert [(a, b, rule) for a, b, rule, _key in rows(company)] == [(first.pk, second.pk, "kana_birth")]


def test_a_new_customer_without_a_case_still_makes_a_number_shared(company, org):
    # given
    cases = [person(company, org, f"客 {n}", phone="03-1234-5678") for n in range(4)]
    assert len(rows(company)) == 6
    # when
    actions.do_create_customer(company=company, acting_user=None, data=actions.CustomerInput(
        name="客 5", contacts=[actions.ContactInput(name="客 5", phones=[("phone", "03-1234-5678")])]))
    # then
    assert (rows(company), flagged(company)) == ([], set())
    assert ContactPoint.objects.for_company(company).filter(normalized="+81312345678").count() == 5
    assert len(cases) == 4
