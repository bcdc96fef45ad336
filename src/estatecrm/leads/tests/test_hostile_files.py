"""The hostile-file corpus (pipeline/tests/hostile.py) through the page, the API and the CLI.

Each refused file gets the reader's translated message on every path, and nothing is written:
no customer, case or run, no stored upload, nothing left in the temp folder. Each accepted file
gives its one lead. The 2,000,000-row CSV is read at the reader level only
(pipeline/tests/test_hostile_readers.py): through a request it would only repeat that read.
"""

import io
import json
import resource
import tempfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from python_calamine import CalamineWorkbook

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, Customer
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.readers import ReadError, open_table
from estatecrm.pipeline.tests.hostile import (
    ACCEPTED,
    CORPUS,
    HEADER_ROW,
    REFUSED,
    inline_cell,
    sheet_xml,
    write_xlsx,
)

pytestmark = pytest.mark.django_db

# A refused file may cost this much memory at most (the 2 KB file that was refused too late asked
# for 512 GiB).
MAX_MEMORY_GROWTH_KB = 300 * 1024


@pytest.fixture
def temp_folder(tmp_path, monkeypatch):
    """The system temp folder, here: empty before, and checked after."""
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


def written(company) -> tuple[int, int, int]:
    with company_scope(company):
        return Customer.objects.count(), Case.objects.count(), Run.objects.for_company(company).count()


def reader_refusal(path) -> ReadError:
    with pytest.raises(ReadError) as raised:
        open_table(path).scan()
    return raised.value


def upload(path):
    return SimpleUploadedFile(path.name, path.read_bytes())


def peak_memory_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def found_on_opening(path) -> bool:
    """Whether opening the file finds its fault (detect and the import's start refuse it), rather than
    the full read of the run (the run fails, with nothing written)."""
    try:
        open_table(path)
    except ReadError:
        return True
    return False


MAPPING = json.dumps({"lead_name": "会社名", "contact_name": "会社名", "phone": "電話番号"})


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_api_refuses_a_hostile_file_and_writes_nothing(admin_client, company, project, files, temp_folder, name,
                                                           django_capture_on_commit_callbacks):
    # given
    path = CORPUS[name](files)
    expected = reader_refusal(path)
    before = peak_memory_kb()
    # when
    detected = admin_client.post("/api/v1/lead-imports/detect", {"project_id": project.pk, "file": upload(path)})
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload(path), "mapping": MAPPING})
    # then
    assert expected.code == REFUSED[name]
    body = {"error": {"code": expected.code, "message": expected.message, "fields": {"file": [expected.message]}}}
    if found_on_opening(path):
        assert [(response.status_code, response.json()) for response in (detected, started)] == [(400, body), (400, body)]
        assert written(company) == (0, 0, 0)
    else:
        assert (detected.status_code, started.status_code) == (200, 202)
        detail = admin_client.get(f"/api/v1/lead-imports/{started.json()['import_id']}").json()
        assert (detail["status"], detail["error"], detail["leads_created"]) == ("failed", expected.message, 0)
        assert written(company) == (0, 0, 1)
    assert list(temp_folder.iterdir()) == []
    assert peak_memory_kb() - before < MAX_MEMORY_GROWTH_KB


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_page_refuses_a_hostile_file_and_writes_nothing(admin_client, company, project, files, temp_folder, name):
    # given
    path = CORPUS[name](files)
    expected = reader_refusal(path)
    # when
    response = admin_client.post("/imports/new/", {"file": upload(path), "project": project.pk})
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [expected.message]
    assert written(company) == (0, 0, 0)
    assert list(temp_folder.iterdir()) == []


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_cli_refuses_a_hostile_file_and_writes_nothing(company, company_admin, project, files, name):
    # given
    path = CORPUS[name](files)
    expected = reader_refusal(path)
    command = ["import-leads", str(path), "--company", "acme", "--project", "春の反響リスト", "--mapping", str(write_mapping(files))]
    # when
    if found_on_opening(path):
        with pytest.raises(CommandError) as raised:
            call_command(*command, stdout=io.StringIO(), stderr=io.StringIO())
        # then
        assert str(raised.value) == expected.message
        assert written(company) == (0, 0, 0)
    else:
        # found while the run reads the file: the run fails with the reader's message (exit code 3)
        out = io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command(*command, stdout=out, stderr=io.StringIO())
        # then
        assert out.getvalue().splitlines()[-1] == f"error: {expected.message}"
        assert (raised.value.returncode, str(raised.value).endswith(f"failed: {expected.message}")) == (3, True)
        assert written(company) == (0, 0, 1)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_odd_but_valid_files_import_their_lead_on_every_path(admin_client, company, project, files, temp_folder, name,
                                                             django_capture_on_commit_callbacks):
    # given
    path = ACCEPTED[name](files)
    # when
    detected = admin_client.post("/api/v1/lead-imports/detect", {"project_id": project.pk, "file": upload(path)})
    page = admin_client.post("/imports/new/", {"file": upload(path), "project": project.pk})
    with django_capture_on_commit_callbacks(execute=True):
        started = admin_client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload(path), "mapping": MAPPING})
    out = io.StringIO()
    call_command("import-leads", str(path), "--company", "acme", "--project", "春の反響リスト", "--json", "--on-duplicate", "skip",
                 "--mapping", str(write_mapping(files)), stdout=out, stderr=io.StringIO())
    # then
    assert (detected.status_code, detected.json()["headers"]) == (200, ["会社名", "電話番号"])
    assert (page.status_code, page["Location"]) == (302, "/imports/new/mapping/")
    detail = admin_client.get(f"/api/v1/lead-imports/{started.json()['import_id']}").json()
    assert (detail["status"], detail["leads_created"]) == ("completed", 1)
    assert (json.loads(out.getvalue())["status"], json.loads(out.getvalue())["skipped_duplicates"]) == ("completed", 1)
    with company_scope(company):
        assert list(Customer.objects.values_list("name", flat=True)) == ["株式会社ABC"]
    assert list(temp_folder.iterdir()) == []


