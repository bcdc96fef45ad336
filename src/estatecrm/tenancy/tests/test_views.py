"""Settings pages for org units, users, memberships and workgroups, through the Django test client."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.tenancy.choices import CaseVisibility, Role
from estatecrm.tenancy.models import Membership, OrgUnit, User, Workgroup, WorkgroupMember

pytestmark = pytest.mark.django_db


def version_read(client, url: str) -> str:
    """The version an edit page hands out (its hidden field), to post back like a browser does."""
    return client.get(url).context["form"].initial["version"]


@pytest.fixture(autouse=True)
def english_pages(client):
    """Pages in English, so the tests read English messages (Japanese is the default)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def events(company, object_type: str, verb: str):
    return list(AuditEvent.objects.for_company(company).filter(object_type=object_type, verb=verb))


@pytest.fixture
def admin_client(client, company_admin):
    client.force_login(company_admin)
    return client


@pytest.fixture
def workgroup(company, agent):
    workgroup = Workgroup.objects.create(company=company, name="新人チーム")
    WorkgroupMember.objects.create(company=company, workgroup=workgroup, user=agent)
    return workgroup


def page_urls(org, agent, workgroup):
    return [
        reverse("settings:home"),
        reverse("settings:units"),
        reverse("settings:unit_create"),
        reverse("settings:unit_edit", args=[org["SBY"].pk]),
        reverse("settings:users"),
        reverse("settings:user_invite"),
        reverse("settings:user", args=[agent.pk]),
        reverse("settings:workgroups"),
        reverse("settings:workgroup_create"),
        reverse("settings:workgroup_edit", args=[workgroup.pk]),
    ]


def test_every_settings_page_renders_for_a_company_admin_in_japanese(admin_client, org, agent, workgroup):
    # given: a company admin; when: each page is opened; then: 200 in Japanese (the default)
    for url in page_urls(org, agent, workgroup):
        response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
        assert response.status_code == 200, url
        assert 'lang="ja"' in response.content.decode()


def test_every_settings_page_is_forbidden_to_an_agent(client, org, agent, workgroup):
    # given
    client.force_login(agent)
    # when / then
    for url in page_urls(org, agent, workgroup):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("settings:user_set_active", args=[agent.pk]), {"is_active": "0"}).status_code == 403
    assert User.objects.get(pk=agent.pk).is_active is True


def test_settings_pages_need_a_login(client, org):
    response = client.get(reverse("settings:units"))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/settings/units/"


def test_ids_of_another_company_are_not_found(admin_client, other_company):
    # given: company B's unit, user, membership and workgroup
    b_workgroup = Workgroup.objects.create(company=other_company["company"], name="B")
    b_membership = Membership.objects.for_company(other_company["company"]).get(user=other_company["admin"])
    # when / then
    assert admin_client.get(reverse("settings:unit_edit", args=[other_company["unit"].pk])).status_code == 404
    assert admin_client.get(reverse("settings:user", args=[other_company["admin"].pk])).status_code == 404
    assert admin_client.post(reverse("settings:user_set_active", args=[other_company["admin"].pk]), {"is_active": "0"}).status_code == 404
    assert admin_client.post(reverse("settings:membership_change", args=[b_membership.pk]), {"operation": "remove"}).status_code == 404
    assert admin_client.get(reverse("settings:workgroup_edit", args=[b_workgroup.pk])).status_code == 404
    assert User.objects.get(pk=other_company["admin"].pk).is_active is True
    assert Membership.objects.for_company(other_company["company"]).filter(pk=b_membership.pk).exists()


def test_the_settings_link_is_shown_to_admins_only(client, company_admin, agent):
    client.force_login(agent)
    assert 'href="/settings/"' not in client.get("/account/").content.decode()
    client.force_login(company_admin)
    assert 'href="/settings/"' in client.get("/account/").content.decode()


def test_company_admin_who_is_not_superuser_cannot_open_django_admin(admin_client):
    # when
    response = admin_client.get("/admin/")
    # then: sent to the admin's own log-in page, nothing of the admin shown
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"


def test_django_admin_is_for_superusers_only(client, company_admin):
    # given: a staff user who is not a superuser
    User.objects.filter(pk=company_admin.pk).update(is_staff=True)
    client.force_login(User.objects.get(pk=company_admin.pk))
    # then: refused
    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    # and: a superuser gets in
    superuser = User.objects.create_superuser("root@example.jp", "pass-Word-123")
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200


# ---------------------------------------------------------------------------------------------
# Org units


def test_unit_tree_lists_units_in_tree_order(admin_client, org):
    content = admin_client.get(reverse("settings:units")).content.decode()
    assert content.index("本社") < content.index("東京エリア") < content.index("渋谷店")


