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


def write_xlsx(path: Path, sheet: str, *, shared_strings: str | None = None, extra: dict | None = None) -> Path:
    """A one-sheet XLSX ("Sheet1") with `sheet` as its worksheet XML."""
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
                     f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>{strings_rel}</Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
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
