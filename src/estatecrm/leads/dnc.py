"""Do-not-call (禁止リード): which customers an actor must not call, and the import job for the list."""

from collections import Counter
from pathlib import Path

from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from estatecrm.crm.choices import ActivityKind, ContactPointKind
from estatecrm.crm.guards import register_activity_guard, register_customer_badges
from estatecrm.crm.models import ContactPoint, Customer
from estatecrm.leads.models import DoNotCallEntry, DoNotCallScope
from estatecrm.normalize import clean_text, company_name_key, normalize_name, normalize_phone
from estatecrm.pipeline.choices import LedgerOutcome
from estatecrm.pipeline.engine import Batch, Job, register_job
from estatecrm.pipeline.mapping import FieldSpec, check_mapping, column_indexes
from estatecrm.pipeline.models import LedgerEntry, RowIssue
from estatecrm.pipeline.readers import ReadError, cell_text, open_table
from estatecrm.tenancy.models import WorkgroupMember

DNC_RUN_KIND = "dnc_import"
DNC_SOURCE_SYSTEM = "dnc-import"
DNC_FIELDS = [
    FieldSpec("lead_name", "リード名", ("会社名", "世帯名", "法人名", "顧客名", "名前", "氏名", "company", "name")),
    FieldSpec("phone", "電話番号", ("電話", "TEL", "携帯", "phone")),
    FieldSpec("note", "備考", ("メモ", "理由", "note", "reason")),
]
# Where each field's value is stored (DoNotCallEntry columns: first the value as typed, then what is derived
# from it, as stored): a longer value fails its row.
DNC_FIELD_COLUMNS = {"lead_name": ("name", "name_key"), "phone": ("phone_raw", "phone"), "note": ("note",)}


def dnc_field_max_lengths() -> dict[str, int]:
    """Field key -> the longest value it takes (its column as typed)."""
    fields = DoNotCallEntry._meta
    return {key: fields.get_field(columns[0]).max_length for key, columns in DNC_FIELD_COLUMNS.items()}


def too_long_field(values: dict[str, tuple[str, ...]]) -> str | None:
    """The first field (DNC_FIELD_COLUMNS order) with a stored value longer than its column, or None."""
    fields = DoNotCallEntry._meta
    for key, columns in DNC_FIELD_COLUMNS.items():
        for column, value in zip(columns, values[key], strict=True):
            if len(value) > fields.get_field(column).max_length:
                return key
    return None


def entries_for(actor):
    """Entries that apply to the actor: company-wide ones and those of the actor's workgroups."""
    my_groups = WorkgroupMember.objects.for_company(actor.company_id).filter(user_id=actor.user.pk).values("workgroup_id")
    scoped = DoNotCallScope.objects.for_company(actor.company_id).filter(entry_id=OuterRef("pk"))
    return DoNotCallEntry.objects.for_company(actor.company_id).filter(
        ~Exists(scoped) | Exists(scoped.filter(workgroup_id__in=my_groups))
    )


def do_not_call_customer_ids(actor, customer_ids) -> set[int]:
    """Of `customer_ids`, the customers the actor must not call (by lead name or any phone).

    The entries stay in the database (subqueries): a list of 100,000 numbers costs the same.
    """
    customer_ids = list(customer_ids)
    # Most companies keep no list: one plain lookup spares them building the two queries below (every
    # case list page asks).
    if not customer_ids or not DoNotCallEntry.objects.for_company(actor.company_id).exists():
        return set()
    entries = entries_for(actor)
    matched = set(
        Customer.objects.for_company(actor.company_id)
        .filter(pk__in=customer_ids, name_key__in=entries.exclude(name_key="").values("name_key")).values_list("pk", flat=True)
    )
    matched |= set(
        ContactPoint.objects.for_company(actor.company_id)
        .filter(customer_id__in=customer_ids, normalized__in=entries.exclude(phone="").values("phone"))
        .exclude(kind=ContactPointKind.EMAIL).values_list("customer_id", flat=True)
    )
    return matched


@register_customer_badges
def do_not_call_badges(actor, customer_ids) -> dict[int, list[str]]:
    """The 禁止 badge on leads the actor must not call."""
    return {customer_id: [_("Do not call")] for customer_id in do_not_call_customer_ids(actor, customer_ids)}


@register_activity_guard
def refuse_calls_to_do_not_call_leads(actor, case, kind: str) -> str | None:
    if kind != ActivityKind.CALL:
        return None
    if case.customer_id in do_not_call_customer_ids(actor, [case.customer_id]):
        return _("This lead is on the do-not-call list (禁止リード) for you: the call cannot be logged.")
    return None