def test_create_unit_is_audited(admin_client, company, company_admin, org):
    # when
    response = admin_client.post(reverse("settings:unit_create"), {
        "code": "IKB", "name": "池袋店", "parent": org["TKY"].pk, "case_visibility": CaseVisibility.ASSIGNEES,
    })
    # then
    assert response.status_code == 302
    unit = OrgUnit.objects.for_company(company).get(code="IKB")
    assert (unit.name, unit.parent_id, unit.case_visibility) == ("池袋店", org["TKY"].pk, CaseVisibility.ASSIGNEES)
    assert unit.path == f"{org['TKY'].path}{unit.pk}/"
    [event] = events(company, "tenancy.orgunit", "create")[:1]
    assert (event.actor_id, event.object_id) == (company_admin.pk, str(unit.pk))


def test_create_unit_with_a_taken_code_shows_the_error_next_to_the_field(admin_client, company, org):
    # when
    response = admin_client.post(reverse("settings:unit_create"), {
        "code": "SBY", "name": "別の店", "parent": org["TKY"].pk, "case_visibility": CaseVisibility.ORG,
    })
    # then: the form again with the error on `code`; the existing unit is unchanged
    assert response.status_code == 200
    assert response.context["form"].errors == {"code": ["An organisation unit with this code already exists."]}
    assert OrgUnit.objects.for_company(company).get(code="SBY").name == "渋谷店"


def test_move_unit_and_change_its_case_visibility(admin_client, company, org):
    # given: KNG under HQ
    kng = testing.make_unit(company, "KNG", parent=org["HQ"], name="神奈川エリア")
    # when: SBY moves under KNG with assignees visibility
    url = reverse("settings:unit_edit", args=[org["SBY"].pk])
    response = admin_client.post(url, {
        "name": "渋谷店", "parent": kng.pk, "case_visibility": CaseVisibility.ASSIGNEES, "version": version_read(admin_client, url),
    })
    # then
    assert response.status_code == 302
    unit = OrgUnit.objects.for_company(company).get(pk=org["SBY"].pk)
    assert (unit.parent_id, unit.path, unit.case_visibility) == (kng.pk, f"{kng.path}{unit.pk}/", CaseVisibility.ASSIGNEES)
    [event] = events(company, "tenancy.orgunit", "update")
    assert event.after == {"parent_id": kng.pk, "case_visibility": CaseVisibility.ASSIGNEES}


def test_moving_a_unit_below_itself_is_refused(admin_client, company, org):
    url = reverse("settings:unit_edit", args=[org["TKY"].pk])
    response = admin_client.post(url, {
        "name": "東京エリア", "parent": org["SBY"].pk, "case_visibility": CaseVisibility.ORG, "version": version_read(admin_client, url),
    })
    # SBY is not offered as a parent of its own ancestor
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["parent"]
    assert OrgUnit.objects.for_company(company).get(pk=org["TKY"].pk).parent_id == org["HQ"].pk


def test_org_admin_manages_only_their_subtree(client, company, org):
    # given: an admin of TKY
    tky_admin = testing.make_user(company, org["TKY"], role=Role.ADMIN, email="tky-admin@acme.example.jp")
    client.force_login(tky_admin)
    # then: their subtree's units are editable, HQ is not; a top-level unit cannot be created
    assert client.get(reverse("settings:unit_edit", args=[org["SBY"].pk])).status_code == 200
    assert client.get(reverse("settings:unit_edit", args=[org["HQ"].pk])).status_code == 403
    response = client.post(reverse("settings:unit_create"), {"code": "X", "name": "X", "parent": "", "case_visibility": "org"})
    assert response.context["form"].errors == {"parent": ["This field is required."]}
    response = client.post(reverse("settings:unit_create"), {"code": "X", "name": "X", "parent": org["HQ"].pk, "case_visibility": "org"})
    assert list(response.context["form"].errors) == ["parent"]
    assert not OrgUnit.objects.for_company(company).filter(code="X").exists()
    # and: workgroups are company-wide, for company admins only
    assert client.get(reverse("settings:workgroups")).status_code == 403


def test_org_admin_may_rename_the_top_of_their_subtree_keeping_its_parent(client, company, org):
    tky_admin = testing.make_user(company, org["TKY"], role=Role.ADMIN, email="tky-admin@acme.example.jp")
    client.force_login(tky_admin)
    url = reverse("settings:unit_edit", args=[org["TKY"].pk])
    response = client.post(url, {
        "name": "東京23区エリア", "parent": org["HQ"].pk, "case_visibility": CaseVisibility.ORG, "version": version_read(client, url),
    })
    assert response.status_code == 302
    assert OrgUnit.objects.for_company(company).get(pk=org["TKY"].pk).name == "東京23区エリア"


