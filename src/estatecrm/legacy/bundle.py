"""Reading the desktop app's export bundle (FORMAT.md) safely: pure Python, no database.

The bundle is a ZIP whose member names are CP932 without the UTF-8 flag (or UTF-8 with it) and whose
CSV members are CP932. Anything unsafe or unreadable is refused as a whole with a `ReadError` (stable
code, translated message) before anything is written: a file that is not a ZIP or was cut off, member
paths with `..` or absolute paths, a ZIP bomb, no `追客.csv`, a CSV in another encoding, a CSV
without a column the migration needs. Unknown extra columns are kept (they go to the other-information
text) and listed.
"""

import codecs
import csv
import operator
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.utils.translation import gettext as _

from estatecrm.legacy import error_codes
from estatecrm.pipeline.readers import ReadError, encoding_label

INFO_FILE = "エクスポート情報.csv"
UNITS_FILE = "組織.csv"
STAFF_FILE = "社員.csv"
STATUSES_FILE = "追客ステータス.csv"
CUSTOMERS_FILE = "顧客.csv"
CASES_FILE = "追客.csv"
CONDITIONS_FILE = "希望条件.csv"
INTRODUCTIONS_FILE = "紹介物件.csv"
ACTIVITIES_FILE = "活動履歴.csv"
ATTACHMENTS_FILE = "添付ファイル.csv"
ATTACHMENT_FOLDER = "添付/"

# Every column of each file (FORMAT.md); the ones in REQUIRED must be present, the others read as
# empty when absent (older desktop versions).
COLUMNS = {
    INFO_FILE: ("項目", "値"),
    UNITS_FILE: ("組織コード", "組織名", "親組織コード"),
    STAFF_FILE: ("社員コード", "氏名", "メールアドレス", "組織コード", "在籍区分"),
    STATUSES_FILE: ("ステータス名", "区分"),
    CUSTOMERS_FILE: ("顧客番号", "氏名", "氏名カナ", "性別", "生年月日", "郵便番号", "住所1", "住所2", "電話番号", "携帯番号", "FAX",
                     "メールアドレス", "携帯メール", "勤務先", "年収", "家族人数", "現在の住居間取り", "登録日時"),
    CASES_FILE: ("追客番号", "顧客番号", "種別", "追客ステータス", "追客開始日", "ランク", "主担当", "副担当", "タグ", "物件自動紹介メール",
                 "初回反響日", "初回反響媒体", "初回反響物件番号", "初回反響物件名", "追客メモ", "最終更新日時"),
    CONDITIONS_FILE: ("追客番号", "条件項目", "条件値"),
    INTRODUCTIONS_FILE: ("追客番号", "物件番号", "物件名", "賃料・価格", "間取り", "紹介日", "紹介方法", "反応"),
    ACTIVITIES_FILE: ("追客番号", "活動日時", "活動種別", "社員コード", "件名", "内容", "状態"),
    ATTACHMENTS_FILE: ("追客番号", "ファイル名", "格納パス", "登録日時"),
}
REQUIRED = {
    INFO_FILE: ("項目", "値"),
    UNITS_FILE: ("組織コード",),
    STAFF_FILE: ("社員コード", "メールアドレス"),
    STATUSES_FILE: ("ステータス名", "区分"),
    CUSTOMERS_FILE: ("顧客番号", "氏名"),
    CASES_FILE: ("追客番号", "顧客番号", "種別", "追客ステータス", "主担当"),
    CONDITIONS_FILE: ("追客番号", "条件項目", "条件値"),
    INTRODUCTIONS_FILE: ("追客番号", "物件名"),
    ACTIVITIES_FILE: ("追客番号", "活動日時", "活動種別"),
    ATTACHMENTS_FILE: ("追客番号", "格納パス"),
}
DATA_FILES = tuple(name for name in COLUMNS if name != INFO_FILE)
# The id column of the files whose ids FORMAT.md promises unique: a second row with an id is ambiguous (which
# one is the customer?) and refuses the bundle, naming both lines.
ID_COLUMNS = {INFO_FILE: "項目", UNITS_FILE: "組織コード", STAFF_FILE: "社員コード", STATUSES_FILE: "ステータス名", CUSTOMERS_FILE: "顧客番号", CASES_FILE: "追客番号"}
_DRIVE = re.compile(r"^[A-Za-z]:")


