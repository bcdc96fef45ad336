"""A vendor's package: a ZIP file or a folder of CSV/XLSX/JSON files, read member by member.

A ZIP is checked before anything is unpacked: member paths that would leave the package (absolute,
`..`, drive letters), too many members, members or a total too large uncompressed, a compression ratio
of a ZIP bomb. Tables are read by `pipeline.readers.open_table` (encodings incl. CP932 and UTF-16,
delimiters, hostile CSV, XLSX through calamine); a ZIP member is unpacked to a private temporary
folder first, in pieces, stopping at the size limit. Every refusal is an
`ApplicationError(PACKAGE_UNREADABLE)` with a translated message naming the member (and the line).
"""

import fnmatch
import json
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError
from estatecrm.pipeline.readers import (
    MAX_COMPRESSION_RATIO,
    MAX_UNPACKED_BYTES,
    ReadError,
    Table,
    cell_text,
    open_table,
)
from estatecrm.vendor.error_codes import PACKAGE_UNREADABLE

MAX_MEMBERS = 1_000
MAX_MEMBER_BYTES = 1024 * 1024 * 1024
MAX_JSON_BYTES = 256 * 1024 * 1024
COPY_CHUNK = 1024 * 1024
# Files that operating systems add to folders and archives: neither data nor unknown files.
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
IGNORED_FOLDERS = {"__MACOSX"}


def unreadable(message: str) -> ApplicationError:
    return ApplicationError(PACKAGE_UNREADABLE, message)


def member_error(member: str, error: ReadError) -> ApplicationError:
    """A reader's refusal, naming the member (and the line when the reader gave one)."""
    if error.line and str(error.line) not in error.message:  # (the readers' messages mostly name their line already)
        return unreadable(_("%(member)s, line %(line)d: %(message)s") % {"member": member, "line": error.line, "message": error.message})
    return unreadable(_("%(member)s: %(message)s") % {"member": member, "message": error.message})


def is_ignored(member: str) -> bool:
    parts = PurePosixPath(member).parts
    return bool(parts) and (parts[-1] in IGNORED_NAMES or parts[0] in IGNORED_FOLDERS or parts[-1].startswith("._"))


