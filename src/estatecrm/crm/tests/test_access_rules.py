"""The rules of tenancy/permissions.py for cases, on every door: page, API and the action itself."""

import pytest
from django.urls import reverse
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import PermissionDenied
from estatecrm.crm.actions import BulkOperation, do_bulk_update_cases, do_restore_case, do_trash_case
from estatecrm.crm.models import Case
from estatecrm.tenancy.actions import do_add_membership
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


def trashed_at(company, case):
    return Case.objects.for_company(company).get(pk=case.pk).deleted_at


def test_an_agent_can_neither_trash_nor_restore_a_case_on_the_page(client, company, org, agent):
    # given: a case the agent sees, and one already in the trash
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    gone = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="鈴木 一郎")
    Case.objects.for_company(company).filter(pk=gone.pk).update(deleted_at=timezone.now())
    events_before = AuditEvent.objects.for_company(company).count()
    client.force_login(agent)
    # when
    trash = client.post(reverse("crm:trash", args=[case.pk]))
    restore = client.post(reverse("crm:trash", args=[gone.pk]), {"restore": "1"})
    # then: refused as the API refuses, and nothing changed
    assert (trash.status_code, restore.status_code) == (403, 403)
    assert trashed_at(company, case) is None
    assert trashed_at(company, gone) is not None
    assert AuditEvent.objects.for_company(company).count() == events_before


def test_an_admin_of_the_case_unit_trashes_and_restores_it_on_the_page(client, company, org, agent):
    # given: an org admin of the case's unit
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    unit_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp")
    client.force_login(unit_admin)
    # when / then
    assert client.post(reverse("crm:trash", args=[case.pk])).status_code == 302
    assert trashed_at(company, case) is not None
    assert client.post(reverse("crm:trash", args=[case.pk]), {"restore": "1"}).status_code == 302
    assert trashed_at(company, case) is None


def test_the_trash_actions_refuse_a_user_who_does_not_administer_the_case_unit(company, org, agent):
    # given: an agent of the case's unit and an admin of a sibling unit who is also a member of the case's unit
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    sibling_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp")
    do_add_membership(user=sibling_admin, org_unit=org["SBY"], role=Role.AGENT)
    # when / then: whatever door calls them
    for user in (agent, sibling_admin):
        with pytest.raises(PermissionDenied):
            do_trash_case(case=case, acting_user=user)
    assert trashed_at(company, case) is None
    assert do_trash_case(case=case, acting_user=None) is True  # a management command acts as the operator
    for user in (agent, sibling_admin):
        with pytest.raises(PermissionDenied):
            do_restore_case(case=case, acting_user=user)
    assert trashed_at(company, case) is not None


def test_bulk_changes_of_an_org_admin_touch_only_the_cases_of_the_units_they_administer(company, org, agent):
    # given: an admin of SJK who is a plain member of SBY (sees its cases, administers none of them)
    sibling_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp")
    do_add_membership(user=sibling_admin, org_unit=org["SBY"], role=Role.AGENT)
    in_sby = testing.make_case(company, org["SBY"], main_assignee=agent)
    in_sjk = testing.make_case(company, org["SJK"], main_assignee=sibling_admin, customer_name="鈴木 一郎")
    # when
    changed = do_bulk_update_cases(actor=actor_for(sibling_admin), case_ids=[in_sby.pk, in_sjk.pk], operation=BulkOperation.TRASH)
    # then: the API's rule (an admin of the case's unit), not the agent's visibility
    assert changed == 1
    assert trashed_at(company, in_sby) is None
    assert trashed_at(company, in_sjk) is not None


def test_the_case_trash_api_and_page_agree_for_every_role(client, company, org, agent, company_admin):
    # given
    sibling_admin = testing.make_user(company, org["SJK"], role=Role.ADMIN, email="sjk-admin@acme.example.jp")
    do_add_membership(user=sibling_admin, org_unit=org["SBY"], role=Role.AGENT)
    unit_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp")
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    answers = {}
    # when: each role trashes through the page and through the API (the case is put back in between)
    for name, user in {"agent": agent, "sibling admin": sibling_admin, "unit admin": unit_admin, "company admin": company_admin}.items():
        client.force_login(user)
        page = client.post(reverse("crm:trash", args=[case.pk])).status_code
        Case.objects.for_company(company).filter(pk=case.pk).update(deleted_at=None)
        api = client.post(f"/api/v1/cases/{case.pk}/trash").status_code
        Case.objects.for_company(company).filter(pk=case.pk).update(deleted_at=None)
        answers[name] = (page, api)
    # then
    assert answers == {"agent": (403, 403), "sibling admin": (403, 403), "unit admin": (302, 200), "company admin": (302, 200)}


def test_the_master_actions_refuse_who_is_not_a_company_admin(company, org, agent):
    # given: a rank, and an admin of a unit (masters are company-wide)
    from django.db import transaction

    from estatecrm.crm.actions import do_delete_master, do_update_master, do_upsert_rank
    from estatecrm.crm.models import Rank

    rank, _ = do_upsert_rank(company=company, name="A")
    unit_admin = testing.make_user(company, org["SBY"], role=Role.ADMIN, email="sby-admin@acme.example.jp")
    # when / then
    for user in (agent, unit_admin):
        with pytest.raises(PermissionDenied), transaction.atomic():
            do_update_master(instance=rank, name="B", acting_user=user)
        with pytest.raises(PermissionDenied), transaction.atomic():
            do_delete_master(instance=rank, acting_user=user)
    assert list(Rank.objects.for_company(company).values_list("name", flat=True)) == ["A"]


def test_a_case_cannot_be_moved_or_created_in_a_unit_the_user_does_not_see(company, org, agent):
    # given: an agent of SBY (the API refuses this with 403; the edit page used to move the case anyway)
    from django.db import transaction

    from estatecrm.crm.actions import CaseInput, do_create_case, do_update_case

    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    # when / then: by whatever door the change comes
    with pytest.raises(PermissionDenied) as moved, transaction.atomic():
        do_update_case(case=case, changes={"owning_org": org["SJK"]}, acting_user=agent)
    with pytest.raises(PermissionDenied), transaction.atomic():
        do_create_case(customer=case.customer, data=CaseInput(kind="rent", owning_org=org["HQ"], status="新規", main_assignee=agent),
                       acting_user=agent)
    assert moved.value.fields == {"owning_org": ["You cannot put a case in this unit."]}
    assert list(Case.objects.for_company(company).values_list("owning_org_id", flat=True)) == [org["SBY"].pk]
    # and the operator (a command) may
    assert do_update_case(case=case, changes={"owning_org": org["SJK"]}, acting_user=None) is True