def max_unpacked_bytes() -> int:
    return int(getattr(settings, "LEGACY_MAX_UNPACKED_BYTES", 8 * 1024**3))


def max_compression_ratio() -> int:
    return int(getattr(settings, "LEGACY_MAX_COMPRESSION_RATIO", 200))


def max_members() -> int:
    return int(getattr(settings, "LEGACY_MAX_MEMBERS", 200_000))


def max_csv_bytes() -> int:
    """The largest CSV member read (it is held in memory while it is parsed): about ten times the largest
    member of a 100,000-case export."""
    return int(getattr(settings, "LEGACY_MAX_CSV_BYTES", 1024**3))


def max_columns() -> int:
    return int(getattr(settings, "LEGACY_MAX_COLUMNS", 1000))


# Below this many unpacked bytes the ratio of a member or of the whole bundle is not checked: a small CSV of
# repeated values compresses well and is harmless. Above it, the bundle as a whole (its small members
# included: a thousand 200 KiB members of zeros are one bomb) and each member must stay within the ratio.
RATIO_FLOOR_BYTES = 1024 * 1024
READ_CHUNK = 1024 * 1024


@dataclass
class Table:
    """One CSV member: its header as found and its data rows as dicts (every known column present)."""

    name: str
    headers: list[str]
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (1-based line where the record starts, values)
    unknown_columns: list[str] = field(default_factory=list)


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's real name: without the UTF-8 flag the bytes are CP932, which zipfile read as CP437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp932")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def is_unsafe_path(name: str) -> bool:
    normalized = name.replace("\\", "/")
    return normalized.startswith("/") or bool(_DRIVE.match(normalized)) or ".." in normalized.split("/")


