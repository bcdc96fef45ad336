"""Reader-level cases of the hostile-file corpus: limits at their edge, what calamine does with
entities, old Mac line ends, the 2,000,000-row CSV."""

import re
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from estatecrm.pipeline import extent
from estatecrm.pipeline.readers import MAX_ROWS, ReadError, open_table
from estatecrm.pipeline.tests import hostile


def test_calamine_itself_never_expands_entities(tmp_path):
    # given: an entity declared in a DOCTYPE (the readers refuse it before calamine sees it)
    path = hostile.write_xlsx(tmp_path / "entity.xlsx", hostile.sheet_xml(
        hostile.HEADER_ROW + '<row r="2">' + hostile.inline_cell("A2", "&lol2;") + "</row>", prolog=hostile.BILLION_LAUGHS))
    # when
    with pytest.raises(Exception) as raised:
        CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Sheet1").to_python()
    # then
    assert "unrecognized entity `&lol2;`" in str(raised.value)


@pytest.mark.parametrize(("corner", "refused"), [("W1048576", False), ("X1048576", True)])
def test_the_cells_limit_admits_a_full_height_sheet_of_23_columns(tmp_path, corner, refused):
    # given: 1,048,576 x 23 = 24,117,248 cells (allowed); x 24 = 25,165,824 (over MAX_SHEET_CELLS)
    path = hostile.write_xlsx(tmp_path / "corner.xlsx", hostile.sheet_xml(
        hostile.HEADER_ROW + f'<row r="1048576"><c r="{corner}"><v>1</v></c></row>'))
    # when / then
    assert extent.MAX_SHEET_CELLS == 25_000_000
    if refused:
        with pytest.raises(ReadError) as raised:
            open_table(path)
        assert raised.value.code == "sheet_too_large"
    else:
        assert extent.xlsx_sheet_extent(zipfile.ZipFile(path), "xl/worksheets/sheet1.xml") == (1_048_576, 23)


def test_libreoffice_empty_repeats_do_not_count(tmp_path):
    path = hostile.write_ods(tmp_path / "libre.ods", hostile.LIBREOFFICE_LEADS)
    table = open_table(path)
    assert (table.info.headers, [row.cells for row in table.rows()]) == (["会社名", "電話番号"], [("株式会社ABC", "03-1234-5678")])