# ---------------------------------------------------------------------------------------------
# Users and memberships


def test_user_list_shows_users_of_the_company_only(admin_client, agent, other_company):
    content = admin_client.get(reverse("settings:users")).content.decode()
    assert "agent@acme.example.jp" in content
    assert "admin@other.example.jp" not in content


def test_invite_creates_the_user_and_the_emailed_link_sets_the_password(
    admin_client, client, company, company_admin, org, django_capture_on_commit_callbacks,
):
    # when: the admin invites a user into SBY
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("settings:user_invite"), {
            "email": "New.Agent@Acme.example.jp", "name": "新人 花子", "org_unit": org["SBY"].pk, "role": Role.AGENT,
        })
    # then: a user without a usable password, primary member of SBY, audited, and one e-mail
    user = User.objects.get(email="new.agent@acme.example.jp")
    assert response.status_code == 302
    assert response["Location"] == reverse("settings:user", args=[user.pk])
    assert (user.company_id, user.name, user.has_usable_password()) == (company.pk, "新人 花子", False)
    assert list(Membership.objects.for_company(company).filter(user=user).values_list("org_unit_id", "role", "is_primary")) == [
        (org["SBY"].pk, Role.AGENT, True)
    ]
    assert [event.actor_id for event in events(company, "tenancy.user", "invite")] == [company_admin.pk]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.agent@acme.example.jp"]
    # and: the link in the e-mail lets the user set a password and log in
    link = re.search(r"http://testserver(/account/reset/\S+/)", mail.outbox[0].body).group(1)
    anonymous = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    page = anonymous.get(link, follow=True)
    assert page.status_code == 200
    assert page.context["validlink"] is True
    response = anonymous.post(page.redirect_chain[-1][0], {"new_password1": "Sakura-Saku-2026", "new_password2": "Sakura-Saku-2026"})
    assert response["Location"] == reverse("account:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("Sakura-Saku-2026")
    # and: the link works once
    assert anonymous.get(link, follow=True).context["validlink"] is False


def test_invite_with_a_taken_email_shows_the_error_next_to_the_field(admin_client, agent, org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("settings:user_invite"), {
            "email": "agent@acme.example.jp", "name": "重複", "org_unit": org["SBY"].pk, "role": Role.AGENT,
        })
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["A user with this e-mail address already exists."]}
    assert mail.outbox == []
    assert User.objects.get(email="agent@acme.example.jp").name == "渋谷 一郎"


def test_resend_invitation_emails_a_new_link(admin_client, company, org, django_capture_on_commit_callbacks):
    invited = testing.make_user(company, org["SBY"], email="invited@acme.example.jp", password=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("settings:user_resend_invitation", args=[invited.pk]))
    assert response.status_code == 302
    assert [message.to for message in mail.outbox] == [["invited@acme.example.jp"]]


def test_deactivate_and_reactivate_a_user_is_audited_and_ends_their_session(admin_client, client, company, company_admin, agent):
    # given: the agent is logged in elsewhere
    agent_client = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    agent_client.force_login(agent)
    # when
    response = admin_client.post(reverse("settings:user_set_active", args=[agent.pk]), {"is_active": "0"})
    # then
    assert response.status_code == 302
    assert User.objects.get(pk=agent.pk).is_active is False
    assert agent_client.get("/account/")["Location"] == "/login/?next=/account/"
    # when: reactivated
    admin_client.post(reverse("settings:user_set_active", args=[agent.pk]), {"is_active": "1"})
    # then
    assert User.objects.get(pk=agent.pk).is_active is True
    assert [(e.before, e.after) for e in reversed(events(company, "tenancy.user", "update"))] == [
        ({"is_active": True}, {"is_active": False}), ({"is_active": False}, {"is_active": True}),
    ]


def test_deactivating_yourself_is_refused(admin_client, company_admin):
    response = admin_client.post(reverse("settings:user_set_active", args=[company_admin.pk]), {"is_active": "0"}, follow=True)
    assert [str(message) for message in response.context["messages"]] == ["You cannot deactivate yourself."]
    assert User.objects.get(pk=company_admin.pk).is_active is True


def test_edit_user_name(admin_client, agent):
    response = admin_client.post(reverse("settings:user", args=[agent.pk]), {"name": "渋谷 次郎"})
    assert response.status_code == 302
    assert User.objects.get(pk=agent.pk).name == "渋谷 次郎"


