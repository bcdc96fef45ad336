"""The access rules of DESIGN.md as a matrix: who sees which case, and nothing across companies."""

import pytest

from estatecrm.core import testing
from estatecrm.core.errors import NotFound, PermissionDenied
from estatecrm.crm import selectors as crm_selectors
from estatecrm.tenancy import selectors
from estatecrm.tenancy.choices import CaseVisibility, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(company, org, company_admin, other_company):
    """Units: HQ > TKY > {SBY (org), SJK (assignees)}, HQ > KNG > MKS (org). One case per situation."""
    kng = testing.make_unit(company, "KNG", parent=org["HQ"], name="神奈川エリア")
    mks = testing.make_unit(company, "MKS", parent=kng, name="武蔵小杉店")
    users = {
        "company_admin": company_admin,
        "org_admin_tky": testing.make_user(company, org["TKY"], role=Role.ADMIN, email="tky-admin@acme.example.jp"),
        "agent_sby": testing.make_user(company, org["SBY"], email="sby@acme.example.jp"),
        "agent_sjk": testing.make_user(company, org["SJK"], email="sjk@acme.example.jp"),
        "agent_sjk_main": testing.make_user(company, org["SJK"], email="sjk-main@acme.example.jp"),
        "agent_tky": testing.make_user(company, org["TKY"], email="tky@acme.example.jp"),
        "agent_mks": testing.make_user(company, mks, email="mks@acme.example.jp"),
        "other_company_admin": other_company["admin"],
    }
    cases = {
        "sby": testing.make_case(company, org["SBY"], main_assignee=users["agent_sby"]),
        "sjk_assigned": testing.make_case(company, org["SJK"], main_assignee=users["agent_sjk_main"], sub_assignees=[users["agent_sjk"]]),
        "sjk_unassigned": testing.make_case(company, org["SJK"], main_assignee=users["agent_sjk_main"]),
        "mks": testing.make_case(company, mks, main_assignee=users["agent_mks"]),
        "other_company": other_company["case"],
    }
    return users, cases


VISIBILITY_MATRIX = {
    "company_admin": {"sby", "sjk_assigned", "sjk_unassigned", "mks"},
    "org_admin_tky": {"sby", "sjk_assigned", "sjk_unassigned"},
    "agent_sby": {"sby"},
    "agent_sjk": {"sjk_assigned"},
    "agent_sjk_main": {"sjk_assigned", "sjk_unassigned"},
    # A member of the area sees its stores' cases where every member may, not the assignee-only store's.
    "agent_tky": {"sby"},
    "agent_mks": {"mks"},
    "other_company_admin": {"other_company"},
}


@pytest.mark.parametrize("user_key", sorted(VISIBILITY_MATRIX))
def test_case_list_shows_exactly_the_cases_the_rules_allow(world, user_key):
    # given
    users, cases = world
    actor = selectors.actor_for(users[user_key])
    # when
    visible = set(crm_selectors.case_list(actor=actor).values_list("pk", flat=True))
    # then
    assert visible == {cases[key].pk for key in VISIBILITY_MATRIX[user_key]}


@pytest.mark.parametrize("user_key", sorted(VISIBILITY_MATRIX))
@pytest.mark.parametrize("case_key", ["sby", "sjk_assigned", "sjk_unassigned", "mks", "other_company"])
def test_access_case_returns_visible_cases_and_not_found_for_the_rest(world, user_key, case_key):
    # given
    users, cases = world
    actor = selectors.actor_for(users[user_key])
    # when / then
    if case_key in VISIBILITY_MATRIX[user_key]:
        assert crm_selectors.access_case(actor, cases[case_key].pk).pk == cases[case_key].pk
    else:
        with pytest.raises(NotFound):
            crm_selectors.access_case(actor, cases[case_key].pk)


