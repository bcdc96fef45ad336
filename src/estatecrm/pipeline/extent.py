"""A spreadsheet's extent, found before the spreadsheet library loads anything.

calamine decodes a sheet into one dense grid of `rows x columns` cells (32 bytes each), from the
first to the last cell that holds a value. One value at XFD1048576 asks for 512 GiB and the process
aborts (a Rust allocation failure, which no `except` catches). So every sheet of a workbook is
measured here first, streaming its XML or records without building anything, and a sheet whose grid
would exceed MAX_SHEET_CELLS is refused with a ReadError.

The measures follow what calamine reads, and round up where it is cheap to be safe:
- XLSX: every `<c>` element of every XML part (and of every part a sheet's relationship points at,
  whatever its name) counts at its `r` reference (or, without one, at the position calamine gives
  it: the row's `r`, else the row after the previous one, and the column after the previous cell),
  whether or not it holds a value; the declared `<dimension ref>` counts too; more shared strings
  than MAX_SHARED_STRINGS are refused. Namespace prefixes are ignored, as calamine ignores them.
- ODS: content.xml must be well-formed (calamine's ODS reader can loop on some malformed content);
  rows and cells count with their `number-rows-repeated` / `number-columns-repeated`; repeats that
  hold no value only move the position (LibreOffice ends every sheet with such repeats up to
  XFD1048576); a value after them extends the extent, as it does in calamine.
- XLS (BIFF8 in an OLE container): the row and column of every cell record and each DIMENSIONS
  record (refused when its first row or column lies beyond its last), walked record by record
  from the start and again from each sheet's BOUNDSHEET position.
Any DOCTYPE in an XML part is refused (entity expansion, external entities); a damaged member
(size or CRC mismatch, truncation) is refused.
"""

import re
import struct
import xml.parsers.expat
import zipfile
from collections.abc import Iterator

from django.utils.translation import gettext as _

# 25 million cells: a 1,048,576-row sheet of 23 columns, or 250,000 rows of 100 columns. calamine
# holds 32 bytes per cell of the grid (800 MB for an empty grid this size; about 2.5 GB for a
# full one of short Japanese texts, measured), and refuses ODS beyond 100 million cells itself.
MAX_SHEET_CELLS = 25_000_000
# A shared string can only serve a cell: more of them than cells is a file made to fill memory.
MAX_SHARED_STRINGS = MAX_SHEET_CELLS
CHUNK_BYTES = 1024 * 1024
MAX_TAG_BYTES = 1024 * 1024


def _read_error(code: str, message: str):
    from estatecrm.pipeline.readers import ReadError

    return ReadError(code, message)


def column_letters(column: int) -> str:
    """1 -> A, 16384 -> XFD."""
    letters = ""
    while column > 0:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def check_extent(sheet: str, rows: int, columns: int) -> None:
    """Refuse a sheet whose grid (rows x columns from A1) exceeds MAX_SHEET_CELLS."""
    if rows * columns > MAX_SHEET_CELLS:
        raise _read_error("sheet_too_large", _(
            "The sheet “%(sheet)s” reaches cell %(cell)s (%(rows)d rows × %(columns)d columns): more than the "
            "%(limit)s cells a spreadsheet may span. Delete what lies outside the list, or save the sheet as CSV."
        ) % {"sheet": sheet, "cell": f"{column_letters(columns)}{rows}", "rows": rows, "columns": columns,
             "limit": f"{MAX_SHEET_CELLS:,}"})


def doctype_refused(part: str):
    return _read_error("xml_doctype", _(
        "The spreadsheet part “%(part)s” declares a DOCTYPE (XML entities), which a spreadsheet never needs; "
        "the file was not read."
    ) % {"part": part})


def damaged(part: str):
    return _read_error("not_a_spreadsheet", _(
        "The spreadsheet is damaged (the part “%(part)s” cannot be read). Open it in Excel and save it again, or save it as CSV."
    ) % {"part": part})


# ---------------------------------------------------------------------------------------------
# XML parts, streamed


DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
COMPLETE_TAG = re.compile(rb"<[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>")


