"""Bad bundles are refused with one clear message, and nothing is written."""

import csv
import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from estatecrm.crm.models import Case
from estatecrm.legacy.bundle import text_lines
from estatecrm.legacy.tests.factories import INFO
from estatecrm.pipeline.models import Run

pytestmark = pytest.mark.django_db

CASES = "追客番号,顧客番号,種別,追客ステータス,主担当\r\nT1,C1,賃貸,反響対応中,S001\r\n"


def make_zip(path, members: dict):
    """A ZIP with the members and エクスポート情報.csv unless they hold one (non-ASCII names carry the UTF-8
    flag, which FORMAT.md allows too)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {"エクスポート情報.csv": INFO, **members}.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


def run_cli(path, *extra):
    call_command("legacy-migrate", "run", str(path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp", *extra,
                 stdout=io.StringIO(), stderr=io.StringIO())


def assert_refused(path, message):
    with pytest.raises(CommandError) as raised:
        run_cli(path)
    assert str(raised.value) == message
    assert (Run.objects.unscoped().count(), Case.objects.unscoped().count()) == (0, 0)


def test_a_file_that_is_not_a_zip_is_refused(sample_company, tmp_path):
    path = tmp_path / "bundle.zip"
    path.write_bytes("追客番号,顧客番号\r\n".encode("cp932"))
    assert_refused(path, "The file is not a complete ZIP file: choose the bundle that the desktop app exported, and upload it again "
                         "if the upload was interrupted.")


def test_a_truncated_upload_is_refused(sample_company, bundle_path, tmp_path):
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle_path.read_bytes()[:6000])
    assert_refused(path, "The file is not a complete ZIP file: choose the bundle that the desktop app exported, and upload it again "
                         "if the upload was interrupted.")


def test_a_zip_without_the_cases_file_is_refused(sample_company, tmp_path):
    path = make_zip(tmp_path / "bundle.zip", {"顧客.csv": "顧客番号,氏名\r\n".encode("cp932")})
    assert_refused(path, "The bundle has no 追客.csv: it is not an export of the desktop app's follow-up data.")


@pytest.mark.parametrize("name", ["../追客.csv", "添付/../../evil.pdf", "/etc/passwd", "C:/evil.csv", "添付\\..\\evil.pdf"])
def test_members_with_unsafe_paths_are_refused(sample_company, tmp_path, name):
    path = make_zip(tmp_path / "bundle.zip", {"追客.csv": CASES.encode("cp932"), name: b"x"})
    assert_refused(path, f"The bundle contains a file with an unsafe path (“{name}”): it was refused and nothing was written.")
    assert not (tmp_path.parent / "evil.pdf").exists()


def test_a_zip_bomb_is_refused(sample_company, tmp_path):
    path = make_zip(tmp_path / "bundle.zip", {"追客.csv": CASES.encode("cp932"), "添付/T1/big.pdf": b"\0" * (4 * 1024 * 1024)})
    assert_refused(path, "The bundle unpacks to far more data than an export can hold (a ZIP bomb?): it was refused.")


@pytest.mark.parametrize(("data", "label"), [(CASES.encode("utf-8"), "UTF-8"), (b"\xef\xbb\xbf" + CASES.encode("utf-8"), "UTF-8 (BOM)")])
def test_a_csv_in_another_encoding_is_detected_and_refused(sample_company, tmp_path, data, label):
    path = make_zip(tmp_path / "bundle.zip", {"追客.csv": data})
    assert_refused(path, f"“追客.csv” is written in {label}, but the desktop app's export is Shift_JIS (CP932): "
                         "export the bundle again from the desktop app without converting it.")


def test_a_csv_without_a_needed_column_is_refused(sample_company, tmp_path):
    path = make_zip(tmp_path / "bundle.zip", {"追客.csv": "追客番号,顧客番号,種別,追客ステータス\r\nT1,C1,賃貸,反響対応中\r\n".encode("cp932")})
    assert_refused(path, "“追客.csv” has no column “主担当”.")


def test_dangling_references_and_unknown_columns_do_not_break_the_reader(sample_company, tmp_path):
    # given a case whose customer, status and staff exist nowhere, an unknown column, and history of an unknown case
    cases = "追客番号,顧客番号,種別,追客ステータス,主担当,将来の列\r\nT1,C404,賃貸,反響対応中,S404,x\r\nT2,C1,賃貸,謎,S001,\r\n"
    path = make_zip(tmp_path / "bundle.zip", {
        "追客.csv": cases.encode("cp932"), "追客ステータス.csv": "ステータス名,区分\r\n反響対応中,追客中\r\n".encode("cp932"),
        "顧客.csv": "顧客番号,氏名\r\nC1,山田 太郎\r\n".encode("cp932"),
        "活動履歴.csv": "追客番号,活動日時,活動種別\r\nT999,2024/01/01 10:00,電話\r\n".encode("cp932"),
    })
    out = io.StringIO()
    # when it runs
    call_command("legacy-migrate", "run", str(path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp", "--json",
                 stdout=out, stderr=io.StringIO())
    # then each case has its reason and nothing was migrated
    import json

    result = json.loads(out.getvalue())
    assert (result["status"], result["source_cases"], result["migrated"], result["skipped"], result["failed"]) == (
        "completed_with_failures", 2, 0, {"customer_missing": 1}, 1)


@pytest.mark.parametrize("text", ["", "a,b\r\nc,d\r\n", "a,b\nc,d", "a\rb\r\nc\n\nd", '"x\r\ny",z\r\n"1\n2\r3"\r\n', "\r\n\r\n", "末尾,改行なし"])
def test_text_lines_reads_as_string_io_does(text):
    assert list(text_lines(text)) == list(io.StringIO(text, newline=""))
    assert list(csv.reader(text_lines(text))) == list(csv.reader(io.StringIO(text, newline="")))
