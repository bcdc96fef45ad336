"""The e-mail address as a duplicate key: the same address is a strong match, like the same phone,
against the company's leads and within the file, in every duplicate policy, the CLI and the API."""

import inspect
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from estatecrm.core.scope import company_scope
from estatecrm.core.testing import make_case
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.models import Customer
from estatecrm.leads import actions
from estatecrm.leads.choices import DuplicateKey
from estatecrm.leads.forms import MappingForm
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import LedgerEntry, RowIssue

pytestmark = pytest.mark.django_db

EXISTING = ("A商事", "受付", "03-1234-5678", "info@a.example.jp", "1")


def run_import(actor, path, project, **options):
    run = actions.do_start_lead_import(actor=actor, path=path, file_name=path.name, project=project, background=False, **options)
    execute_run(run.pk)
    run.refresh_from_db()
    return run


def duplicate_counts(run) -> dict:
    return {key: value for key, value in run.counts.items() if key.startswith("duplicate")}


def flagged(company, run) -> list[tuple]:
    issues = RowIssue.objects.for_company(company).filter(run=run, is_failure=False).order_by("row_number")
    return list(issues.values_list("row_number", "field", "code", "params__match", "params__customer_id"))


def test_email_is_a_duplicate_key_checked_by_default():
    assert DuplicateKey.EMAIL == "email"
    assert inspect.signature(actions.do_start_lead_import).parameters["duplicate_keys"].default == ("name", "phone", "email")
    assert MappingForm.base_fields["duplicate_keys"].initial == ("name", "phone", "email")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("add", {"leads_created": 1, "updated": 0, "skipped_duplicates": 0}),
     ("skip", {"leads_created": 0, "updated": 0, "skipped_duplicates": 1}),
     ("overwrite", {"leads_created": 0, "updated": 1, "skipped_duplicates": 0})],
)
def test_the_same_email_with_another_name_and_phone_is_a_strong_duplicate(company, admin_actor, project, write_csv, policy, expected):
    # given: an existing lead with an e-mail address
    run_import(admin_actor, write_csv([EXISTING], name="first.csv"), project)
    with company_scope(company):
        existing = Customer.objects.get(name="A商事")
    # when: a row with another name and phone but the same address, typed in another case and width
    run = run_import(admin_actor, write_csv([("B商事", "営業部", "03-9999-0000", "ＩＮＦＯ＠A.EXAMPLE.JP", "5")]), project, on_duplicate=policy)
    # then
    assert {key: run.counts.get(key, 0) for key in expected} == expected
    assert duplicate_counts(run) == {"duplicates:email": 1, "duplicate_matches:strong": 1}
    assert flagged(company, run) == [(2, "email", "duplicate_email", "strong", existing.pk)]
    with company_scope(company):
        if policy == "skip":
            assert list(LedgerEntry.objects.filter(run=run).values_list("outcome", "target_id")) == [("skipped", existing.pk)]
        if policy == "overwrite":
            existing.refresh_from_db()
            assert existing.custom_values == {"所有物件数": 5}
            assert list(existing.contacts.values_list("name", flat=True)) == ["受付", "営業部"]
            assert Customer.objects.count() == 1


def test_a_lead_in_the_trash_or_a_key_not_chosen_finds_no_email_duplicate(company, admin_actor, project, write_csv):
    # given: the existing lead
    run_import(admin_actor, write_csv([EXISTING], name="first.csv"), project)
    same_email = write_csv([("B商事", "営業部", "03-9999-0000", "info@a.example.jp", "")])
    # when: the run checks only names and phones (as runs started before e-mail was a key)
    by_name_and_phone = run_import(admin_actor, same_email, project, duplicate_keys=["name", "phone"], on_duplicate="skip")
    # then
    assert (duplicate_counts(by_name_and_phone), by_name_and_phone.counts["leads_created"]) == ({}, 1)
    # when: both leads that have the address are in the trash
    with company_scope(company):
        Customer.objects.update(deleted_at="2026-01-01T00:00:00Z")
    run = run_import(admin_actor, same_email, project, on_duplicate="skip")
    # then
    assert (duplicate_counts(run), run.counts["leads_created"]) == ({}, 1)


