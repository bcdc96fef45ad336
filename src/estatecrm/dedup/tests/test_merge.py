"""名寄せの実行: both modes, the rules of what moves and what stays, permission, conflict, undo."""

import datetime
import decimal

import pytest
from django.db import transaction
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import CaseInput, do_create_case
from estatecrm.crm.choices import ActivityKind, CaseKind
from estatecrm.crm.models import (
    Activity,
    Attachment,
    Case,
    ContactPoint,
    Customer,
    DesiredConditions,
    DuplicateCandidate,
    Introduction,
)
from estatecrm.dedup import error_codes
from estatecrm.dedup.merge import MergeRequest, do_merge_cases, do_undo_merge, moved_models, plan_merge
from estatecrm.dedup.models import Merge
from estatecrm.dedup.tests.factories import add_history, database_state, merge_count
from estatecrm.inquiries.models import Inquiry, LineMessage
from estatecrm.tenancy.actions import do_add_membership
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for


@pytest.fixture(autouse=True)
def scope(company):
    with company_scope(company):
        yield


def case_of(company, unit, name="佐藤 花子", phone="090-1234-5678", email="hanako@example.jp", **fields):
    return testing.make_case(company, unit, customer_name=name, phones=[("mobile", phone)] if phone else [],
                             emails=[email] if email else [], **fields)


def fresh(case: Case) -> Case:
    return Case.objects.for_company(case.company_id).select_related("customer").get(pk=case.pk)


def test_integrate_moves_the_history_to_the_survivor_and_keeps_the_others_merged(company, org, company_admin):
    # given
    survivor = case_of(company, org["SBY"], phone="090-1111-1111")
    other = case_of(company, org["SBY"], phone="090-2222-2222", email="other@example.jp")
    add_history(survivor, activities=2)
    add_history(other, activities=3, introductions=2)
    # when
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    # then
    survivor, other = fresh(survivor), fresh(other)
    assert (merge.mode, merge.survivor_id, merge.acting_user_id, merge.is_automatic) == ("integrate", survivor.pk, company_admin.pk, False)
    assert list(merge.merge_cases.values_list("case_id", flat=True)) == [other.pk]
    assert (other.merged_into_id, other.deleted_at) == (survivor.pk, merge.created_at)
    assert (other.is_merged, other.is_trashed) == (True, False)
    assert other.customer.merged_into_id == survivor.customer_id and other.customer.deleted_at == merge.created_at
    assert Activity.objects.filter(case=survivor).count() == 5
    assert Introduction.objects.filter(case=survivor).count() == 3
    assert Attachment.objects.filter(case=survivor).count() == 2
    assert LineMessage.objects.filter(case=survivor).count() == 2
    assert Inquiry.objects.filter(case=survivor).count() == 2
    assert set(Inquiry.objects.values_list("customer_id", flat=True)) == {survivor.customer_id}
    for _label, model in moved_models():
        assert model.objects.filter(case=other).count() == 0
    # nothing lost: the survivor's customer has the other's phone and e-mail too
    assert sorted(ContactPoint.objects.filter(customer=survivor.customer).values_list("normalized", flat=True)) == [
        "+819011111111", "+819022222222", "hanako@example.jp", "other@example.jp"]
    assert DuplicateCandidate.objects.count() == 0
    assert Case.objects.get(pk=survivor.pk).has_duplicates is False


def test_link_keeps_every_case_on_the_survivors_customer(company, org, company_admin):
    # given
    survivor = case_of(company, org["SBY"])
    other = case_of(company, org["SBY"], name="佐藤 はなこ", phone="090-3333-3333")
    add_history(other)
    # when
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=False))
    # then
    other = fresh(other)
    assert merge.mode == "link"
    assert (other.deleted_at, other.merged_into_id, other.customer_id) == (None, None, survivor.customer_id)
    assert Activity.objects.filter(case=other).count() == 1
    old_customer = Customer.objects.get(pk=merge.snapshot["cases"][str(other.pk)]["customer_id"])
    assert (old_customer.merged_into_id, old_customer.deleted_at) == (survivor.customer_id, merge.created_at)
    assert sorted(ContactPoint.objects.filter(customer_id=survivor.customer_id).values_list("normalized", flat=True)) == [
        "+819012345678", "+819033333333", "hanako@example.jp"]
    # an edit of the customer from either case shows in both
    Customer.objects.filter(pk=other.customer_id).update(city="渋谷区")
    assert fresh(survivor).customer.city == "渋谷区"