def test_visibility_switch_to_assignees_hides_unassigned_cases_from_members(company, org, world):
    # given
    users, cases = world
    from estatecrm.tenancy.actions import do_upsert_org_unit

    do_upsert_org_unit(company=company, code="SBY", name="渋谷店", parent=org["TKY"], case_visibility=CaseVisibility.ASSIGNEES)
    other_sby_agent = testing.make_user(company, org["SBY"], email="sby2@acme.example.jp")
    # when
    seen_by_assignee = set(crm_selectors.case_list(actor=selectors.actor_for(users["agent_sby"])).values_list("pk", flat=True))
    seen_by_other = set(crm_selectors.case_list(actor=selectors.actor_for(other_sby_agent)).values_list("pk", flat=True))
    # then
    assert seen_by_assignee == {cases["sby"].pk}
    assert seen_by_other == set()


def test_actor_roles(world):
    users, _cases = world
    assert selectors.actor_for(users["company_admin"]).is_company_admin is True
    org_admin = selectors.actor_for(users["org_admin_tky"])
    assert (org_admin.is_company_admin, org_admin.is_admin) == (False, True)
    agent = selectors.actor_for(users["agent_sby"])
    assert (agent.is_company_admin, agent.is_admin) == (False, False)


def test_org_admin_administers_only_its_subtree(world, org):
    users, _cases = world
    actor = selectors.actor_for(users["org_admin_tky"])
    assert actor.can_admin_unit(org["SBY"].pk) is True
    assert actor.can_admin_unit(org["TKY"].pk) is True
    assert actor.can_admin_unit(org["HQ"].pk) is False
    with pytest.raises(PermissionDenied):
        selectors.access_org_unit(actor, org["HQ"].pk, for_write=True)


def test_user_without_company_has_no_actor(db):
    from estatecrm.tenancy.models import User

    superuser = User.objects.create_superuser("root@example.jp", "pw-123456789")
    with pytest.raises(PermissionDenied):
        selectors.actor_for(superuser)


def test_inactive_user_has_no_actor(world):
    users, _cases = world
    agent = users["agent_sby"]
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        selectors.actor_for(agent)


@pytest.mark.parametrize(
    "read",
    [
        lambda actor, other: selectors.access_org_unit(actor, other["unit"].pk),
        lambda actor, other: selectors.access_user(actor, other["admin"].pk),
        lambda actor, other: crm_selectors.access_case(actor, other["case"].pk),
        lambda actor, other: crm_selectors.access_case(actor, other["case"].pk, include_trashed=True),
        lambda actor, other: crm_selectors.access_customer(actor, other["case"].customer_id),
    ],
    ids=["org_unit", "user", "case", "trashed_case", "customer"],
)
def test_access_helpers_never_reach_another_company(company_admin, other_company, read):
    # given: company A's administrator, who sees everything in A
    actor = selectors.actor_for(company_admin)
    # when / then
    with pytest.raises(NotFound):
        read(actor, other_company)


@pytest.mark.parametrize(
    "list_selector",
    [
        lambda actor: selectors.org_unit_list(actor=actor),
        lambda actor: selectors.user_list(actor=actor),
        lambda actor: selectors.workgroup_list(actor=actor),
        lambda actor: crm_selectors.case_list(actor=actor),
        lambda actor: crm_selectors.case_list(actor=actor, filters={"trashed": True}),
        lambda actor: crm_selectors.visible_customers(actor=actor, include_trashed=True),
    ],
    ids=["org_units", "users", "workgroups", "cases", "trash", "customers"],
)
def test_list_selectors_hold_only_the_actors_company(company, company_admin, other_company, list_selector):
    # given
    from estatecrm.tenancy.actions import do_upsert_workgroup

    do_upsert_workgroup(company=other_company["company"], name="他社チーム", members=[other_company["admin"]])
    actor = selectors.actor_for(company_admin)
    # when
    rows = list(list_selector(actor))
    # then
    assert all(getattr(row, "company_id", company.pk) == company.pk for row in rows)
    assert other_company["admin"].pk not in {row.pk for row in rows if row.__class__.__name__ == "User"}


def test_dashboard_summary_counts_only_visible_cases(world):
    users, _cases = world
    summary = crm_selectors.dashboard_summary(actor=selectors.actor_for(users["agent_sjk"]))
    assert summary["new_registrations"] == 1
    assert {row["value"]: row["count"] for row in summary["by_status"]}["追客中"] == 1
