"""`estatecrm staff`: the issue's three commands (exact), their refusals (one line, exit 2, nothing written) and
`--json`; plan, undo and history."""

import datetime
import io
import json
import subprocess
import sys

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm import actions as crm_actions
from estatecrm.crm.models import Activity, Case, Customer, Reassignment
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import Membership, User
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

JSON_KEYS = ["cases_moved", "cases_reassigned", "cases_trashed", "visits_moved", "sub_assignments_removed", "refused",
             "reassignment_id"]


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("staff", *args, stdout=out, stderr=err)
    return out.getvalue()


def refused(*args):
    """Run a command that must refuse: (its exit code, its message, the JSON it printed or None)."""
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("staff", *args, stdout=out, stderr=io.StringIO())
    printed = out.getvalue()
    return raised.value.returncode, str(raised.value), json.loads(printed) if printed else None


@pytest.fixture
def office(company, org, company_admin, agent):
    """渋谷店's agent with 3 live cases (one customer unsubscribed, one case with a future visit appointment), a
    colleague in 渋谷店 and a store manager of 新宿店 (who administers none of 渋谷店)."""
    colleague = testing.make_user(company, org["SBY"], email="colleague@acme.example.jp", name="渋谷 二郎")
    sjk_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp", name="新宿 店長")
    cases = [testing.make_case(company, org["SBY"], main_assignee=agent, customer_name=name) for name in ("顧客 一", "顧客 二", "顧客 三")]
    Customer.objects.for_company(company).filter(pk=cases[1].customer_id).update(is_unsubscribed=True)
    with company_scope(company):
        crm_actions.do_book_visit(actor=actor_for(company_admin), case=cases[0], visit_at=timezone.now() + datetime.timedelta(days=3))
    return {"agent": agent, "colleague": colleague, "sjk_admin": sjk_admin, "cases": cases}


def footprint(company):
    """What a refused command must leave as it was."""
    cases = Case.objects.for_company(company)
    return (list(cases.order_by("pk").values_list("pk", "main_assignee_id", "owning_org_id", "deleted_at")),
            list(Membership.objects.for_company(company).order_by("pk").values_list("pk", "user_id", "org_unit_id", "role")),
            list(User.objects.filter(company=company).order_by("pk").values_list("pk", "is_active")),
            Reassignment.objects.for_company(company).count(), AuditEvent.objects.for_company(company).count(),
            Activity.objects.for_company(company).count())


def make_default_assignee(company, org, user):
    from estatecrm.inquiries.models import InquirySource

    return InquirySource.objects.create(company=company, code="suumo", name="SUUMO", org_unit=org["SBY"], default_assignee=user)


# ---------------------------------------------------------------------------------------------
# Refusals: one line, exit 2, nothing written, `refused` in the JSON


def test_a_transfer_of_a_default_assignee_is_refused_with_exit_2_and_writes_nothing(company, org, office):
    # given
    make_default_assignee(company, org, office["agent"])
    before = footprint(company)
    # when
    code, message, printed = refused("transfer", "agent@acme.example.jp", "--company", "acme", "--to", "SJK", "--as", "admin@acme.example.jp",
                                     "--with-cases", "--json")
    # then
    assert (code, printed) == (2, {"cases_moved": 0, "cases_reassigned": 0, "cases_trashed": 0, "visits_moved": 0,
                                   "sub_assignments_removed": 0, "refused": "default_assignee", "reassignment_id": None,
                                   "message": message})
    assert message == "渋谷 一郎 is the default assignee of Inquiry source SUUMO: set a successor there first."
    assert "\n" not in message
    assert footprint(company) == before


def test_a_retirement_of_a_default_assignee_is_refused_with_exit_2(company, org, office):
    make_default_assignee(company, org, office["agent"])
    before = footprint(company)
    code, _message, printed = refused("retire", "agent@acme.example.jp", "--company", "acme", "--as", "admin@acme.example.jp",
                                      "--trash-cases", "--json")
    assert (code, printed["refused"], printed["cases_trashed"]) == (2, "default_assignee", 0)
    assert footprint(company) == before


def test_a_transfer_of_an_agent_only_with_cases_left_behind_is_refused_as_missing_reassignment(company, office):
    before = footprint(company)
    code, message, printed = refused("transfer", "agent@acme.example.jp", "--company", "acme", "--to", "SJK", "--as", "admin@acme.example.jp",
                                     "--json")
    assert (code, printed["refused"]) == (2, "missing_reassignment")
    assert message == ("渋谷 一郎 is the main assignee of 3 cases that would stay behind: move them with them or give them another main "
                       "assignee first.")
    assert footprint(company) == before


