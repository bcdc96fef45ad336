"""Hostile and malformed spreadsheet files, made in the tests (no committed binaries).

XLSX and ODS are written with zipfile and hand-written XML; XLS with a minimal BIFF8 workbook
stream in a minimal OLE (compound file) container, since no maintained library writes XLS.
"""

import struct
import zipfile
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def column_letters(column: int) -> str:
    letters = ""
    while column > 0:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def inline_cell(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


def sheet_xml(rows: str, *, dimension: str | None = None, prolog: str = "") -> str:
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            f"{declared}<sheetData>{rows}</sheetData></worksheet>")


HEADER_ROW = '<row r="1">' + inline_cell("A1", "会社名") + inline_cell("B1", "電話番号") + "</row>"
DATA_ROW = '<row r="2">' + inline_cell("A2", "株式会社ABC") + inline_cell("B2", "03-1234-5678") + "</row>"


def prefixed(sheet: str, prefix: str = "x") -> str:
    """The worksheet as the .NET Open XML SDK writes it: every element with a namespace prefix."""
    body = sheet.replace(f'<worksheet xmlns="{MAIN}"', f'<{prefix}:worksheet xmlns:{prefix}="{MAIN}"').replace("</worksheet>", f"</{prefix}:worksheet>")
    for tag in ("sheetData", "dimension", "row", "c", "is", "t", "v"):
        body = body.replace(f"<{tag} ", f"<{prefix}:{tag} ").replace(f"<{tag}>", f"<{prefix}:{tag}>").replace(f"</{tag}>", f"</{prefix}:{tag}>")
    return body