def xml_chunks(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """The member's bytes in pieces cut between tags (never inside one); DOCTYPE refused."""
    carry = b""
    try:
        with archive.open(name) as member:
            while True:
                chunk = member.read(CHUNK_BYTES)
                if not chunk:
                    break
                buffer = carry + chunk
                # Cut before the last tag, so that no tag is ever split between two pieces.
                cut = buffer.rfind(b"<")
                buffer, carry = (buffer[:cut], buffer[cut:]) if cut >= 0 else (buffer, b"")
                if len(carry) > MAX_TAG_BYTES:
                    # A long text after the last tag: keep the tag, drop the text (it holds no tag).
                    tag = COMPLETE_TAG.match(carry)
                    if tag is None:
                        raise damaged(name)
                    buffer, carry = buffer + tag[0], b""
                if b"!" in buffer and DOCTYPE.search(buffer):  # one-byte search first: memchr
                    raise doctype_refused(name)
                yield buffer
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile, NotImplementedError, RuntimeError):
        # A damaged or truncated member, a CRC or size mismatch, an unknown compression, a password.
        raise damaged(name) from None
    except Exception as error:  # zlib.error and the like from a forged stream
        if error.__class__.__module__ in {"zlib", "bz2", "lzma"}:
            raise damaged(name) from None
        raise
    if carry:
        if DOCTYPE.search(carry):
            raise doctype_refused(name)
        yield carry


def check_xml_part(archive: zipfile.ZipFile, name: str) -> None:
    """Read a part once, refusing a DOCTYPE and a damaged stream."""
    for _chunk in xml_chunks(archive, name):
        pass


# -- XLSX ----------------------------------------------------------------------------------------

