"""`estatecrm export leads`: one record per imported lead's case, with the documented keys."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.models import Case
from estatecrm.leads import actions

pytestmark = pytest.mark.django_db

ROWS = [
    ("株式会社ABC", "本社", "03-1234-5678", "info@abc.example.jp", "3"),
    ("株式会社ABC", "営業部長 田中様", "090-1111-2222", "", ""),
    ("田中家", "田中 一郎", "090-3333-4444", "", "=1+1"),
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def export(*args) -> str:
    out = io.StringIO()
    call_command("export", "leads", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def imported(company, org, admin_actor, project, write_csv):
    """Two files imported: one into the project, one into another project; plus a case entered by hand."""
    from estatecrm.pipeline.engine import execute_run

    with company_scope(company):
        run = actions.do_start_lead_import(actor=admin_actor, path=write_csv(ROWS[:2]), file_name="a.csv", project=project, background=False)
        execute_run(run.pk)
        other, _ = do_upsert_project(company=company, name="別リスト")
        other_run = actions.do_start_lead_import(actor=admin_actor, path=write_csv(ROWS[2:], name="b.csv"), file_name="b.csv",
                                                 project=other, background=False)
        execute_run(other_run.pk)
    testing.make_case(company, org["HQ"], customer_name="手入力 顧客")
    return {"run": run, "other_run": other_run}


def test_jsonl_has_one_record_per_imported_lead_with_the_documented_keys(company, imported):
    # when
    records = [json.loads(line) for line in export("--company", "acme", "--project", "春の反響リスト").splitlines()]
    # then
    case = Case.objects.for_company(company).get(customer__name="株式会社ABC")
    assert records == [{
        "case_id": case.pk, "lead_name": "株式会社ABC", "project": "春の反響リスト",
        "contacts": [{"name": "本社", "kana": "", "phones": ["+81312345678"], "emails": ["info@abc.example.jp"]},
                     {"name": "営業部長 田中様", "kana": "", "phones": ["+819011112222"], "emails": []}],
        "postal_code": "", "prefecture": "", "city": "", "street": "", "building": "", "homepage": "",
        "custom": {"所有物件数": 3}, "status": "新規", "main_assignee": "admin@acme.example.jp", "import_id": imported["run"].pk,
    }]


def test_without_project_every_imported_lead_is_exported_and_manual_cases_are_not(company, imported):
    records = [json.loads(line) for line in export("--company", "acme").splitlines()]
    assert [(record["lead_name"], record["project"], record["import_id"]) for record in records] == [
        ("株式会社ABC", "春の反響リスト", imported["run"].pk), ("田中家", "別リスト", imported["other_run"].pk)]


def test_csv_has_the_same_columns_for_every_record_and_neutralizes_formulas(company, imported, tmp_path, project):
    # given: the second project's file carries a formula-looking value for the custom field
    with company_scope(company):
        case = Case.objects.get(customer__name="田中家")
        case.customer.custom_values = {"所有物件数": "=1+1"}
        case.customer.save(update_fields=["custom_values"])
    out = tmp_path / "leads.csv"
    # when
    export("--company", "acme", "--format", "csv", "--out", str(out))
    # then
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["case_id", "lead_name", "project", "contacts", "postal_code", "prefecture", "city", "street", "building", "homepage",
                       "custom.所有物件数", "status", "main_assignee", "import_id"]
    assert [row[10] for row in rows[1:]] == ["3", "'=1+1"]


def test_trashed_and_other_company_leads_are_not_exported(company, imported, other_company):
    with company_scope(company):
        Case.objects.filter(customer__name="田中家").update(deleted_at=Case.objects.first().created_at)
    assert [json.loads(line)["lead_name"] for line in export("--company", "acme").splitlines()] == ["株式会社ABC"]
    assert export("--company", "other") == ""


def test_unknown_project_is_refused_and_no_file_is_written(company, tmp_path):
    out = tmp_path / "leads.jsonl"
    with pytest.raises(CommandError, match="^Unknown project: ない$"):
        export("--company", "acme", "--project", "ない", "--out", str(out))
    assert out.exists() is False