def test_a_customer_with_another_case_stays(company, org, company_admin):
    # given: the other customer has a second case that is not merged
    survivor = case_of(company, org["SBY"], phone="090-1111-1111")
    other = case_of(company, org["SBY"], phone="090-2222-2222")
    second = do_create_case(customer=other.customer, data=CaseInput(kind=CaseKind.BUY, owning_org=org["SBY"]), acting_user=None)
    # when
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    # then
    customer = Customer.objects.get(pk=other.customer_id)
    assert (customer.deleted_at, customer.merged_into_id) == (None, None)
    assert merge.snapshot["customers"].get(str(customer.pk)) is None
    assert fresh(second).customer_id == customer.pk


def test_rent_and_buy_keep_their_own_desired_conditions(company, org, company_admin):
    # given
    survivor = case_of(company, org["SBY"], kind=CaseKind.RENT, desired={"rent_max": decimal.Decimal("12.0")})
    buy = case_of(company, org["SBY"], kind=CaseKind.BUY, desired={"price_max": 5000, "layouts": ["3LDK"]})
    # when
    plan = plan_merge(actor=actor_for(company_admin), request=MergeRequest(survivor.pk, [buy.pk], integrate=True, fill_empty=True))
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [buy.pk], integrate=True, fill_empty=True))
    # then
    assert plan.warnings == [f"Case #{buy.number} is Buy: its desired conditions are not carried over (the merge keeps them)."]
    desired = DesiredConditions.objects.get(case=survivor)
    assert (desired.rent_max, desired.price_max, desired.layouts) == (decimal.Decimal("12.0"), None, [])
    assert merge.snapshot["kept_desired"][str(buy.pk)]["price_max"] == 5000
    assert DesiredConditions.objects.get(case=buy).layouts == ["3LDK"]


def test_same_kind_fills_the_survivors_empty_desired_conditions(company, org, company_admin):
    # given
    survivor = case_of(company, org["SBY"], desired={"rent_max": decimal.Decimal("12.0")})
    older = case_of(company, org["SBY"], desired={"rent_max": decimal.Decimal("9.0"), "layouts": ["1LDK"], "walk_minutes": 10})
    newer = case_of(company, org["SBY"], desired={"layouts": ["2LDK"], "move_in": "1month"})
    # when
    do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [newer.pk, older.pk], integrate=True, fill_empty=True))
    # then: the survivor's value stays, the empty ones come from the oldest case that has one
    desired = DesiredConditions.objects.get(case=survivor)
    assert (desired.rent_max, desired.layouts, desired.walk_minutes, desired.move_in) == (decimal.Decimal("12.0"), ["1LDK"], 10, "1month")


def test_without_fill_empty_the_survivors_desired_conditions_stay(company, org, company_admin):
    survivor = case_of(company, org["SBY"], desired={"rent_max": decimal.Decimal("12.0")})
    other = case_of(company, org["SBY"], desired={"layouts": ["1LDK"]})
    do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    assert DesiredConditions.objects.get(case=survivor).layouts == []