def write_xlsx(path: Path, sheet: str, *, shared_strings: str | None = None, extra: dict | None = None,
               sheet_target: str = "worksheets/sheet1.xml") -> Path:
    """A one-sheet XLSX ("Sheet1") with `sheet` as its worksheet XML, at `sheet_target` (from xl/)."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    )
    package_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    workbook = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
                '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    strings_rel = (f'<Relationship Id="rId2" Type="{RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/>'
                   if shared_strings is not None else "")
    workbook_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="{sheet_target}"/>{strings_rel}</Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        archive.writestr("xl/" + sheet_target, sheet)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def shared_strings_xml(strings: list[str], *, prolog: str = "") -> str:
    items = "".join(f"<si><t>{text}</t></si>" for text in strings)
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<sst xmlns="{MAIN}" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{items}</sst>')


def far_cell_xlsx(path: Path, reference: str = "XFD1048576") -> Path:
    """The 2 KB file that made calamine allocate 512 GiB: a header row and one cell far away."""
    row = "".join(ch for ch in reference if ch.isdigit())
    return write_xlsx(path, sheet_xml(HEADER_ROW + DATA_ROW + f'<row r="{row}">{inline_cell(reference, "x")}</row>'))


ODS_NAMESPACES = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                  'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
                  'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def ods_cell(text: str, repeated: int = 1) -> str:
    repeat = f' table:number-columns-repeated="{repeated}"' if repeated > 1 else ""
    return f'<table:table-cell office:value-type="string"{repeat}><text:p>{text}</text:p></table:table-cell>'


def ods_header_and_row() -> str:
    return (f"<table:table-row>{ods_cell('会社名')}{ods_cell('電話番号')}</table:table-row>"
            f"<table:table-row>{ods_cell('株式会社ABC')}{ods_cell('03-1234-5678')}</table:table-row>")


# Found by the mutation test: calamine's ODS reader spins on this content for minutes (a CPU loop).
ODS_SPINNING_CALAMINE = ('<t<row r="1048576">able:table-row table:number-rows-repeated="1048574">'
                         '<table:table-cell table:number-columns-repeated="16384"/></table:tabl')

# What LibreOffice writes after the last row of every sheet: empty repeats up to XFD1048576.
LIBREOFFICE_TAIL = ('<table:table-row table:number-rows-repeated="1048574">'
                    '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>')


def write_ods(path: Path, rows: str, *, prolog: str = "") -> Path:
    content = (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<office:document-content {ODS_NAMESPACES} office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="Sheet1">{rows}</table:table>'
               "</office:spreadsheet></office:body></office:document-content>")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'))
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


# ---------------------------------------------------------------------------------------------
# XLS: BIFF8 records in an OLE compound file


def biff(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def biff_label(row: int, column: int, text: str) -> bytes:
    encoded = text.encode("utf-16-le")
    return biff(0x0204, struct.pack("<HHHHB", row, column, 15, len(text), 1) + encoded)


def biff_number(row: int, column: int, value: float) -> bytes:
    return biff(0x0203, struct.pack("<HHHd", row, column, 15, value))


def xls_workbook_stream(cells: list[bytes], *, dimensions: tuple[int, int] = (2, 2), sheet: str = "Sheet1") -> bytes:
    """Globals (BOF, CODEPAGE, BOUNDSHEET8, EOF) then one worksheet (BOF, DIMENSIONS, cells, EOF)."""
    bof_globals = biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0006))
    codepage = biff(0x0042, struct.pack("<H", 1200))
    name = sheet.encode("utf-16-le")

    def boundsheet(offset: int) -> bytes:
        return biff(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(sheet), 1) + name)

    end = biff(0x000A, b"")
    globals_length = len(bof_globals) + len(codepage) + len(boundsheet(0)) + len(end)
    sheet_stream = (
        biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x0006))
        + biff(0x0200, struct.pack("<IIHHH", 0, dimensions[0], 0, dimensions[1], 0))
        + b"".join(cells) + end
    )
    return bof_globals + codepage + boundsheet(globals_length) + end + sheet_stream


def write_ole(path: Path, stream: bytes, name: str = "Workbook") -> Path:
    """A version-3 compound file holding one stream (at least 4,096 bytes, so no mini stream)."""
    sector = 512
    stream = stream + b"\x00" * max(0, 4096 - len(stream))
    data_sectors = -(-len(stream) // sector)
    if data_sectors + 2 > 128:
        raise ValueError("the stream is too long for one FAT sector")
    end_of_chain, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    fat = [fat_sector, end_of_chain] + [2 + index + 1 for index in range(data_sectors - 1)] + [end_of_chain]
    fat += [free] * (128 - len(fat))
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 16 + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end_of_chain, 0, end_of_chain, 0)
        + struct.pack("<I", 0) + struct.pack("<I", free) * 108
    )

    def entry(entry_name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (entry_name + "\x00").encode("utf-16-le") if entry_name else b""
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", no_stream, no_stream, child) + b"\x00" * 16 + struct.pack("<I", 0) + b"\x00" * 16
                + struct.pack("<IQ", start, size))

    directory = (entry("Root Entry", 5, 1, end_of_chain, 0) + entry(name, 2, no_stream, 2, len(stream))
                 + entry("", 0, no_stream, 0, 0) + entry("", 0, no_stream, 0, 0))
    body = struct.pack("<128I", *fat) + directory + stream.ljust(data_sectors * sector, b"\x00")
    path.write_bytes(header + body)
    return path


def write_xls(path: Path, cells: list[bytes] | None = None, *, dimensions: tuple[int, int] = (2, 2)) -> Path:
    """A one-sheet XLS; by default the header 会社名/電話番号 and one lead."""
    if cells is None:
        cells = [biff_label(0, 0, "会社名"), biff_label(0, 1, "電話番号"), biff_label(1, 0, "株式会社ABC"), biff_label(1, 1, "03-1234-5678")]
    return write_ole(path, xls_workbook_stream(cells, dimensions=dimensions))


# ---------------------------------------------------------------------------------------------
# The corpus: every hostile lead file, by name. Each maker writes its file into a folder and
# returns the path. `REFUSED` names the ReadError code each one must get; `ACCEPTED` the number of
# leads each one must give.

LIBREOFFICE_LEADS = ods_header_and_row() + LIBREOFFICE_TAIL
BILLION_LAUGHS = ('<!DOCTYPE sst [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')
EXTERNAL_ENTITY = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _valid_xlsx_bytes(folder: Path) -> bytes:
    return write_xlsx(folder / "valid.xlsx", sheet_xml(HEADER_ROW + DATA_ROW)).read_bytes()


def _forged_sizes(folder: Path) -> Path:
    """The ZIP says the sheet unpacks to 100 bytes (local header and central directory); it unpacks to more."""
    data = bytearray(write_xlsx(folder / "source.xlsx", sheet_xml(HEADER_ROW + DATA_ROW * 50)).read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    local, central = data.find(name) - 30, data.rfind(name) - 46
    assert (data[local: local + 4], data[central: central + 4]) == (b"PK\x03\x04", b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 100)
    struct.pack_into("<I", data, central + 24, 100)
    path = folder / "forged.xlsx"
    path.write_bytes(bytes(data))
    return path


def _first_row_after_last(folder: Path) -> bytes:
    """DIMENSIONS whose first row lies beyond its last: calamine's subtraction wraps to a billion rows."""
    stream = bytearray(xls_workbook_stream([biff_label(0, 0, "会社名"), biff_label(0, 1, "電話番号")]))
    dimensions = stream.find(struct.pack("<HH", 0x0200, 14))
    struct.pack_into("<I", stream, dimensions + 4, 0xE6000000)
    return write_ole(folder / "source.xls", bytes(stream)).read_bytes()


