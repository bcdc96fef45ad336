"""Readers on files as Japanese offices send them, and on bad input."""

import codecs
import datetime
import zipfile

import pytest
import xlsxwriter

from estatecrm.pipeline.readers import ReadError, cell_text, open_table

HEADER = ["会社名", "担当者", "電話番号"]
ROWS = [["株式会社ABC", "田中 一郎", "03-1234-5678"], ["㈱髙﨑商事", "髙橋 ①", "090-1111-2222"]]


def write_text(tmp_path, name, text, encoding, newline="\r\n", delimiter=","):
    path = tmp_path / name
    lines = [delimiter.join(row) for row in [HEADER, *ROWS]]
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def rows_of(table):
    return [(row.number, [cell_text(cell) for cell in row.cells]) for row in table.rows()]


@pytest.mark.parametrize(
    ("encoding", "detected", "delimiter"),
    [("cp932", "cp932", ","), ("utf-8", "utf-8", ","), ("utf-8-sig", "utf-8-sig", ","), ("utf-16", "utf-16", "\t")],
)
def test_text_files_in_every_office_encoding_read_the_same(tmp_path, encoding, detected, delimiter):
    # given
    path = write_text(tmp_path, "leads.csv", "", encoding, delimiter=delimiter)
    # when
    table = open_table(path)
    # then
    assert (table.info.encoding, table.info.delimiter, table.info.headers) == (detected, delimiter, HEADER)
    assert rows_of(table) == [(2, ROWS[0]), (3, ROWS[1])]


def test_quoted_line_breaks_lf_and_trailing_empty_rows_and_columns(tmp_path):
    path = tmp_path / "memo.csv"
    path.write_text('会社名,担当者,電話番号,,\n"A社","山田\n花子","03-1111-2222",,\n,,,,\n"B社",佐藤,0312345678,,\n,,,,\n', encoding="utf-8")
    table = open_table(path)
    assert table.info.headers == HEADER
    assert rows_of(table) == [(2, ["A社", "山田\n花子", "03-1111-2222"]), (5, ["B社", "佐藤", "0312345678"])]