def test_a_retirement_without_a_choice_for_the_cases_is_refused_as_missing_reassignment(company, office):
    before = footprint(company)
    code, message, printed = refused("retire", "agent@acme.example.jp", "--company", "acme", "--as", "admin@acme.example.jp", "--json")
    assert (code, printed["refused"]) == (2, "missing_reassignment")
    assert message == "渋谷 一郎 is the main assignee of 3 cases: reassign them to someone or move them to the trash."
    assert footprint(company) == before


@pytest.mark.parametrize("args", [
    ("transfer", "agent@acme.example.jp", "--company", "acme", "--to", "SJK", "--with-cases"),
    ("retire", "agent@acme.example.jp", "--company", "acme", "--trash-cases"),
], ids=["transfer", "retire"])
def test_an_admin_of_another_unit_is_refused_as_not_unit_admin(company, office, args):
    # given: 新宿店's manager administers none of 渋谷店
    before = footprint(company)
    # when
    code, message, printed = refused(*args, "--as", "sjk-admin@acme.example.jp", "--json")
    # then
    assert (code, printed["refused"]) == (2, "not_unit_admin")
    assert message == "Only an administrator of the agent's unit (or a company administrator) can do this."
    assert footprint(company) == before


def test_a_reassignment_of_named_cases_by_an_admin_of_another_unit_is_refused_as_not_unit_admin(company, office):
    before = footprint(company)
    ids = ",".join(str(case.pk) for case in office["cases"][:2])
    code, message, printed = refused("reassign", "--company", "acme", "--as", "sjk-admin@acme.example.jp", "--from", "agent@acme.example.jp",
                                     "--to", "colleague@acme.example.jp", "--cases", ids, "--json")
    assert (code, printed["refused"], printed["cases_reassigned"]) == (2, "not_unit_admin", 0)
    assert footprint(company) == before


def test_a_reassignment_of_all_cases_by_an_admin_of_another_unit_is_refused_as_not_unit_admin(company, office):
    # given: 新宿店's manager administers none of the agent's cases
    before = footprint(company)
    # when
    code, _message, printed = refused("reassign", "--company", "acme", "--as", "sjk-admin@acme.example.jp", "--from", "agent@acme.example.jp",
                                      "--to", "colleague@acme.example.jp", "--json")
    # then
    assert (code, printed["refused"], printed["cases_reassigned"]) == (2, "not_unit_admin", 0)
    assert footprint(company) == before


def test_an_agent_is_refused_as_not_unit_admin(company, office):
    before = footprint(company)
    code, _message, printed = refused("reassign", "--company", "acme", "--as", "colleague@acme.example.jp", "--from", "agent@acme.example.jp",
                                      "--to", "colleague@acme.example.jp", "--json")
    assert (code, printed["refused"]) == (2, "not_unit_admin")
    assert footprint(company) == before


@pytest.mark.parametrize(("args", "expected"), [
    (("transfer", "nobody@acme.example.jp", "--company", "acme", "--to", "SJK", "--as", "admin@acme.example.jp", "--with-cases"),
     "EMAIL: no user nobody@acme.example.jp in company acme"),
    (("transfer", "agent@acme.example.jp", "--company", "acme", "--to", "NOWHERE", "--as", "admin@acme.example.jp", "--with-cases"),
     "--to: no unit NOWHERE in company acme"),
    (("retire", "agent@acme.example.jp", "--company", "nope", "--as", "admin@acme.example.jp", "--trash-cases"), "Unknown company: nope"),
    (("retire", "agent@acme.example.jp", "--company", "acme", "--as", "admin@other.example.jp", "--trash-cases"),
     "No user admin@other.example.jp in company acme"),
    (("reassign", "--company", "acme", "--as", "admin@acme.example.jp", "--from", "agent@acme.example.jp", "--to", "admin@other.example.jp"),
     "--to: no user admin@other.example.jp in company acme"),
], ids=["user", "unit", "company", "as-of-another-company", "to-of-another-company"])
def test_unknown_users_units_and_companies_are_refused_with_exit_2(company, office, other_company, args, expected):
    before = footprint(company)
    code, message, printed = refused(*args, "--json")
    assert (code, message, printed["refused"]) == (2, expected, "not_found")
    assert footprint(company) == before


def test_a_case_of_another_agent_or_company_is_refused_and_nothing_is_reassigned(company, org, office, other_company):
    # given: one of the agent's cases, one of the colleague's, one of company B
    theirs = testing.make_case(company, org["SBY"], main_assignee=office["colleague"])
    before = footprint(company)
    for case_id in (theirs.pk, other_company["case"].pk):
        # when
        code, message, printed = refused("reassign", "--company", "acme", "--as", "admin@acme.example.jp", "--from", "agent@acme.example.jp",
                                         "--to", "colleague@acme.example.jp", "--cases", f"{office['cases'][0].pk},{case_id}", "--json")
        # then
        assert (code, printed["refused"]) == (2, "not_main_assignee")
        assert message == "Some of these cases are not live cases of 渋谷 一郎; nothing was changed."
    assert footprint(company) == before


