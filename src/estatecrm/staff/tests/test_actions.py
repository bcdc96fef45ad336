"""Staff moves (issue 13): transfer, retirement, reassignment and undo, each rule against real data."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import ngettext

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.crm.actions import do_restore_case, do_update_case
from estatecrm.crm.choices import ActivityKind, ReassignmentKind
from estatecrm.crm.models import Activity, Case, CaseAssignee, Reassignment
from estatecrm.crm.selectors import access_case, case_list
from estatecrm.inquiries.actions import LineInput, SourceInput, do_create_source, do_set_line_channel
from estatecrm.staff import actions, error_codes
from estatecrm.staff.selectors import plan_for, primary_membership
from estatecrm.staff.tests.conftest import book
from estatecrm.tenancy.holds import default_assignee_roles, set_default_assignee_successor
from estatecrm.tenancy.models import Membership, User
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db


def state(office):
    """Everything a refused move must leave as it was."""
    company = office.company
    return (
        sorted(Membership.objects.for_company(company).values_list("user_id", "org_unit_id", "role", "is_primary")),
        sorted(Case.objects.for_company(company).values_list("pk", "main_assignee_id", "owning_org_id", "deleted_at")),
        sorted(CaseAssignee.objects.for_company(company).values_list("case_id", "user_id")),
        sorted(Activity.objects.for_company(company).values_list("pk", "actor_id", "org_unit_id")),
        Reassignment.objects.for_company(company).count(),
        AuditEvent.objects.for_company(company).count(),
        User.objects.get(pk=office.agent.pk).is_active,
    )


def main_of(case):
    return Case.objects.for_company(case.company_id).values_list("main_assignee_id", "owning_org_id", "deleted_at").get(pk=case.pk)


# ---------------------------------------------------------------------------------------------
# Transfer


def test_a_transfer_with_cases_moves_the_membership_the_cases_and_their_open_future_visits(office, soon, django_capture_on_commit_callbacks):
    # given: the agent is also a member of 新宿店 (kept), and has visits: open future, open past, done
    testing.make_case(office.company, office.units["SJK"], main_assignee=office.agent, customer_name="新宿 顧客",
                      phones=(("mobile", "090-4444-5555"),), emails=("sjk@example.jp",))
    from estatecrm.tenancy.actions import do_add_membership

    do_add_membership(user=office.agent, org_unit=office.units["SJK"], role="agent")
    office.agent.refresh_from_db()
    future = book(office, office.cases[0], soon)
    past = book(office, office.cases[0], timezone.now() - datetime.timedelta(days=1))
    done = book(office, office.cases[1], soon, done=True)
    address = "shibuya@acme.example.jp"
    User.objects.filter(pk=office.agent.pk).update(customer_mail_from=address)
    plan = plan_for(office.agent, to_unit=office.units["YKH"])
    assert (plan.case_count, plan.unsubscribed_count, plan.visit_count) == (3, 1, 1)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["YKH"], with_cases=True)
    # then
    ykh = office.units["YKH"].pk
    assert result.as_json() == {"cases_moved": 3, "cases_reassigned": 0, "cases_trashed": 0, "visits_moved": 1,
                                "sub_assignments_removed": 0, "refused": None, "reassignment_id": result.reassignment.pk}
    assert sorted(Membership.objects.for_company(office.company).filter(user=office.agent).values_list("org_unit__code", "role", "is_primary")) == [
        ("SJK", "agent", False), ("YKH", "agent", True)]
    assert [main_of(case) for case in office.cases] == [(office.agent.pk, ykh, None)] * 3
    assert Case.objects.for_company(office.company).get(customer__name="新宿 顧客").owning_org_id == office.units["SJK"].pk
    visits = dict(Activity.objects.for_company(office.company).values_list("pk", "org_unit_id"))
    assert (visits[future.pk], visits[past.pk], visits[done.pk]) == (ykh, office.units["SBY"].pk, office.units["SBY"].pk)
    assert User.objects.get(pk=office.agent.pk).customer_mail_from == address
    assert CaseAssignee.objects.for_company(office.company).filter(user=office.agent).count() == 1  # sub role kept
    assert mail.outbox == []  # nobody got new cases
    assert result.reassignment.kind == ReassignmentKind.TRANSFER


def test_agent_only_is_refused_while_cases_stay_behind_and_writes_nothing(office):
    # given
    before = state(office)
    # when
    with pytest.raises(ApplicationError) as refused:
        actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["YKH"])
    # then
    assert refused.value.code == error_codes.MISSING_REASSIGNMENT
    assert "3 cases" in refused.value.message
    assert state(office) == before


def test_agent_only_is_allowed_once_the_cases_have_another_main_assignee(office):
    # given
    actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=office.colleague)
    # when
    result = actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["YKH"])
    # then
    assert (result.cases_moved, result.cases_reassigned) == (0, 0)
    assert primary_membership(office.agent).org_unit_id == office.units["YKH"].pk
    assert [main_of(case)[:2] for case in office.cases] == [(office.colleague.pk, office.units["SBY"].pk)] * 3
    assert CaseAssignee.objects.for_company(office.company).filter(user=office.agent).count() == 1


def test_reassign_to_does_both_in_one_step_and_removes_sub_roles_when_asked(office, soon):
    # given
    visit = book(office, office.cases[2], soon)
    # when
    result = actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["YKH"],
                                       reassign_to=office.colleague, remove_sub_assignments=True)
    # then
    assert (result.cases_moved, result.cases_reassigned, result.visits_moved, result.sub_assignments_removed) == (0, 3, 1, 1)
    assert [main_of(case)[:2] for case in office.cases] == [(office.colleague.pk, office.units["SBY"].pk)] * 3
    assert Activity.objects.for_company(office.company).get(pk=visit.pk).actor_id == office.colleague.pk
    assert CaseAssignee.objects.for_company(office.company).filter(user=office.agent).count() == 0


def default_assignee_source(office):
    return do_create_source(company=office.company, acting_user=office.admin, data=SourceInput(
        code="suumo", name="SUUMO", org_unit=office.units["SBY"], default_assignee=office.agent))


@pytest.mark.parametrize("holder", ["source", "line"])
@pytest.mark.parametrize("move", ["transfer", "retire"])
def test_a_default_assignee_is_refused_by_name_until_a_successor_is_set(office, holder, move):
    # given
    if holder == "source":
        default_assignee_source(office)
    else:
        do_set_line_channel(company=office.company, acting_user=office.admin,
                            data=LineInput(org_unit=office.units["SBY"], default_assignee=office.agent,
                                          channel_secret="a" * 32, channel_access_token="b" * 40))
    before = state(office)

    def call():
        if move == "transfer":
            return actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["YKH"], with_cases=True)
        return actions.do_retire_agent(actor=office.actor(), agent=office.agent, reassign_to=office.colleague)

    # when
    with pytest.raises(ApplicationError) as refused:
        call()
    # then
    assert refused.value.code == error_codes.DEFAULT_ASSIGNEE
    [role] = default_assignee_roles(office.agent)
    assert role.label in refused.value.message
    assert "渋谷 一郎" in refused.value.message
    assert state(office) == before
    # and after a successor is set
    set_default_assignee_successor(company_id=office.company.pk, key=role.key, successor=office.colleague, acting_user=office.admin)
    assert call().refused is None


def test_not_unit_admin_is_refused_and_a_company_admin_may(office):
    before = state(office)
    attempts = [
        (office.sjk_admin, office.units["YKH"]),  # admin of another unit
        (office.sby_admin, office.units["YKH"]),  # admin of the agent's unit, not of the target
        (office.colleague, office.units["SJK"]),  # an agent
    ]
    for user, unit in attempts:
        with pytest.raises(PermissionDenied) as refused:
            actions.do_transfer_agent(actor=office.actor(user), agent=office.agent, to_unit=unit, with_cases=True)
        assert refused.value.code == error_codes.NOT_UNIT_ADMIN
        with pytest.raises(PermissionDenied):
            actions.do_retire_agent(actor=office.actor(user if user != office.sby_admin else office.sjk_admin), agent=office.agent,
                                    trash_cases=True)
    assert state(office) == before
    assert actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["YKH"], with_cases=True).cases_moved == 3


def test_an_admin_of_both_units_may_transfer(office):
    # given: the admin of 東京エリア administers 渋谷店 and 新宿店
    from estatecrm.tenancy.choices import Role

    area_admin = testing.make_user(office.company, office.units["TKY"], role=Role.ADMIN, email="tky@acme.example.jp")
    # when
    result = actions.do_transfer_agent(actor=office.actor(area_admin), agent=office.agent, to_unit=office.units["SJK"], with_cases=True)
    # then
    assert result.cases_moved == 3


def test_successor_checks(office, other_company):
    # given
    inactive = testing.make_user(office.company, office.units["SBY"], email="gone@acme.example.jp")
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    inactive.refresh_from_db()
    before = state(office)
    cases = [
        (inactive, error_codes.SUCCESSOR_INVALID),
        (other_company["admin"], error_codes.SUCCESSOR_INVALID),
        (office.agent, error_codes.SUCCESSOR_INVALID),
        (office.sjk_agent, error_codes.SUCCESSOR_CANNOT_SEE),
    ]
    for successor, code in cases:
        with pytest.raises(ApplicationError) as refused:
            actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["YKH"], reassign_to=successor)
        assert refused.value.code == code, successor
        with pytest.raises(ApplicationError) as refused:
            actions.do_retire_agent(actor=office.actor(), agent=office.agent, reassign_to=successor)
        assert refused.value.code == code, successor
    assert state(office) == before


def test_after_a_reassignment_in_an_assignees_unit_only_the_new_main_assignee_of_its_agents_sees_the_case(office):
    # given: a case of 新宿店 (assignees visibility) held by its agent
    sjk = office.units["SJK"]
    newcomer = testing.make_user(office.company, sjk, email="new@acme.example.jp", name="新宿 四郎")
    case = testing.make_case(office.company, sjk, main_assignee=office.sjk_agent, customer_name="新宿 顧客",
                             phones=(("mobile", "090-4444-5555"),), emails=("sjk@example.jp",))
    assert case_list(actor=office.actor(office.sjk_agent)).filter(pk=case.pk).exists()
    # when
    actions.do_reassign_cases(actor=office.actor(office.sjk_admin), from_user=office.sjk_agent, to_user=newcomer)
    # then
    assert not case_list(actor=office.actor(office.sjk_agent)).filter(pk=case.pk).exists()
    with pytest.raises(Exception) as hidden:
        access_case(office.actor(office.sjk_agent), case.pk)
    assert type(hidden.value).__name__ == "NotFound"
    assert access_case(office.actor(newcomer), case.pk).pk == case.pk


# ---------------------------------------------------------------------------------------------
# 担当者変更のお知らせ


def test_the_new_main_assignee_is_mailed_the_cases_in_japanese_after_commit(office, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=office.colleague,
                                  case_ids=[office.cases[0].pk, office.cases[1].pk], handover_note="鍵は店長に")
    assert mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    # then
    [message] = mail.outbox
    assert message.to == ["colleague@acme.example.jp"]
    with translation.override(settings.LANGUAGE_CODE):  # the company's language (ja), not the test's (en)
        subject = ngettext("Change of assignee: %(count)s case is now yours", "Change of assignee: %(count)s cases are now yours", 2) % {
            "count": 2}
    assert message.subject == subject
    for case in office.cases[:2]:
        assert f"#{case.number} {case.customer.name}" in message.body
    assert f"#{office.cases[2].number} " not in message.body
    assert "鍵は店長に" in message.body
    assert "渋谷 一郎" in message.body


@pytest.mark.parametrize("why", ["mail_off", "self", "inactive"])
def test_no_mail_when_turned_off_self_made_or_inactive(office, why, django_capture_on_commit_callbacks):
    # given
    from estatecrm.tenancy.choices import Role

    to_user, acting = office.colleague, office.admin
    if why == "mail_off":
        User.objects.filter(pk=to_user.pk).update(assignment_mail=False)
    elif why == "self":
        to_user = acting = testing.make_user(office.company, office.units["SBY"], role=Role.ADMIN, email="x@acme.example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        record = actions.do_reassign_cases(actor=office.actor(acting), from_user=office.agent, to_user=to_user).reassignment
        if why == "inactive":
            User.objects.filter(pk=to_user.pk).update(is_active=False)
    # then
    assert record.cases_reassigned == 3
    assert mail.outbox == []


# ---------------------------------------------------------------------------------------------
# Handover note


def test_the_handover_note_is_one_activity_on_each_case_timeline(office):
    # when
    actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["YKH"], reassign_to=office.colleague,
                              handover_note="  来週の内見は鍵の手配済み  ")
    # then
    notes = Activity.objects.for_company(office.company).filter(kind=ActivityKind.HANDOVER)
    assert sorted(notes.values_list("case_id", "body", "actor_id")) == [
        (case.pk, "来週の内見は鍵の手配済み", office.admin.pk) for case in office.cases]
    assert not notes.filter(case=office.other_case).exists()


def test_a_too_long_handover_note_is_refused(office):
    before = state(office)
    with pytest.raises(ApplicationError) as refused:
        actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=office.colleague,
                                  handover_note="あ" * (actions.HANDOVER_NOTE_MAX_LENGTH + 1))
    assert refused.value.code == error_codes.HANDOVER_NOTE_TOO_LONG
    assert state(office) == before


# ---------------------------------------------------------------------------------------------
# Retirement


def can_log_in(user) -> bool:
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    return authenticate(RequestFactory().post("/login/"), username=user.email, password="pass-Word-123") is not None


def test_retire_reassigning_deactivates_revokes_and_keeps_the_name(office, soon):
    # given
    visit = book(office, office.cases[0], soon)
    _token, clear = do_create_api_token(user=office.agent, name="スマホ", acting_user=office.agent)
    assert can_log_in(office.agent)
    # when
    result = actions.do_retire_agent(actor=office.actor(), agent=office.agent, reassign_to=office.colleague)
    # then
    assert result.as_json() | {"reassignment_id": None} == {
        "cases_moved": 0, "cases_reassigned": 3, "cases_trashed": 0, "visits_moved": 1, "sub_assignments_removed": 1,
        "refused": None, "reassignment_id": None}
    agent = User.objects.get(pk=office.agent.pk)
    assert agent.is_active is False
    assert not can_log_in(agent)
    from estatecrm.tenancy.tokens import authenticate_api_token

    assert authenticate_api_token(clear) is None
    assert [main_of(case)[0] for case in office.cases] == [office.colleague.pk] * 3
    assert Activity.objects.for_company(office.company).get(pk=visit.pk).actor_id == office.colleague.pk
    assert CaseAssignee.objects.for_company(office.company).filter(user=office.agent).count() == 0
    record = Reassignment.objects.for_company(office.company).get(pk=result.reassignment.pk)
    assert (record.kind, record.agent.name) == (ReassignmentKind.RETIRE, "渋谷 一郎")


def test_retire_to_the_trash_keeps_the_cases_restorable(office):
    # when
    result = actions.do_retire_agent(actor=office.actor(), agent=office.agent, trash_cases=True)
    # then
    assert (result.cases_trashed, result.cases_reassigned) == (3, 0)
    assert all(main_of(case)[2] is not None for case in office.cases)
    assert [main_of(case)[0] for case in office.cases] == [office.agent.pk] * 3  # the history keeps whose they were
    case = Case.objects.for_company(office.company).get(pk=office.cases[1].pk)
    assert do_restore_case(case=case, acting_user=office.admin) is True
    assert main_of(case)[2] is None


def test_retire_refusals_write_nothing(office):
    from estatecrm.tenancy.choices import Role

    second = testing.make_user(office.company, office.units["HQ"], role=Role.ADMIN, email="second@acme.example.jp")
    User.objects.filter(pk=second.pk).update(is_active=False)
    before = state(office)
    refusals = [
        (dict(), error_codes.MISSING_REASSIGNMENT),
        (dict(reassign_to=office.colleague, trash_cases=True), error_codes.CONFLICTING_CHOICE),
    ]
    for kwargs, code in refusals:
        with pytest.raises(ApplicationError) as refused:
            actions.do_retire_agent(actor=office.actor(), agent=office.agent, **kwargs)
        assert refused.value.code == code
    with pytest.raises(ApplicationError) as refused:
        actions.do_retire_agent(actor=office.actor(), agent=office.admin, trash_cases=True)
    assert refused.value.code == error_codes.CANNOT_RETIRE_SELF
    # the last company admin, retired by another admin who is not a company admin
    hq_unit_admin = office.sby_admin
    with pytest.raises((ApplicationError, PermissionDenied)):
        actions.do_retire_agent(actor=office.actor(hq_unit_admin), agent=office.admin, trash_cases=True)
    # the last active company admin cannot leave the company's top unit either
    with pytest.raises(ApplicationError) as refused:
        actions.do_transfer_agent(actor=office.actor(), agent=office.admin, to_unit=office.units["SBY"])
    assert refused.value.code == "last_company_admin"
    assert state(office) == before


# ---------------------------------------------------------------------------------------------
# Reassignment


def test_reassign_only_the_chosen_cases(office):
    result = actions.do_reassign_cases(actor=office.actor(office.sby_admin), from_user=office.agent, to_user=office.colleague,
                                       case_ids=[office.cases[2].pk])
    assert result.cases_reassigned == 1
    assert [main_of(case)[0] for case in office.cases] == [office.agent.pk, office.agent.pk, office.colleague.pk]


def test_reassign_refusals_write_nothing(office):
    # given
    trashed = testing.make_case(office.company, office.units["SBY"], main_assignee=office.agent, customer_name="ゴミ 箱",
                                phones=(("mobile", "090-5555-6666"),), emails=("trash@example.jp",))
    Case.objects.for_company(office.company).filter(pk=trashed.pk).update(deleted_at=timezone.now())
    sjk_case = testing.make_case(office.company, office.units["SJK"], main_assignee=office.agent, customer_name="新宿 顧客",
                                 phones=(("mobile", "090-4444-5555"),), emails=("sjk@example.jp",))
    before = state(office)
    attempts = [
        (office.admin, [office.cases[0].pk, office.other_case.pk], error_codes.NOT_MAIN_ASSIGNEE),
        (office.admin, [office.cases[0].pk, trashed.pk], error_codes.NOT_MAIN_ASSIGNEE),
        (office.sby_admin, [office.cases[0].pk, sjk_case.pk], error_codes.NOT_UNIT_ADMIN),
        (office.colleague, [office.cases[0].pk], error_codes.NOT_UNIT_ADMIN),
    ]
    for user, case_ids, code in attempts:
        with pytest.raises((ApplicationError, PermissionDenied)) as refused:
            actions.do_reassign_cases(actor=office.actor(user), from_user=office.agent, to_user=office.colleague, case_ids=case_ids)
        assert refused.value.code == code
    assert state(office) == before


def test_reassign_all_of_an_org_admin_leaves_other_units_cases(office):
    # given
    sjk_case = testing.make_case(office.company, office.units["SJK"], main_assignee=office.agent, customer_name="新宿 顧客",
                                 phones=(("mobile", "090-4444-5555"),), emails=("sjk@example.jp",))
    # when
    result = actions.do_reassign_cases(actor=office.actor(office.sby_admin), from_user=office.agent, to_user=office.colleague)
    # then
    assert result.cases_reassigned == 3
    assert main_of(sjk_case)[0] == office.agent.pk


def test_one_record_and_one_audit_event_per_case_and_for_the_record(office):
    # when
    result = actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=office.colleague)
    # then
    events = AuditEvent.objects.for_company(office.company).filter(verb=ReassignmentKind.REASSIGN)
    assert Reassignment.objects.for_company(office.company).count() == 1
    assert sorted(events.values_list("object_id", flat=True)) == sorted(
        [str(case.pk) for case in office.cases] + [str(result.reassignment.pk)])


def test_chunks_of_the_engine(office, monkeypatch, soon):
    # given
    from estatecrm.crm import reassignment

    monkeypatch.setattr(reassignment, "CHUNK", 2)
    visits = [book(office, case, soon) for case in office.cases]
    # when
    result = actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=office.colleague)
    # then
    assert (result.cases_reassigned, result.visits_moved) == (3, 3)
    assert set(Activity.objects.for_company(office.company).filter(pk__in=[v.pk for v in visits]).values_list("actor_id", flat=True)) == {
        office.colleague.pk}


# ---------------------------------------------------------------------------------------------
# Undo


def test_undo_gives_back_cases_visits_and_the_dropped_sub_role(office, soon, django_capture_on_commit_callbacks):
    # given: the colleague was a sub-assignee of cases[0]; a visit moves with it and another is completed since
    CaseAssignee.objects.create(company_id=office.company.pk, case_id=office.cases[0].pk, user=office.colleague, position=0)
    still_open = book(office, office.cases[0], soon)
    completed = book(office, office.cases[1], soon)
    record = actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=office.colleague).reassignment
    assert not CaseAssignee.objects.for_company(office.company).filter(case=office.cases[0], user=office.colleague).exists()
    Activity.objects.for_company(office.company).filter(pk=completed.pk).update(is_done=True)
    mail.outbox.clear()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = actions.do_undo_reassignment(actor=office.actor(), reassignment=record)
    # then
    assert result.cases_reassigned == 3
    assert [main_of(case)[0] for case in office.cases] == [office.agent.pk] * 3
    visits = dict(Activity.objects.for_company(office.company).values_list("pk", "actor_id"))
    assert (visits[still_open.pk], visits[completed.pk]) == (office.agent.pk, office.colleague.pk)
    assert CaseAssignee.objects.for_company(office.company).filter(case=office.cases[0], user=office.colleague).exists()
    assert [message.to for message in mail.outbox] == [[office.agent.email]]
    assert Reassignment.objects.for_company(office.company).get(pk=record.pk).undone_at is not None


def test_undo_refusals(office, monkeypatch):
    # given
    transfer = actions.do_transfer_agent(actor=office.actor(), agent=office.agent, to_unit=office.units["SJK"], with_cases=True,
                                         ).reassignment
    from estatecrm.tenancy.choices import Role

    with pytest.raises(ApplicationError) as refused:
        actions.do_undo_reassignment(actor=office.actor(), reassignment=transfer)
    assert refused.value.code == "undo_not_reassignment"
    newcomer = testing.make_user(office.company, office.units["SJK"], email="n@acme.example.jp", role=Role.AGENT)
    third = testing.make_user(office.company, office.units["SJK"], email="t@acme.example.jp", role=Role.AGENT)
    record = actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=newcomer).reassignment

    def refused_code(record, **kwargs):
        with pytest.raises(ApplicationError) as refused:
            actions.do_undo_reassignment(actor=office.actor(), reassignment=record)
        return refused.value.code

    # after 30 days
    from estatecrm.crm.models import REASSIGNMENT_UNDO_DAYS

    Reassignment.objects.for_company(office.company).filter(pk=record.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=REASSIGNMENT_UNDO_DAYS, minutes=1))
    assert refused_code(record) == "undo_expired"
    Reassignment.objects.for_company(office.company).filter(pk=record.pk).update(created_at=timezone.now())
    # a case edited since
    case = Case.objects.for_company(office.company).get(pk=office.cases[0].pk)
    do_update_case(case=case, changes={"main_assignee": third}, acting_user=office.admin)
    assert refused_code(record) == "reassigned_since"
    do_update_case(case=case, changes={"main_assignee": newcomer}, acting_user=office.admin)  # back, but a later record exists
    assert refused_code(record) == "reassigned_since"


def test_undo_refused_when_reassigned_again_or_the_previous_assignee_left(office):
    # given
    first = actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=office.colleague,
                                      case_ids=[office.cases[0].pk]).reassignment
    actions.do_reassign_cases(actor=office.actor(), from_user=office.colleague, to_user=office.sby_admin, case_ids=[office.cases[0].pk])
    second = actions.do_reassign_cases(actor=office.actor(), from_user=office.agent, to_user=office.colleague,
                                       case_ids=[office.cases[1].pk]).reassignment
    # when / then
    with pytest.raises(ApplicationError) as refused:
        actions.do_undo_reassignment(actor=office.actor(), reassignment=first)
    assert refused.value.code == "reassigned_since"
    User.objects.filter(pk=office.agent.pk).update(is_active=False)
    with pytest.raises(ApplicationError) as refused:
        actions.do_undo_reassignment(actor=office.actor(), reassignment=second)
    assert refused.value.code == "undo_inactive_assignee"
    User.objects.filter(pk=office.agent.pk).update(is_active=True)
    actions.do_undo_reassignment(actor=office.actor(), reassignment=second)
    with pytest.raises(ApplicationError) as refused:
        actions.do_undo_reassignment(actor=office.actor(), reassignment=second)
    assert refused.value.code == "undo_already"