def test_open_visits_of_another_unit_move_to_the_survivors_unit(company, org, company_admin):
    # given
    survivor = case_of(company, org["SBY"])
    other = case_of(company, org["SJK"])
    add_history(other, open_visits=2)
    done = Activity.objects.create(company=company, case=other, kind=ActivityKind.VISIT_APPOINTMENT, occurred_at=timezone.now(),
                                   is_done=True, org_unit=org["SJK"])
    # when
    plan = plan_merge(actor=actor_for(company_admin), request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    # then
    assert plan.counts["visits"] == 2
    assert "2 open visit appointments move to the survivor's unit 渋谷店." in plan.warnings
    visits = Activity.objects.filter(case=survivor, kind=ActivityKind.VISIT_APPOINTMENT, is_done=False)
    assert sorted(visits.values_list("org_unit_id", flat=True)) == [org["SBY"].pk, org["SBY"].pk]
    done.refresh_from_db()
    assert (done.case_id, done.org_unit_id) == (survivor.pk, org["SJK"].pk)


def test_the_first_inquiry_becomes_the_oldest_of_the_group(company, org, company_admin):
    # given
    survivor = case_of(company, org["SBY"], first_inquiry_date=datetime.date(2026, 3, 1), first_inquiry_source="SUUMO",
                       first_inquiry_listing_name="新しい物件")
    oldest = case_of(company, org["SBY"], first_inquiry_date=datetime.date(2025, 12, 24), first_inquiry_source="at home",
                     first_inquiry_listing_ref="A-1", first_inquiry_listing_name="古い物件")
    undated = case_of(company, org["SBY"], first_inquiry_source="自社HP")
    # when
    plan = plan_merge(actor=actor_for(company_admin), request=MergeRequest(survivor.pk, [undated.pk, oldest.pk], integrate=True))
    do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [undated.pk, oldest.pk], integrate=True))
    # then
    survivor = fresh(survivor)
    assert (survivor.first_inquiry_date, survivor.first_inquiry_source, survivor.first_inquiry_listing_ref,
            survivor.first_inquiry_listing_name) == (datetime.date(2025, 12, 24), "at home", "A-1", "古い物件")
    row = next(row for row in plan.case_fields if row.name == "first_inquiry")
    assert (row.label, row.survivor_value, row.result_value, row.source_case_id) == (
        "First inquiry", "2026-03-01 SUUMO 新しい物件", "2025-12-24 at home A-1 古い物件", oldest.pk)


def test_fill_empty_and_picks_build_the_customer(company, org, company_admin):
    # given
    survivor = case_of(company, org["SBY"], name="佐藤 花子")
    other = case_of(company, org["SBY"], name="佐藤 華子", phone="090-2222-2222")
    Customer.objects.filter(pk=other.customer_id).update(birth_date=datetime.date(1990, 5, 1), city="渋谷区", employer="アクメ")
    # when
    request = MergeRequest(survivor.pk, [other.pk], integrate=True, fill_empty=True, picks={"name": other.pk})
    plan = plan_merge(actor=actor_for(company_admin), request=request)
    do_merge_cases(acting_user=company_admin, request=request)
    # then
    customer = fresh(survivor).customer
    assert (customer.name, customer.birth_date, customer.city, customer.employer) == ("佐藤 華子", datetime.date(1990, 5, 1), "渋谷区", "アクメ")
    assert customer.name_key == "佐藤華子"
    changed = [(row.name, row.survivor_value, row.result_value, row.source_case_id) for row in plan.customer_fields if row.changed]
    assert changed == [("name", "佐藤 花子", "佐藤 華子", other.pk), ("birth_date", "", "1990-05-01", other.pk),
                       ("address", "", "渋谷区", other.pk), ("employer", "", "アクメ", other.pk)]


def test_picks_are_for_administrators(company, org, agent):
    survivor = case_of(company, org["SBY"], main_assignee=agent)
    other = case_of(company, org["SBY"], main_assignee=agent)
    before = database_state(company.pk)
    with pytest.raises(PermissionDenied, match="Only administrators may pick fields"):
        do_merge_cases(acting_user=agent, request=MergeRequest(survivor.pk, [other.pk], integrate=True, picks={"name": other.pk}))
    assert database_state(company.pk) == before


def test_an_agent_merges_only_cases_they_are_assigned_to(company, org, agent):
    # given: the agent sees all three (渋谷店 is org-visible) but is assigned to the survivor only
    mine = case_of(company, org["SBY"], main_assignee=agent)
    theirs = case_of(company, org["SBY"])
    sub = case_of(company, org["SBY"], sub_assignees=[agent])
    before = database_state(company.pk)
    # when / then
    with pytest.raises(PermissionDenied) as refused:
        do_merge_cases(acting_user=agent, request=MergeRequest(mine.pk, [theirs.pk, sub.pk], integrate=True))
    assert refused.value.message == f"You may not merge case #{theirs.number}: only its assignees and the administrators of its unit may."
    assert database_state(company.pk) == before and merge_count(company.pk) == (0, 0)
    # a sub-assignment is enough
    do_merge_cases(acting_user=agent, request=MergeRequest(mine.pk, [sub.pk], integrate=True))