class Bundle:
    """An opened, checked bundle. Use as a context manager (it holds the ZIP file open)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
            raise ReadError(error_codes.NOT_A_ZIP, _(
                "The file is not a complete ZIP file: choose the bundle that the desktop app exported, and upload it again "
                "if the upload was interrupted.")) from None
        except OSError as error:
            raise ReadError(error_codes.NOT_A_ZIP, _("The file cannot be read: %(error)s") % {"error": error.strerror or error}) from None
        try:
            self.members = self._check_members()
            if CASES_FILE not in self.members:
                raise ReadError(error_codes.CASES_MISSING, _("The bundle has no 追客.csv: it is not an export of the desktop app's follow-up data."))
            if INFO_FILE not in self.members:
                raise ReadError(error_codes.INFO_MISSING, _(
                    "The bundle has no エクスポート情報.csv: it is not a complete export of the desktop app (the row counts cannot be "
                    "checked). Export the bundle again from the desktop app."))
        except ReadError:
            self.zip.close()
            raise

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.zip.close()

    def _check_members(self) -> dict[str, zipfile.ZipInfo]:
        """The members by name, from the ZIP's directory (nothing is unpacked): refused when a path is unsafe,
        a name occurs twice, there are too many members, or the whole bundle or one member unpacks to too much."""
        members: dict[str, zipfile.ZipInfo] = {}
        infos = self.zip.infolist()
        if len(infos) > max_members():
            raise ReadError(error_codes.ZIP_BOMB, _(
                "The bundle holds %(count)d files, more than an export can hold (at most %(limit)d): it was refused.")
                % {"count": len(infos), "limit": max_members()})
        total = compressed = 0
        ratio_limit = max_compression_ratio()
        for info in infos:
            name = member_name(info)
            if is_unsafe_path(name) or "\x00" in name or stat.S_ISLNK(info.external_attr >> 16):
                raise ReadError(error_codes.UNSAFE_PATH, _(
                    "The bundle contains a file with an unsafe path (“%(name)s”): it was refused and nothing was written.")
                    % {"name": name.replace("\x00", "\\0")})
            total += info.file_size
            compressed += info.compress_size
            if (total > max_unpacked_bytes() or (info.file_size > RATIO_FLOOR_BYTES and info.file_size / max(info.compress_size, 1) > ratio_limit)
                    or (total > RATIO_FLOOR_BYTES and total / max(compressed, 1) > ratio_limit)):
                raise ReadError(error_codes.ZIP_BOMB, _(
                    "The bundle unpacks to far more data than an export can hold (a ZIP bomb?): it was refused."))
            if info.is_dir():
                continue
            key = name.replace("\\", "/")
            if key in COLUMNS and info.file_size > max_csv_bytes():
                raise ReadError(error_codes.ZIP_BOMB, _(
                    "“%(name)s” unpacks to %(size)d MB, more than an export's file can hold (at most %(limit)d MB): it was refused.")
                    % {"name": key, "size": info.file_size // 1024**2, "limit": max_csv_bytes() // 1024**2})
            # Two members of one name: which one is the export? (zipfile would silently read the last.)
            if key in members:
                raise ReadError(error_codes.DUPLICATE_MEMBER, _(
                    "The bundle contains “%(name)s” twice: it is ambiguous which one to migrate. Export the bundle again from the "
                    "desktop app.") % {"name": key})
            members[key] = info
        return members

    def has(self, name: str) -> bool:
        return name in self.members

    def read_bytes(self, name: str) -> bytes:
        """The member's bytes (CSV members: LEGACY_MAX_CSV_BYTES at most), read through `chunks`."""
        return b"".join(self.chunks(name))

    def chunks(self, name: str) -> Iterator[bytes]:
        """The member's bytes in chunks of READ_CHUNK, counted: more than the directory declared (a forged
        size) is refused as soon as it is read, never held; a damaged member (bad CRC, cut off) is refused."""
        info = self.members[name]
        size = 0
        try:
            with self.zip.open(info) as handle:
                while chunk := handle.read(min(READ_CHUNK, info.file_size - size + 1)):
                    size += len(chunk)
                    if size > info.file_size:
                        raise ReadError(error_codes.ZIP_BOMB, _(
                            "The file “%(name)s” in the bundle is larger than it says: the bundle was refused.") % {"name": name})
                    yield chunk
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError, zlib.error):
            raise ReadError(error_codes.NOT_A_ZIP, _("The file “%(name)s” in the bundle is damaged (the ZIP file may be cut off).") % {"name": name}) from None
        if size < info.file_size:
            raise ReadError(error_codes.NOT_A_ZIP, _("The file “%(name)s” in the bundle is damaged (the ZIP file may be cut off).") % {"name": name})

    def member_file(self, name: str) -> "MemberFile":
        """The member as a file to hand to a storage (`default_storage.save`): streamed through `chunks`,
        never held whole in memory."""
        return MemberFile(self, name)

    def member_size(self, name: str) -> int:
        return self.members[name].file_size

    def table(self, name: str) -> Table:
        """The CSV member decoded (CP932 only) and parsed; an absent optional member is an empty table."""
        member = self.member_rows(name)
        table = Table(name=name, headers=member.headers, unknown_columns=member.unknown_columns)
        columns = member.columns
        table.rows = [(line, dict(zip(columns, values, strict=True))) for line, values in member.rows]
        return table

    def member_rows(self, name: str, intern: dict | None = None) -> "MemberRows":
        """The CSV member decoded (CP932 only) with its header checked, its data rows read lazily as
        compact tuples in `columns` order (every known column, then the unknown ones); blank lines are
        left out. `intern`: a dict that shares equal values between rows (memory: codes, dates, statuses
        and condition values repeat a lot)."""
        if name not in self.members:
            return MemberRows(name=name, headers=list(COLUMNS[name]), unknown_columns=[], columns=COLUMNS[name], rows=iter(()))
        reader = csv.reader(text_lines(decode_cp932(self.read_bytes(name), name)))
        try:
            headers = [header.strip().lstrip("\ufeff") for header in next(reader, [])]
        except csv.Error as error:
            raise csv_error(name, reader, error) from None
        # A column without a name is kept under its position (列5), as an unknown column: values in it go to
        # the other information instead of being dropped unseen. Trailing unnamed columns (a trailing comma) too:
        # they are empty in a sound export and then add nothing.
        headers = [header or f"列{index}" for index, header in enumerate(headers, start=1)]
        if len(headers) > max_columns():
            raise ReadError(error_codes.TOO_MANY_COLUMNS, _(
                "“%(name)s” has %(count)d columns, more than an export has (at most %(limit)d): it was refused.")
                % {"name": name, "count": len(headers), "limit": max_columns()})
        missing = [column for column in REQUIRED[name] if column not in headers]
        if missing:
            raise ReadError(error_codes.COLUMN_MISSING, _("“%(name)s” has no column “%(column)s”.") % {"name": name, "column": missing[0]})
        named = [header for header in headers if header]
        if len(set(named)) != len(named):
            twice = next(header for index, header in enumerate(named) if header in named[:index])
            raise ReadError(error_codes.DUPLICATE_COLUMN, _(
                "“%(name)s” has the column “%(column)s” twice: it is ambiguous which one to migrate.") % {"name": name, "column": twice})
        known = COLUMNS[name]
        unknown = [header for header in headers if header and header not in known]
        columns = known + tuple(unknown)
        unique = columns.index(ID_COLUMNS[name]) if name in ID_COLUMNS else None
        return MemberRows(name=name, headers=headers, unknown_columns=unknown, columns=columns,
                          rows=_values(name, reader, headers, columns, intern, unique), reader=reader)

    def check(self) -> None:
        """Read every CSV member once, keeping nothing: raises the ReadError that reading it for a run would
        (the same checks as `member_rows`, in the same order, without building the rows). Then every file
        under 添付/ is unpacked and discarded (its size counted, its CRC checked), so a damaged attachment is
        refused here, not halfway through the run that copies it."""
        for name in (*DATA_FILES, INFO_FILE):
            for _row in self.member_rows(name).rows:
                pass
        self.check_attachments()

    def check_attachments(self) -> None:
        """Unpack every file under 添付/ and discard it (bounded memory), raising the ReadError copying it would."""
        for name in self.members:
            if name.startswith(ATTACHMENT_FOLDER):
                for _chunk in self.chunks(name):
                    pass

    def declared_counts(self) -> dict[str, int]:
        """`件数:<file>` rows of エクスポート情報.csv: the row counts the desktop app wrote."""
        counts = {}
        for _line, row in self.table(INFO_FILE).rows:
            key, value = row["項目"].strip(), row["値"].strip()
            if key.startswith("件数:") and value.isdigit():
                counts[key.removeprefix("件数:")] = int(value)
        return counts