# Every cell tag: its attributes, and whether it closes itself.
XLSX_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?(c|row)(?=[\s/>])((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)>")
XLSX_ROW_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?row(?=[\s/>])((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)>")
XLSX_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?dimension\s((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)>")
# The fast path's patterns: each starts with a literal, which the regex engine scans for in C.
# Both match the same references, whole: one the other does not would be counted without its row.
FAST_CELL_COLUMN = re.compile(rb'<c r="([A-Za-z]{1,3})[0-9]{1,7}"')
FAST_CELL_ROW = re.compile(rb'<c r="[A-Za-z]{1,3}([0-9]{1,7})"')
FAST_ROW = re.compile(rb'<row r="([0-9]{1,7})"')
# Cell or row tags in any other spelling (prefixed, no attributes, other whitespace): the exact path.
PREFIXED_STRING_ITEM = re.compile(rb":si[\s/>]")
SHARED_STRINGS_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?sst\s((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)>")
PREFIXED_TAG = re.compile(rb":(?:c|row|si)[\s/>]")
PREFIX_OF_TAG = re.compile(rb"</?([A-Za-z_][\w.\-]*):(?:c|row|si)[\s/>]")
MAX_TAG_PREFIXES = 4
ATTRIBUTE = re.compile(rb"(?<![\w:.\-])([\w.\-]+(?::[\w.\-]+)?)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
REFERENCE = re.compile(rb"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def attributes(raw: bytes) -> dict[bytes, bytes]:
    return {match[1]: match[2] if match[2] is not None else match[3] for match in ATTRIBUTE.finditer(raw)}


def xlsx_sheet_extent(archive: zipfile.ZipFile, name: str, strings: list[int] | None = None) -> tuple[int, int]:
    """(rows, columns) from A1 to the furthest cell or declared corner of one worksheet part.

    `strings`: [items, declared]: the number of shared-string items (`<si>`) of the part is added to
    the first, the largest count its `<sst>` declares kept in the second."""
    max_row = max_column = 0
    row_index = column_index = 0  # calamine's position for a cell without a reference (0-based)
    before_sheet_data = True  # calamine reads <dimension> only there
    for chunk in xml_chunks(archive, name):
        chunk = without_tag_prefixes(chunk)
        if strings is not None and b"si" in chunk:
            strings[0] += chunk.count(b"<si>") + chunk.count(b"<si ") + len(PREFIXED_STRING_ITEM.findall(chunk))
        if strings is not None and b"sst" in chunk:
            # calamine reserves room for the declared count before reading a single string.
            for raw in SHARED_STRINGS_TAG.findall(chunk):
                declared = [int(value) if value.strip().isdigit() and len(value) < 20 else MAX_SHARED_STRINGS + 1
                            for key, value in attributes(raw).items() if key in (b"count", b"uniqueCount")]
                strings[1] = max([strings[1], *declared])
        for raw in XLSX_DIMENSION.findall(chunk) if before_sheet_data and b"dimension" in chunk else ():
            reference = attributes(raw).get(b"ref", b"")
            corner = REFERENCE.match(reference.split(b":")[-1].strip())
            if corner is None and reference:
                raise damaged(name)
            if corner:
                max_row, max_column = max(max_row, int(corner[2])), max(max_column, column_number(corner[1]))
        before_sheet_data = before_sheet_data and b"sheetData" not in chunk
        columns = FAST_CELL_COLUMN.findall(chunk)
        if is_plain_chunk(chunk, len(columns)):
            # The fast path (Excel, LibreOffice, xlsxwriter, openpyxl): every cell and row tag
            # starts with its reference, so the extent is the largest reference (C-level scans).
            if columns:
                max_column = max(max_column, max(column_number(letters) for letters in set(columns)))
                max_row = max(max_row, max(map(int, set(FAST_CELL_ROW.findall(chunk)))))
            # The position a cell without a reference in a later piece would take.
            row_start, row_end = chunk.rfind(b'<row r="'), chunk.rfind(b"</row>")
            if row_start >= 0 or row_end >= 0:
                last_row = FAST_ROW.match(chunk, row_start) if row_start >= 0 else None
                if last_row is None and row_start >= 0:
                    raise damaged(name)
                row_index = int(last_row[1]) - 1 if last_row else row_index
                if row_end > row_start:
                    row_index, column_index = row_index + 1, 0
            last_cell = FAST_CELL_COLUMN.findall(chunk, max(row_start, row_end, 0))
            if last_cell:
                column_index = column_number(last_cell[-1])
            continue
        for closing, tag, raw in XLSX_TAG.findall(chunk):
            if tag == b"row":
                row_index, column_index = _row_event(closing, raw, row_index, column_index, name)
            elif tag == b"c" and not closing:
                found = attributes(raw)
                reference = found.get(b"r")
                row, column = row_index, column_index
                if reference is not None:
                    place = REFERENCE.match(reference)
                    if place is None:
                        raise damaged(name)
                    row, column = int(place[2]) - 1, column_number(place[1]) - 1
                max_row, max_column = max(max_row, row + 1), max(max_column, column + 1)
                column_index = column + 1
    return max_row, max_column


def without_tag_prefixes(chunk: bytes) -> bytes:
    """The piece with the namespace prefix of its cell and row tags dropped from every tag
    (`<x:c r="A1">` -> `<c r="A1">`, as the .NET Open XML SDK writes them): calamine matches tags by
    their local name, and the fast path reads unprefixed tags only. More than a few prefixes: left
    as they are (the exact path reads them)."""
    if PREFIXED_TAG.search(chunk) is None:  # scans for ':' only: cheap when there is nothing to drop
        return chunk
    for _prefix in range(MAX_TAG_PREFIXES):
        found = PREFIX_OF_TAG.search(chunk)
        if found is None:
            break
        prefix = found[1]
        chunk = chunk.replace(b"<" + prefix + b":", b"<").replace(b"</" + prefix + b":", b"</")
    return chunk


def is_plain_chunk(chunk: bytes, references: int) -> bool:
    """Whether every tag of the piece starting `<c` or `<row` is `<c r="A1"` / `<row r="1"`, none
    prefixed, and no tag has a second `r` (calamine takes the last one). A piece holding other tags
    of those letters (`<cols>`, `<rowBreaks>`) or text with " r" goes the exact way."""
    rows = chunk.count(b'<row r="')
    return (
        chunk.count(b"<c") == references and chunk.count(b"<row") == rows and chunk.count(b" r") == references + rows
        and not any(space in chunk and space + b"r" in chunk for space in (b"\t", b"\n", b"\r", b"'"))
        and b'"r' not in chunk  # an attribute right after a value, no space between: calamine reads it
        and PREFIXED_TAG.search(chunk) is None
    )


def _row_event(closing: bytes, raw: bytes, row_index: int, column_index: int, part: str) -> tuple[int, int]:
    if closing:
        return row_index + 1, 0
    if raw.rstrip().endswith(b"/"):
        return row_index, column_index  # calamine ignores an empty <row/>
    number = attributes(raw).get(b"r")
    if number is None:
        return row_index, column_index
    if not number.strip().isdigit():
        raise damaged(part)
    return int(number) - 1, 0


def check_xlsx(archive: zipfile.ZipFile, names: set[str]) -> None:
    """Measure every worksheet of an XLSX/XLSM before calamine opens it; refuse DOCTYPEs."""
    if "xl/workbook.bin" in names:
        raise _read_error("not_a_spreadsheet", _("XLSB (binary Excel) files cannot be read. Save the file as XLSX or CSV."))
    if "xl/workbook.xml" not in names:
        raise _read_error("not_a_spreadsheet", _("The file is a ZIP archive but not an XLSX or ODS spreadsheet."))
    sheet_names = _xlsx_sheet_names(archive)
    # Every XML part is measured as a sheet would be (a part without cell tags measures 0), and so
    # is every part a sheet points at, whatever its name: calamine reads a sheet from wherever the
    # workbook's relationships point, and a part that is no sheet costs one pass over its bytes.
    targets = {candidate for candidates in sheet_names.values() for candidate in candidates}
    labels = {candidate: sheet for sheet, candidates in sheet_names.items() for candidate in candidates}
    strings = [0, 0]
    for name in sorted(names):
        if name in targets or name.lower().endswith((".xml", ".rels", ".vml")):
            rows, columns = xlsx_sheet_extent(archive, name, None if name in targets else strings)
            check_extent(labels.get(name, name), rows, columns)
    if max(strings) > MAX_SHARED_STRINGS:
        # calamine keeps every shared string in memory, used or not, and reserves room for as many
        # as the file declares.
        raise _read_error("sheet_too_large", _(
            "The spreadsheet holds %(count)s different texts, more than the %(limit)s that can be read. Save the sheet as CSV."
        ) % {"count": f"{max(strings):,}", "limit": f"{MAX_SHARED_STRINGS:,}"})


def _xlsx_sheet_names(archive: zipfile.ZipFile) -> dict[str, set[str]]:
    """Sheet name -> the part names its relationship may mean (as written, and with `..` resolved)."""
    workbook = b"".join(xml_chunks(archive, "xl/workbook.xml"))
    try:
        rels = b"".join(xml_chunks(archive, "xl/_rels/workbook.xml.rels"))
    except KeyError:
        rels = b""
    targets: dict[bytes, set[str]] = {}
    for raw in re.findall(rb"<(?:[\w.\-]+:)?Relationship\s((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)>", rels):
        found = attributes(raw)
        target = found.get(b"Target", b"").decode("utf-8", "replace")
        joined = target[1:] if target.startswith("/") else "xl/" + target
        parts: list[str] = []
        for piece in joined.replace("\\", "/").split("/"):
            if piece == "..":
                if parts:
                    parts.pop()
            elif piece and piece != ".":
                parts.append(piece)
        targets[found.get(b"Id", b"")] = {joined, target, "/".join(parts)}
    sheets = {}
    for raw in re.findall(rb"<(?:[\w.\-]+:)?sheet\s((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)>", workbook):
        found = {key.split(b":")[-1]: value for key, value in attributes(raw).items()}
        sheets[found.get(b"name", b"").decode("utf-8", "replace")] = targets.get(found.get(b"id", b""), set())
    return sheets


# -- ODS -----------------------------------------------------------------------------------------

ODS_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?(table|table-row|table-cell|covered-table-cell)(?=[\s/>])((?:[^<>\"']|\"[^<\"]*\"|'[^<']*')*)>")
ROWS_REPEATED = re.compile(rb"(?<![\w.\-])(?:[\w.\-]+:)?number-rows-repeated\s*=\s*[\"']\s*([0-9]+)\s*[\"']")
COLUMNS_REPEATED = re.compile(rb"(?<![\w.\-])(?:[\w.\-]+:)?number-columns-repeated\s*=\s*[\"']\s*([0-9]+)\s*[\"']")
VALUE_TYPE = re.compile(rb"(?<![\w.\-])(?:[\w.\-]+:)?value-type\s*=")


def check_ods(archive: zipfile.ZipFile, names: set[str]) -> None:
    """Measure every table of an ODS content.xml (repeats included) before calamine opens it."""
    if "content.xml" not in names:
        raise _read_error("not_a_spreadsheet", _("The file is a ZIP archive but not an XLSX or ODS spreadsheet."))
    for name in sorted(names):
        if name.lower().endswith((".xml", ".rdf")) and name != "content.xml":
            check_xml_part(archive, name)
    table = ""
    depth = 0
    max_row = max_column = 0
    row_position = 0  # rows before the current one
    row_repeat = 1
    column_position = 0
    row_widest = 0  # the column after the last valued cell of the current row
    open_cell_start = None  # (start column, repeat) of a cell whose content follows
    # calamine's ODS reader can loop for minutes on some malformed content (found by the mutation
    # test): the part must be well-formed XML first (expat, without handlers: C speed; no DOCTYPE
    # reaches it, xml_chunks refuses one).
    well_formed = xml.parsers.expat.ParserCreate()
    for chunk in xml_chunks(archive, "content.xml"):
        try:
            # A NUL is left to the reader, which names its row (expat would call the file damaged).
            well_formed.Parse(chunk.replace(b"\x00", b" ") if b"\x00" in chunk else chunk, False)
        except xml.parsers.expat.ExpatError:
            raise damaged("content.xml") from None
        for closing, tag, raw in ODS_TAG.findall(chunk):
            if tag == b"table":
                # A table inside a cell counts into the sheet around it (more, never less).
                if closing:
                    depth -= 1
                    if depth == 0:
                        check_extent(table, max_row, max_column)
                elif not raw.rstrip().endswith(b"/"):
                    depth += 1
                    if depth == 1:
                        name_match = re.search(rb"(?:[\w.\-]+:)?name\s*=\s*[\"']([^\"']*)[\"']", raw)
                        table = name_match[1].decode("utf-8", "replace") if name_match else ""
                        max_row = max_column = row_position = 0
            elif tag == b"table-row":
                if closing:
                    if row_widest:
                        max_row = max(max_row, row_position + row_repeat)
                        max_column = max(max_column, row_widest)
                        check_extent(table, max_row, max_column)
                    row_position += row_repeat
                    continue
                repeated = ROWS_REPEATED.search(raw)
                row_repeat = max(1, int(repeated[1])) if repeated else 1
                column_position = row_widest = 0
                if raw.rstrip().endswith(b"/"):
                    row_position += row_repeat
            elif closing:  # </table:table-cell>: the content held a value
                if open_cell_start is not None:
                    row_widest = max(row_widest, open_cell_start)
                    open_cell_start = None
            else:
                repeated = COLUMNS_REPEATED.search(raw)
                repeat = max(1, int(repeated[1])) if repeated else 1
                column_position += repeat
                if VALUE_TYPE.search(raw):
                    row_widest = max(row_widest, column_position)
                elif not raw.rstrip().endswith(b"/"):
                    open_cell_start = column_position  # counts once the cell closes (content seen)
    try:
        well_formed.Parse(b"", True)
    except xml.parsers.expat.ExpatError:
        raise damaged("content.xml") from None
    check_extent(table, max_row, max_column)


# -- XLS (BIFF8) ---------------------------------------------------------------------------------

BIFF_BOF = 0x0809
BIFF_EOF = 0x000A
BIFF_DIMENSIONS = 0x0200
BIFF_BOUNDSHEET = 0x0085
# Cell records: row (u16) and column (u16) first.
BIFF_CELLS = {0x0006, 0x00FD, 0x0203, 0x027E, 0x0201, 0x0205, 0x0204, 0x00D6, 0x0406, 0x0002, 0x0003, 0x0004, 0x0005}
BIFF_MULTIPLE = {0x00BD, 0x00BE}  # MULRK, MULBLANK: row, first column, ..., last column (u16 at the end)
MAX_XLS_SHEETS = 1_000


def check_xls(path) -> None:
    """Measure every sheet of an XLS workbook stream (cell records and DIMENSIONS)."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            stream = next((name for name in ("Workbook", "Book") if ole.exists(name)), None)
            if stream is None:
                raise _read_error("not_a_spreadsheet", _("The file is an OLE document but not an Excel workbook."))
            data = ole.openstream(stream).read()
    except (OSError, ValueError, IndexError, struct.error, TypeError, KeyError, AttributeError):
        raise damaged("Workbook") from None
    except Exception as error:  # olefile raises its own errors for damaged containers
        if error.__class__.__module__.startswith("olefile"):
            raise damaged("Workbook") from None
        raise
    xls_stream_extent(data)


def xls_stream_extent(data: bytes) -> None:
    """Walk the BIFF records of a workbook stream, refusing the first sheet that grows too large.

    Walked twice: once from the start, record after record; then from each sheet's position as its
    BOUNDSHEET record gives it, which is where calamine reads the sheet (a record of the wrong
    length can hide a sheet's records from the first walk)."""
    sheets: list[tuple[int, str]] = []
    budget = [0]
    records = _walk_biff(data, 0, sheets=sheets, budget=budget)
    budget[0] = 2 * records + 100_000  # the sheets' walks together may read the stream about twice
    for position in sorted({position for position, _name in sheets}):
        name = next(name for sheet_position, name in sheets if sheet_position == position)
        _walk_biff(data, position, label=name, budget=budget)


def _walk_biff(data: bytes, offset: int, *, sheets: list | None = None, label: str = "", budget: list[int]) -> int:
    """Measure the records from `offset`: from the start of the stream (`sheets` given: collects the
    BOUNDSHEET positions, a new extent at each BOF), or one sheet (until its BOF/EOF nesting closes).
    Returns the number of records read."""
    unpack = struct.unpack_from
    end = len(data)
    records = substreams = depth = 0  # from the start: the globals are the first substream, each sheet one more
    max_row = max_column = 0

    def name() -> str:
        if sheets is None:
            return label
        index = substreams - 2
        return sheets[index][1] if 0 <= index < len(sheets) else str(index + 1)

    while offset + 4 <= end:
        kind, length = unpack("<HH", data, offset)
        start = offset + 4
        offset = start + length
        records += 1
        if sheets is None:
            budget[0] -= 1
            if budget[0] < 0:
                raise damaged("Workbook")
        if kind in BIFF_CELLS:
            if length < 4 or offset > end:
                continue
            row, column = unpack("<HH", data, start)
            row, column = row + 1, column + 1
        elif kind in BIFF_MULTIPLE:
            if length < 6 or offset > end:
                continue
            (row,) = unpack("<H", data, start)
            (column,) = unpack("<H", data, offset - 2)
            row, column = row + 1, column + 1
        elif kind == BIFF_DIMENSIONS:
            # calamine allocates the declared extent: it is bounded as a cell would be.
            if length < 12 or offset > end:
                continue
            first_row, row, first_column, column = unpack("<IIHH", data, start)  # row and column: one past the last
            if first_row > row or first_column > column:
                # calamine subtracts the first from the last: a first beyond the last wraps around
                # to billions of rows.
                raise damaged("Workbook")
        elif kind == BIFF_BOF:
            depth += 1
            if sheets is not None:
                substreams += 1
                max_row = max_column = 0
            continue
        elif kind == BIFF_EOF:
            depth -= 1
            if sheets is None and depth <= 0:
                return records
            continue
        elif kind == BIFF_BOUNDSHEET and sheets is not None and length >= 8 and offset <= end:
            size, flags = data[start + 6], data[start + 7]
            raw = data[start + 8: start + 8 + (size * 2 if flags & 1 else size)]
            sheets.append((unpack("<I", data, start)[0], raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")))
            if len(sheets) > MAX_XLS_SHEETS:
                raise damaged("Workbook")
            continue
        else:
            continue
        if row > max_row or column > max_column:
            max_row, max_column = max(max_row, row), max(max_column, column)
            check_extent(name(), max_row, max_column)
    return records