def is_safe_member(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    parts = PurePosixPath(name).parts
    return not any(part in ("..", "") for part in parts) and ":" not in parts[0]


class Package:
    """`with Package(path) as package:` members(), find(pattern), table(member), json(member)."""

    def __init__(self, path):
        self.path = Path(path)
        self.zip: zipfile.ZipFile | None = None
        self._folder: Path | None = None  # where ZIP members are unpacked
        self._unpacked: dict[str, Path] = {}

    def __enter__(self) -> "Package":
        if self.path.is_dir():
            return self
        if not self.path.is_file():
            raise unreadable(_("%(name)s: there is no such file or folder.") % {"name": self.path.name})
        try:
            self.zip = zipfile.ZipFile(self.path)
            self._check_zip()
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError):
            self.close()
            raise unreadable(_("%(name)s: not a ZIP file or a folder.") % {"name": self.path.name}) from None
        except ApplicationError:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()
            self.zip = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _check_zip(self) -> None:
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise unreadable(_("%(name)s: the ZIP file has more than %(count)d members.") % {"name": self.path.name, "count": MAX_MEMBERS})
        total = sum(info.file_size for info in infos)
        packed = sum(info.compress_size for info in infos) or 1
        if total > MAX_UNPACKED_BYTES or (total > 50 * 1024 * 1024 and total / packed > MAX_COMPRESSION_RATIO):
            raise unreadable(_("%(name)s: the ZIP file unpacks to an unreasonable size; it was not read.") % {"name": self.path.name})
        names = set()
        for info in infos:
            if not is_safe_member(info.filename):
                raise unreadable(_("%(name)s: the member “%(member)s” has a path outside the package; it was not read.")
                                 % {"name": self.path.name, "member": info.filename})
            if info.file_size > MAX_MEMBER_BYTES:
                raise unreadable(_("%(member)s: the file is too large (more than %(size)d MB).")
                                 % {"member": info.filename, "size": MAX_MEMBER_BYTES // (1024 * 1024)})
            if info.filename in names:
                raise unreadable(_("%(name)s: the member “%(member)s” appears twice.") % {"name": self.path.name, "member": info.filename})
            names.add(info.filename)

    def members(self) -> list[str]:
        """The data files of the package (paths with `/`), sorted; system files left out."""
        if self.zip is not None:
            names = (name for name in self.zip.namelist() if not name.endswith("/"))
        else:
            root = self.path.resolve()
            names = (path.relative_to(self.path).as_posix() for path in self.path.rglob("*")
                     if path.is_file() and path.resolve().is_relative_to(root))
        return sorted(name for name in names if not is_ignored(name))

    def find(self, pattern: str) -> list[str]:
        """The members a profile's `file` names: the same path or the same file name (a package often
        has a top folder), or a glob on either; case-insensitive."""
        lowered = pattern.lower()
        found = []
        for member in self.members():
            name = member.lower()
            if fnmatch.fnmatchcase(name, lowered) or fnmatch.fnmatchcase(name.rsplit("/", 1)[-1], lowered):
                found.append(member)
        return found

    def local_path(self, member: str) -> Path:
        """The member as a file on disk (a ZIP member unpacked once, at most MAX_MEMBER_BYTES)."""
        if self.zip is None:
            path = self.path / member
            if not path.resolve().is_relative_to(self.path.resolve()):
                raise unreadable(_("%(member)s: the file lies outside the package.") % {"member": member})
            return path
        if member in self._unpacked:
            return self._unpacked[member]
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="estatecrm-vendor-"))
        target = self._folder / f"{len(self._unpacked)}{PurePosixPath(member).suffix.lower()}"
        written = 0
        try:
            with self.zip.open(member) as source, target.open("wb") as output:
                while chunk := source.read(COPY_CHUNK):
                    written += len(chunk)
                    if written > MAX_MEMBER_BYTES:
                        raise unreadable(_("%(member)s: the file is too large (more than %(size)d MB).")
                                         % {"member": member, "size": MAX_MEMBER_BYTES // (1024 * 1024)})
                    output.write(chunk)
        except (OSError, zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError):
            raise unreadable(_("%(member)s: the file is damaged in the ZIP file and cannot be read.") % {"member": member}) from None
        self._unpacked[member] = target
        return target

    def table(self, member: str, *, encoding: str | None = None, delimiter: str | None = None) -> Table:
        """The member opened as a table (CSV/TSV/XLSX/XLS/ODS, header row detected)."""
        try:
            return open_table(self.local_path(member), encoding=encoding, delimiter=delimiter)
        except ReadError as error:
            raise member_error(member, error) from None

    def rows(self, member: str, *, encoding: str | None = None, delimiter: str | None = None):
        """The header and the rows (line number, column -> text) of a table member (a helper for small files)."""
        table = self.table(member, encoding=encoding, delimiter=delimiter)
        header = table.info.headers
        try:
            rows = [(row.number, {column: cell_text(cell) for column, cell in zip(header, row.cells, strict=False)})
                    for row in table.rows()]
        except ReadError as error:
            raise member_error(member, error) from None
        return header, rows

    def json(self, member: str):
        path = self.local_path(member)
        if path.stat().st_size > MAX_JSON_BYTES:
            raise unreadable(_("%(member)s: the file is too large (more than %(size)d MB).")
                             % {"member": member, "size": MAX_JSON_BYTES // (1024 * 1024)})
        try:
            return json.loads(path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise unreadable(_("%(member)s: the file is not UTF-8 text.") % {"member": member}) from None
        except json.JSONDecodeError as error:
            raise unreadable(_("%(member)s, line %(line)d: the file is not valid JSON.") % {"member": member, "line": error.lineno}) from None
        except RecursionError:
            raise unreadable(_("%(member)s: the file is not valid JSON.") % {"member": member}) from None
