"""Do-not-call lists: scoped to workgroups, matched by normalized name and phone, calls refused."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError
from estatecrm.crm.actions import do_log_activity
from estatecrm.crm.models import Activity
from estatecrm.leads.dnc import do_not_call_customer_ids
from estatecrm.leads.models import DoNotCallEntry
from estatecrm.tenancy.actions import do_upsert_workgroup
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(company, org):
    user = testing.make_user(company, org["SBY"], email="new@acme.example.jp")
    do_upsert_workgroup(company=company, name="新人チーム", members=[user])
    return user


def dnc(*args):
    out = io.StringIO()
    call_command("dnc", *args, stdout=out)
    return out.getvalue()


def write(tmp_path, text, name="dnc.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("cp932"))
    return path


def test_scoped_entry_refuses_calls_for_members_only(company, org, company_admin, agent, newcomer, tmp_path):
    # given: a lead typed one way in the CRM and another way in the do-not-call list
    case = testing.make_case(company, org["SBY"], main_assignee=newcomer, customer_name="㈱ＡＢＣ商事", phones=[("phone", "03-1234-5678")])
    result = json.loads(dnc("import", str(write(tmp_path, "会社名,電話番号\r\n株式会社 ABC商事,\r\n")), "--company", "acme",
                            "--workgroup", "新人チーム", "--json"))
    assert (result["status"], result["entries_created"], result["workgroups"]) == ("completed", 1, ["新人チーム"])
    # when / then: the member is refused and nothing is written
    with pytest.raises(ApplicationError) as raised, transaction.atomic():
        do_log_activity(actor=actor_for(newcomer), case=case, kind="call", subject="架電")
    assert raised.value.code == "activity_refused"
    assert Activity.objects.for_company(company).count() == 0
    # others are unaffected, and a note is allowed for the member
    do_log_activity(actor=actor_for(agent), case=case, kind="call")
    do_log_activity(actor=actor_for(newcomer), case=case, kind="note", body="禁止リードのため架電しない")
    assert Activity.objects.for_company(company).count() == 2


def test_company_wide_entry_matches_by_phone_in_any_format(company, org, company_admin, agent, tmp_path):
    case = testing.make_case(company, org["SBY"], main_assignee=agent, phones=[("mobile", "090-1234-5678")])
    dnc("import", str(write(tmp_path, "TEL,理由\r\n０９０（１２３４）５６７８,本人希望\r\n")), "--company", "acme")
    assert do_not_call_customer_ids(actor_for(agent), [case.customer_id]) == {case.customer_id}
    with pytest.raises(ApplicationError), transaction.atomic():
        do_log_activity(actor=actor_for(agent), case=case, kind="call")


def test_invalid_rows_are_reported_and_not_added(company, company_admin, tmp_path):
    result = json.loads(dnc("import", str(write(tmp_path, "会社名,電話番号\r\n,123\r\n,\r\nA社,03-1111-2222\r\n")), "--company", "acme", "--json"))
    assert (result["entries_created"], result["failed"], result["failed_by_reason"]) == (1, 1, {"phone_invalid": 1})
    assert DoNotCallEntry.objects.for_company(company).count() == 1


def test_list_export_and_remove(company, company_admin, newcomer, tmp_path):
    dnc("import", str(write(tmp_path, "会社名,電話番号\r\n=A社,03-1111-2222\r\n")), "--company", "acme", "--workgroup", "新人チーム")
    rows = json.loads(dnc("list", "--company", "acme", "--json"))
    assert [(row["lead_name"], row["phone"], row["workgroups"]) for row in rows] == [("=A社", "+81311112222", ["新人チーム"])]
    out = tmp_path / "out.csv"
    dnc("export", "--company", "acme", "--out", str(out))
    assert out.read_text(encoding="utf-8-sig").splitlines()[1].startswith(f"{rows[0]['id']},'=A社,'+81311112222")
    dnc("remove", str(rows[0]["id"]), "--company", "acme")
    assert DoNotCallEntry.objects.for_company(company).count() == 0


def test_unknown_workgroup_is_refused(company, company_admin, tmp_path):
    with pytest.raises(CommandError, match="Unknown workgroup: ない"):
        dnc("import", str(write(tmp_path, "会社名\r\nA社\r\n")), "--company", "acme", "--workgroup", "ない")


def test_entries_of_another_company_never_apply(company, org, agent, other_company, tmp_path):
    case = testing.make_case(company, org["SBY"], main_assignee=agent, phones=[("phone", "03-1111-2222")])
    dnc("import", str(write(tmp_path, "電話番号\r\n03-1111-2222\r\n")), "--company", "other")
    assert do_not_call_customer_ids(actor_for(agent), [case.customer_id]) == set()


def test_members_see_the_do_not_call_badge_on_the_case_list_and_detail(client, company, org, company_admin, agent, newcomer, tmp_path):
    # given: an entry for the newcomers' workgroup only
    case = testing.make_case(company, org["SBY"], main_assignee=newcomer, customer_name="田中家", phones=[("mobile", "090-1234-5678")])
    other = testing.make_case(company, org["SBY"], main_assignee=newcomer, customer_name="佐藤家", phones=[("mobile", "090-8765-4321")])
    dnc("import", str(write(tmp_path, "電話番号\r\n09012345678\r\n")), "--company", "acme", "--workgroup", "新人チーム")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    # when / then: the member sees it on that lead only
    client.force_login(newcomer)
    listed = {row.pk: row.badges for row in client.get("/cases/").context["page"].items}
    assert listed == {case.pk: ["Do not call"], other.pk: []}
    assert client.get(f"/cases/{case.pk}/").context["badges"] == ["Do not call"]
    # others do not
    client.force_login(agent)
    assert {row.pk: row.badges for row in client.get("/cases/").context["page"].items} == {case.pk: [], other.pk: []}