def test_add_membership_change_role_make_primary_and_remove(admin_client, company, agent, org):
    # when: the agent joins SJK as admin
    admin_client.post(reverse("settings:membership_add", args=[agent.pk]), {"org_unit": org["SJK"].pk, "role": Role.ADMIN})
    sjk = Membership.objects.for_company(company).get(user=agent, org_unit=org["SJK"])
    # then
    assert (sjk.role, sjk.is_primary) == (Role.ADMIN, False)
    # when: the role changes back to agent and SJK becomes primary
    admin_client.post(reverse("settings:membership_change", args=[sjk.pk]), {"operation": "role", f"m{sjk.pk}-role": Role.AGENT})
    admin_client.post(reverse("settings:membership_change", args=[sjk.pk]), {"operation": "primary"})
    # then
    assert list(Membership.objects.for_company(company).filter(user=agent).order_by("org_unit__code")
                .values_list("org_unit__code", "role", "is_primary")) == [("SBY", Role.AGENT, False), ("SJK", Role.AGENT, True)]
    # when: the primary one is removed while SBY remains: refused
    response = admin_client.post(reverse("settings:membership_change", args=[sjk.pk]), {"operation": "remove"}, follow=True)
    assert [str(m) for m in response.context["messages"]][-1] == "Make another unit primary before removing this one."
    # when: the non-primary one is removed
    sby = Membership.objects.for_company(company).get(user=agent, org_unit=org["SBY"])
    admin_client.post(reverse("settings:membership_change", args=[sby.pk]), {"operation": "remove"})
    # then
    assert list(Membership.objects.for_company(company).filter(user=agent).values_list("org_unit__code", flat=True)) == ["SJK"]
    assert len(events(company, "tenancy.membership", "delete")) == 1


def test_the_last_company_admin_cannot_be_demoted_or_removed(admin_client, company, company_admin):
    membership = Membership.objects.for_company(company).get(user=company_admin)
    response = admin_client.post(reverse("settings:membership_change", args=[membership.pk]),
                                 {"operation": "role", f"m{membership.pk}-role": Role.AGENT}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["The company needs at least one active company administrator."]
    assert Membership.objects.for_company(company).get(pk=membership.pk).role == Role.ADMIN
    response = admin_client.post(reverse("settings:membership_change", args=[membership.pk]), {"operation": "remove"}, follow=True)
    assert [str(m) for m in response.context["messages"]][-1] == "The company needs at least one active company administrator."
    assert Membership.objects.for_company(company).filter(pk=membership.pk).exists()


def test_org_admin_cannot_manage_a_user_outside_their_subtree(client, company, org, company_admin):
    tky_admin = testing.make_user(company, org["TKY"], role=Role.ADMIN, email="tky-admin@acme.example.jp")
    client.force_login(tky_admin)
    assert client.get(reverse("settings:user", args=[company_admin.pk])).status_code == 403
    assert client.post(reverse("settings:user_set_active", args=[company_admin.pk]), {"is_active": "0"}).status_code == 403
    assert User.objects.get(pk=company_admin.pk).is_active is True
    assert ">admin@acme.example.jp<" not in client.get(reverse("settings:users")).content.decode()


# ---------------------------------------------------------------------------------------------
# Workgroups


def test_create_workgroup_with_members(admin_client, company, company_admin, agent):
    response = admin_client.post(reverse("settings:workgroup_create"), {"name": "反響対応", "members": [agent.pk, company_admin.pk]})
    assert response.status_code == 302
    workgroup = Workgroup.objects.for_company(company).get(name="反響対応")
    assert set(WorkgroupMember.objects.for_company(company).filter(workgroup=workgroup).values_list("user_id", flat=True)) == {
        agent.pk, company_admin.pk}
    [event] = events(company, "tenancy.workgroup", "create")
    assert event.after == {"members": sorted([agent.pk, company_admin.pk])}


def test_create_workgroup_with_a_taken_name_is_refused(admin_client, company, workgroup):
    response = admin_client.post(reverse("settings:workgroup_create"), {"name": "新人チーム"})
    assert response.context["form"].errors == {"name": ["A workgroup with this name already exists."]}


def test_rename_workgroup_and_change_members(admin_client, company, company_admin, workgroup):
    url = reverse("settings:workgroup_edit", args=[workgroup.pk])
    response = admin_client.post(url, {"name": "2026年新人", "members": [company_admin.pk], "version": version_read(admin_client, url)})
    assert response.status_code == 302
    workgroup.refresh_from_db()
    assert workgroup.name == "2026年新人"
    assert list(WorkgroupMember.objects.for_company(company).filter(workgroup=workgroup).values_list("user_id", flat=True)) == [company_admin.pk]
    assert [e.after for e in events(company, "tenancy.workgroup", "update")] == [{"members": [company_admin.pk]}, {"name": "2026年新人"}]