def test_an_org_admin_merges_the_cases_of_their_units_only(company, org):
    # given: an admin of 渋谷店 who is also a member of 本社 (so sees every case, administers 渋谷店's only)
    admin = testing.make_user(company, org["SBY"], role=Role.ADMIN)
    do_add_membership(user=admin, org_unit=org["HQ"], role=Role.AGENT)
    mine = case_of(company, org["SBY"])
    elsewhere = [case_of(company, org["TKY"]), case_of(company, org["HQ"])]
    # when / then
    with pytest.raises(PermissionDenied) as refused:
        do_merge_cases(acting_user=admin, request=MergeRequest(mine.pk, [case.pk for case in elsewhere], integrate=False))
    numbers = sorted(case.number for case in elsewhere)
    assert refused.value.message == (f"You may not merge cases #{numbers[0]}, #{numbers[1]}: only their assignees and the "
                                     "administrators of their units may.")
    other = case_of(company, org["SBY"])
    do_merge_cases(acting_user=admin, request=MergeRequest(mine.pk, [other.pk], integrate=False))


def test_cases_the_actor_does_not_see_are_not_found(company, org, agent, other_company):
    mine = case_of(company, org["SBY"], main_assignee=agent)
    hidden = case_of(company, org["SJK"])
    for case_id in (hidden.pk, other_company["case"].pk, 10**9):
        with pytest.raises(NotFound):
            do_merge_cases(acting_user=agent, request=MergeRequest(mine.pk, [case_id], integrate=True))
    assert merge_count(company.pk) == (0, 0)


def test_a_stale_second_merge_is_refused_with_a_conflict(company, org, company_admin):
    # given: two users chose overlapping cases; the first merged
    a, b, c = (case_of(company, org["SBY"]) for _ in range(3))
    do_merge_cases(acting_user=company_admin, request=MergeRequest(a.pk, [b.pk], integrate=True))
    before = database_state(company.pk)
    # when / then
    with pytest.raises(Conflict) as refused:
        do_merge_cases(acting_user=company_admin, request=MergeRequest(c.pk, [b.pk], integrate=False))
    assert (refused.value.code, refused.value.status_code) == (error_codes.MERGE_CONFLICT, 409)
    assert refused.value.message == f"Case #{b.number} was merged meanwhile: reload the cases and choose again."
    assert database_state(company.pk) == before and merge_count(company.pk) == (1, 1)


def test_bad_requests_are_refused(company, org, company_admin):
    a, b = case_of(company, org["SBY"]), case_of(company, org["SBY"])
    for request, message in [
        (MergeRequest(a.pk, [], integrate=True), "Choose at least one case to merge into the survivor."),
        (MergeRequest(a.pk, [a.pk, b.pk], integrate=True), "The survivor cannot also be one of the cases merged into it."),
        (MergeRequest(a.pk, [b.pk], integrate=True, picks={"owning_org": b.pk}), "These fields cannot be picked: owning_org."),
        (MergeRequest(a.pk, [b.pk], integrate=True, picks={"name": 10**9}), "A field is picked from a case that is not in the merge."),
    ]:
        with pytest.raises(ApplicationError) as refused:
            do_merge_cases(acting_user=company_admin, request=request)
        assert (refused.value.code, refused.value.message) == (error_codes.MERGE_INVALID, message)
    Case.objects.filter(pk=b.pk).update(deleted_at=timezone.now())
    with pytest.raises(ApplicationError, match=f"Cases in the trash cannot be merged: #{b.number}."):
        do_merge_cases(acting_user=company_admin, request=MergeRequest(a.pk, [b.pk], integrate=True))
    assert merge_count(company.pk) == (0, 0)