def test_the_same_email_earlier_in_the_file_is_a_strong_duplicate(company, admin_actor, project, write_csv):
    # when: two leads of the file share an address; two contact rows of one lead share another
    path = write_csv([("A商事", "受付", "03-1234-5678", "info@a.example.jp", ""), ("B商事", "営業", "03-9999-0000", "Info@A.example.jp", ""),
                      ("C商事", "受付", "03-2222-3333", "c@c.example.jp", ""), ("C商事", "経理", "03-2222-4444", "c@c.example.jp", "")])
    run = run_import(admin_actor, path, project, on_duplicate="skip")
    # then
    assert duplicate_counts(run) == {"duplicates:email_in_file": 1, "duplicate_matches:strong": 1}
    assert flagged(company, run) == [(3, "email", "duplicate_email_in_file", "strong", None)]
    assert (run.counts["leads_created"], run.counts["contacts_added_to_leads"], run.counts["skipped_duplicates"]) == (2, 1, 1)


def test_the_same_email_earlier_in_the_file_joins_that_lead_with_overwrite(company, admin_actor, project, write_csv):
    path = write_csv([("A商事", "受付", "03-1234-5678", "info@a.example.jp", ""), ("B商事", "営業", "03-9999-0000", "info@a.example.jp", "")])
    run = run_import(admin_actor, path, project, on_duplicate="overwrite")
    assert (run.counts["leads_created"], run.counts["contacts_added_to_leads"], run.counts["duplicates:email_in_file"]) == (1, 1, 1)
    with company_scope(company):
        assert list(Customer.objects.get(name="A商事").contacts.values_list("name", flat=True)) == ["受付", "営業"]


def test_a_same_name_alone_stays_weak_and_a_same_name_with_the_same_email_is_strong(company, org, admin_actor, tmp_path):
    # given: existing customers 渡辺 高志 and 佐藤 花子, each with another phone
    make_case(company, org["HQ"], customer_name="渡辺 高志", phones=(("mobile", "090-9999-0000"),), emails=("takashi@example.jp",))
    make_case(company, org["HQ"], customer_name="佐藤 花子", phones=(("mobile", "090-8888-0000"),), emails=("hanako@example.jp",))
    project, _ = do_upsert_project(company=company, name="来店リスト")
    path = tmp_path / "people.csv"
    rows = ["氏名,電話番号,メール", "渡邊 髙志,090-1234-5678,other@example.jp", "佐藤 花子,080-2222-3333,HANAKO@example.jp"]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp932"))
    # when
    run = run_import(admin_actor, path, project)
    # then: the name found both; only the second shares something else with its lead
    assert duplicate_counts(run) == {"duplicates:name": 2, "duplicate_matches:weak": 1, "duplicate_matches:strong": 1}
    assert [(row, code, match) for row, _field, code, match, _id in flagged(company, run)] == [
        (2, "duplicate_name", "weak"), (3, "duplicate_name", "strong")]


@pytest.mark.django_db(transaction=True)
def test_the_reading_process_looks_up_email_duplicates_when_the_data_is_committed(company, admin_actor, project, write_csv):
    # given: committed leads (the reading process looks them up through its own connection)
    run_import(admin_actor, write_csv([EXISTING, ("ゴミ箱商事", "受付", "03-5555-0000", "trash@example.jp", "")], name="first.csv"), project)
    with company_scope(company):
        Customer.objects.filter(name="ゴミ箱商事").update(deleted_at="2026-01-01T00:00:00Z")
        existing = Customer.objects.get(name="A商事")
    # when
    path = write_csv([("B商事", "営業", "03-9999-0000", "info@a.example.jp", ""), ("D商事", "受付", "03-6666-0000", "trash@example.jp", "")])
    run = run_import(admin_actor, path, project, on_duplicate="skip")
    # then
    assert duplicate_counts(run) == {"duplicates:email": 1, "duplicate_matches:strong": 1}
    assert (run.counts["skipped_duplicates"], run.counts["leads_created"]) == (1, 1)
    assert flagged(company, run) == [(2, "email", "duplicate_email", "strong", existing.pk)]


def test_the_cli_takes_email_as_a_duplicate_key(company, company_admin, admin_actor, project, write_csv):
    # given
    run_import(admin_actor, write_csv([EXISTING], name="first.csv"), project)
    out = io.StringIO()
    # when
    call_command("import-leads", str(write_csv([("B商事", "営業", "03-9999-0000", "info@a.example.jp", "")])), "--company", "acme",
                 "--project", "春の反響リスト", "--duplicate-keys", "email", "--on-duplicate", "skip", "--json", stdout=out, stderr=io.StringIO())
    # then
    result = json.loads(out.getvalue())
    assert (result["skipped_duplicates"], result["leads_created"], result["duplicates_by_rule"]) == (1, 0, {"email": 1})