def test_old_mac_line_ends_are_read(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes("会社名,電話番号\r株式会社ABC,03-1234-5678\r田中家,090-1234-5678\r".encode("cp932"))
    table = open_table(path)
    assert [(row.number, row.cells) for row in table.rows()] == [(2, ("株式会社ABC", "03-1234-5678")), (3, ("田中家", "090-1234-5678"))]


def test_a_bare_cr_inside_an_ordinary_file_names_its_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("会社名,電話番号\r\n株式会社ABC,03-1234\r5678\r\n".encode("cp932"))
    with pytest.raises(ReadError) as raised:
        open_table(path).scan()
    assert (raised.value.code, raised.value.line) == ("bare_cr", 2)


def test_a_quote_that_swallows_records_is_refused_with_its_line(tmp_path):
    # given: line 3 opens a quote that line 104 closes; 101 records in between would become one cell
    lines = ["会社名,電話番号", "株式会社ABC,03-1234-5678", '"田中家,090-1234-5678'] + [f"株式会社{index},03-0000-{index:04d}" for index in range(100)]
    path = tmp_path / "folded.csv"
    path.write_bytes(("\r\n".join(lines) + '",03\r\n').encode("cp932"))
    with pytest.raises(ReadError) as raised:
        open_table(path).scan()
    assert (raised.value.code, raised.value.line) == ("unclosed_quote", 3)


def test_quoted_line_breaks_in_a_note_are_still_read(tmp_path):
    # given: a note whose lines have as many commas as the header (two lines: still a note)
    note = "住所: 1-2-3, Shibuya, Tokyo\r\n電話: 03-1234-5678, 内線, 12\r\n以上"
    path = tmp_path / "note.csv"
    path.write_bytes(f'会社名,電話番号,備考\r\n株式会社ABC,03-1234-5678,"{note}"\r\n'.encode("cp932"))
    # when / then
    assert [row.cells for row in open_table(path).rows()] == [("株式会社ABC", "03-1234-5678", note)]


def test_two_million_rows_are_refused_at_the_row_limit(tmp_path):
    # given: made in one write (about 20 MB)
    path = tmp_path / "huge.csv"
    path.write_bytes(b"name,phone\n" + b"a,1\n" * 2_000_000)
    # when
    with pytest.raises(ReadError) as raised:
        open_table(path).scan()
    # then
    assert (raised.value.code, raised.value.line) == ("too_many_rows", MAX_ROWS + 2)


def test_formula_looking_cells_are_read_as_text(tmp_path):
    path = tmp_path / "formula.csv"
    path.write_bytes("会社名,電話番号\r\n=cmd|' /C calc'!A0,+81-3-1234-5678\r\n@SUM(1+1),-1\r\n".encode("cp932"))
    assert [row.cells for row in open_table(path).rows()] == [("=cmd|' /C calc'!A0", "+81-3-1234-5678"), ("@SUM(1+1)", "-1")]


def test_a_file_is_checked_once_until_it_changes(tmp_path, monkeypatch):
    # given
    from estatecrm.pipeline import readers

    calls = []
    original = readers.check_zip_container
    monkeypatch.setattr(readers, "check_zip_container", lambda path: calls.append(path) or original(path))
    path = hostile.write_xlsx(tmp_path / "leads.xlsx", hostile.sheet_xml(hostile.HEADER_ROW + hostile.DATA_ROW))
    # when: opened three times, then replaced by a hostile file under the same name
    for _time in range(3):
        open_table(path)
    hostile.far_cell_xlsx(path)
    with pytest.raises(ReadError) as raised:
        open_table(path)
    # then
    assert (len(calls), raised.value.code) == (2, "sheet_too_large")


@pytest.mark.parametrize(("python_message", "code", "message"), [
    ("field larger than field limit (131072)", "cell_too_long", "Line 7 has a cell longer than 32767 characters."),
    ("new-line character seen in unquoted field - do you need to open the file with newline=''?", "bare_cr",
     "Line 7 has a line break of the old Mac kind (a bare CR) inside a cell. Open the file and save it again as CSV "
     "(with ordinary line ends)."),
    ("line contains NUL", "malformed_csv", "Line 7 cannot be read as CSV. Open the file and save it again as CSV."),
])
def test_no_csv_module_text_reaches_the_user(python_message, code, message):
    import csv

    from estatecrm.pipeline.readers import csv_error

    error = csv_error(csv.Error(python_message), 7)
    assert (error.code, error.message, error.line) == (code, message, 7)


def test_mutated_spreadsheets_end_in_rows_or_a_read_error_and_never_abort():
    # given: 300 spreadsheets with random changes (tags, references, repeats, bytes), read in a
    # process of its own whose memory is capped at 3 GB (an unbounded allocation fails there at once)
    import resource
    import subprocess
    import sys

    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))

    # when
    result = subprocess.run([sys.executable, "-m", "estatecrm.pipeline.tests.mutations", "1", "300"],
                            capture_output=True, text=True, timeout=600, preexec_fn=cap_memory)
    # then
    assert (result.returncode, result.stdout.splitlines()) == (0, ["read 300"]), result.stderr[-2000:]