def test_the_survivors_customer_keeps_its_line_link(company, org, company_admin):
    survivor = case_of(company, org["SBY"])
    other = case_of(company, org["SBY"])
    Customer.objects.filter(pk=survivor.customer_id).update(line_user_id="Usurvivor")
    Customer.objects.filter(pk=other.customer_id).update(line_user_id="Uother")
    do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    assert Customer.objects.get(pk=survivor.customer_id).line_user_id == "Usurvivor"
    assert Customer.objects.get(pk=other.customer_id).line_user_id == "Uother"


def test_a_merged_cases_line_link_moves_to_the_survivor(company, org, company_admin):
    survivor = case_of(company, org["SBY"])
    other = case_of(company, org["SBY"])
    blocked = timezone.now()
    Customer.objects.filter(pk=other.customer_id).update(line_user_id="Uother", line_blocked_at=blocked)
    plan = plan_merge(actor=actor_for(company_admin), request=MergeRequest(survivor.pk, [other.pk], integrate=False))
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=False))
    assert plan.warnings == ["The LINE link of 佐藤 花子 moves to the survivor's customer."]
    moved_to = Customer.objects.get(pk=survivor.customer_id)
    assert (moved_to.line_user_id, moved_to.line_blocked_at) == ("Uother", blocked)
    assert Customer.objects.get(pk=merge.snapshot["cases"][str(other.pk)]["customer_id"]).line_user_id == ""


def test_cases_with_a_line_link_merge_within_one_unit_only(company, org, company_admin):
    survivor = case_of(company, org["SBY"])
    other = case_of(company, org["SJK"])
    Customer.objects.filter(pk=other.customer_id).update(line_user_id="Uother")
    with pytest.raises(ApplicationError) as refused:
        do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    assert (refused.value.code, refused.value.message) == (
        error_codes.MERGE_LINE_UNITS, "Cases linked to LINE can only be merged within one owning unit: move them to one unit first.")


def test_merge_and_undo_are_audited(company, org, company_admin):
    survivor, other = case_of(company, org["SBY"]), case_of(company, org["SBY"])
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
    events = list(AuditEvent.objects.filter(object_type="dedup.merge").order_by("pk").values_list("verb", "object_id", "actor_id"))
    assert events == [("merge", str(merge.pk), company_admin.pk), ("undo_merge", str(merge.pk), company_admin.pk)]
    merged = AuditEvent.objects.get(verb="merge")
    assert (merged.after["mode"], merged.after["survivor"], merged.after["cases"]) == ("integrate", survivor.pk, [other.pk])


@pytest.mark.parametrize("integrate", [True, False])
def test_undo_restores_the_database_exactly(company, org, company_admin, integrate):
    # given
    survivor = case_of(company, org["SBY"], first_inquiry_date=datetime.date(2026, 3, 1), desired={"rent_max": decimal.Decimal("8.5")})
    other = case_of(company, org["SJK"], phone="090-2222-2222", first_inquiry_date=datetime.date(2026, 1, 1),
                    kind=CaseKind.BUY, desired={"price_max": 4000})
    third = case_of(company, org["SJK"], name="鈴木 一郎", phone="090-3333-3333", email="")
    add_history(survivor)
    add_history(other, activities=3, open_visits=2)
    add_history(third, activities=2)
    before = database_state(company.pk)
    # when
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk, third.pk], integrate=integrate,
                                                                           fill_empty=True, picks={"name": third.pk}))
    assert database_state(company.pk) != before
    undone = do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
    # then
    assert database_state(company.pk) == before
    assert (undone.undone_at is not None, undone.undone_by_id) == (True, company_admin.pk)