def _sheet_hidden_by_a_record_length(folder: Path) -> bytes:
    """The globals' EOF record claims the bytes of the sheet after it: read record after record, the
    far cell is never seen; calamine reads the sheet where BOUNDSHEET says it starts."""
    stream = bytearray(xls_workbook_stream([biff_label(0, 0, "会社名"), biff_label(0, 1, "電話番号"), biff_number(65535, 65535, 1.0)]))
    sheet_start = struct.unpack_from("<I", stream, stream.find(struct.pack("<H", 0x0085)) + 4)[0]
    struct.pack_into("<H", stream, sheet_start - 2, len(stream) - sheet_start)  # the globals' EOF: its length
    return write_ole(folder / "source.xls", bytes(stream)).read_bytes()


def _duplicate_part(folder: Path) -> Path:
    """The sheet twice under one name: which one a reader takes is not defined."""
    import warnings

    path = write_xlsx(folder / "duplicate.xlsx", sheet_xml(HEADER_ROW + DATA_ROW))
    with warnings.catch_warnings(), zipfile.ZipFile(path, "a") as archive:
        warnings.simplefilter("ignore")
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml(HEADER_ROW + '<row r="2">' + inline_cell("A2", "別の会社") + "</row>"))
    return path


def _zip_bomb(folder: Path) -> Path:
    path = folder / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b" " * (1024 * 1024)
            for _index in range(60):
                member.write(block)
    return path


def _text(name: str, data: bytes):
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


LEADS_CSV = "会社名,電話番号\r\n株式会社ABC,03-1234-5678\r\n".encode("cp932")

