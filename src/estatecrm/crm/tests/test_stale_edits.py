"""Edit pages use the API's optimistic lock: a stale save is refused with who changed what (issue 9, finding 11)."""

import html
import json
import re

import pytest
from django.test import Client

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import Conflict
from estatecrm.core.scope import company_scope
from estatecrm.core.versions import ReadVersion
from estatecrm.crm import actions
from estatecrm.crm.models import Case, Customer, DesiredConditions

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(company, org, agent):
    return testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")


def session(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def version_on(page) -> str:
    assert page.status_code == 200
    return html.unescape(re.search(r'name="version" value="([^"]*)"', page.content.decode()).group(1))


def case_form(case, **values) -> dict:
    data = {"kind": case.kind, "status": case.status, "owning_org": case.owning_org_id, "main_assignee": case.main_assignee_id,
            "started_on": case.started_on.isoformat()}
    data.update(values)
    return data


def test_second_save_of_the_case_edit_page_is_refused_with_who_changed_what(case, agent, company_admin):
    # given: two people open the edit page of the same case
    url = f"/cases/{case.pk}/edit/"
    first, second = session(agent), session(company_admin)
    first_version, second_version = version_on(first.get(url)), version_on(second.get(url))
    # when: both save, the second on the version it read
    saved = first.post(url, case_form(case, status="申込中", version=first_version))
    events_before = AuditEvent.objects.for_company(case.company_id).count()
    refused = second.post(url, case_form(case, status="新規", other_info="x", first_inquiry_source="自社HP", version=second_version))
    # then: the first is saved; the second is refused, names the first user and the field, writes nothing
    assert saved.status_code == 302
    assert refused.status_code == 409
    body = html.unescape(refused.content.decode())
    assert "Someone else saved this after you opened it; nothing of your change was saved." in body
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d 渋谷 一郎 changed status\.", body)
    with company_scope(case.company_id):
        stored = Case.objects.get(pk=case.pk)
    assert (stored.status, stored.first_inquiry_source) == ("申込中", "")
    assert AuditEvent.objects.for_company(case.company_id).count() == events_before
    # and the second user's input is kept, at the current version: saving again applies it
    assert 'value="自社HP"' in body
    again = second.post(url, case_form(case, status="新規", first_inquiry_source="自社HP", version=version_on_form(refused.content.decode())))
    assert again.status_code == 302
    stored.refresh_from_db()
    assert (stored.status, stored.first_inquiry_source) == ("新規", "自社HP")


def version_on_form(body: str) -> str:
    return html.unescape(re.search(r'name="version" value="([^"]*)"', body).group(1))


def test_customer_edit_page_refuses_a_stale_save(case, agent, company_admin):
    # given
    url = f"/cases/{case.pk}/customer/"
    first, second = session(agent), session(company_admin)
    first_version, second_version = version_on(first.get(url)), version_on(second.get(url))
    base = {"kind": "person", "name": "佐藤 花子", "kana": "サトウ ハナコ"}
    # when
    saved = first.post(url, {**base, "city": "渋谷区", "version": first_version})
    refused = second.post(url, {**base, "employer": "アクメ商事", "version": second_version})
    # then
    assert (saved.status_code, refused.status_code) == (302, 409)
    body = html.unescape(refused.content.decode())
    assert re.search(r"渋谷 一郎 changed city\.", body)
    with company_scope(case.company_id):
        stored = Customer.objects.get(pk=case.customer_id)
    assert (stored.city, stored.employer) == ("渋谷区", "")


def test_desired_conditions_page_refuses_a_save_on_a_case_changed_since(case, agent, company_admin):
    # given
    url = f"/cases/{case.pk}/desired/"
    first, second = session(agent), session(company_admin)
    second_version = version_on(second.get(url))
    version_on(first.get(url))
    # when: the first user changes the case itself, the second saves desired conditions read before
    first.post(f"/cases/{case.pk}/edit/", case_form(case, status="申込中", version=version_on(first.get(f"/cases/{case.pk}/edit/"))))
    refused = second.post(url, {"rent_max": "12", "version": second_version})
    # then
    assert refused.status_code == 409
    assert "渋谷 一郎 changed status." in html.unescape(refused.content.decode())
    with company_scope(case.company_id):
        assert DesiredConditions.objects.get(case=case).rent_max is None


def test_edit_page_without_a_version_is_refused_and_writes_nothing(case, agent):
    # when
    response = session(agent).post(f"/cases/{case.pk}/edit/", case_form(case, status="申込中"))
    # then
    assert response.status_code == 400
    assert "This page is out of date: open it again and redo your change." in html.unescape(response.content.decode())
    with company_scope(case.company_id):
        assert Case.objects.get(pk=case.pk).status == case.status


def test_update_case_action_refuses_a_stale_version_even_with_nothing_to_change(case, agent):
    # given: a version read, then a change by someone else
    read = ReadVersion.of(case)
    actions.do_update_case(case=case, changes={"other_info": "電話済み"}, acting_user=agent)
    # when / then
    with pytest.raises(Conflict) as refused:
        actions.do_update_case(case=case, changes={}, acting_user=agent, read_version=read)
    assert refused.value.code == "stale"
    assert refused.value.status_code == 409


@pytest.mark.parametrize("kind", ["unit", "workgroup", "project", "rank", "tag", "sub_status", "custom_field"])
def test_settings_edit_pages_refuse_a_stale_save_with_who_changed_what(company, org, company_admin, kind):
    # given: two administrators open the same settings page
    from estatecrm.tenancy.actions import do_upsert_workgroup

    other_admin = testing.make_user(company, org["HQ"], role="admin", email="second@acme.example.jp", name="管理 次郎")
    changed = "name"
    if kind == "unit":
        url, form = f"/settings/units/{org['SBY'].pk}/", lambda name: {"name": name, "parent": org["TKY"].pk, "case_visibility": "org"}
    elif kind == "workgroup":
        workgroup, _ = do_upsert_workgroup(company=company, name="反響チーム", members=[company_admin])
        url, form = f"/settings/workgroups/{workgroup.pk}/", lambda name: {"name": name, "members": [company_admin.pk]}
    elif kind == "project":
        project, _ = actions.do_upsert_project(company=company, name="春の反響")
        url, form = f"/settings/masters/projects/{project.pk}/", lambda name: {"name": name}
    elif kind in ("rank", "tag"):
        master, _ = (actions.do_upsert_rank if kind == "rank" else actions.do_upsert_tag)(company=company, name="A", position=1)
        url, form = f"/settings/masters/{kind}s/{master.pk}/", lambda name: {"name": name, "position": 1}
    elif kind == "sub_status":
        master, _ = actions.do_upsert_sub_status(company=company, status="追客中", name="内見調整中", position=1)
        url, form = f"/settings/masters/sub-statuses/{master.pk}/", lambda name: {"name": name, "position": 1}
    else:
        master, _ = actions.do_upsert_custom_field(company=company, name="希望駅", field_type="choice", choices=["渋谷"])
        url, form = f"/settings/masters/fields/{master.pk}/", lambda name: {"field_type": "choice", "choices": name}
        changed = "choices"
    first, second = session(company_admin), session(other_admin)
    first_version, second_version = version_on(first.get(url)), version_on(second.get(url))
    # when
    saved = first.post(url, {**form("一番目"), "version": first_version})
    events = AuditEvent.objects.for_company(company).count()
    refused = second.post(url, {**form("二番目"), "version": second_version})
    # then
    assert (saved.status_code, refused.status_code) == (302, 409)
    assert f"管理 太郎 changed {changed}." in html.unescape(refused.content.decode())
    assert "二番目" in refused.content.decode()
    assert AuditEvent.objects.for_company(company).count() == events


def test_an_activity_logged_meanwhile_makes_the_case_edit_stale_and_is_named(case, agent, company_admin):
    # given: the edit page is open when someone logs a call
    from estatecrm.tenancy.selectors import actor_for

    url = f"/cases/{case.pk}/edit/"
    client = session(company_admin)
    version = version_on(client.get(url))
    with company_scope(case.company_id):
        actions.do_log_activity(actor=actor_for(agent), case=case, kind="call", subject="折り返し")
    # when
    refused = client.post(url, case_form(case, status="申込中", version=version))
    # then
    assert refused.status_code == 409
    assert "渋谷 一郎 added activity." in html.unescape(refused.content.decode())


def test_api_stale_update_of_tags_only_is_refused_by_the_action(client, case, agent):
    # given: a read, then someone else's change
    from estatecrm.crm.models import CaseTag
    from estatecrm.tenancy.tokens import do_create_api_token

    tag, _ = actions.do_upsert_tag(company=case.customer.company, name="VIP")
    _token, clear = do_create_api_token(user=agent, name="t", acting_user=agent)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {clear}", "HTTP_ACCEPT_LANGUAGE": "en"}
    etag = client.get(f"/api/v1/cases/{case.pk}", **headers)["ETag"]
    actions.do_update_case(case=case, changes={"other_info": "電話済み"}, acting_user=None)
    # when: only the tags are sent, on the old version
    response = client.patch(f"/api/v1/cases/{case.pk}", json.dumps({"tag_ids": [tag.pk]}), content_type="application/json",
                            HTTP_IF_MATCH=etag, **headers)
    # then
    assert (response.status_code, response.json()["error"]["code"]) == (409, "stale")
    assert CaseTag.objects.for_company(case.company_id).filter(case=case).count() == 0
