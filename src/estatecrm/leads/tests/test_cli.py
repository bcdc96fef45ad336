"""The exact CLI of the lead import: options, JSON keys, exit codes, failed-rows file, revert."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Customer, Project

pytestmark = pytest.mark.django_db

ROWS = [
    ("株式会社ABC", "本社", "03-1234-5678", "info@abc.example.jp", "3"),
    ("田中家", "田中 一郎", "090-1234-567", "", ""),
    ("", "名無し", "090-5555-6666", "", ""),
]


def run_cli(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_leads_json_has_the_documented_keys(company, company_admin, project, write_csv):
    out, err = run_cli("import-leads", str(write_csv(ROWS)), "--company", "acme", "--project", "春の反響リスト", "--json")
    result = json.loads(out)
    assert set(result) >= {"import_id", "status", "rows", "leads_created", "contacts_created", "updated", "skipped_duplicates",
                           "failed", "failed_by_reason"}
    assert {key: result[key] for key in ("status", "rows", "leads_created", "contacts_created", "updated", "skipped_duplicates", "failed")} == {
        "status": "completed_with_failures", "rows": 3, "leads_created": 1, "contacts_created": 1, "updated": 0,
        "skipped_duplicates": 0, "failed": 2}
    assert result["failed_by_reason"] == {"lead_name_missing": 1, "phone_invalid": 1}
    assert err.startswith("Suggested mapping: {")


def test_mapping_file_and_duplicate_options(company, company_admin, project, write_csv, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号"}), encoding="utf-8")
    path = write_csv(ROWS[:1])
    run_cli("import-leads", str(path), "--company", "acme", "--project", "春の反響リスト", "--mapping", str(mapping), "--json")
    out, _ = run_cli("import-leads", str(path), "--company", "acme", "--project", "春の反響リスト", "--mapping", str(mapping),
                     "--duplicate-keys", "phone", "--on-duplicate", "skip", "--json")
    assert (json.loads(out)["skipped_duplicates"], json.loads(out)["leads_created"]) == (1, 0)


def test_dry_run_with_a_new_project_writes_nothing(company, company_admin, write_csv):
    out, _ = run_cli("import-leads", str(write_csv(ROWS, header=("会社名", "担当者", "電話番号", "メール", "備考"))), "--company", "acme",
                     "--project", "新しいリスト", "--create-project", "--dry-run", "--json")
    assert (json.loads(out)["status"], json.loads(out)["leads_created"]) == ("dry_run", 1)
    with company_scope(company):
        assert (Customer.objects.count(), Project.objects.filter(name="新しいリスト").exists()) == (0, False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "ない"], "Unknown project: ない (pass --create-project to create it)"),
        (["--project", "春の反響リスト", "--duplicate-keys", "name,fax"], "Unknown duplicate keys: fax (use name, phone, email)"),
        (["--project", "春の反響リスト", "--as", "nobody@example.jp"], "No user nobody@example.jp in company acme"),
    ],
)
def test_cannot_run_exits_with_one_line(company, company_admin, project, write_csv, args, message):
    with pytest.raises(CommandError) as raised:
        run_cli("import-leads", str(write_csv(ROWS)), "--company", "acme", *args)
    assert str(raised.value) == message


def test_unreadable_file_and_missing_mapping_are_refused(company, company_admin, project, tmp_path, write_csv):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty."):
        run_cli("import-leads", str(empty), "--company", "acme", "--project", "春の反響リスト")
    with pytest.raises(CommandError, match="The column mapping is not complete."):
        run_cli("import-leads", str(write_csv(ROWS, header=("会社名", "担当者", "備考", "x", "y"))), "--company", "acme", "--project", "春の反響リスト")
    with company_scope(company):
        assert Customer.objects.count() == 0


def test_imports_list_failed_rows_and_revert(company, company_admin, project, write_csv, tmp_path):
    out, _ = run_cli("import-leads", str(write_csv(ROWS)), "--company", "acme", "--project", "春の反響リスト", "--json")
    import_id = json.loads(out)["import_id"]
    listing = json.loads(run_cli("imports", "list", "--company", "acme", "--json")[0])
    assert [(row["import_id"], row["file"], row["status"]) for row in listing] == [(import_id, "leads.csv", "completed_with_failures")]
    failed = tmp_path / "failed.csv"
    run_cli("imports", "failed-rows", str(import_id), "--out", str(failed))
    text = failed.read_bytes().decode("cp932")
    assert text.splitlines() == [
        "会社名,担当者,電話番号,メール,所有物件数,エラー内容",
        "田中家,田中 一郎,090-1234-567,,,電話番号: 電話番号が正しくありません。",
        ",名無し,090-5555-6666,,,会社名: リード名が空です。",
    ]
    out, _ = run_cli("imports", "revert", str(import_id))
    assert out.startswith(f"import {import_id} reverted")
    with company_scope(company):
        assert Customer.objects.filter(deleted_at__isnull=True).count() == 0


def test_failed_rows_can_be_utf8_with_bom(company, company_admin, project, write_csv, tmp_path):
    out, _ = run_cli("import-leads", str(write_csv(ROWS)), "--company", "acme", "--project", "春の反響リスト", "--json")
    failed = tmp_path / "failed.csv"
    run_cli("imports", "failed-rows", str(json.loads(out)["import_id"]), "--out", str(failed), "--encoding", "utf-8-sig")
    assert failed.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_mapping_file_that_names_a_field_twice_is_refused(company, company_admin, project, write_csv, tmp_path):
    # given
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号", "phone": "メール"}', encoding="utf-8")
    # when
    with pytest.raises(CommandError) as refused:
        run_cli("import-leads", str(write_csv(ROWS[:1])), "--company", "acme", "--project", "春の反響リスト", "--mapping", str(mapping))
    # then
    assert str(refused.value) == "The mapping names the field “phone” twice: it is ambiguous which column to use."
    from estatecrm.pipeline.models import Run

    assert Run.objects.unscoped().count() == 0