def test_without_json_a_refusal_prints_nothing_on_stdout(company, office):
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("staff", "retire", "agent@acme.example.jp", "--company", "acme", "--as", "admin@acme.example.jp", stdout=out)
    assert (raised.value.returncode, out.getvalue()) == (2, "")


# ---------------------------------------------------------------------------------------------
# Successes


def test_a_transfer_with_cases_moves_the_agent_and_their_cases(company, org, office):
    # when
    printed = json.loads(call("transfer", "agent@acme.example.jp", "--company", "acme", "--to", "SJK", "--as", "admin@acme.example.jp",
                              "--with-cases", "--handover-note", "よろしくお願いします", "--json"))
    # then
    record = Reassignment.objects.for_company(company).get()
    assert list(printed) == JSON_KEYS
    assert printed == {"cases_moved": 3, "cases_reassigned": 0, "cases_trashed": 0, "visits_moved": 1, "sub_assignments_removed": 0,
                       "refused": None, "reassignment_id": record.pk}
    assert (record.kind, record.handover_note) == ("transfer", "よろしくお願いします")
    assert sorted(Case.objects.for_company(company).values_list("owning_org__code", "main_assignee__email")) == [
        ("SJK", "agent@acme.example.jp")] * 3
    assert list(Membership.objects.for_company(company).filter(user=office["agent"]).values_list("org_unit__code", "is_primary")) == [
        ("SJK", True)]


def test_a_transfer_of_the_agent_only_reassigns_the_cases_and_their_visits(company, org, office):
    # when: the unit by its name
    printed = json.loads(call("transfer", "agent@acme.example.jp", "--company", "acme", "--to", "新宿店", "--as", "admin@acme.example.jp",
                              "--reassign-to", "colleague@acme.example.jp", "--json"))
    # then
    assert {key: printed[key] for key in JSON_KEYS[:-1]} == {"cases_moved": 0, "cases_reassigned": 3, "cases_trashed": 0, "visits_moved": 1,
                                                             "sub_assignments_removed": 0, "refused": None}
    assert sorted(Case.objects.for_company(company).values_list("owning_org__code", "main_assignee__email")) == [
        ("SBY", "colleague@acme.example.jp")] * 3


def test_a_retirement_to_the_trash_deactivates_the_agent_and_trashes_every_case(company, office):
    printed = json.loads(call("retire", "agent@acme.example.jp", "--company", "acme", "--as", "admin@acme.example.jp", "--trash-cases", "--json"))
    assert {key: printed[key] for key in JSON_KEYS[:-1]} == {"cases_moved": 0, "cases_reassigned": 0, "cases_trashed": 3, "visits_moved": 0,
                                                             "sub_assignments_removed": 0, "refused": None}
    assert Case.objects.for_company(company).filter(deleted_at__isnull=False).count() == 3
    assert User.objects.get(pk=office["agent"].pk).is_active is False


def test_a_retirement_with_a_successor_reassigns_every_case(company, office):
    printed = json.loads(call("retire", "agent@acme.example.jp", "--company", "acme", "--as", "admin@acme.example.jp",
                              "--reassign-to", "colleague@acme.example.jp", "--json"))
    assert (printed["cases_reassigned"], printed["visits_moved"], printed["refused"]) == (3, 1, None)
    assert set(Case.objects.for_company(company).values_list("main_assignee__email", flat=True)) == {"colleague@acme.example.jp"}


def test_a_reassignment_of_named_cases_moves_those_only_and_mails_the_new_assignee(company, office, django_capture_on_commit_callbacks):
    # given
    first, second, third = office["cases"]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        printed = json.loads(call("reassign", "--company", "acme", "--as", "admin@acme.example.jp", "--from", "agent@acme.example.jp",
                                  "--to", "colleague@acme.example.jp", "--cases", f"{first.pk},{second.pk}", "--json"))
    # then
    assert {key: printed[key] for key in JSON_KEYS[:-1]} == {"cases_moved": 0, "cases_reassigned": 2, "cases_trashed": 0, "visits_moved": 1,
                                                             "sub_assignments_removed": 0, "refused": None}
    assert dict(Case.objects.for_company(company).values_list("pk", "main_assignee__email")) == {
        first.pk: "colleague@acme.example.jp", second.pk: "colleague@acme.example.jp", third.pk: "agent@acme.example.jp"}
    assert [message.to for message in mail.outbox] == [["colleague@acme.example.jp"]]


