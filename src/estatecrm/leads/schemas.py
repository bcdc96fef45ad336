from datetime import datetime

from ninja import Schema


class ImportSummary(Schema):
    import_id: int
    status: str
    rows: int
    leads_created: int
    contacts_created: int
    updated: int
    skipped_duplicates: int
    failed: int
    failed_by_reason: dict[str, int]
    duplicates_by_rule: dict[str, int]
    duplicate_matches: dict[str, int] = {}  # strong (same phone or e-mail) / weak (same name, another phone and e-mail)


class RevertOut(Schema):
    """The latest revert of an import, running in the background (poll GET /lead-imports/{id})."""

    revert_id: int
    status: str
    rows_total: int | None
    rows_done: int
    leads_trashed: int
    leads_restored: int
    error: str


class ImportOut(ImportSummary):
    file: str
    project_id: int | None
    case_kind: str = ""  # rent / buy: what its new leads are (empty: an import from before the kinds were chosen)
    customer_kind: str = ""  # person / household / company
    created_by: str | None
    created_at: datetime
    rows_total: int | None
    rows_done: int
    error: str
    revert: RevertOut | None = None


class DetectOut(Schema):
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    header_row: int
    headers: list[str]
    suggested_mapping: dict[str, str]
    mapping_problems: dict[str, str]


class DryRunOut(Schema):
    status: str
    rows: int
    leads_created: int
    contacts_created: int
    updated: int
    skipped_duplicates: int
    failed: int
    failed_by_reason: dict[str, int]
    duplicates_by_rule: dict[str, int]
    duplicate_matches: dict[str, int] = {}  # strong (same phone or e-mail) / weak (same name, another phone and e-mail)


class RevertIn(Schema):
    force: bool = False


class DoNotCallOut(Schema):
    id: int
    lead_name: str
    phone: str
    phone_raw: str
    note: str
    workgroups: list[str]
