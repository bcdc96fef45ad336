"""Readers: stream the rows of a CSV/TSV/TXT or XLSX/XLS/ODS file with their row numbers.

Pure Python (no database). Files as Japanese offices send them: CP932 from Excel, UTF-8 with or
without BOM, UTF-16 "Unicode text" (tab separated), CRLF or LF, quoted line breaks, a title above
the header row, several sheets, trailing empty rows and columns. Bad input raises `ReadError` with
a stable code, a translated message and the line where it was found; nothing is guessed silently.
"""

import codecs
import contextlib
import csv
import datetime
import hashlib
import io
import math
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from estatecrm.pipeline import extent

MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
MAX_CELL_CHARACTERS = 32_767
# A spreadsheet's unpacked XML beyond these is a ZIP bomb, not a lead list.
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
SAMPLE_BYTES = 256 * 1024
HEADER_SEARCH_ROWS = 30

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ""}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_PACKAGE_MARK = "EncryptedPackage".encode("utf-16-le")

Cell = str | int | float | bool | datetime.date | datetime.datetime | datetime.time | None


class ReadError(Exception):
    """The file cannot be read as a table. `line` is 1-based when the problem has a place."""

    def __init__(self, code: str, message: str, *, line: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line

    def __reduce__(self):
        # Picklable, so an error found by a reading child process reaches the writer intact.
        return (_read_error, (self.code, self.message, self.line))


def _read_error(code: str, message: str, line: int | None) -> "ReadError":
    return ReadError(code, message, line=line)


@dataclass(frozen=True)
class SourceRow:
    """One data row: its 1-based line (CSV: where the record starts) or row number, and its cells."""

    number: int
    cells: tuple[Cell, ...]


@dataclass
class TableInfo:
    """What the reader detected (and the caller may override next time)."""

    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    header_row: int = 1
    headers: list[str] = field(default_factory=list)
    header_detected: bool = True


def cell_text(value: Cell) -> str:
    """A cell as text: integral numbers without `.0`, dates in ISO form, None as ``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ") if value.time() != datetime.time() else value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def is_empty_row(cells) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


# ---------------------------------------------------------------------------------------------
# Encoding detection


ENCODING_LABELS = {"cp932": "Shift_JIS (CP932)", "utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "utf-16": "UTF-16"}


def encoding_label(encoding: str) -> str:
    """The name users know an encoding by."""
    return ENCODING_LABELS.get(encoding.lower().replace("_", "-"), encoding)


def detect_encoding(sample: bytes) -> str:
    """BOM, then strict UTF-8, then CP932, then charset-normalizer's guess (DOMAIN.md's order)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    reach = {encoding: _decodable_prefix(sample, encoding) for encoding in ("utf-8", "cp932")}
    for encoding, length in reach.items():
        if length == len(sample):
            return encoding
    # A mostly valid file with a bad byte further on is that encoding: the reader then names the
    # line of the bad byte instead of guessing another encoding.
    furthest = max(reach, key=lambda encoding: reach[encoding])
    if reach[furthest] >= min(len(sample) // 2, 4096):
        return furthest
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise ReadError("unknown_encoding", _("The file's character encoding could not be recognised."))
    return best.encoding


def _decodable_prefix(sample: bytes, encoding: str) -> int:
    """How many bytes of `sample` decode strictly (all of them: len(sample))."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        decoder.decode(sample, final=False)  # a character cut at the end of the sample is fine
    except UnicodeDecodeError as error:
        return error.start
    return len(sample)


def detect_delimiter(text_sample: str, encoding: str) -> str:
    """Tab for UTF-16 "Unicode text" and tab-heavy samples, else the sniffer's choice among , \\t ;."""
    lines = [line for line in text_sample.splitlines()[:50] if line.strip()]
    if not lines:
        return "\t" if encoding.startswith("utf-16") else ","
    counts = {delimiter: sum(line.count(delimiter) for line in lines) for delimiter in (",", "\t", ";")}
    if encoding.startswith("utf-16") and counts["\t"]:
        return "\t"
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


# ---------------------------------------------------------------------------------------------
# Opening a file


def sniff_format(path: Path) -> str:
    """The format by content, never by name alone: a ZIP is XLSX or ODS, an OLE file is XLS."""
    with path.open("rb") as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
            raise ReadError("not_a_spreadsheet", _("The file is damaged or not a spreadsheet.")) from None
        return "ods" if "content.xml" in names and "xl/workbook.xml" not in names else "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if suffix in SPREADSHEET_SUFFIXES and not head:
        raise ReadError("empty_file", _("The file is empty."))
    if suffix in SPREADSHEET_SUFFIXES:
        raise ReadError("not_a_spreadsheet", _("The file is not a spreadsheet that can be read."))
    return "csv"


class Table:
    """An opened table: `info` (detected settings and headers) and `rows()` (data rows, streamed)."""

    def __init__(self, path: Path, *, encoding: str | None = None, delimiter: str | None = None,
                 sheet: str | None = None, header_row: int | None = None):
        self.path = Path(path)
        if not self.path.exists() or self.path.stat().st_size == 0:
            raise ReadError("empty_file", _("The file is empty."))
        file_format = sniff_format(self.path)
        self.info = TableInfo(format=file_format)
        if file_format == "csv":
            self._prepare_text(encoding, delimiter)
        else:
            self._prepare_spreadsheet(sheet)
        self._locate_header(header_row)

    # -- text files --------------------------------------------------------------------------
    def _prepare_text(self, encoding: str | None, delimiter: str | None) -> None:
        with self.path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
        if encoding:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ReadError("unknown_encoding", _("Unknown character encoding: %(encoding)s") % {"encoding": encoding}) from None
            encoding = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
        else:
            if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                self._refuse_binary(sample)
            encoding = detect_encoding(sample)
        text_sample = sample.decode(encoding, errors="ignore")
        # Old Mac files end lines with a bare CR and have no LF at all: unambiguous, read as such.
        self._line_end = b"\r" if b"\r" in sample and b"\n" not in sample and not encoding.lower().startswith("utf-16") else b"\n"
        self.info.encoding = encoding
        self.info.delimiter = delimiter or detect_delimiter(text_sample, encoding)

    def _refuse_binary(self, sample: bytes) -> None:
        line = sample[: sample.index(b"\x00")].count(b"\n") + 1
        printable = sum(32 <= byte < 127 or byte in (9, 10, 13) or byte >= 0x80 for byte in sample[:4096])
        if printable < 0.7 * min(len(sample), 4096):
            raise ReadError("not_a_spreadsheet", _("The file is not a spreadsheet or a text table."))
        raise ReadError("nul_byte", _("Line %(line)d contains a NUL byte.") % {"line": line}, line=line)

    def _text_lines(self, nul_seen: list | None = None) -> Iterator[str]:
        """Decoded physical lines (ends kept), failing with the line number on invalid bytes.

        `nul_seen`: a one-item list set to True once a line with a NUL character was read."""
        encoding = self.info.encoding or "utf-8"
        if encoding.lower().replace("_", "-").startswith("utf-16"):
            # UTF-16 cannot be split on b"\n" bytes; decode incrementally instead.
            with self.path.open("rb") as handle:
                wrapper = io.TextIOWrapper(handle, encoding=encoding, errors="strict", newline="")
                number = 0
                try:
                    for number, line in enumerate(wrapper, start=1):  # noqa: B007
                        if nul_seen is not None and "\x00" in line:
                            nul_seen[0] = True
                        yield line
                except UnicodeDecodeError:
                    raise self._decode_error(number + 1) from None
            return
        # CP932 and UTF-8 never use the byte 0x0A inside a character, so physical lines can be
        # decoded one by one and a bad byte named by its line.
        line_encoding = "utf-8" if encoding.lower().replace("_", "-") == "utf-8-sig" else encoding
        with self.path.open("rb") as handle:
            physical_lines = handle if self._line_end == b"\n" else split_lines(handle, b"\r")
            for number, raw_line in enumerate(physical_lines, start=1):
                if number == 1 and raw_line.startswith(codecs.BOM_UTF8):
                    raw_line = raw_line[len(codecs.BOM_UTF8):]
                try:
                    line = raw_line.decode(line_encoding)
                except UnicodeDecodeError:
                    raise self._decode_error(number) from None
                if nul_seen is not None and "\x00" in line:
                    nul_seen[0] = True
                yield line

    def _decode_error(self, line: int) -> ReadError:
        return ReadError(
            "invalid_bytes",
            _("Line %(line)d is not valid %(encoding)s text. Choose the file's encoding, or save it again as CSV UTF-8.")
            % {"line": line, "encoding": encoding_label(self.info.encoding or "")},
            line=line,
        )

    def _text_rows(self) -> Iterator[SourceRow]:
        # Cells are searched for NUL only once a line had one (one search per line instead of per cell).
        nul_seen = [False]
        delimiter = self.info.delimiter or ","
        record_lines: list[str] = []  # the physical lines of the record being read

        def tracked() -> Iterator[str]:
            for line in self._text_lines(nul_seen):
                record_lines.append(line)
                yield line

        reader = csv.reader(tracked(), delimiter=delimiter, strict=False)
        start_line = 1
        header_delimiters = None
        while True:
            record_lines.clear()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise csv_error(error, start_line + max(0, len(record_lines) - 1)) from None
            if header_delimiters is None and record_lines:
                header_delimiters = record_lines[0].count(delimiter)
            if len(record_lines) > 1:
                check_quotes_closed(record_lines, start_line, delimiter, header_delimiters or 0)
            for cell in cells if nul_seen[0] else ():
                if "\x00" in cell:
                    raise ReadError("nul_byte", _("Line %(line)d contains a NUL byte.") % {"line": start_line}, line=start_line)
            yield SourceRow(start_line, tuple(cells))
            start_line = reader.line_num + 1

    # -- spreadsheets ------------------------------------------------------------------------
    def _prepare_spreadsheet(self, sheet: str | None) -> None:
        from python_calamine import CalamineWorkbook, PasswordError

        # Every sheet is measured (and its XML checked) before calamine decodes anything: calamine
        # aborts the whole process on a sheet too large to allocate (extent.py).
        identity = file_identity(self.path)
        if identity not in CHECKED_FILES:
            if self.info.format in {"xlsx", "ods"}:
                check_zip_container(self.path)
            else:
                with self.path.open("rb") as handle:
                    if ENCRYPTED_PACKAGE_MARK in handle.read(SAMPLE_BYTES * 4):
                        raise ReadError("password_protected", _("The spreadsheet is password-protected. Remove the password in Excel and try again."))
                extent.check_xls(self.path)
            remember_checked(identity)
        try:
            with calamine_path(self.path, self.info.format) as path:
                self._workbook = CalamineWorkbook.from_path(str(path))
            self._loaded_sheet: tuple[str, object] | None = None
            self.info.sheets = list(self._workbook.sheet_names)
        except PasswordError:
            raise ReadError("password_protected", _("The spreadsheet is password-protected. Remove the password in Excel and try again.")) from None
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException:  # calamine's errors, and pyo3's PanicException (a BaseException)
            raise spreadsheet_damaged() from None
        if not self.info.sheets:
            raise ReadError("empty_file", _("The spreadsheet has no sheets."))
        if sheet is not None and sheet not in self.info.sheets:
            raise ReadError("unknown_sheet", _("There is no sheet named “%(sheet)s”.") % {"sheet": sheet})
        self.info.sheet = sheet or self._first_sheet_with_data()

    def _first_sheet_with_data(self) -> str:
        for name in self.info.sheets:
            sheet = self._sheet(name)
            if sheet.height and sheet.width:
                return name
        return self.info.sheets[0]

    def _sheet(self, name: str):
        """The sheet, decoded once per table (calamine decodes the whole sheet on each load: about
        1.2 s per 100,000 rows, while iterating its rows takes a tenth of that). One sheet is kept."""
        if self._loaded_sheet is None or self._loaded_sheet[0] != name:
            self._loaded_sheet = None  # the previous one goes first: never two sheets in memory
            try:
                self._loaded_sheet = (name, self._workbook.get_sheet_by_name(name))
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except BaseException:  # a shared string out of range, bad XML, a panic in calamine
                raise spreadsheet_damaged(name) from None
        return self._loaded_sheet[1]

    def _sheet_rows(self) -> Iterator[SourceRow]:
        sheet = self._sheet(self.info.sheet)
        if sheet.total_width > MAX_COLUMNS:
            raise ReadError("too_many_columns", _("The sheet has more than %(count)d columns.") % {"count": MAX_COLUMNS})
        first_row = (sheet.start or (0, 0))[0] + 1
        rows = sheet.iter_rows()
        offset = 0
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except BaseException:
                raise spreadsheet_damaged(self.info.sheet) from None
            number = first_row + offset
            offset += 1
            for cell in cells:
                if cell.__class__ is str and "\x00" in cell:
                    raise ReadError("nul_byte", _("Line %(line)d contains a NUL byte.") % {"line": number}, line=number)
            yield SourceRow(number, tuple(cells))

    # -- both --------------------------------------------------------------------------------
    def _raw_rows(self) -> Iterator[SourceRow]:
        return self._text_rows() if self.info.format == "csv" else self._sheet_rows()

    def _locate_header(self, header_row: int | None) -> None:
        head: list[SourceRow] = []
        for row in self._raw_rows():
            head.append(row)
            if len(head) >= HEADER_SEARCH_ROWS:
                break
        candidates = [row for row in head if not is_empty_row(row.cells)]
        if not candidates:
            raise ReadError("empty_file", _("The file has no rows."))
        if header_row is not None:
            chosen = next((row for row in head if row.number == header_row), None)
            if chosen is None:
                raise ReadError("header_not_found", _("Row %(row)d is not among the first rows of the file.") % {"row": header_row})
            self.info.header_detected = False
        else:
            chosen = detect_header(candidates)
        headers = [cell_text(cell).strip() for cell in chosen.cells]
        while headers and not headers[-1]:
            headers.pop()
        if len(headers) > MAX_COLUMNS:
            raise ReadError("too_many_columns", _("The file has more than %(count)d columns.") % {"count": MAX_COLUMNS})
        self.info.header_row = chosen.number
        self.info.headers = headers

    def rows(self) -> Iterator[SourceRow]:
        """Data rows after the header: empty rows skipped, cells padded or cut to the header's width.

        Raises ReadError for limits (rows, columns, cell size) at the row where they are crossed;
        a caller that must write nothing on bad input scans the file once first (`scan()`).
        """
        width = len(self.info.headers)
        count = 0
        for row in self._raw_rows():
            if row.number <= self.info.header_row:
                continue
            cells = row.cells
            if len(cells) > MAX_COLUMNS:
                raise ReadError("too_many_columns", _("Line %(line)d has more than %(count)d columns.") % {"line": row.number, "count": MAX_COLUMNS}, line=row.number)
            if is_empty_row(cells):
                continue
            count += 1
            if count > MAX_ROWS:
                raise ReadError("too_many_rows", _("The file has more than %(count)d rows.") % {"count": MAX_ROWS}, line=row.number)
            try:
                longest = max(map(len, cells), default=0)  # all text (CSV): no per-cell Python loop
            except TypeError:  # numbers, dates, empty cells of a spreadsheet
                longest = MAX_CELL_CHARACTERS + 1
            for cell in cells if longest > MAX_CELL_CHARACTERS else ():
                if isinstance(cell, str) and len(cell) > MAX_CELL_CHARACTERS:
                    raise ReadError("cell_too_long", _("Line %(line)d has a cell longer than %(count)d characters.") % {"line": row.number, "count": MAX_CELL_CHARACTERS}, line=row.number)
            # Pad short rows; cut empty trailing cells, but keep values beyond the last header so
            # that nothing the file holds is dropped (the mapping reports them).
            if len(cells) < width:
                cells = tuple(cells) + (None,) * (width - len(cells))
            elif len(cells) > width and is_empty_row(cells[width:]):
                cells = tuple(cells[:width])
            elif cells.__class__ is tuple:
                yield row  # (immutable: the same row, not a copy)
                continue
            yield SourceRow(row.number, tuple(cells))

    def scan(self) -> int:
        """Read the whole file once, checking every limit; returns the number of data rows."""
        return sum(1 for _row in self.rows())


def split_lines(handle, separator: bytes) -> Iterator[bytes]:
    """The lines of a binary file cut after each `separator` (kept), read in pieces."""
    rest = b""
    while True:
        chunk = handle.read(SAMPLE_BYTES)
        if not chunk:
            break
        pieces = (rest + chunk).split(separator)
        rest = pieces.pop()
        for piece in pieces:
            yield piece + separator
    if rest:
        yield rest


def csv_error(error: csv.Error, line: int) -> ReadError:
    """A csv module error in words the user can act on (never Python's English text)."""
    text = str(error)
    if "field larger than field limit" in text:
        return ReadError("cell_too_long", _("Line %(line)d has a cell longer than %(count)d characters.")
                         % {"line": line, "count": MAX_CELL_CHARACTERS}, line=line)
    if "new-line character" in text:
        return ReadError("bare_cr", _(
            "Line %(line)d has a line break of the old Mac kind (a bare CR) inside a cell. Open the file and save it "
            "again as CSV (with ordinary line ends)."
        ) % {"line": line}, line=line)
    return ReadError("malformed_csv", _("Line %(line)d cannot be read as CSV. Open the file and save it again as CSV.")
                     % {"line": line}, line=line)


# A quoted cell that swallowed this many lines shaped like records (as many delimiters as the
# header) was not closed where it should have been (a stray quote): the rows it folded into one cell
# would be lost silently. A note with a line or two of commas is still read.
FOLDED_RECORD_LINES = 3


def check_quotes_closed(lines: list[str], start_line: int, delimiter: str, header_delimiters: int) -> None:
    """Refuse a record whose quoted cell is never closed (odd number of quotes: it runs to the end of
    the file) or that swallowed FOLDED_RECORD_LINES lines shaped like records of their own."""
    text = "".join(lines)
    looks_like_records = sum(1 for line in lines[1:] if header_delimiters and line.count(delimiter) == header_delimiters)
    if text.count('"') % 2 or looks_like_records >= FOLDED_RECORD_LINES:
        raise ReadError("unclosed_quote", _(
            "Line %(line)d opens a quoted cell that is not closed where the row ends: the next %(count)d lines would "
            "become part of one cell. Check the quote marks (\") on that line."
        ) % {"line": start_line, "count": len(lines) - 1}, line=start_line)


def detect_header(rows: list[SourceRow]) -> SourceRow:
    """The first row that is as wide as the table and all text: titles above the header are skipped."""
    widths = [sum(1 for cell in row.cells if not is_empty_row((cell,))) for row in rows]
    widest = max(widths)
    for row, width in zip(rows, widths, strict=True):
        if width >= max(2, math.ceil(widest * 0.6)) and all(isinstance(cell, str) or cell is None for cell in row.cells):
            return row
    return rows[0]


def check_zip_container(path: Path) -> None:
    """Refuse ZIP bombs, damaged containers, DOCTYPEs and oversized sheets before a spreadsheet
    library unpacks anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(member.file_size for member in members)
            packed = sum(member.compress_size for member in members) or 1
            if len(members) > 10_000 or total > MAX_UNPACKED_BYTES or (total > 50 * 1024 * 1024 and total / packed > MAX_COMPRESSION_RATIO):
                raise ReadError("zip_bomb", _("The spreadsheet unpacks to an unreasonable size; it was not read."))
            names = {member.filename for member in members}
            if "EncryptionInfo" in names or "EncryptedPackage" in names:
                raise ReadError("password_protected", _("The spreadsheet is password-protected. Remove the password in Excel and try again."))
            if len(names) != len(members):
                raise ReadError("not_a_spreadsheet", _("The spreadsheet is damaged (a part appears twice in it)."))
            # The sizes in the ZIP directory can be forged: the members are read through zipfile,
            # which stops at the declared size and checks the CRC, so a member larger than it says
            # is refused as damaged rather than unpacked beyond the limit.
            if "content.xml" in names:
                extent.check_ods(archive, names)
            if "content.xml" not in names or "xl/workbook.xml" in names or "xl/workbook.bin" in names:
                extent.check_xlsx(archive, names)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError):
        raise ReadError("not_a_spreadsheet", _("The file is damaged or not a spreadsheet.")) from None


# Files that passed the checks above, by identity: an import opens its file several times (start,
# prepare, the reading process); each check of a 100,000-row XLSX costs about a second.
CHECKED_FILES: dict[tuple, None] = {}
MAX_CHECKED_FILES = 32


def file_identity(path: Path) -> tuple:
    """The file as it is now: its place, size, modification time (coarse: a few milliseconds) and a
    digest of its head and tail (a ZIP's directory, with every member's size and CRC, is at the end)."""
    status = path.stat()
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        digest.update(handle.read(4096))
        handle.seek(max(0, status.st_size - 65536))
        digest.update(handle.read(65536))
    return (str(path.resolve()), status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, digest.hexdigest())


def remember_checked(identity: tuple) -> None:
    if len(CHECKED_FILES) >= MAX_CHECKED_FILES:
        CHECKED_FILES.pop(next(iter(CHECKED_FILES)))
    CHECKED_FILES[identity] = None


def spreadsheet_damaged(sheet: str | None = None) -> ReadError:
    if sheet is None:
        return ReadError("not_a_spreadsheet", _(
            "The spreadsheet is damaged or not in a format that can be read (XLSX, XLS, ODS). Open it in Excel and save it "
            "again, or save it as CSV."))
    return ReadError("not_a_spreadsheet", _(
        "The sheet “%(sheet)s” is damaged and cannot be read. Open the file in Excel and save it again, or save it as CSV."
    ) % {"sheet": sheet})


NATURAL_SUFFIXES = {"xlsx": (".xlsx", ".xlsm"), "ods": (".ods",), "xls": (".xls",)}


@contextlib.contextmanager
def calamine_path(path: Path, file_format: str):
    """`path`, or a link to it named for its format: calamine chooses its reader by the name's
    suffix (and tries them all for an unknown one), while the checks above followed the content."""
    if path.suffix.lower() in NATURAL_SUFFIXES[file_format]:
        yield path
        return
    directory = Path(tempfile.mkdtemp(prefix="estatecrm-read-"))
    try:
        link = directory / f"sheet{NATURAL_SUFFIXES[file_format][0]}"
        link.symlink_to(path.resolve())
        yield link
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def open_table(path, **options) -> Table:
    """Open `path` as a table; options: encoding, delimiter, sheet, header_row (1-based)."""
    return Table(Path(path), **options)