def test_an_undo_keeps_what_was_edited_after_the_merge_and_restores_the_rest(company, org, company_admin):
    # given: the merge fills the survivor's empty other information and first inquiry from the other case
    survivor = case_of(company, org["SBY"])
    other = case_of(company, org["SBY"], other_info="駐車場希望", first_inquiry_date=datetime.date(2026, 1, 5), first_inquiry_source="SUUMO")
    before = Case.objects.for_company(company).values("other_info", "first_inquiry_date", "updated_at").get(pk=survivor.pk)
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True, fill_empty=True))
    merged = Case.objects.for_company(company).values("other_info", "first_inquiry_date", "updated_at").get(pk=survivor.pk)
    assert (merged["other_info"], merged["first_inquiry_date"]) == ("駐車場希望", datetime.date(2026, 1, 5))
    # when: someone edits the other information afterwards, then the merge is undone
    edited_at = timezone.now()
    Case.objects.for_company(company).filter(pk=survivor.pk).update(other_info="駐車場2台希望", updated_at=edited_at)
    undone = do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
    # then: the edit stays, the first inquiry the merge brought goes back, and the version moves forward
    after = Case.objects.for_company(company).values("other_info", "first_inquiry_date", "updated_at").get(pk=survivor.pk)
    assert (after["other_info"], after["first_inquiry_date"]) == ("駐車場2台希望", before["first_inquiry_date"])
    assert after["updated_at"] > edited_at
    assert undone.kept_edits == {f"crm.case:{survivor.pk}": ["other_info"]}
    assert AuditEvent.objects.get(verb="undo_merge").after["kept_edits"] == {f"crm.case:{survivor.pk}": ["other_info"]}
    assert Case.objects.for_company(company).get(pk=other.pk).merged_into_id is None


def test_a_second_undo_is_refused(company, org, company_admin):
    survivor, other = case_of(company, org["SBY"]), case_of(company, org["SBY"])
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
    with pytest.raises(ApplicationError) as refused:
        do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
    assert (refused.value.code, refused.value.message) == (error_codes.UNDO_ALREADY_DONE, "This merge was already undone.")


def test_an_undo_after_30_days_is_refused(company, org, company_admin):
    survivor, other = case_of(company, org["SBY"]), case_of(company, org["SBY"])
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    Merge.objects.filter(pk=merge.pk).update(created_at=timezone.now() - datetime.timedelta(days=30, seconds=1))
    before = database_state(company.pk)
    with pytest.raises(ApplicationError) as refused:
        do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
    assert (refused.value.code, refused.value.message) == (error_codes.UNDO_EXPIRED, "A merge can be undone for 30 days only; this one is older.")
    assert database_state(company.pk) == before
    Merge.objects.filter(pk=merge.pk).update(created_at=timezone.now() - datetime.timedelta(days=29, hours=23))
    do_undo_merge(acting_user=company_admin, merge_id=merge.pk)


def test_an_undo_before_a_later_merge_of_the_same_cases_is_refused(company, org, company_admin):
    a, b, c = (case_of(company, org["SBY"]) for _ in range(3))
    first = do_merge_cases(acting_user=company_admin, request=MergeRequest(a.pk, [b.pk], integrate=True))
    later = do_merge_cases(acting_user=company_admin, request=MergeRequest(c.pk, [a.pk], integrate=True))
    with pytest.raises(ApplicationError) as refused:
        do_undo_merge(acting_user=company_admin, merge_id=first.pk)
    assert (refused.value.code, refused.value.message) == (error_codes.UNDO_LATER_MERGE,
                                                           f"A later merge took some of these cases (merge {later.pk}): undo it first.")
    do_undo_merge(acting_user=company_admin, merge_id=later.pk)
    do_undo_merge(acting_user=company_admin, merge_id=first.pk)
    assert [fresh(case).deleted_at for case in (a, b, c)] == [None, None, None]


def test_an_agent_undoes_only_merges_of_cases_they_may_merge(company, org, agent, company_admin):
    mine = case_of(company, org["SBY"], main_assignee=agent)
    theirs = case_of(company, org["SBY"])
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(mine.pk, [theirs.pk], integrate=True))
    with pytest.raises(PermissionDenied, match=f"#{theirs.number}"):
        do_undo_merge(acting_user=agent, merge_id=merge.pk)
    assert Merge.objects.get(pk=merge.pk).undone_at is None


