"""Hostile legacy bundles (issue 9, "Keep it closed"), made here in tmp_path: each through the CLI
(`legacy-migrate preflight` and `run`) and the migration page's upload (with the background check). Each ends
in a clear translated refusal with nothing written, or in a correct result. No API route takes bundles
(pipeline/api.py lists and aborts runs only)."""

import io
import json
import random
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils.html import escape

from estatecrm.crm.models import Attachment, Case, Customer
from estatecrm.legacy import bundle as files
from estatecrm.legacy.bundle import Bundle
from estatecrm.legacy.models import CaseOutcome
from estatecrm.legacy.tests.bundles import case_members, case_row, csv_bytes, customer_row, write_zip
from estatecrm.legacy.tests.test_preflight import state_file, token_of
from estatecrm.legacy.tests.test_views import client_for, upload, uploaded_files
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.readers import ReadError

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT

BOMB = "The bundle unpacks to far more data than an export can hold (a ZIP bomb?): it was refused."


def cli(*args):
    call_command("legacy-migrate", *args, stdout=io.StringIO(), stderr=io.StringIO())


def preflight_cli(path):
    cli("preflight", str(path), "--company", "k0001", "--org", "HQ")


def run_cli(path):
    cli("run", str(path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp")


def nothing_written(company) -> bool:
    return (Run.objects.unscoped().count(), Case.objects.unscoped().count(), Customer.objects.unscoped().count(),
            CaseOutcome.objects.unscoped().count()) == (0, 0, 0, 0)


def replace_member(members, name: str, data: bytes):
    return [(member, data if member == name else content) for member, content in members]


# -- the bundles ----------------------------------------------------------------------------------

def one_member_bomb(path: Path) -> Path:
    return write_zip(path, [*case_members([case_row(1)], [customer_row(1)]), ("添付/T1/big.pdf", b"\0" * (4 * 1024 * 1024))])


def many_small_members_bomb(path: Path) -> Path:
    """40 members of 256 KiB zeros each (every one under the 1 MiB a single member may reach unchecked):
    10 MiB from about 20 KB, the whole bundle far over the ratio."""
    bombs = [(f"添付/T1/{index}.pdf", b"\0" * (256 * 1024)) for index in range(40)]
    return write_zip(path, [*case_members([case_row(1)], [customer_row(1)]), *bombs])


def forged_size(path: Path) -> Path:
    """追客.csv declares 40 bytes in the ZIP's directory (and local header) but expands to 200 KB."""
    rows = [case_row(number) for number in range(1, 4001)]
    write_zip(path, case_members(rows, [customer_row(1)]))
    data = bytearray(path.read_bytes())
    name = files.CASES_FILE.encode("utf-8")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(files.CASES_FILE)
        real = info.file_size
    assert real > 100_000
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name and struct.unpack_from("<I", data, start + size_at)[0] == real:
                struct.pack_into("<I", data, start + size_at, 40)
            start += 4
    path.write_bytes(bytes(data))
    return path


def with_member(name: str, data: bytes, *, symlink: bool = False):
    def make(path: Path) -> Path:
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        write_zip(path, case_members([case_row(1)], [customer_row(1)]))
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(info, data)
        return path

    return make


def damaged_attachment(path: Path) -> Path:
    """An attachment whose stored bytes no longer match their CRC (a bit flipped on a disk or in transit)."""
    content = b"%PDF-1.4 attachment of T1 " * 40
    attachments = [{"追客番号": "T1", "ファイル名": "a.pdf", "格納パス": "添付/T1/a.pdf"}]
    members = [*case_members([case_row(1)], [customer_row(1)], attachments=attachments), ("添付/T1/a.pdf", content)]
    write_zip(path, members, compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    at = data.find(content)
    data[at + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def duplicate_cases_member(path: Path) -> Path:
    members = case_members([case_row(1)], [customer_row(1)])
    return write_zip(path, [*members, (files.CASES_FILE, csv_bytes(files.COLUMNS[files.CASES_FILE], [case_row(2)]))])


def without_info(path: Path) -> Path:
    return write_zip(path, [item for item in case_members([case_row(1)], [customer_row(1)]) if item[0] != files.INFO_FILE])


def invalid_cp932(path: Path) -> Path:
    members = case_members([case_row(1)], [customer_row(1)])
    broken = csv_bytes(files.COLUMNS[files.CUSTOMERS_FILE], [customer_row(1)]) + b"C2,\x82\xff\r\n"
    return write_zip(path, replace_member(members, files.CUSTOMERS_FILE, broken))


def many_columns(path: Path) -> Path:
    columns = (*files.COLUMNS[files.CASES_FILE], *(f"列{index}" for index in range(20_000)))
    members = case_members([case_row(1)], [customer_row(1)])
    return write_zip(path, replace_member(members, files.CASES_FILE, csv_bytes(columns, [case_row(1)])))


def huge_cell(path: Path) -> Path:
    """A 10 MB name (5,000,000 kana in CP932) that does not compress away."""
    name = "".join(random.Random(9).choices("アイウエオカキクケコサシスセソタチツテトナニヌネノ", k=5_000_000))
    members = case_members([case_row(1)], [customer_row(1)])
    return write_zip(path, replace_member(members, files.CUSTOMERS_FILE,
                                          csv_bytes(files.COLUMNS[files.CUSTOMERS_FILE], [customer_row(1, 氏名=name)])))


def duplicate_case_ids(path: Path) -> Path:
    return write_zip(path, case_members([case_row(1), case_row(2), case_row(1, 種別="売買")], [customer_row(1), customer_row(2)]))


def duplicate_customer_ids(path: Path) -> Path:
    return write_zip(path, case_members([case_row(1)], [customer_row(1), customer_row(1, 氏名="別人")]))


def duplicate_column(path: Path) -> Path:
    members = case_members([case_row(1)], [customer_row(1)])
    columns = (*files.COLUMNS[files.CUSTOMERS_FILE], "氏名")
    return write_zip(path, replace_member(members, files.CUSTOMERS_FILE, csv_bytes(columns, [customer_row(1)])))


def csv_renamed_zip(path: Path) -> Path:
    path.write_bytes(csv_bytes(files.COLUMNS[files.CASES_FILE], [case_row(1)]))
    return path


def xlsx_as_bundle(path: Path) -> Path:
    return write_zip(path, {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


def truncated(path: Path) -> Path:
    write_zip(path, case_members([case_row(number) for number in range(1, 200)], [customer_row(1)]))
    path.write_bytes(path.read_bytes()[:1500])
    return path


REFUSED = {
    "one_member_bomb": (one_member_bomb, "zip_bomb", BOMB),
    "many_small_members_bomb": (many_small_members_bomb, "zip_bomb", BOMB),
    "forged_size": (forged_size, "not_a_zip", "The file “追客.csv” in the bundle is damaged (the ZIP file may be cut off)."),
    "parent_path": (with_member("../evil.pdf", b"x"), "unsafe_path",
                    "The bundle contains a file with an unsafe path (“../evil.pdf”): it was refused and nothing was written."),
    "absolute_path": (with_member("/tmp/evil.pdf", b"x"), "unsafe_path",
                      "The bundle contains a file with an unsafe path (“/tmp/evil.pdf”): it was refused and nothing was written."),
    "symlink": (with_member("添付/T1/link.pdf", b"/etc/passwd", symlink=True), "unsafe_path",
                "The bundle contains a file with an unsafe path (“添付/T1/link.pdf”): it was refused and nothing was written."),
    "damaged_attachment": (damaged_attachment, "not_a_zip", "The file “添付/T1/a.pdf” in the bundle is damaged (the ZIP file may be cut off)."),
    "truncated": (truncated, "not_a_zip", "The file is not a complete ZIP file: choose the bundle that the desktop app exported, "
                                          "and upload it again if the upload was interrupted."),
    "not_a_zip": (csv_renamed_zip, "not_a_zip", "The file is not a complete ZIP file: choose the bundle that the desktop app "
                                                "exported, and upload it again if the upload was interrupted."),
    "other_zip": (xlsx_as_bundle, "cases_missing", "The bundle has no 追客.csv: it is not an export of the desktop app's follow-up data."),
    "duplicate_member": (duplicate_cases_member, "duplicate_member",
                         "The bundle contains “追客.csv” twice: it is ambiguous which one to migrate. Export the bundle again from the "
                         "desktop app."),
    "missing_info": (without_info, "info_missing", "The bundle has no エクスポート情報.csv: it is not a complete export of the desktop "
                                                   "app (the row counts cannot be checked). Export the bundle again from the desktop app."),
    "invalid_cp932": (invalid_cp932, "wrong_encoding", "“顧客.csv” is not valid Shift_JIS (CP932) text at line 3: the file may be damaged."),
    "many_columns": (many_columns, "too_many_columns",
                     "“追客.csv” has 20016 columns, more than an export has (at most 1000): it was refused."),
    "huge_cell": (huge_cell, "bad_csv", "“顧客.csv” has a value longer than 131072 characters at line 2: it was refused."),
    "duplicate_case_ids": (duplicate_case_ids, "duplicate_id", "“追客.csv” has “T1” twice (lines 2 and 4): ids must be unique, so it is "
                                                               "ambiguous which row to migrate."),
    "duplicate_customer_ids": (duplicate_customer_ids, "duplicate_id", "“顧客.csv” has “C1” twice (lines 2 and 3): ids must be unique, so "
                                                                       "it is ambiguous which row to migrate."),
    "duplicate_column": (duplicate_column, "duplicate_column",
                         "“顧客.csv” has the column “氏名” twice: it is ambiguous which one to migrate."),
}
# Refused already when the upload is stored (the ZIP's directory); the others by the background check.
REFUSED_AT_UPLOAD = {"one_member_bomb", "many_small_members_bomb", "parent_path", "absolute_path", "symlink", "truncated", "not_a_zip",
                     "other_zip", "duplicate_member", "missing_info"}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_hostile_bundle_is_refused_by_the_cli_with_a_translated_message_and_nothing_written(sample_company, tmp_path, case):
    # given
    make, code, message = REFUSED[case]
    path = make(tmp_path / "bundle.zip")
    # when / then: the same refusal for the pre-flight and the run, in English and Japanese
    for command in (preflight_cli, run_cli):
        with pytest.raises(CommandError) as refused:
            command(path)
        assert str(refused.value) == message, command
    with pytest.raises(ReadError) as direct:
        with Bundle(path) as bundle:
            bundle.check()
    assert direct.value.code == code
    assert nothing_written(sample_company)
    assert not (tmp_path.parent / "evil.pdf").exists() and not Path("/tmp/evil.pdf").exists()


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_hostile_bundle_uploaded_on_the_page_is_refused_with_its_message_and_nothing_kept(sample_company, sample_admin, units, media,
                                                                                          tmp_path, case):
    # given
    make, code, message = REFUSED[case]
    path = make(tmp_path / "bundle.zip")
    client = client_for(sample_admin)
    # when
    response = upload(client, units["HQ"], path, name="bundle.zip")
    # then
    if case in REFUSED_AT_UPLOAD:
        assert response.status_code == 400
        assert escape(message) in response.content.decode()
        assert uploaded_files(media, sample_company) == []
    else:
        state = state_file(media, sample_company, token_of(client, units["HQ"]))
        assert (state["status"], state["error"]["code"], state["error"]["messages"]["en"]) == ("failed", code, message)
        assert [item.name for item in uploaded_files(media, sample_company)] == ["preflight.json", "upload.json"]
    assert nothing_written(sample_company)


def test_nul_bytes_and_formula_cells_migrate_as_text_without_the_nul_and_reports_neutralize_them(sample_company, sample_admin, units,
                                                                                                     media, tmp_path):
    # given
    members = case_members([case_row(1, 追客番号="=1+2", 顧客番号="+C1", 初回反響媒体="=HYPERLINK(\"http://evil.example\")",
                                     追客メモ="メモ\x00です")],
                           [customer_row(1, 顧客番号="+C1", 氏名="田中\x00 太郎", 勤務先="@SUM(A1)")])
    path = write_zip(tmp_path / "bundle.zip", members)
    # when: the page checks it
    client = client_for(sample_admin)
    upload(client, units["HQ"], path, name="bundle.zip")
    # then: ready, one eligible case
    state = state_file(media, sample_company, token_of(client, units["HQ"]))
    assert (state["status"], state["preflight"]["eligible"]["full"]) == ("ready", {"追客中": 1, "申込中": 0})
    # when: the CLI migrates it
    run_cli(path)
    # then: stored as typed, without the NULs
    customer = Customer.objects.unscoped().get()
    case = Case.objects.unscoped().get()
    assert (customer.name, customer.employer, case.first_inquiry_source) == ("田中 太郎", "@SUM(A1)", "=HYPERLINK(\"http://evil.example\")")
    assert case.source_id == "=1+2"
    assert list(case.activities.model.objects.unscoped().filter(case=case).values_list("body", flat=True)) == ["メモです"]
    # then: the reconciliation report and the migrated ids do not hand a formula to a spreadsheet
    run = Run.objects.unscoped().get()
    for command in ("report", "migrated-ids"):
        out = tmp_path / f"{command}.csv"
        cli(command, str(run.pk), "--out", str(out))
        text = out.read_text(encoding="utf-8-sig")
        assert "'=1+2," in text and "\n=1+2" not in text and ",=1+2" not in text, command


def test_the_directory_alone_decides_a_many_member_bundle_before_anything_is_read(settings, sample_company, tmp_path):
    # given: more members than allowed
    settings.LEGACY_MAX_MEMBERS = 12
    path = write_zip(tmp_path / "bundle.zip", [*case_members([case_row(1)], [customer_row(1)]), ("添付/T1/a.pdf", b"a"),
                                                ("添付/T1/b.pdf", b"b"), ("添付/T1/c.pdf", b"c")])
    # when / then
    with pytest.raises(CommandError) as refused:
        run_cli(path)
    assert str(refused.value) == "The bundle holds 13 files, more than an export can hold (at most 12): it was refused."
    assert nothing_written(sample_company)



# -- attachment names (finding 8) -----------------------------------------------------------------

BAD_ATTACHMENT_NAMES = {
    "..": "file", ".": "file", "../x.pdf": "x.pdf", "/etc/passwd": "passwd", "C:\\evil\\a.pdf": "a.pdf", "a\x00b.pdf": "ab.pdf",
    "CON.pdf": "file_CON.pdf", "nul": "file_nul", "ア" * 300 + ".pdf": "ア" * 64 + ".pdf", "a<b>:c|d?.pdf": "a_b__c_d_.pdf",
}


def test_bad_attachment_names_are_stored_safely_and_the_dry_run_pre_flight_and_run_agree(sample_company, sample_actor, units, tmp_path,
                                                                                         media):
    # given: one case per bad name, each with its attachment in the bundle
    names = list(BAD_ATTACHMENT_NAMES)
    cases = [case_row(number) for number in range(1, len(names) + 1)]
    customers = [customer_row(number) for number in range(1, len(names) + 1)]
    attachments = [{"追客番号": f"T{number}", "ファイル名": name, "格納パス": f"添付/T{number}/{number}.pdf"}
                   for number, name in enumerate(names, start=1)]
    pdfs = [(f"添付/T{number}/{number}.pdf", f"%PDF {number}".encode()) for number in range(1, len(names) + 1)]
    path = write_zip(tmp_path / "bundle.zip", case_members(cases, customers, attachments=attachments, extra=pdfs))
    from estatecrm.legacy.selectors import preflight

    # when
    checked = preflight(actor=sample_actor, path=path, org_unit=units["HQ"])
    dry = json.loads(cli_output("run", str(path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp", "--json",
                                "--dry-run"))
    run = json.loads(cli_output("run", str(path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp", "--json"))

    # then: all three say every case migrates with its attachment
    assert sum(checked["eligible"]["full"].values()) == len(names)
    assert (dry["status"], dry["migrated"], dry["failed"], dry["attachments_migrated"]) == ("dry_run", len(names), 0, len(names))
    assert (run["status"], run["migrated"], run["failed"], run["attachments_migrated"]) == ("completed", len(names), 0, len(names))
    # then: every file is inside its case's folder, under the safe name, with its content
    for number, name in enumerate(names, start=1):
        case = Case.objects.unscoped().get(source_id=f"T{number}")
        attachment = Attachment.objects.unscoped().get(case=case)
        stored = Path(attachment.file.path).resolve()
        assert stored.parent == (Path(media) / "attachments" / str(sample_company.pk) / str(case.pk)).resolve(), name
        assert stored.name.startswith(Path(BAD_ATTACHMENT_NAMES[name]).stem[:60]) and stored.read_bytes() == f"%PDF {number}".encode(), name
        assert len(stored.name.encode()) <= 255
        typed = name.replace("\x00", "")  # NULs are dropped from every bundle value
        if typed == BAD_ATTACHMENT_NAMES[name]:
            assert attachment.original_name == typed, name
        else:
            assert case.needs_review and typed in case.other_info, name


def cli_output(*args) -> str:
    out = io.StringIO()
    call_command("legacy-migrate", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# -- the staff map (finding 16) -------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    (",".join(f"列{index}" for index in range(5000)).encode("utf-8"),
     "Line 1 of the staff map has 5000 columns: each line is “社員コード,email”."),
    ("社員コード,メールアドレス\r\n".encode("cp932"), "The staff map has no “社員コード,email” line."),
    (b"S001,a@example.jp\r\nS002,b@example.jp\r\nS001,c@example.jp\r\n",
     "The staff map maps “S001” twice, to different e-mail addresses (lines 1 and 3)."),
    (b"S001,a@example.jp,extra\r\n", "Line 1 of the staff map has 3 columns: each line is “社員コード,email”."),
    (b",a@example.jp\r\n", "Line 1 of the staff map has no 社員コード."),
], ids=["5000_columns", "header_only", "code_twice", "three_columns", "no_code"])
def test_an_ambiguous_staff_map_is_refused_by_the_cli_and_the_page(sample_company, sample_admin, units, media, tmp_path, content, message):
    # given
    bundle = write_zip(tmp_path / "bundle.zip", case_members([case_row(1)], [customer_row(1)]))
    staff_map = tmp_path / "staff.csv"
    staff_map.write_bytes(content)
    # when / then: the CLI
    for command in ("preflight", "run"):
        extra = ("--as", "admin@example-fudosan.jp") if command == "run" else ()
        with pytest.raises(CommandError) as refused:
            cli(command, str(bundle), "--company", "k0001", "--org", "HQ", "--staff-map", str(staff_map), *extra)
        assert str(refused.value) == message
    # when / then: the page
    response = upload(client_for(sample_admin), units["HQ"], bundle, staff_map=content)
    assert response.status_code == 400 and escape(message) in response.content.decode()
    assert uploaded_files(media, sample_company) == []
    assert nothing_written(sample_company)


def test_a_staff_map_with_a_header_and_repeated_identical_lines_is_read(sample_company, tmp_path):
    from estatecrm.legacy.actions import parse_staff_map

    assert parse_staff_map("社員コード,メール\r\nS001,A@Example.jp\r\nS001,a@example.jp,\r\n\r\n".encode("cp932")) == {"S001": "a@example.jp"}


def test_a_csv_member_larger_than_the_limit_is_refused_from_the_directory_before_it_is_read(settings, sample_company, tmp_path, monkeypatch):
    # given: a limit of 1 MB and a 活動履歴.csv of 3 MB (text that does not compress away)
    settings.LEGACY_MAX_CSV_BYTES = 1024**2
    noise = random.Random(3)
    rows = [{"追客番号": "T1", "活動日時": "2026/10/02 10:00", "活動種別": "メモ", "内容": noise.randbytes(400).hex()} for _number in range(4_000)]
    path = write_zip(tmp_path / "bundle.zip", case_members([case_row(1)], [customer_row(1)], activities=rows))
    read = []
    monkeypatch.setattr(Bundle, "read_bytes", lambda self, name: read.append(name))
    # when / then
    with pytest.raises(CommandError) as refused:
        run_cli(path)
    assert str(refused.value) == "“活動履歴.csv” unpacks to 3 MB, more than an export's file can hold (at most 1 MB): it was refused."
    assert read == []
    assert nothing_written(sample_company)


def test_a_value_in_a_column_without_a_name_goes_to_the_other_information(sample_company, tmp_path):
    # given: 追客.csv with a 17th column that has no header, and a value in it
    members = case_members([case_row(1)], [customer_row(1)])
    columns = (*files.COLUMNS[files.CASES_FILE], "")
    row = {**case_row(1), "": "大事な申し送り"}
    path = write_zip(tmp_path / "bundle.zip", replace_member(members, files.CASES_FILE, csv_bytes(columns, [row])))
    # when
    run_cli(path)
    # then
    case = Case.objects.unscoped().get()
    assert "列17: 大事な申し送り" in case.other_info.splitlines()


@pytest.mark.parametrize(("lines", "expected"), [
    (["追客番号\r\n", "a\rb\r\n"], "bare CR"),
    (["a\r\n", '"x"y"\r\n'], "not a valid CSV file"),
])
def test_a_member_the_csv_module_cannot_read_is_refused_in_our_words(lines, expected):
    # given: csv errors raised while a member's lines are read (strict parsing)
    import csv

    from estatecrm.legacy.bundle import csv_error

    reader = csv.reader(lines, strict=True)
    # when
    with pytest.raises(csv.Error) as raised:
        list(reader)
    error = csv_error("追客.csv", reader, raised.value)
    # then: the message names the member and line, and holds none of Python's own text
    assert expected in error.message and str(raised.value) not in error.message