def test_more_shared_strings_than_cells_can_use_are_refused(tmp_path, monkeypatch):
    # given: the limit lowered to 3 for the test (it is MAX_SHEET_CELLS: 25,000,000)
    monkeypatch.setattr(extent, "MAX_SHARED_STRINGS", 3)
    path = hostile.write_xlsx(tmp_path / "strings.xlsx", hostile.sheet_xml(hostile.HEADER_ROW + hostile.DATA_ROW),
                              shared_strings=hostile.shared_strings_xml(["a", "b", "c", "d"]))
    # when
    with pytest.raises(ReadError) as raised:
        open_table(path)
    # then
    assert (raised.value.code, raised.value.message) == (
        "sheet_too_large", "The spreadsheet holds 4 different texts, more than the 3 that can be read. Save the sheet as CSV.")


def spellings(rows: str) -> dict[str, str]:
    """One worksheet in the spellings writers use: each must measure the same."""
    plain = hostile.sheet_xml(rows)
    return {
        "plain": plain,
        "prefixed": hostile.prefixed(plain),
        "single_quotes": re.sub(r'(\s)r="([^"]*)"', r"\1r='\2'", plain),
        "line_breaks": plain.replace(" t=", "\n t=").replace("<row r=", "<row\tr="),
        "big_pieces": plain.replace("<sheetData>", "<sheetData>" + "<!-- -->" * 200_000),
    }


@pytest.mark.parametrize("spelling", ["plain", "prefixed", "single_quotes", "line_breaks", "big_pieces"])
def test_every_spelling_of_a_sheet_measures_what_calamine_decodes(tmp_path, spelling):
    # given: cells out of order, a row without cells, the furthest column in an early row
    rows = (hostile.HEADER_ROW + '<row r="3">' + hostile.inline_cell("AB3", "far column") + "</row>" + '<row r="4"/>'
            + '<row r="700">' + hostile.inline_cell("C700", "far row") + hostile.inline_cell("A700", "before") + "</row>")
    path = hostile.write_xlsx(tmp_path / f"{spelling}.xlsx", spellings(rows)[spelling])
    # when
    measured = extent.xlsx_sheet_extent(zipfile.ZipFile(path), "xl/worksheets/sheet1.xml")
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Sheet1")
    # then
    assert measured == (sheet.end[0] + 1, sheet.end[1] + 1) == (700, 28)


def test_malformed_ods_that_spins_calamine_is_refused_at_once(tmp_path):
    # given: run in a process of its own, so that a regression fails here instead of hanging the suite
    import subprocess
    import sys

    path = hostile.write_ods(tmp_path / "spinning.ods", hostile.ods_header_and_row() + hostile.ODS_SPINNING_CALAMINE)
    program = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'estatecrm.config.settings.test'); django.setup()\n"
               "from django.utils import translation; translation.activate('en')\n"
               "from estatecrm.pipeline.readers import ReadError, open_table\n"
               f"try:\n    open_table({str(path)!r})\nexcept ReadError as error:\n    print(error.code, error.message)\n")
    # when
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    # then
    assert result.stdout == ("not_a_spreadsheet The spreadsheet is damaged (the part “content.xml” cannot be read). "
                             "Open it in Excel and save it again, or save it as CSV.\n")


def test_a_file_rewritten_in_place_with_the_same_size_and_time_is_checked_again(tmp_path):
    # given: a checked file, then hostile bytes of its size written into it, its time set back
    import os

    path = hostile.write_xlsx(tmp_path / "leads.xlsx", hostile.sheet_xml(hostile.HEADER_ROW + hostile.DATA_ROW))
    with zipfile.ZipFile(path, "a") as archive:
        archive.comment = b"x" * 500
    open_table(path)
    status = path.stat()
    far = hostile.far_cell_xlsx(tmp_path / "far.xlsx")
    with zipfile.ZipFile(far, "a") as archive:
        archive.comment = b"x" * (status.st_size - far.stat().st_size)
    path.write_bytes(far.read_bytes())
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns, path.stat().st_ino) == (status.st_size, status.st_mtime_ns, status.st_ino)
    # when
    with pytest.raises(ReadError) as raised:
        open_table(path)
    # then
    assert raised.value.code == "sheet_too_large"