def test_title_rows_above_the_header_are_detected(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("反響リスト 2024年4月,,\n,,\n会社名,担当者,電話番号\nA社,山田,03-1111-2222\n", encoding="cp932")
    table = open_table(path)
    assert (table.info.header_row, table.info.headers) == (3, HEADER)
    assert rows_of(table) == [(4, ["A社", "山田", "03-1111-2222"])]


def test_header_row_can_be_chosen(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("a,b,c\n会社名,担当者,電話番号\nA社,山田,03\n", encoding="utf-8")
    table = open_table(path, header_row=2)
    assert table.info.headers == HEADER
    assert table.info.header_detected is False


def test_invalid_bytes_in_the_declared_encoding_name_the_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes("会社名,担当者,電話番号\nA社,山田,03\n".encode() + b"B\xff\xfe,x,y\n")
    with pytest.raises(ReadError) as raised:
        open_table(path, encoding="utf-8").scan()
    assert (raised.value.code, raised.value.line) == ("invalid_bytes", 3)
    assert raised.value.message == "Line 3 is not valid UTF-8 (BOM) text. Choose the file's encoding, or save it again as CSV UTF-8."


def test_invalid_bytes_after_the_first_rows_are_found_by_the_scan(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes("会社名,担当者,電話番号\n".encode("cp932") + "A社,山田,03\n".encode("cp932") * 40 + b"B,\x81\x20,3\n")
    table = open_table(path)
    with pytest.raises(ReadError) as raised:
        table.scan()
    assert (table.info.encoding, raised.value.code, raised.value.line) == ("cp932", "invalid_bytes", 42)


def test_nul_bytes_are_refused_with_their_line(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes("会社名,担当者,電話番号\nA社,山\x00田,03\n".encode())
    with pytest.raises(ReadError) as raised:
        open_table(path)
    assert (raised.value.code, raised.value.line) == ("nul_byte", 2)


@pytest.mark.parametrize(("content", "code"), [(b"", "empty_file"), (b"\n\n,,\n", "empty_file")])
def test_empty_files_are_refused(tmp_path, content, code):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(ReadError) as raised:
        open_table(path)
    assert raised.value.code == code


def test_header_only_file_has_no_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("会社名,担当者,電話番号\r\n", encoding="cp932")
    assert open_table(path).scan() == 0


def test_binary_that_is_not_a_spreadsheet_is_refused(tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    with pytest.raises(ReadError) as raised:
        open_table(path)
    assert raised.value.code == "not_a_spreadsheet"


def test_binary_with_a_csv_name_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(bytes([0, 1, 2, 3, 0, 0, 255, 254, 7]) * 500)
    with pytest.raises(ReadError) as raised:
        open_table(path)
    assert raised.value.code == "not_a_spreadsheet"


def test_cell_over_the_excel_limit_is_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("会社名,担当者,電話番号\nA社," + "あ" * 32_768 + ",03\n", encoding="utf-8")
    with pytest.raises(ReadError) as raised:
        open_table(path).scan()
    assert (raised.value.code, raised.value.line) == ("cell_too_long", 2)


def test_too_many_rows_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("estatecrm.pipeline.readers.MAX_ROWS", 3)
    path = tmp_path / "many.csv"
    path.write_text("a,b\n" + "1,2\n" * 4, encoding="utf-8")
    with pytest.raises(ReadError) as raised:
        open_table(path).scan()
    assert (raised.value.code, raised.value.line) == ("too_many_rows", 5)


def test_too_many_columns_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("estatecrm.pipeline.readers.MAX_COLUMNS", 3)
    path = tmp_path / "wide.csv"
    path.write_text("a,b,c,d\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(ReadError) as raised:
        open_table(path)
    assert raised.value.code == "too_many_columns"


def make_xlsx(path, sheets):
    workbook = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        worksheet = workbook.add_worksheet(name)
        for row_index, row in enumerate(rows):
            for column_index, value in enumerate(row):
                if isinstance(value, datetime.date):
                    worksheet.write_datetime(row_index, column_index, datetime.datetime.combine(value, datetime.time()),
                                             workbook.add_format({"num_format": "yyyy/mm/dd"}))
                elif value is not None:
                    worksheet.write(row_index, column_index, value)
    workbook.close()
    return path


def test_xlsx_with_several_sheets_reads_the_chosen_one(tmp_path):
    # given
    path = make_xlsx(tmp_path / "leads.xlsx", {
        "説明": [["この帳票について"]],
        "リスト": [["会社名", "担当者", "電話番号", "登録日"], ["A社", "山田", 9012345678, datetime.date(2024, 4, 1)]],
    })
    # when
    default = open_table(path)
    chosen = open_table(path, sheet="リスト")
    # then
    assert default.info.sheets == ["説明", "リスト"]
    assert (chosen.info.format, chosen.info.sheet, chosen.info.headers) == ("xlsx", "リスト", ["会社名", "担当者", "電話番号", "登録日"])
    assert rows_of(chosen) == [(2, ["A社", "山田", "9012345678", "2024-04-01"])]


def test_unknown_sheet_is_refused(tmp_path):
    path = make_xlsx(tmp_path / "leads.xlsx", {"Sheet1": [["a", "b"], ["1", "2"]]})
    with pytest.raises(ReadError) as raised:
        open_table(path, sheet="ない")
    assert raised.value.code == "unknown_sheet"


def test_zip_bomb_disguised_as_xlsx_is_refused(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(60):
                member.write(chunk)
    with pytest.raises(ReadError) as raised:
        open_table(path)
    assert raised.value.code == "zip_bomb"


def test_password_protected_xlsx_is_refused(tmp_path):
    # An encrypted OOXML file is an OLE compound file holding an EncryptedPackage stream.
    path = tmp_path / "secret.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 2048)
    with pytest.raises(ReadError) as raised:
        open_table(path)
    assert raised.value.code == "password_protected"


def test_unknown_encoding_name_is_refused(tmp_path):
    path = write_text(tmp_path, "x.csv", "", "utf-8")
    with pytest.raises(ReadError) as raised:
        open_table(path, encoding="no-such-codec")
    assert raised.value.code == "unknown_encoding"


def test_cp932_specific_characters_survive(tmp_path):
    path = tmp_path / "cp932.csv"
    path.write_bytes("会社名,担当者,電話番号\n㈱髙﨑,№１～②,03\n".encode("cp932"))
    table = open_table(path)
    assert table.info.encoding == "cp932"
    assert rows_of(table) == [(2, ["㈱髙﨑", "№１～②", "03"])]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "会社名,担当者\nA,B\n".encode())
    assert open_table(path).info.headers == ["会社名", "担当者"]
