import pytest

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.crm.choices import DuplicateRule, SharedValueMarking
from estatecrm.crm.models import (
    Case,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
    SharedContactValue,
)
from estatecrm.dedup import actions

pytestmark = pytest.mark.django_db


def candidate_rows(company) -> set[tuple[int, int, str]]:
    return set(DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule"))


def flags(*cases) -> list[bool]:
    return [Case.objects.unscoped().get(pk=case.pk).has_duplicates for case in cases]


@pytest.fixture
def pair(company, org, agent):
    """Two cases of SBY, the agent's, whose customers share a phone and an e-mail (make_case's defaults)."""
    first = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")
    second = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 はなこ")
    return first, second


def test_dismiss_pair_removes_every_rule_of_the_pair_and_the_flags(company, agent, pair):
    # given
    first, second = pair
    assert candidate_rows(company) == {(first.pk, second.pk, "phone"), (first.pk, second.pk, "email")}
    # when
    with company_scope(company):
        dismissal = actions.do_dismiss_pair(company_id=company.pk, acting_user=agent, case_x=second.pk, case_y=first.pk)
    # then
    assert (dismissal.case_a_id, dismissal.case_b_id, dismissal.dismissed_by_id) == (first.pk, second.pk, agent.pk)
    assert candidate_rows(company) == set()
    assert flags(first, second) == [False, False]
    event = AuditEvent.objects.for_company(company).get(verb="dismiss_duplicate")
    assert event.after == {"case_a": first.pk, "case_b": second.pk, "rules": ["email", "phone"]}


def test_dismiss_pair_twice_writes_nothing_the_second_time(company, agent, pair):
    # given
    first, second = pair
    with company_scope(company):
        actions.do_dismiss_pair(company_id=company.pk, acting_user=agent, case_x=first.pk, case_y=second.pk)
        # when
        actions.do_dismiss_pair(company_id=company.pk, acting_user=agent, case_x=first.pk, case_y=second.pk)
    # then
    assert DuplicateDismissal.objects.for_company(company).count() == 1
    assert AuditEvent.objects.for_company(company).filter(verb="dismiss_duplicate").count() == 1


def test_dismissed_pair_stays_out_when_the_customer_changes_again(company, org, agent, pair):
    # given: a dismissed pair
    first, second = pair
    with company_scope(company):
        actions.do_dismiss_pair(company_id=company.pk, acting_user=agent, case_x=first.pk, case_y=second.pk)
    # when: a third case with the same phone arrives
    third = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花")
    # then: the third pairs with both, the dismissed pair does not come back
    assert {(a, b) for a, b, _rule in candidate_rows(company)} == {(first.pk, third.pk), (second.pk, third.pk)}


def test_undo_dismissal_brings_the_pair_back(company, agent, pair):
    # given
    first, second = pair
    with company_scope(company):
        dismissal = actions.do_dismiss_pair(company_id=company.pk, acting_user=agent, case_x=first.pk, case_y=second.pk)
        # when
        actions.do_undo_dismissal(company_id=company.pk, acting_user=agent, dismissal_id=dismissal.pk)
    # then
    assert candidate_rows(company) == {(first.pk, second.pk, "phone"), (first.pk, second.pk, "email")}
    assert flags(first, second) == [True, True]
    assert DuplicateDismissal.objects.for_company(company).count() == 0
    assert AuditEvent.objects.for_company(company).filter(verb="undo_dismiss_duplicate").count() == 1


def test_agent_may_not_dismiss_a_pair_with_a_case_they_are_not_assigned_to(company, org, agent):
    # given: the agent sees both cases of SBY (org visibility) but is assigned to one only
    colleague = testing.make_user(company, org["SBY"], name="渋谷 同僚")
    own = testing.make_case(company, org["SBY"], main_assignee=agent)
    theirs = testing.make_case(company, org["SBY"], main_assignee=colleague)
    # when / then
    with company_scope(company), pytest.raises(PermissionDenied) as refused:
        actions.do_dismiss_pair(company_id=company.pk, acting_user=agent, case_x=own.pk, case_y=theirs.pk)
    assert f"#{theirs.number}" in refused.value.message
    assert DuplicateDismissal.objects.for_company(company).count() == 0
    assert len(candidate_rows(company)) == 2


def test_dismiss_pair_of_another_company_is_not_found(company, org, agent, other_company, pair):
    # given
    first, _second = pair
    # when / then
    with company_scope(company), pytest.raises(NotFound):
        actions.do_dismiss_pair(company_id=company.pk, acting_user=agent, case_x=first.pk, case_y=other_company["case"].pk)
    assert DuplicateDismissal.objects.unscoped().count() == 0


def test_marking_a_phone_shared_removes_its_candidates_and_personal_brings_them_back(company, org, agent, company_admin):
    # given: two customers sharing only a phone
    first = testing.make_case(company, org["SBY"], main_assignee=agent, emails=("a@example.jp",))
    second = testing.make_case(company, org["SBY"], main_assignee=agent, emails=("b@example.jp",))
    assert candidate_rows(company) == {(first.pk, second.pk, "phone")}
    # when
    with company_scope(company):
        actions.do_mark_shared_value(company_id=company.pk, acting_user=company_admin, value="090-1234-5678", marking=SharedValueMarking.SHARED,
                                     note="代表番号")
    # then
    assert candidate_rows(company) == set()
    assert flags(first, second) == [False, False]
    assert list(SharedContactValue.objects.for_company(company).values_list("normalized", "marking", "note")) == [
        ("+819012345678", "shared", "代表番号")]
    # when: taken back
    with company_scope(company):
        actions.do_mark_shared_value(company_id=company.pk, acting_user=company_admin, value="+81 90 1234 5678", marking="")
    # then
    assert candidate_rows(company) == {(first.pk, second.pk, "phone")}
    assert SharedContactValue.objects.for_company(company).count() == 0
    assert AuditEvent.objects.for_company(company).filter(verb="mark_shared_value").count() == 2


def test_marking_a_value_personal_overrides_the_threshold(company, org, agent, company_admin):
    # given: the threshold at 2: the phone of two customers is shared
    DuplicateSettings.objects.create(company=company, shared_threshold=2)
    first = testing.make_case(company, org["SBY"], main_assignee=agent, emails=("a@example.jp",))
    second = testing.make_case(company, org["SBY"], main_assignee=agent, emails=("b@example.jp",))
    assert candidate_rows(company) == set()
    # when
    with company_scope(company):
        actions.do_mark_shared_value(company_id=company.pk, acting_user=company_admin, value="09012345678", marking=SharedValueMarking.PERSONAL)
    # then
    assert candidate_rows(company) == {(first.pk, second.pk, "phone")}


def test_agent_may_not_mark_a_shared_value(company, agent):
    with company_scope(company), pytest.raises(PermissionDenied):
        actions.do_mark_shared_value(company_id=company.pk, acting_user=agent, value="090-1234-5678", marking=SharedValueMarking.SHARED)
    assert SharedContactValue.objects.for_company(company).count() == 0


def test_marking_text_that_is_no_phone_or_e_mail_is_refused(company, company_admin):
    with company_scope(company), pytest.raises(ApplicationError) as refused:
        actions.do_mark_shared_value(company_id=company.pk, acting_user=company_admin, value="abc", marking=SharedValueMarking.SHARED)
    assert refused.value.fields == {"value": ["Enter a phone number or an e-mail address."]}


def test_turning_a_rule_off_removes_its_candidates(company, org, agent, company_admin, pair, django_capture_on_commit_callbacks):
    # given
    first, second = pair
    change = actions.SettingsChange(enabled_rules=[DuplicateRule.EMAIL, DuplicateRule.KANA_BIRTH], shared_threshold=5, fuzzy_min_score=0.9)
    # when
    with company_scope(company), django_capture_on_commit_callbacks(execute=True):
        saved = actions.do_update_duplicate_settings(company_id=company.pk, acting_user=company_admin, change=change)
    # then
    assert (saved.enabled_rules, saved.shared_threshold, saved.fuzzy_min_score) == (["email", "kana_birth"], 5, 0.9)
    assert candidate_rows(company) == {(first.pk, second.pk, "email")}
    assert AuditEvent.objects.for_company(company).filter(verb="update", object_type="crm.duplicatesettings").count() == 1


def test_saving_the_same_settings_writes_nothing(company, company_admin):
    change = actions.SettingsChange(enabled_rules=list(DuplicateRule.values), shared_threshold=5, fuzzy_min_score=0.85)
    with company_scope(company):
        actions.do_update_duplicate_settings(company_id=company.pk, acting_user=company_admin, change=change)
    assert DuplicateSettings.objects.for_company(company).count() == 0
    assert AuditEvent.objects.for_company(company).filter(object_type="crm.duplicatesettings").count() == 0


@pytest.mark.parametrize("user", ["agent", "org_admin"])
def test_only_a_company_admin_changes_the_settings(company, org, agent, user):
    from estatecrm.tenancy.choices import Role

    actor = agent if user == "agent" else testing.make_user(company, org["SBY"], role=Role.ADMIN, name="渋谷 店長")
    change = actions.SettingsChange(enabled_rules=[], shared_threshold=5, fuzzy_min_score=0.85)
    with company_scope(company), pytest.raises(PermissionDenied):
        actions.do_update_duplicate_settings(company_id=company.pk, acting_user=actor, change=change)
    assert DuplicateSettings.objects.for_company(company).count() == 0


def test_a_threshold_below_two_is_refused(company, company_admin):
    change = actions.SettingsChange(enabled_rules=[], shared_threshold=1, fuzzy_min_score=0.85)
    with company_scope(company), pytest.raises(ApplicationError) as refused:
        actions.do_update_duplicate_settings(company_id=company.pk, acting_user=company_admin, change=change)
    assert list(refused.value.fields) == ["shared_threshold"]
    assert DuplicateSettings.objects.for_company(company).count() == 0