class MemberFile(File):
    """A bundle member as a django File whose `chunks()` stream it out of the ZIP (Bundle.chunks)."""

    def __init__(self, bundle: Bundle, name: str):
        super().__init__(None, name=name.rsplit("/", 1)[-1])
        self.bundle = bundle
        self.member = name

    @property
    def size(self) -> int:
        return self.bundle.member_size(self.member)

    def chunks(self, chunk_size=None) -> Iterator[bytes]:
        return self.bundle.chunks(self.member)

    def multiple_chunks(self, chunk_size=None) -> bool:
        return True


@dataclass
class MemberRows:
    """A CSV member's header and its data rows, read lazily: (1-based line where the record starts, values)."""

    name: str
    headers: list[str]
    unknown_columns: list[str]
    columns: tuple[str, ...]
    rows: Iterator[tuple[int, tuple]]
    reader: object = None  # the csv reader behind `rows` (positioned after the header)


def _values(name: str, reader, headers: list[str], columns: tuple[str, ...], intern: dict | None,
            unique: int | None = None) -> Iterator[tuple[int, tuple]]:
    """The rows as tuples in `columns` order: a column the header lacks reads as empty (the header names
    each column once). `unique`: the position of the file's id column; an id seen before is refused."""
    width = len(headers)
    last = {header: index for index, header in enumerate(headers)}
    seen: dict[str, int] = {}
    pick = operator.itemgetter(*(last.get(column, width) for column in columns))  # index `width`: an appended ""
    padding = [""]
    share = intern.setdefault if intern is not None else None
    try:
        line = reader.line_num + 1
        for cells in reader:
            if (cells and cells[0].strip()) or any(cell.strip() for cell in cells):
                count = len(cells)
                if count != width:
                    cells = cells[:width] if count > width else cells + [""] * (width - count)
                cells += padding
                values = pick(cells)
                if unique is not None:
                    key = values[unique].replace("\x00", "").strip()
                    if key:
                        first = seen.setdefault(key, line)
                        if first != line:
                            raise ReadError(error_codes.DUPLICATE_ID, _(
                                "“%(name)s” has “%(id)s” twice (lines %(first)d and %(line)d): ids must be unique, so it is "
                                "ambiguous which row to migrate.") % {"name": name, "id": key, "first": first, "line": line})
                if share is not None:
                    values = tuple(map(share, values, values))
                yield line, values
            line = reader.line_num + 1
    except csv.Error as error:
        raise csv_error(name, reader, error) from None