CORPUS = {
    "xlsx_cell_at_XFD1048576": lambda folder: far_cell_xlsx(folder / "far.xlsx"),
    "xlsx_declared_dimension": lambda folder: write_xlsx(folder / "declared.xlsx", sheet_xml(HEADER_ROW + DATA_ROW, dimension="A1:XFD1048576")),
    "xlsx_cells_without_reference": lambda folder: write_xlsx(folder / "unreferenced.xlsx", sheet_xml(
        HEADER_ROW + '<row r="1048576">' + "<c><v>1</v></c>" * 30 + "</row>")),
    "xlsx_sheet_part_not_named_xml": lambda folder: write_xlsx(folder / "hidden-part.xlsx", sheet_xml(
        HEADER_ROW + f'<row r="1048576">{inline_cell("XFD1048576", "x")}</row>'), sheet_target="media/image1.png"),
    "ods_rows_hidden_in_a_nested_table": lambda folder: write_ods(folder / "nested.ods", ods_header_and_row() + (
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row>'
        '<table:table-row><table:table-cell><table:table table:name="inner"><table:table-row>'
        f'{ods_cell("y")}</table:table-row></table:table></table:table-cell></table:table-row>'
        f'<table:table-row><table:table-cell table:number-columns-repeated="16383"/>{ods_cell("x")}</table:table-row>')),
    "xlsx_2000000_rows_of_20_columns": lambda folder: write_xlsx(folder / "rows.xlsx", sheet_xml(
        HEADER_ROW + f'<row r="2000000">{inline_cell("T2000000", "x")}</row>')),
    "xlsx_20000_columns": lambda folder: write_xlsx(folder / "columns.xlsx", sheet_xml(
        HEADER_ROW + f'<row r="2">{inline_cell("ACOF2", "x")}</row>')),
    "xlsx_duplicate_part": _duplicate_part,
    "xlsx_reference_after_a_quoted_angle_bracket": lambda folder: write_xlsx(folder / "angle.xlsx", sheet_xml(
        HEADER_ROW + '<row r="1048576"><c t="inlineStr" s="a>b" r="XFD1048576"><is><t>x</t></is></c></row>')),
    "xlsx_prefixed_far_cell": lambda folder: write_xlsx(folder / "prefixed-far.xlsx", prefixed(sheet_xml(
        HEADER_ROW + DATA_ROW + f'<row r="1048576">{inline_cell("XFD1048576", "x")}</row>'))),
    "xlsx_second_reference_without_a_space": lambda folder: write_xlsx(folder / "no-space.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"r="XFD1048576"><is><t>x</t></is></c></row>')),
    "xlsx_eight_digit_row": lambda folder: write_xlsx(folder / "eight-digits.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2"><c r="XFD99999999" t="inlineStr"><is><t>x</t></is></c></row>')),
    "xlsx_unquoted_reference": lambda folder: write_xlsx(folder / "unquoted.xlsx", sheet_xml(
        HEADER_ROW + '<row r="1048576"><c t="inlineStr" r=XFD1048576><is><t>x</t></is></c></row>')),
    "xlsx_shared_strings_declaring_four_billion": lambda folder: write_xlsx(folder / "declared-strings.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'), shared_strings=shared_strings_xml(["a"]).replace(
        'count="1" uniqueCount="1"', 'count="4294967295" uniqueCount="4294967295"')),
    "xlsx_second_reference_far": lambda folder: write_xlsx(folder / "two-references.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2"><c r="A2" r="XFD1048576"><v>1</v></c></row>')),
    "ods_value_after_empty_repeats": lambda folder: write_ods(folder / "far.ods", ods_header_and_row() + (
        '<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
        f'<table:table-row><table:table-cell table:number-columns-repeated="16383"/>{ods_cell("x")}</table:table-row>')),
    "ods_repeated_values": lambda folder: write_ods(folder / "repeated.ods", ods_header_and_row() + (
        f'<table:table-row table:number-rows-repeated="1000000">{ods_cell("x", repeated=100)}</table:table-row>')),
    "xls_cell_at_the_last_row_and_column": lambda folder: write_xls(folder / "far.xls", [
        biff_label(0, 0, "会社名"), biff_label(0, 1, "電話番号"), biff_number(65535, 65535, 1.0)]),
    "xls_declared_dimensions": lambda folder: write_xls(folder / "declared.xls", dimensions=(65536, 65535)),
    "xls_sheet_hidden_by_a_record_length": lambda folder: _text("hidden.xls", _sheet_hidden_by_a_record_length(folder))(folder),
    "xls_dimensions_first_row_after_the_last": lambda folder: _text("wrapped.xls", _first_row_after_last(folder))(folder),
    "ole_without_a_workbook_named_xls": lambda folder: write_ole(folder / "document.xls", b"\x00" * 4096, name="WordDocument"),
    "xls_truncated": lambda folder: _text("truncated.xls", write_xls(folder / "whole.xls").read_bytes()[:1500])(folder),
    "xlsx_bad_sheet_xml": lambda folder: write_xlsx(folder / "bad.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>x</is></c></row>')),
    "xlsx_shared_string_out_of_range": lambda folder: write_xlsx(folder / "strings.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2"><c r="A2" t="s"><v>99</v></c></row>'), shared_strings=shared_strings_xml(["a"])),
    "xlsx_forged_sizes": _forged_sizes,
    "xlsx_truncated": lambda folder: _text("truncated.xlsx", _valid_xlsx_bytes(folder)[:700])(folder),
    "xlsx_zip_bomb": _zip_bomb,
    "xlsx_external_entity": lambda folder: write_xlsx(folder / "xxe.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2">' + inline_cell("A2", "&xxe;") + "</row>", prolog=EXTERNAL_ENTITY)),
    "xlsx_billion_laughs": lambda folder: write_xlsx(folder / "laughs.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'), shared_strings=shared_strings_xml(["&lol3;"], prolog=BILLION_LAUGHS)),
    "ods_billion_laughs": lambda folder: write_ods(folder / "laughs.ods", ods_header_and_row(), prolog=BILLION_LAUGHS.replace("sst", "office:document-content")),
    "xlsb": lambda folder: write_xlsx(folder / "binary.xlsb", sheet_xml(HEADER_ROW), extra={"xl/workbook.bin": b"\x83\x01\x00"}),
    "csv_named_xlsx": _text("leads.xlsx", LEADS_CSV),
    "xlsx_nul_in_a_cell": lambda folder: write_xlsx(folder / "nul.xlsx", sheet_xml(
        HEADER_ROW + '<row r="2">' + inline_cell("A2", "株式会社\x00ABC") + inline_cell("B2", "03-1234-5678") + "</row>")),
    "xls_nul_in_a_cell": lambda folder: write_xls(folder / "nul.xls", [
        biff_label(0, 0, "会社名"), biff_label(0, 1, "電話番号"), biff_label(1, 0, "株式会社\x00ABC"), biff_label(1, 1, "03-1234-5678")]),
    "ods_raw_nul": lambda folder: write_ods(folder / "raw-nul.ods", ods_header_and_row() + (
        f"<table:table-row>{ods_cell('株式会社' + chr(0) + 'ABC')}{ods_cell('03-1234-5678')}</table:table-row>")),
    "ods_nul_reference": lambda folder: write_ods(folder / "nul.ods", ods_header_and_row() + (
        f"<table:table-row>{ods_cell('a&#0;b')}{ods_cell('03-1234-5678')}</table:table-row>")),
    "csv_nul": _text("nul.csv", "会社名,電話番号\r\n株式会社\x00ABC,03-1234-5678\r\n".encode("cp932")),
    "csv_invalid_cp932": _text("bad.csv", "会社名,電話番号\r\n".encode("cp932") * 3000 + b"\x82\xff,03\r\n"),
    "csv_unbalanced_quote": _text("quote.csv", "会社名,電話番号\r\n".encode("cp932") + b'"ABC,03-1234-5678\r\n' + b"DEF,03-1111-2222\r\n" * 5),
    "csv_10_mb_cell": _text("big-cell.csv", "会社名,電話番号\r\n".encode("cp932") + b"A" * (10 * 1024 * 1024) + b",03-1234-5678\r\n"),
    "csv_20000_columns": _text("wide.csv", ",".join(f"c{index}" for index in range(20_000)).encode() + b"\r\n" + b"a,b\r\n"),
}

REFUSED = {
    "xlsx_cell_at_XFD1048576": "sheet_too_large", "xlsx_declared_dimension": "sheet_too_large",
    "xlsx_cells_without_reference": "sheet_too_large", "xlsx_shared_strings_declaring_four_billion": "sheet_too_large", "xlsx_eight_digit_row": "not_a_spreadsheet",
    "xlsx_unquoted_reference": "not_a_spreadsheet", "xlsx_second_reference_without_a_space": "sheet_too_large", "xlsx_prefixed_far_cell": "sheet_too_large", "xlsx_reference_after_a_quoted_angle_bracket": "sheet_too_large", "xlsx_sheet_part_not_named_xml": "sheet_too_large",
    "ods_rows_hidden_in_a_nested_table": "sheet_too_large", "xlsx_2000000_rows_of_20_columns": "sheet_too_large",
    "xlsx_20000_columns": "not_a_spreadsheet", "xlsx_duplicate_part": "not_a_spreadsheet", "xlsx_second_reference_far": "sheet_too_large",
    "ods_value_after_empty_repeats": "sheet_too_large", "ods_repeated_values": "sheet_too_large",
    "xls_cell_at_the_last_row_and_column": "sheet_too_large", "xls_declared_dimensions": "sheet_too_large",
    "xls_dimensions_first_row_after_the_last": "not_a_spreadsheet", "xls_sheet_hidden_by_a_record_length": "sheet_too_large",
    "xlsx_bad_sheet_xml": "not_a_spreadsheet", "ole_without_a_workbook_named_xls": "not_a_spreadsheet",
    "xls_truncated": "not_a_spreadsheet", "xlsx_shared_string_out_of_range": "not_a_spreadsheet",
    "xlsx_forged_sizes": "not_a_spreadsheet", "xlsx_truncated": "not_a_spreadsheet", "xlsx_zip_bomb": "zip_bomb",
    "xlsx_external_entity": "xml_doctype", "xlsx_billion_laughs": "xml_doctype", "ods_billion_laughs": "xml_doctype",
    "xlsb": "not_a_spreadsheet", "csv_named_xlsx": "not_a_spreadsheet",
    "xlsx_nul_in_a_cell": "nul_byte", "xls_nul_in_a_cell": "nul_byte", "ods_raw_nul": "nul_byte", "ods_nul_reference": "not_a_spreadsheet", "csv_nul": "nul_byte",
    "csv_invalid_cp932": "invalid_bytes", "csv_unbalanced_quote": "unclosed_quote", "csv_10_mb_cell": "cell_too_long",
    "csv_20000_columns": "too_many_columns",
}

# Files that look odd but are lead lists: each gives exactly one lead named 株式会社ABC.
ACCEPTED = {
    "ods_libreoffice_tail": lambda folder: write_ods(folder / "libreoffice.ods", LIBREOFFICE_LEADS),
    "xlsx_named_xls": lambda folder: _text("leads.xls", _valid_xlsx_bytes(folder))(folder),
    "xls_named_xlsx": lambda folder: write_xls(folder / "leads.xlsx"),
    "xlsx_named_csv": lambda folder: _text("leads.csv", _valid_xlsx_bytes(folder))(folder),
    "xlsx_with_prefixed_tags": lambda folder: write_xlsx(folder / "prefixed.xlsx", prefixed(sheet_xml(HEADER_ROW + DATA_ROW))),
    # Never extracted: member names are only looked up, so `../` and absolute names change nothing.
    "xlsx_with_traversal_and_absolute_members": lambda folder: write_xlsx(folder / "members.xlsx", sheet_xml(HEADER_ROW + DATA_ROW),
                                                                         extra={"../../evil.xml": "<x/>", "/etc/evil.xml": "<x/>"}),
}
