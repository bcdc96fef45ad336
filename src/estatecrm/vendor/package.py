"""A vendor's package: a ZIP file or a folder of CSV/XLSX/JSON files, read member by member.

FOUNDATION VERSION (helper "profiles" replaces it): UTF-8 CSV and JSON only.
"""

import csv
import io
import json
import zipfile
from pathlib import Path

from estatecrm.pipeline.readers import ReadError


class Package:
    def __init__(self, path):
        self.path = Path(path)
        self.zip: zipfile.ZipFile | None = None

    def __enter__(self) -> "Package":
        if self.path.is_dir():
            return self
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile):
            raise ReadError("package_unreadable", f"{self.path.name}: not a ZIP file or a folder") from None
        return self

    def __exit__(self, *exc_info) -> None:
        if self.zip is not None:
            self.zip.close()

    def members(self) -> list[str]:
        if self.zip is not None:
            return sorted(name for name in self.zip.namelist() if not name.endswith("/"))
        return sorted(str(path.relative_to(self.path)) for path in self.path.rglob("*") if path.is_file())

    def read_bytes(self, member: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(member)
        return (self.path / member).read_bytes()

    def rows(self, member: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
        """The header and the rows (line number, column -> text) of a CSV member."""
        text = self.read_bytes(member).decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, [])
        rows = []
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            rows.append((reader.line_num, dict(zip(header, values, strict=False))))
        return header, rows

    def json(self, member: str):
        return json.loads(self.read_bytes(member).decode("utf-8-sig"))
