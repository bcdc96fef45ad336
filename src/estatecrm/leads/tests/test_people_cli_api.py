"""`import-leads --case-kind/--customer-kind` and the API's `case_kind`/`customer_kind`, with real files of people
(CP932 CSV, XLSX written by xlsxwriter) and the suggested mapping."""

import io
import json

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.models import Case, Customer, Project

pytestmark = pytest.mark.django_db

HEADER = ("氏名", "フリガナ", "電話番号")
PEOPLE = [("渡邊 髙志", "ワタナベ タカシ", "090-1234-5678"), ("髙﨑 花子", "タカサキ ハナコ", "080-2222-3333")]


def cp932_csv(tmp_path):
    path = tmp_path / "来店客.csv"
    path.write_bytes(("\r\n".join(",".join(row) for row in [HEADER, *PEOPLE]) + "\r\n").encode("cp932"))
    return path


def xlsx(tmp_path):
    path = tmp_path / "来店客.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("顧客")
    for row_number, row in enumerate([HEADER, *PEOPLE]):
        sheet.write_row(row_number, 0, row)
    # An Excel number cell for the phone: its leading 0 is lost in the file.
    sheet.write_number(2, 2, 8022223333)
    workbook.close()
    return path


def run_cli(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def kinds(company):
    with company_scope(company):
        return sorted(Case.objects.values_list("customer__name", "kind", "customer__kind"))


@pytest.mark.parametrize("make_file", [cp932_csv, xlsx])
def test_a_person_list_imports_with_the_suggested_mapping_and_the_kinds_given(company, company_admin, tmp_path, make_file):
    # given
    do_upsert_project(company=company, name="来店リスト")
    # when: no --mapping
    out, err = run_cli("import-leads", str(make_file(tmp_path)), "--company", "acme", "--project", "来店リスト",
                       "--case-kind", "buy", "--customer-kind", "person", "--json")
    # then: the suggestion maps the contact, and the lead is named after it
    assert err.splitlines() == ['Suggested mapping: {"contact_name": "氏名", "phone": "電話番号", "contact_kana": "フリガナ"}',
                                "lead_name: the contact's name (氏名)"]
    result = json.loads(out)
    assert (result["status"], result["leads_created"], result["failed"]) == ("completed", 2, 0)
    assert kinds(company) == [("渡邊 髙志", "buy", "person"), ("髙﨑 花子", "buy", "person")]


def test_without_kind_options_the_projects_defaults_apply(company, company_admin, tmp_path):
    do_upsert_project(company=company, name="法人リスト", case_kind="buy", customer_kind="company")
    run_cli("import-leads", str(cp932_csv(tmp_path)), "--company", "acme", "--project", "法人リスト", "--json")
    assert kinds(company) == [("渡邊 髙志", "buy", "company"), ("髙﨑 花子", "buy", "company")]


def test_a_project_created_by_the_command_keeps_the_kinds_given(company, company_admin, tmp_path):
    run_cli("import-leads", str(cp932_csv(tmp_path)), "--company", "acme", "--project", "新しいリスト", "--create-project",
            "--case-kind", "buy", "--customer-kind", "company", "--json")
    project = Project.objects.for_company(company).get(name="新しいリスト")
    assert (project.default_case_kind, project.default_customer_kind) == ("buy", "company")


def test_an_unknown_kind_is_a_command_line_error(company, company_admin, tmp_path):
    do_upsert_project(company=company, name="来店リスト")
    with pytest.raises(CommandError, match="invalid choice: 'lease'"):
        run_cli("import-leads", str(cp932_csv(tmp_path)), "--company", "acme", "--project", "来店リスト", "--case-kind", "lease")
    assert Customer.objects.for_company(company).count() == 0


def test_the_dry_run_reports_the_kinds_default_mapping_without_errors(company, company_admin, tmp_path):
    do_upsert_project(company=company, name="来店リスト")
    out, _err = run_cli("import-leads", str(cp932_csv(tmp_path)), "--company", "acme", "--project", "来店リスト", "--dry-run", "--json")
    result = json.loads(out)
    assert (result["status"], result["leads_created"], result["failed"], result["failed_by_reason"]) == ("dry_run", 2, 0, {})
    assert Customer.objects.for_company(company).count() == 0


def test_the_api_start_body_takes_the_kinds_and_reports_them(admin_client, company, tmp_path, django_capture_on_commit_callbacks):
    # given
    project, _ = do_upsert_project(company=company, name="来店リスト")
    content = cp932_csv(tmp_path).read_bytes()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post("/api/v1/lead-imports", {
            "project_id": project.pk, "file": SimpleUploadedFile("people.csv", content, content_type="text/csv"),
            "case_kind": "buy", "customer_kind": "company"})
    # then
    assert started.status_code == 202
    detail = admin_client.get(f"/api/v1/lead-imports/{started.json()['import_id']}").json()
    assert (detail["status"], detail["case_kind"], detail["customer_kind"], detail["leads_created"]) == ("completed", "buy", "company", 2)
    assert kinds(company) == [("渡邊 髙志", "buy", "company"), ("髙﨑 花子", "buy", "company")]


def test_the_api_refuses_an_unknown_kind_on_its_field(admin_client, company, tmp_path):
    project, _ = do_upsert_project(company=company, name="来店リスト")
    response = admin_client.post("/api/v1/lead-imports/dry-run", {
        "project_id": project.pk, "file": SimpleUploadedFile("people.csv", cp932_csv(tmp_path).read_bytes()), "customer_kind": "club"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"customer_kind": ["The customer kind must be person, household or company."]}