def test_the_api_takes_email_as_a_duplicate_key_and_refuses_an_unknown_one(admin_client, admin_actor, project, write_csv):
    # given
    run_import(admin_actor, write_csv([EXISTING], name="first.csv"), project)
    content = write_csv([("B商事", "営業", "03-9999-0000", "info@a.example.jp", "")]).read_bytes()

    def post(url, keys=None):
        data = {"project_id": project.pk, "file": SimpleUploadedFile("leads.csv", content, content_type="text/csv")}
        return admin_client.post(url, data if keys is None else {**data, "duplicate_keys": keys})

    # when
    by_email = post("/api/v1/lead-imports/dry-run", "email").json()
    by_name = post("/api/v1/lead-imports/dry-run", "name").json()
    default = post("/api/v1/lead-imports/dry-run").json()
    unknown = post("/api/v1/lead-imports", "name,mail")
    # then
    assert (by_email["duplicates_by_rule"], by_email["duplicate_matches"]) == ({"email": 1}, {"strong": 1})
    assert by_name["duplicates_by_rule"] == {}
    assert default["duplicates_by_rule"] == {"email": 1}
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"duplicate_keys": ["Unknown duplicate keys: mail (use name, phone, email)."]}


def test_the_dry_run_page_offers_the_key_and_lists_an_email_match(admin_client, company, org, project, settings, tmp_path):
    # given: an existing customer with the address of the file's second row, and another name and phone
    settings.MEDIA_ROOT = tmp_path / "media"
    existing = make_case(company, org["HQ"], customer_name="高橋 健", phones=(("mobile", "090-7777-0000"),), emails=("hanako@example.jp",))
    content = "氏名,電話番号,メール\r\n渡邊 髙志,090-1234-5678,takashi@example.jp\r\n佐藤 花子,080-2222-3333,Hanako@Example.jp\r\n".encode("cp932")
    admin_client.post("/imports/new/", {"file": SimpleUploadedFile("people.csv", content, content_type="text/csv"), "project": project.pk})
    page = admin_client.get("/imports/new/mapping/")
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, "", [])}
    # when: the dry run with the keys the page checks at first
    page = admin_client.post("/imports/new/mapping/", {**data, "action": "dry_run"})
    # then
    assert list(data["duplicate_keys"]) == ["name", "phone", "email"]
    assert 'name="duplicate_keys" value="email"' in page.content.decode()
    duplicates = [(item["row"], item["rule"], item["match"], item["email"], item["case_id"]) for item in page.context["dry_run"]["duplicates"]]
    assert duplicates == [(3, "email", "strong", "hanako@example.jp", existing.pk)]
    assert page.context["dry_run"]["summary"]["duplicates_by_rule"] == {"email": 1}
    assert '<span class="badge" data-match="strong">Strong: same e-mail</span>' in page.content.decode()


def test_a_strong_match_wins_over_a_weak_one_with_another_customer(company, org, admin_actor, tmp_path):
    # given: 佐藤 花子 with other points, and 高橋 健 with the address and the phone of the file's rows
    make_case(company, org["HQ"], customer_name="佐藤 花子", phones=(("mobile", "090-8888-0000"),), emails=("sato@example.jp",))
    takahashi = make_case(company, org["HQ"], customer_name="高橋 健", phones=(("mobile", "090-7777-0000"),), emails=("ken@example.jp",))
    project, _ = do_upsert_project(company=company, name="来店リスト")
    path = tmp_path / "people.csv"
    rows = ["氏名,電話番号,メール", "佐藤 花子,080-2222-3333,ken@example.jp", "佐藤 花子,090-7777-0000,"]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp932"))
    # when
    run = run_import(admin_actor, path, project, on_duplicate="skip")
    # then: both rows duplicate 高橋 健, by e-mail and by phone, though their name is 佐藤 花子's
    assert duplicate_counts(run) == {"duplicates:email": 1, "duplicates:phone": 1, "duplicate_matches:strong": 2}
    assert flagged(company, run) == [(2, "email", "duplicate_email", "strong", takahashi.customer_id),
                                     (3, "phone", "duplicate_phone", "strong", takahashi.customer_id)]
