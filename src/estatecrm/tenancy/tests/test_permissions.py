"""The rule table (tenancy/permissions.py) by role, and the settings actions that check it themselves."""

import pytest
from django.db import transaction

from estatecrm.core import testing
from estatecrm.core.errors import PermissionDenied
from estatecrm.tenancy import actions
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import Membership, OrgUnit, User, Workgroup
from estatecrm.tenancy.permissions import RULES, allows
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(company, org, company_admin, agent):
    return {
        "agent": agent,
        "sby admin": testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp"),
        "sjk admin": testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp"),
        "company admin": company_admin,
    }


def test_each_rule_allows_the_roles_its_level_names(org, people):
    # when: every rule, on an object of SBY
    table = {name: {who: allows(actor_for(user), name, unit_id=org["SBY"].pk) for who, user in people.items()} for name in RULES}
    # then
    everyone = dict.fromkeys(people, True)
    admins = {"agent": False, "sby admin": True, "sjk admin": True, "company admin": True}
    sby_admins = {"agent": False, "sby admin": True, "sjk admin": False, "company admin": True}
    company_admins = {"agent": False, "sby admin": False, "sjk admin": False, "company admin": True}
    assert table == {
        "public": everyone, "cases": everyone, "masters_read": everyone, "directory": everyone, "own_runs": everyone, "account": everyone,
        "case_trash": sby_admins, "case_bulk": admins, "lead_imports": sby_admins, "lead_mappings": admins, "do_not_call": admins, "legacy_migration": sby_admins,
        "listings": everyone, "listings_manage": admins,
        "run_abort": admins, "organisation": sby_admins, "masters_edit": company_admins, "workgroups": company_admins,
        "top_level_units": company_admins, "customers_manage": company_admins,
        "inquiries_submit": everyone, "inquiry_inbox": admins, "inquiry_settings": company_admins,
        "vendor_migration": company_admins, "listings_feed": company_admins,
        "dedup": everyone, "dedup_shared": admins, "dedup_settings": company_admins, "staff": sby_admins,
    }


def refused(call, user) -> bool:
    try:
        with transaction.atomic():
            call(user)
    except PermissionDenied:
        return True
    return False


def test_the_settings_actions_refuse_who_does_not_administer_the_unit(company, org, people):
    # given: a user of SBY, and a workgroup
    subject = testing.make_user(company, org["SBY"], email="subject@acme.example.jp")
    membership = Membership.objects.for_company(company).get(user=subject)
    workgroup, _ = actions.do_upsert_workgroup(company=company, name="チーム", members=[subject])
    calls = {
        "create unit": lambda user: actions.do_create_org_unit(company=company, code="NEW", name="新店", parent=org["SBY"], acting_user=user),
        "create top unit": lambda user: actions.do_create_org_unit(company=company, code="TOP", name="新本部", parent=None, acting_user=user),
        "invite": lambda user: actions.do_invite_user(company=company, email="new@acme.example.jp", name="新人", org_unit=org["SBY"],
                                                      base_url="http://testserver/", acting_user=user),
        "resend": lambda user: actions.do_resend_invitation(user=subject, base_url="http://testserver/", acting_user=user),
        "deactivate": lambda user: actions.do_set_user_active(user=subject, is_active=False, acting_user=user),
        "change role": lambda user: actions.do_change_membership_role(membership=membership, role=Role.ADMIN, acting_user=user),
        "remove membership": lambda user: actions.do_remove_membership(membership=membership, acting_user=user),
        "rename workgroup": lambda user: actions.do_rename_workgroup(workgroup=workgroup, name="改名", acting_user=user),
        "set workgroup": lambda user: actions.do_upsert_workgroup(company=company, name="チーム", members=[], acting_user=user),
    }
    # when
    answers = {who: sorted(name for name, call in calls.items() if refused(call, people[who])) for who in ("agent", "sjk admin")}
    # then: refused whichever door calls them, and nothing changed
    assert answers == {"agent": sorted(calls), "sjk admin": sorted(calls)}
    assert not OrgUnit.objects.for_company(company).filter(code__in=["NEW", "TOP"]).exists()
    assert not User.objects.filter(email="new@acme.example.jp").exists()
    subject.refresh_from_db()
    assert subject.is_active is True
    assert list(Membership.objects.for_company(company).filter(user=subject).values_list("role", flat=True)) == [Role.AGENT]
    assert list(Workgroup.objects.for_company(company).values_list("name", flat=True)) == ["チーム"]


def test_the_settings_actions_let_an_admin_of_the_unit_and_the_operator_through(company, org, people):
    # when: an admin of SBY, and a management command (no user)
    unit = actions.do_create_org_unit(company=company, code="NEW", name="新店", parent=org["SBY"], acting_user=people["sby admin"])
    top = actions.do_create_org_unit(company=company, code="TOP", name="新本部", parent=None, acting_user=None)
    # then
    assert (unit.parent_id, top.parent_id) == (org["SBY"].pk, None)