def test_undo_recomputes_the_candidates(company, org, company_admin):
    # given: two cases that share a phone are candidates
    a, b = case_of(company, org["SBY"]), case_of(company, org["SBY"])
    pairs = sorted(DuplicateCandidate.objects.values_list("case_a_id", "case_b_id", "rule"))
    assert pairs == [(a.pk, b.pk, "email"), (a.pk, b.pk, "phone")]
    # when
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(a.pk, [b.pk], integrate=False))
    assert DuplicateCandidate.objects.count() == 0
    do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
    # then
    assert sorted(DuplicateCandidate.objects.values_list("case_a_id", "case_b_id", "rule")) == pairs
    assert list(Case.objects.filter(pk__in=[a.pk, b.pk]).values_list("has_duplicates", flat=True)) == [True, True]


def test_every_relation_to_a_case_is_moved_or_deliberately_left():
    # A new model pointing at cases must be placed here: moved with the history, or left with its case.
    left = {"crm.case", "crm.caseassignee", "crm.casetag", "crm.desiredconditions", "crm.duplicatecandidate", "crm.duplicatedismissal",
            "dedup.merge", "dedup.mergecase",
            # the 担当変更履歴 says what happened to the case it names, merged away since or not
            "crm.reassignmentcase"}
    moved = {model._meta.label_lower for _label, model in moved_models()}
    related = {relation.related_model._meta.label_lower for relation in Case._meta.get_fields(include_hidden=True)
               if relation.auto_created and not relation.concrete}
    assert related == moved | left


def test_a_pick_from_a_case_of_the_survivors_own_customer_keeps_the_survivors_value(company, org, company_admin):
    # given: the survivor and a second case of the same customer (linked earlier), and a third customer
    survivor = case_of(company, org["SBY"], name="佐藤 花子")
    linked = do_create_case(customer=survivor.customer, data=CaseInput(kind=CaseKind.BUY, owning_org=org["SBY"]), acting_user=None)
    other = case_of(company, org["SBY"], name="佐藤 華子")
    # when
    request = MergeRequest(survivor.pk, [linked.pk, other.pk], integrate=True, picks={"name": linked.pk, "kana": other.pk})
    plan = plan_merge(actor=actor_for(company_admin), request=request)
    do_merge_cases(acting_user=company_admin, request=request)
    # then
    assert [(row.name, row.result_value, row.source_case_id) for row in plan.customer_fields[:2]] == [
        ("name", "佐藤 花子", survivor.pk), ("kana", "サトウ ハナコ", other.pk)]
    assert plan.counts["customers_merged"] == 1
    assert fresh(survivor).customer.name == "佐藤 花子"


def test_another_companys_merge_is_not_found(company, org, company_admin, other_company):
    survivor, other = case_of(company, org["SBY"]), case_of(company, org["SBY"])
    merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True))
    with company_scope(other_company["company"]), pytest.raises(NotFound):
        do_undo_merge(acting_user=other_company["admin"], merge_id=merge.pk)
    assert Merge.objects.get(pk=merge.pk).undone_at is None


def test_the_queries_of_a_merge_do_not_grow_with_the_history(company, org, company_admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(activities: int) -> tuple[int, int]:
        # the same shape of candidates each time: a phone and an e-mail of this pair's own, and no other pair in the
        # database (rolled back after each count: the fuzzy rules would find the earlier pair by its reading)
        phone, email = f"090-0000-{activities:04d}", f"pair{activities}@example.jp"
        with transaction.atomic():
            survivor, other = case_of(company, org["SBY"], phone=phone, email=email), case_of(company, org["SJK"], phone=phone, email=email)
            add_history(survivor, activities=activities, open_visits=2)
            add_history(other, activities=activities, open_visits=2, introductions=activities)
            with CaptureQueriesContext(connection) as merged:
                merge = do_merge_cases(acting_user=company_admin, request=MergeRequest(survivor.pk, [other.pk], integrate=True, fill_empty=True))
            with CaptureQueriesContext(connection) as undone:
                do_undo_merge(acting_user=company_admin, merge_id=merge.pk)
            transaction.set_rollback(True)
        return len(merged), len(undone)

    # One refresh of the candidates each: its stored rows are read one side of the pair at a time (crm.duplicates.replace_pairs).
    # The undo writes the pair's candidates back through core.bulk.insert_rows: COPY on PostgreSQL, which Django does not count.
    assert queries(1) == queries(40) == ((51, 49) if connection.vendor == "sqlite" else (51, 48))