def entry_keys(name: str, phone_raw: str, region: str = "JP") -> tuple[str, str, str | None]:
    """(name key, E.164 phone, reason code of a problem or None)."""
    name = normalize_name(name)
    phone = ""
    if phone_raw:
        result = normalize_phone(phone_raw, region)
        if not result.is_valid:
            return company_name_key(name) if name else "", "", "phone_invalid"
        phone = result.value
    if not name and not phone:
        return "", "", "name_and_phone_missing"
    return company_name_key(name) if name else "", phone, None


@register_job
class DoNotCallImportJob(Job):
    """Rows with a lead name and/or a phone become entries scoped to the run's workgroups."""

    kind = DNC_RUN_KIND
    label = gettext_lazy("Do-not-call list import")
    permission_rule = "do_not_call"

    def table(self):
        params = self.run.params
        return open_table(Path(default_storage.path(self.run.source_file.name)), encoding=params.get("encoding") or None,
                          sheet=params.get("sheet") or None, header_row=params.get("header_row") or None)

    def prepare(self) -> int:
        table = self.table()
        mapping = self.run.params["mapping"]
        problems = check_mapping(mapping, table.info.headers, DNC_FIELDS)
        if problems or not (mapping.get("lead_name") or mapping.get("phone")):
            raise ReadError("mapping_invalid", _("Map a column to the lead name, the phone number, or both."))
        self.run.detected = {"encoding": table.info.encoding, "headers": table.info.headers, "header_row": table.info.header_row,
                             "sheet": table.info.sheet, "format": table.info.format}
        return table.scan()

    def batches(self, after_row: int):
        table = self.table()
        self.columns = column_indexes(self.run.params["mapping"], table.info.headers)
        rows = []
        for row in table.rows():
            if row.number <= after_row:
                continue
            rows.append(row)
            if len(rows) >= 1000:
                yield Batch(rows=rows, last_row=rows[-1].number, source_rows=len(rows))
                rows = []
        if rows:
            yield Batch(rows=rows, last_row=rows[-1].number, source_rows=len(rows))

    def write(self, batch: Batch) -> Counter:
        table_columns = self.columns
        counts: Counter = Counter(rows=len(batch.rows))
        entries, issues, ledger = [], [], []

        def cell(row, key):
            index = table_columns.get(key)
            return clean_text(cell_text(row.cells[index])) if index is not None and index < len(row.cells) else ""

        for row in batch.rows:
            name, phone_raw, note = cell(row, "lead_name"), cell(row, "phone"), cell(row, "note")
            name_key, phone, problem = entry_keys(name, phone_raw, self.run.params.get("region", "JP"))
            source_key = f"{self.run.pk}:{row.number}"
            field = "phone" if problem == "phone_invalid" else "lead_name"
            long_field = too_long_field({"lead_name": (normalize_name(name), name_key), "phone": (phone_raw, phone), "note": (note,)})
            if long_field is not None:
                problem, field = "too_long", long_field
            if problem:
                counts["failed"] += 1
                counts[f"failed_by_reason:{problem}"] += 1
                issues.append(RowIssue(company_id=self.run.company_id, run=self.run, row_number=row.number, code=problem, field=field,
                                       params={"max_length": dnc_field_max_lengths()[field]} if problem == "too_long" else {},
                                       cells=[cell_text(value) for value in row.cells]))
                ledger.append(LedgerEntry(company_id=self.run.company_id, run=self.run, source_system=DNC_SOURCE_SYSTEM,
                                          source_key=source_key, row_number=row.number, outcome=LedgerOutcome.FAILED))
                continue
            entries.append(DoNotCallEntry(company_id=self.run.company_id, name=normalize_name(name), name_key=name_key,
                                          phone_raw=phone_raw, phone=phone, note=note,
                                          created_by_id=self.run.created_by_id, run=self.run))
            ledger.append(LedgerEntry(company_id=self.run.company_id, run=self.run, source_system=DNC_SOURCE_SYSTEM,
                                      source_key=source_key, row_number=row.number, outcome=LedgerOutcome.CREATED,
                                      target_type="leads.donotcallentry"))
        DoNotCallEntry.objects.bulk_create(entries, batch_size=1000)
        created = iter(entries)
        for entry in ledger:
            if entry.outcome == LedgerOutcome.CREATED:
                entry.target_id = next(created).pk
        workgroup_ids = self.run.params.get("workgroup_ids") or []
        DoNotCallScope.objects.bulk_create(
            [DoNotCallScope(company_id=self.run.company_id, entry=entry, workgroup_id=group) for entry in entries for group in workgroup_ids],
            batch_size=1000,
        )
        LedgerEntry.objects.bulk_create(ledger, batch_size=1000)
        RowIssue.objects.bulk_create(issues, batch_size=1000)
        counts["entries_created"] += len(entries)
        return counts