def test_a_reassignment_without_json_prints_one_line_per_count(company, office):
    out = call("reassign", "--company", "acme", "--as", "admin@acme.example.jp", "--from", "agent@acme.example.jp",
               "--to", "colleague@acme.example.jp")
    record = Reassignment.objects.for_company(company).get()
    assert out.splitlines() == ["cases_moved: 0", "cases_reassigned: 3", "cases_trashed: 0", "visits_moved: 1",
                                "sub_assignments_removed: 0", "refused: None", f"reassignment_id: {record.pk}"]


def test_plan_shows_the_counts_with_unsubscribed_visits_and_roles_and_changes_nothing(company, org, office):
    # given
    source = make_default_assignee(company, org, office["agent"])
    before = footprint(company)
    # when
    printed = json.loads(call("plan", "agent@acme.example.jp", "--company", "acme", "--to", "SJK", "--json"))
    # then
    assert printed == {"agent": "agent@acme.example.jp", "from_unit": "SBY", "to_unit": "SJK", "cases": 3, "unsubscribed_cases": 1,
                       "open_visits": 1, "sub_assignee_cases": 0, "case_units": ["SBY"], "blocked": True,
                       "default_assignee_roles": [{"key": f"inquiry_source:{source.pk}", "label": "Inquiry source SUUMO",
                                                   "settings_url": f"/settings/inquiries/sources/{source.pk}/"}]}
    assert footprint(company) == before


def test_undo_gives_the_cases_back_and_a_second_undo_is_refused(company, office):
    # given
    done = json.loads(call("reassign", "--company", "acme", "--as", "admin@acme.example.jp", "--from", "agent@acme.example.jp",
                           "--to", "colleague@acme.example.jp", "--json"))
    # when
    undone = json.loads(call("undo", str(done["reassignment_id"]), "--company", "acme", "--as", "admin@acme.example.jp", "--json"))
    code, _message, again = refused("undo", str(done["reassignment_id"]), "--company", "acme", "--as", "admin@acme.example.jp", "--json")
    # then
    assert (undone["cases_reassigned"], undone["visits_moved"], undone["refused"]) == (3, 1, None)
    assert set(Case.objects.for_company(company).values_list("main_assignee__email", flat=True)) == {"agent@acme.example.jp"}
    assert code == 2 and again["refused"] is not None


def test_undo_of_another_company_reassignment_is_not_found(company, office, other_company):
    # given: a reassignment of company B
    b_unit, b_admin = other_company["unit"], other_company["admin"]
    b_agent = testing.make_user(other_company["company"], b_unit, email="agent@other.example.jp")
    with company_scope(other_company["company"]):
        from estatecrm.staff.actions import do_reassign_cases

        result = do_reassign_cases(actor=actor_for(b_admin), from_user=b_admin, to_user=b_agent)
    # when
    code, _message, printed = refused("undo", str(result.reassignment.pk), "--company", "acme", "--as", "admin@acme.example.jp", "--json")
    # then
    assert (code, printed["refused"]) == (2, "not_found")


def test_history_lists_the_changes_newest_first(company, office):
    call("reassign", "--company", "acme", "--as", "admin@acme.example.jp", "--from", "agent@acme.example.jp", "--to", "colleague@acme.example.jp",
         "--cases", str(office["cases"][0].pk))
    call("retire", "agent@acme.example.jp", "--company", "acme", "--as", "admin@acme.example.jp", "--trash-cases")
    printed = json.loads(call("history", "--company", "acme", "--json"))
    assert [(row["kind"], row["agent"], row["to_user"], row["cases_reassigned"], row["cases_trashed"]) for row in printed["reassignments"]] == [
        ("retire", "agent@acme.example.jp", None, 0, 2), ("reassign", "agent@acme.example.jp", "colleague@acme.example.jp", 1, 0)]
    only = json.loads(call("history", "--company", "acme", "--kind", "retire", "--json"))
    assert [row["kind"] for row in only["reassignments"]] == ["retire"]


@pytest.mark.django_db(transaction=True)
def test_the_console_command_exits_2_on_a_refusal_with_one_line_on_stderr(company, org, office):
    # given: the test database, as a separate process sees it
    environment = testing.process_environment(LANGUAGE_CODE="en")
    # when
    done = subprocess.run([sys.executable, "-m", "estatecrm", "staff", "retire", "agent@acme.example.jp", "--company", "acme",
                           "--as", "admin@acme.example.jp", "--json"], env=environment, capture_output=True, text=True, timeout=120)
    # then
    assert done.returncode == 2
    assert json.loads(done.stdout)["refused"] == "missing_reassignment"
    assert done.stderr.strip().splitlines() == [
        "CommandError: 渋谷 一郎 is the main assignee of 3 cases: reassign them to someone or move them to the trash."]
    assert Case.objects.for_company(company).filter(deleted_at__isnull=True).count() == 3