def csv_error(name: str, reader, error: csv.Error) -> ReadError:
    """The ReadError of a CSV member that cannot be parsed, with its line; a value over the csv module's
    field limit (131,072 characters) is named as such."""
    if "field larger than field limit" in str(error):
        return ReadError(error_codes.BAD_CSV, _(
            "“%(name)s” has a value longer than %(limit)d characters at line %(line)d: it was refused.")
            % {"name": name, "limit": csv.field_size_limit(), "line": reader.line_num})
    if "new-line character" in str(error):
        return ReadError(error_codes.BAD_CSV, _(
            "“%(name)s” has a line break of the old Mac kind (a bare CR) inside a value at line %(line)d: it was refused.")
            % {"name": name, "line": reader.line_num})
    # Never Python's own English text: say where, and what to do.
    return ReadError(error_codes.BAD_CSV, _(
        "“%(name)s” is not a valid CSV file (line %(line)d). Export the bundle again from the desktop app.")
        % {"name": name, "line": reader.line_num})


# A line with its ending (\r\n, \r or \n), or the last line without one.
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def text_lines(text: str) -> Iterator[str]:
    """The lines of `text` with their endings, as `io.StringIO(text, newline="")` reads them (what the csv module
    expects), without StringIO's copy of the whole text at four bytes a character: the 活動履歴.csv of a
    100,000-case bundle (37 MB) cost the reading process 150 MB more at its peak."""
    return (match.group() for match in LINE.finditer(text))


def decode_cp932(data: bytes, name: str) -> str:
    """The member's text; anything but CP932 (UTF-8 with or without BOM, UTF-16...) is refused and named."""
    if data.startswith(codecs.BOM_UTF8):
        raise wrong_encoding(name, "utf-8-sig")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise wrong_encoding(name, "utf-16")
    if not data.isascii():
        # Japanese CP932 text is practically never valid UTF-8; Japanese UTF-8 text often decodes as
        # (garbled) CP932, so UTF-8 is ruled out first.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise wrong_encoding(name, "utf-8")
    try:
        return data.decode("cp932")
    except UnicodeDecodeError as error:
        from estatecrm.pipeline.readers import detect_encoding

        try:
            guess = detect_encoding(data[:256 * 1024])
        except ReadError:
            guess = ""
        if guess and guess.lower().replace("_", "") not in {"cp932", "shiftjis", "windows31j"}:
            raise wrong_encoding(name, guess) from None
        line = data[: error.start].count(b"\n") + 1
        raise ReadError(error_codes.WRONG_ENCODING, _(
            "“%(name)s” is not valid Shift_JIS (CP932) text at line %(line)d: the file may be damaged.") % {"name": name, "line": line}) from None


def wrong_encoding(name: str, encoding: str) -> ReadError:
    return ReadError(error_codes.WRONG_ENCODING, _(
        "“%(name)s” is written in %(encoding)s, but the desktop app's export is Shift_JIS (CP932): "
        "export the bundle again from the desktop app without converting it.") % {"name": name, "encoding": encoding_label(encoding)})
