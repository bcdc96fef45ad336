"""Bundles made by the tests (FORMAT.md): CP932 CSV members from rows, written to tmp_path, never committed.

`case_bundle` gives a migratable bundle for the sample tenant (tenant.yaml): staff S001 is
staff001@example-fudosan.jp (unit 渋谷店, under HQ), status 反響対応中 is in 追客中.
"""

import csv
import io
import warnings
import zipfile
from pathlib import Path

from estatecrm.legacy import bundle as files

INFO_ROWS = [{"項目": "出力日時", "値": "2026/11/01 10:00:00"}, {"項目": "会社コード", "値": "K0001"}, {"項目": "バージョン", "値": "5"}]


def csv_bytes(columns, rows, encoding: str = "cp932") -> bytes:
    """A CSV member: header `columns`, then `rows` (dicts; absent columns empty), CRLF, RFC 4180 quoting."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return text.getvalue().encode(encoding)


def write_zip(path: Path, members, *, compression=zipfile.ZIP_DEFLATED) -> Path:
    """`members`: (name, bytes) pairs or a dict; pairs may repeat a name (zipfile warns, writes both)."""
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(path, "w", compression) as archive, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # a duplicate is what some tests make
        for name, data in items:
            archive.writestr(name, data)
    return path


def case_row(number: int, **values) -> dict:
    return {"追客番号": f"T{number}", "顧客番号": f"C{number}", "種別": "賃貸", "追客ステータス": "反響対応中", "追客開始日": "2026/10/01",
            "主担当": "S001", "物件自動紹介メール": "配信しない", **values}


def customer_row(number: int, **values) -> dict:
    return {"顧客番号": f"C{number}", "氏名": f"顧客 {number}", "電話番号": "090-1234-5678", **values}


def case_members(cases, customers, *, conditions=(), introductions=(), activities=(), attachments=(), extra=()) -> list[tuple[str, bytes]]:
    """Every member of a bundle with these rows (per-case files as given), エクスポート情報.csv included."""
    members = [
        (files.INFO_FILE, csv_bytes(files.COLUMNS[files.INFO_FILE], INFO_ROWS)),
        (files.UNITS_FILE, csv_bytes(files.COLUMNS[files.UNITS_FILE], [{"組織コード": "SBY", "組織名": "渋谷店"}])),
        (files.STAFF_FILE, csv_bytes(files.COLUMNS[files.STAFF_FILE], [
            {"社員コード": "S001", "氏名": "高橋 裕美子", "メールアドレス": "staff001@example-fudosan.jp", "組織コード": "SBY", "在籍区分": "在籍"}])),
        (files.STATUSES_FILE, csv_bytes(files.COLUMNS[files.STATUSES_FILE], [{"ステータス名": "反響対応中", "区分": "追客中"}])),
        (files.CUSTOMERS_FILE, csv_bytes(files.COLUMNS[files.CUSTOMERS_FILE], customers)),
        (files.CASES_FILE, csv_bytes(files.COLUMNS[files.CASES_FILE], cases)),
        (files.CONDITIONS_FILE, csv_bytes(files.COLUMNS[files.CONDITIONS_FILE], conditions)),
        (files.INTRODUCTIONS_FILE, csv_bytes(files.COLUMNS[files.INTRODUCTIONS_FILE], introductions)),
        (files.ACTIVITIES_FILE, csv_bytes(files.COLUMNS[files.ACTIVITIES_FILE], activities)),
        (files.ATTACHMENTS_FILE, csv_bytes(files.COLUMNS[files.ATTACHMENTS_FILE], attachments)),
    ]
    return members + list(extra)


def case_bundle(path: Path, cases=None, customers=None, **options) -> Path:
    """A migratable bundle (one case T1 of customer C1 unless given)."""
    return write_zip(path, case_members(cases or [case_row(1)], customers or [customer_row(1)], **options))