def write_mapping(folder):
    path = folder / "mapping.json"
    path.write_text(json.dumps({"lead_name": "会社名", "contact_name": "会社名", "phone": "電話番号"}), encoding="utf-8")
    return path


FORMULA_NAMES = ["=cmd|' /C calc'!A0", "@SUM(1+1)", "+81 商事", "-田中家"]


def test_formula_cells_are_imported_as_text_and_exported_neutralized(company, company_admin, project, files):
    # given: formula-looking texts, and a real formula cell (its cached value is read, never evaluated)
    rows = "".join(
        f'<row r="{index}">{inline_cell(f"A{index}", name)}{inline_cell(f"B{index}", f"03-1234-56{index:02d}")}</row>'
        for index, name in enumerate(FORMULA_NAMES, start=2))
    formula = '<row r="6"><c r="A6" t="str"><f>HYPERLINK("http://evil.example/","x")</f><v>キャッシュ値</v></c>' + inline_cell("B6", "03-1234-5606") + "</row>"
    path = write_xlsx(files / "formulas.xlsx", sheet_xml(HEADER_ROW + rows + formula))
    # when
    call_command("import-leads", str(path), "--company", "acme", "--project", "春の反響リスト", "--mapping", str(write_mapping(files)),
                 "--json", stdout=io.StringIO(), stderr=io.StringIO())
    exported = files / "leads.xlsx"
    call_command("export", "leads", "--company", "acme", "--format", "xlsx", "--out", str(exported), stdout=io.StringIO())
    # then
    with company_scope(company):
        assert sorted(Customer.objects.values_list("name", flat=True)) == sorted([*FORMULA_NAMES, "キャッシュ値"])
    sheet = CalamineWorkbook.from_path(str(exported))
    names = [row[1] for row in sheet.get_sheet_by_name(sheet.sheet_names[0]).to_python()[1:]]
    assert sorted(names) == sorted(["'" + name for name in FORMULA_NAMES] + ["キャッシュ値"])


def test_an_unexpected_failure_leaves_no_upload_in_the_temp_folder(admin_client, project, files, temp_folder, monkeypatch):
    # given
    from estatecrm.leads import api

    def failing_open(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(api, "open_table", failing_open)
    path = ACCEPTED["xlsx_named_xls"](files)
    # when
    with pytest.raises(RuntimeError):
        admin_client.post("/api/v1/lead-imports/detect", {"project_id": project.pk, "file": upload(path)})
    # then
    assert list(temp_folder.iterdir()) == []
