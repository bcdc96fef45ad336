"""The legacy desktop migration as a pipeline job: bundle -> converter -> batches written with the ledger.

Each batch is one transaction (the engine's): the cases it migrates with their customers, contacts,
tags, assignees, desired conditions, activities, introductions and attachments, their ledger entries
(the unique (company, source system, 追客番号) makes a second migration of a case impossible) and one
`CaseOutcome` per source case. The processing order is fixed by the bundle and the run's parameters
(full: file order; quick: newest first), so a run resumed after a crash continues after its checkpoint.
"""

import gc
import json
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from estatecrm.audit.actions import record_event
from estatecrm.crm.bulk_columns import CASE_COLUMNS, CONTACT_COLUMNS, CUSTOMER_COLUMNS, POINT_COLUMNS
from estatecrm.crm.case_numbers import allocate_case_numbers
from estatecrm.crm.choices import CONTACT_KINDS, KIND_DIRECTIONS, ActivityKind, CaseOrigin, CustomerKind
from estatecrm.crm.duplicates import refresh_customers as refresh_duplicates
from estatecrm.crm.link_numbers import allocate_link_numbers
from estatecrm.crm.models import (
    Activity,
    Attachment,
    Case,
    CaseAssignee,
    CaseTag,
    Contact,
    ContactPoint,
    Customer,
    DesiredConditions,
    Introduction,
    Rank,
    SubStatus,
    Tag,
)
from estatecrm.legacy import bundle as files
from estatecrm.legacy.choices import (
    CUSTOMER_SOURCE_SYSTEM,
    QUICK_CAP,
    RUN_KIND,
    SOURCE_SYSTEM,
    Mode,
    Outcome,
    SkipReason,
)
from estatecrm.legacy.converter import (
    TOO_LONG,
    CaseRecord,
    Converter,
    CustomerRecord,
    Source,
    Target,
    _,  # gettext, cached while converting
    load_source,
    translated_texts,
)
from estatecrm.legacy.models import CaseOutcome
from estatecrm.normalize import name_key, reading_key
from estatecrm.pipeline.bulk import allocate_ids, column_adapters, insert_rows
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus
from estatecrm.pipeline.engine import Batch, Job, register_job
from estatecrm.pipeline.models import LedgerEntry
from estatecrm.pipeline.parallel import produce_in_child
from estatecrm.tenancy.models import Membership, OrgUnit, User

logger = logging.getLogger(__name__)

BATCH_CASES = 2000
CREATED = LedgerOutcome.CREATED.value  # plain str values bind faster (see converter.KIND)
EMPTY_DICT: dict = {}
DIRECTIONS = {kind.value: direction.value for kind, direction in KIND_DIRECTIONS.items()}  # plain str (see CREATED)
DESIRED_COLUMNS = (
    "company_id", "case_id", "rent_min", "rent_max", "includes_management_fee", "price_min", "price_max", "layouts", "area_min",
    "area_max", "land_area_min", "walk_minutes", "building_age", "lines_stations", "areas", "move_in", "features", "management_comment",
    "currency",  # crm 0024 (a vendor's exact budget): NOT NULL, "" here (the 万円 fields hold the budget)
)
TAG_COLUMNS = ("company_id", "case_id", "tag_id", "position")
ASSIGNEE_COLUMNS = ("company_id", "case_id", "user_id", "position")
ACTIVITY_COLUMNS = ("company_id", "case_id", "kind", "occurred_at", "actor_id", "subject", "body", "is_done", "org_unit_id",
                    "is_migrated", "direction", "created_at", "updated_at")
INTRODUCTION_COLUMNS = ("company_id", "case_id", "listing_id", "listing_ref", "listing_name", "rent_or_price", "layout", "introduced_on",
                        "method", "reaction", "is_migrated", "created_at", "updated_at")
ATTACHMENT_COLUMNS = ("company_id", "case_id", "file", "original_name", "size", "content_type", "uploaded_by_id", "uploaded_at", "is_migrated")
LEDGER_COLUMNS = ("company_id", "run_id", "source_system", "source_key", "row_number", "outcome", "target_type", "target_id", "before", "created_at")
OUTCOME_COLUMNS = ("company_id", "run_id", "row_number", "source_id", "customer_source_id", "outcome", "reason", "case_id", "customer_id",
                   "needs_review")
PER_CASE_FILES = (files.CONDITIONS_FILE, files.INTRODUCTIONS_FILE, files.ACTIVITIES_FILE, files.ATTACHMENTS_FILE)
OUTCOME_ID_LENGTH = min(CaseOutcome._meta.get_field(name).max_length for name in ("source_id", "customer_source_id"))


def shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def bundle_path(run) -> Path:
    return Path(default_storage.path(run.source_file.name))


def load_target(company_id: int, params: dict) -> Target:
    """The receiving company as the converter needs it (a handful of queries)."""
    users = list(User.objects.filter(company_id=company_id, is_active=True).values_list("pk", "email", "name"))
    primary_units: dict[int, int] = {}
    member_units: dict[int, set[int]] = {}
    for user_id, unit_id, is_primary in Membership.objects.for_company(company_id).values_list("user_id", "org_unit_id", "is_primary"):
        member_units.setdefault(user_id, set()).add(unit_id)
        if is_primary:
            primary_units[user_id] = unit_id
    units = list(OrgUnit.objects.for_company(company_id).values_list("pk", "path", "name"))
    since = params.get("since")
    return Target(
        users_by_email={email.lower(): pk for pk, email, _name in users},
        user_names={pk: name or email for pk, email, name in users},
        primary_units=primary_units,
        member_units=member_units,
        unit_paths={pk: path for pk, path, _name in units},
        unit_names={pk: name for pk, _path, name in units},
        root_unit_id=params["org_unit_id"],
        ranks=dict(Rank.objects.for_company(company_id).values_list("name", "pk")),
        sub_statuses={(status, name): pk for pk, status, name in SubStatus.objects.for_company(company_id).values_list("pk", "status", "name")},
        tags=dict(Tag.objects.for_company(company_id).values_list("name", "pk")),
        staff_map=params.get("staff_map") or {},
        fallback_user_id=params.get("fallback_user_id"),
        region=params.get("region") or "JP",
        since=date.fromisoformat(since) if since else None,
    )


def processing_order(source: Source, mode: str) -> Sequence[tuple[int, dict]]:
    """Full: file order. Quick: newest start date first (undated last), file order among equals."""
    if mode != Mode.QUICK:
        return source.cases
    from estatecrm.normalize import parse_date

    def started(item):
        value = item[1]["追客開始日"].strip()
        parsed = parse_date(value) if value else None
        return parsed.value.toordinal() if parsed is not None and parsed.is_valid else 0

    return sorted(source.cases, key=lambda item: (-started(item), item[0]))


# ---------------------------------------------------------------------------------------------
# Converting (in the reading process: no database)
#
# A converted batch is `(items, customers)`. `items`: per source case, in processing order,
# `(line, 追客番号, 顧客番号, fail_reason, skip_reason, plan)`; `plan` is None unless the case can be
# migrated, else `(case, desired, tag_ids, sub_assignee_ids, activities, memo, introductions, attachments,
# needs_review, rows_used)` with every value already adapted for the database and without the ids and
# timestamps that only the writing transaction knows (the `*_TAIL` slices of the columns below).
# `customers`: 顧客番号 -> `(customer, contact, points)` for the customers this batch's cases use for
# the first time in this process.

CASE_TAIL = slice(4, -3)  # after id, company_id, customer_id, number; before created_at, updated_at, deleted_at
DESIRED_TAIL = slice(2, None)  # after company_id, case_id
ACTIVITY_TAIL = slice(2, -2)  # after company_id, case_id; before created_at, updated_at
INTRODUCTION_TAIL = slice(2, -2)
CUSTOMER_TAIL = slice(2, -3)  # after id, company_id; before created_at, updated_at, deleted_at
CUSTOMER_LINK_AT = CUSTOMER_COLUMNS.index("line_link_number") - CUSTOMER_TAIL.start  # filled when written (crm.link_numbers)
CONTACT_TAIL = slice(3, -2)  # after id, company_id, customer_id; before created_at, updated_at
POINT_TAIL = slice(3, None)  # after company_id, contact_id, customer_id


def fast_adapter(model, column: str, adapter):
    """The same conversion as `adapter` for the two hot kinds of column, without its per-call overhead:
    JSON (one encoder) and, on SQLite, aware datetimes (naive text in the connection's time zone)."""
    from django.conf import settings
    from django.db import connection
    from django.db.models import DateTimeField, JSONField

    field = model._meta.get_field(column)
    if isinstance(field, JSONField):
        encode = json.JSONEncoder(ensure_ascii=False).encode
        return lambda value: None if value is None else encode(value)
    if isinstance(field, DateTimeField) and connection.vendor == "sqlite" and settings.USE_TZ:
        zone = connection.timezone

        def adapt(value):
            if value is None or value.utcoffset() is None:
                return adapter(value)
            return str(value.astimezone(zone).replace(tzinfo=None))

        return adapt
    return adapter


class RowAdapter:
    """Adapts the values of one table's rows for the database (the `column_adapters` of a column slice)."""

    def __init__(self, model, columns: tuple[str, ...], tail: slice):
        adapters = column_adapters(model, columns[tail])
        self.adapters = [(index, fast_adapter(model, column, adapter))
                         for index, (column, adapter) in enumerate(zip(columns[tail], adapters, strict=True)) if adapter is not None]

    def __call__(self, values: list) -> tuple:
        for index, adapter in self.adapters:
            values[index] = adapter(values[index])
        return tuple(values)


class Converted:
    """Turns the converter's records into database-ready row tails (see above)."""

    def __init__(self):
        self.case = RowAdapter(Case, CASE_COLUMNS, CASE_TAIL)
        self.desired = RowAdapter(DesiredConditions, DESIRED_COLUMNS, DESIRED_TAIL)
        self.activity = RowAdapter(Activity, ACTIVITY_COLUMNS, ACTIVITY_TAIL)
        self.introduction = RowAdapter(Introduction, INTRODUCTION_COLUMNS, INTRODUCTION_TAIL)
        self.customer_row = RowAdapter(Customer, CUSTOMER_COLUMNS, CUSTOMER_TAIL)
        self.empty_dict = json.dumps(EMPTY_DICT)
        self.activity_at = column_adapters(Activity, ("occurred_at",))[0]

    def plan(self, record: CaseRecord) -> tuple:
        desired = record.desired
        # The case's last contact comes with its row: no update of the batch's cases afterwards.
        last_contact = max((item.occurred_at for item in record.activities if item.is_done and item.kind in CONTACT_KINDS), default=None)
        case = self.case([
            record.kind, record.status, record.sub_status_id, record.rank_id, record.owning_org_id, record.main_assignee_id, None,
            CaseOrigin.LEGACY_MIGRATION.value, SOURCE_SYSTEM, record.source_id, record.started_on, record.first_inquiry_date,
            record.first_inquiry_source, record.first_inquiry_listing_ref, record.first_inquiry_listing_name, False, record.other_info,
            record.needs_review, record.review_messages, EMPTY_DICT, None, "", last_contact,
        ])
        desired_row = self.desired([
            desired.get("rent_min"), desired.get("rent_max"), desired.get("includes_management_fee"), desired.get("price_min"),
            desired.get("price_max"), desired["layouts"], desired.get("area_min"), desired.get("area_max"), desired.get("land_area_min"),
            desired.get("walk_minutes"), desired.get("building_age"), desired["lines_stations"], desired["areas"], desired.get("move_in", ""),
            desired["features"], desired.get("management_comment", ""), "",
        ])
        unit = record.owning_org_id
        activity = self.activity
        appointment = ActivityKind.VISIT_APPOINTMENT.value
        activities = [activity([item.kind, item.occurred_at, item.actor_id, item.subject, item.body, item.is_done,
                                unit if item.kind == appointment else None, True, DIRECTIONS.get(item.kind, "")])
                      for item in record.activities]
        memo = None
        if record.memo:
            # occurred_at None: the time of writing (the memo's own time is unknown)
            memo = (ActivityKind.NOTE.value, self.activity_at(record.memo_at) if record.memo_at else None, None, _("Follow-up memo (desktop app)"),
                    record.memo, True, None, True, "")
        introductions = [self.introduction([None, item.listing_ref, item.listing_name, item.rent_or_price, item.layout, item.introduced_on,
                                            item.method, item.reaction, True]) for item in record.introductions]
        return (case, desired_row, record.tag_ids, record.sub_assignee_ids, activities, memo, introductions, record.attachments,
                record.needs_review, record.rows_used)

    def customer(self, customer: CustomerRecord) -> tuple:
        row = self.customer_row([
            CustomerKind.PERSON.value, customer.name, name_key(customer.name), customer.kana, reading_key(customer.kana) if customer.kana else "",
            customer.gender, customer.birth_date, customer.postal_code, customer.prefecture, customer.city, customer.street, customer.building,
            customer.employer, customer.annual_income, customer.household_size, "", "", "", False, EMPTY_DICT,
        ])
        points = [(point.kind, point.raw, point.normalized, point.invalid_reason, position) for position, point in enumerate(customer.points)]
        return row, (customer.name, customer.kana, 0), points


def converted_batches(converter: Converter, order: Sequence[tuple[int, dict]], after_row: int, language: str,
                      batch_cases: int = BATCH_CASES):
    """The converted batches of the cases after `after_row` (runs in the reading process: no database)."""
    converted = Converted()
    emitted: set[str] = set()
    for start in range(after_row, len(order), batch_cases):
        chunk = order[start:start + batch_cases]
        items = []
        customers = {}
        # Not across the yield: between batches the language is the caller's again.
        with translated_texts(language):
            for line, row in chunk:
                record = converter.convert(line, row)
                source_id, customer_source_id = row["追客番号"].strip(), row["顧客番号"].strip()
                if record.fail_reason.startswith(TOO_LONG):
                    # The outcome row names the case by its ids; an id too long for them is shown shortened
                    # (the reason says which value was too long, the line number finds the row).
                    source_id, customer_source_id = shortened(source_id, OUTCOME_ID_LENGTH), shortened(customer_source_id, OUTCOME_ID_LENGTH)
                if not record.is_migratable:
                    items.append((line, source_id, customer_source_id, record.fail_reason, record.skip_reason, None))
                    continue
                if customer_source_id not in emitted:
                    emitted.add(customer_source_id)
                    customers[customer_source_id] = converted.customer(record.customer)
                    converter.forget_customer(customer_source_id)
                record.rows_used = tuple(len(rows.get(record.source_id, ())) for rows in (
                    converter.source.conditions, converter.source.introductions, converter.source.activities, converter.source.attachments))
                items.append((line, source_id, customer_source_id, "", "", converted.plan(record)))
        yield Batch(rows=(items, customers), last_row=start + len(chunk), source_rows=len(chunk))


@register_job
class LegacyMigrationJob(Job):
    kind = RUN_KIND
    label = gettext_lazy("Legacy migration")
    permission_rule = "legacy_migration"
    unit_param = "org_unit_id"

    def __init__(self, run):
        super().__init__(run)
        self.company_id = run.company_id
        self.params = run.params
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self.target = load_target(self.company_id, self.params)
        self.read_source()
        self.order = processing_order(self.source, self.params.get("mode", Mode.FULL))
        self.language = self.params.get("language") or "ja"
        self.quick_taken = int((self.run.counts or {}).get("migrated", 0))
        self.seen: set[str] = set(
            CaseOutcome.objects.for_company(self.company_id).filter(run=self.run).values_list("source_id", flat=True)
        )
        self.acting_user = User.objects.filter(pk=self.params.get("acting_user_id")).first()
        self.customer_ids: dict[str, int] = {}  # 顧客番号 -> customer id, for the customers this process has resolved
        self.pending_customers: dict[str, tuple] = {}  # converted customers not written yet
        self.converted = Converted()

    def read_source(self) -> None:
        with files.Bundle(bundle_path(self.run)) as bundle:
            self.source = load_source(bundle)
        # The rows stay for the whole run: the collector need not scan them again (nor the converting
        # process, which shares their memory pages until it writes to them).
        gc.freeze()
        self.converter = Converter(self.source, self.target)

    # -- reading -------------------------------------------------------------------------------
    def prepare(self) -> int:
        self.load()
        known = self.source.case_keys()
        customer_at = self.source.cases.columns.index("顧客番号")
        used_customers = {values[customer_at].strip() for _line, values in self.source.cases.compact}
        self.run.detected = {
            "declared_counts": self.source.declared_counts,
            "row_counts": dict(self.source.row_counts),
            "orphans": {name: self.source.orphans(name, known) for name in PER_CASE_FILES},
            "orphan_customers": len(set(self.source.customers) - used_customers),
            "unknown_columns": self.source.unknown_columns,
        }
        return len(self.order)

    def batches(self, after_row: int):
        self.load()
        batch_cases = int(self.params.get("batch_cases") or BATCH_CASES)  # (a test's small batches)
        if len(self.order) - after_row <= batch_cases:
            # One batch: nothing to overlap.
            return converted_batches(self.converter, self.order, after_row, self.language, batch_cases)
        if not self.source.has_case_files:  # released for an earlier call's converting process
            self.read_source()
            self.order = processing_order(self.source, self.params.get("mode", Mode.FULL))
        # Cases are converted in a second process while this one writes (the machine has two cores).
        return self.released_once_converting(
            produce_in_child(converted_batches, self.converter, self.order, after_row, self.language, batch_cases))

    def released_once_converting(self, batches):
        """The batches; once the first arrives (the converting process has its own copy of the rows), this process
        lets go of the per-case files' rows, which only converting reads: a 100,000-case bundle's writer keeps
        about 140 MB less through the run."""
        for index, batch in enumerate(batches):
            if index == 0:
                self.source.release_case_files()
            yield batch

    # -- writing -------------------------------------------------------------------------------
    def write(self, batch: Batch) -> Counter:
        self.load()
        saved_files: list[str] = []
        try:
            with translation.override(self.language):
                return self._write(batch, saved_files)
        except BaseException:
            # The batch's rows roll back with the transaction; files saved for it go too.
            for name in saved_files:
                default_storage.delete(name)
            raise

    def _write(self, batch: Batch, saved_files: list[str]) -> Counter:
        now = timezone.now()
        stamp = column_adapters(Case, ("created_at",))[0]
        now_value = stamp(now) if stamp else now
        company_id, run_id = self.company_id, self.run.pk
        counts: Counter = Counter()
        items, customers = batch.rows
        self.pending_customers.update(customers)
        keys = [item[1] for item in items]
        migrated_before = set(
            LedgerEntry.objects.for_company(company_id).filter(source_system=SOURCE_SYSTEM, source_key__in=keys)
            .values_list("source_key", flat=True)
        )
        outcomes: list[tuple] = []
        plans: list[tuple] = []
        is_quick = self.params.get("mode") == Mode.QUICK
        for item in items:
            line, source_id, customer_source_id, fail_reason, skip_reason, plan = item
            counts["source_cases"] += 1
            if source_id in migrated_before or source_id in self.seen:
                self.skip(counts, outcomes, line, source_id, customer_source_id, SkipReason.ALREADY_MIGRATED)
                continue
            self.seen.add(source_id)
            if fail_reason:
                counts["failed"] += 1
                counts[f"failed:{fail_reason}"] += 1
                outcomes.append((company_id, run_id, line, source_id, customer_source_id, Outcome.FAILED.value, str(fail_reason), None, None, False))
                continue
            if skip_reason:
                self.skip(counts, outcomes, line, source_id, customer_source_id, skip_reason)
                continue
            if is_quick and self.quick_taken >= QUICK_CAP:
                self.skip(counts, outcomes, line, source_id, customer_source_id, SkipReason.OVER_QUICK_CAP)
                continue
            self.quick_taken += 1
            plans.append(item)
        ledger: list[tuple] = []
        customer_ids = self.write_customers(plans, ledger, counts, now_value)
        case_ids = allocate_ids(Case, len(plans))
        numbers = allocate_case_numbers(company_id, len(plans))
        self.write_cases(plans, case_ids, numbers, customer_ids, now, now_value, counts, saved_files)
        # The batch's 名寄せ candidates in one refresh (its customers: new ones and those an earlier batch created).
        refresh_duplicates(company_id, {customer_ids[customer_source_id] for _line, _source_id, customer_source_id, *_rest in plans},
                           created=self.created_customer_ids)
        rows_used = [0, 0, 0, 0]
        for (line, source_id, customer_source_id, _fail, _skip, plan), case_id in zip(plans, case_ids, strict=True):
            needs_review = plan[8]
            ledger.append((company_id, run_id, SOURCE_SYSTEM, source_id, line, CREATED, "crm.case", case_id, None, now_value))
            outcomes.append((company_id, run_id, line, source_id, customer_source_id, Outcome.MIGRATED.value, "", case_id,
                             customer_ids[customer_source_id], needs_review))
            counts["needs_review"] += int(needs_review)
            for index, used in enumerate(plan[9]):
                rows_used[index] += used
        if plans:
            counts["migrated"] += len(plans)
            for name, used in zip(PER_CASE_FILES, rows_used, strict=True):
                counts[f"rows_used:{name}"] += used
        insert_rows(LedgerEntry, LEDGER_COLUMNS, ledger, adapted=True)
        insert_rows(CaseOutcome, OUTCOME_COLUMNS, outcomes, adapted=True)
        record_event(company_id=company_id, actor=self.acting_user, verb="migrate", object_type="pipeline.run", object_id=run_id,
                     object_repr=self.run.source_name, after=dict(counts), run_id=run_id)
        return counts

    def skip(self, counts: Counter, outcomes: list, line: int, source_id: str, customer_source_id: str, reason: str) -> None:
        counts["skipped"] += 1
        counts[f"skipped:{reason}"] += 1
        outcomes.append((self.company_id, self.run.pk, line, source_id, customer_source_id, Outcome.SKIPPED.value, str(reason), None, None, False))

    def write_customers(self, plans: list[tuple], ledger: list, counts: Counter, now_value) -> dict[str, int]:
        """One customer per source 顧客番号: the one an earlier batch or run created, else a new one."""
        company_id = self.company_id
        first_row: dict[str, int] = {}
        for line, _source_id, customer_source_id, *_rest in plans:
            first_row.setdefault(customer_source_id, line)
        known = self.customer_ids
        unknown = [key for key in first_row if key not in known]
        if unknown:
            known.update(
                LedgerEntry.objects.for_company(company_id).filter(source_system=CUSTOMER_SOURCE_SYSTEM, source_key__in=unknown)
                .values_list("source_key", "target_id")
            )
        new = [key for key in unknown if key not in known]
        ids = allocate_ids(Customer, len(new))
        contact_ids = allocate_ids(Contact, len(new))
        customers, contacts, points = [], [], []
        head_now = (now_value, now_value, None)
        link_numbers = allocate_link_numbers(company_id, len(new))
        for key, customer_id, contact_id, link_number in zip(new, ids, contact_ids, link_numbers, strict=True):
            converted = self.pending_customers.pop(key, None)
            if converted is None:  # converted in a process that is gone (cannot happen in one run; kept safe)
                converted = self.converted.customer(self.converter.convert_customer(key, self.source.customers[key][1]))
            customer, contact, customer_points = converted
            customers.append((customer_id, company_id, *customer[:CUSTOMER_LINK_AT], link_number, *customer[CUSTOMER_LINK_AT + 1:], *head_now))
            contacts.append((contact_id, company_id, customer_id, *contact, now_value, now_value))
            points.extend((company_id, contact_id, customer_id, *point) for point in customer_points)
            ledger.append((company_id, self.run.pk, CUSTOMER_SOURCE_SYSTEM, key, first_row[key], CREATED, "crm.customer",
                           customer_id, None, now_value))
        insert_rows(Customer, CUSTOMER_COLUMNS, customers, adapted=True)
        insert_rows(Contact, CONTACT_COLUMNS, contacts, adapted=True)
        insert_rows(ContactPoint, POINT_COLUMNS, points, adapted=True)
        counts["customers_created"] += len(new)
        known.update(zip(new, ids, strict=True))
        # Created in this batch, with all their cases (the 名寄せ refresh looks up no stored rows of theirs).
        self.created_customer_ids = ids
        return known

    def write_cases(self, plans, case_ids, numbers, customer_ids, now, now_value, counts: Counter, saved_files: list[str]) -> None:
        company_id = self.company_id
        cases, desired_rows, tag_rows, assignee_rows, activity_rows, introduction_rows, attachment_rows = [], [], [], [], [], [], []
        is_dry_run = bool(self.params.get("dry_run"))
        bundle = None if is_dry_run or not any(item[5][7] for item in plans) else files.Bundle(bundle_path(self.run))
        case_end = (now_value, now_value, None)
        stamps = (now_value, now_value)
        activities = memos = introductions = attachments = 0
        try:
            for (_line, _source_id, customer_source_id, _fail, _skip, plan), case_id, number in zip(plans, case_ids, numbers, strict=True):
                case, desired, tag_ids, sub_ids, case_activities, memo, case_introductions, case_attachments = plan[:8]
                cases.append((case_id, company_id, customer_ids[customer_source_id], number, *case, *case_end))
                desired_rows.append((company_id, case_id, *desired))
                tag_rows.extend((company_id, case_id, tag_id, position) for position, tag_id in enumerate(tag_ids))
                assignee_rows.extend((company_id, case_id, user_id, position) for position, user_id in enumerate(sub_ids))
                activity_rows.extend((company_id, case_id, *activity, *stamps) for activity in case_activities)
                activities += len(case_activities)
                if memo is not None:
                    kind, memo_at, *rest = memo
                    activity_rows.append((company_id, case_id, kind, memo_at or now_value, *rest, *stamps))
                    memos += 1
                introduction_rows.extend((company_id, case_id, *introduction, *stamps) for introduction in case_introductions)
                introductions += len(case_introductions)
                for attachment in case_attachments:
                    name, size = "", bundle.member_size(attachment.member) if bundle else 0
                    if bundle is not None:
                        name = default_storage.save(f"attachments/{company_id}/{case_id}/{attachment.stored_name}",
                                                    bundle.member_file(attachment.member))
                        saved_files.append(name)
                    attachment_rows.append((company_id, case_id, name, attachment.original_name, size, "", None, attachment.uploaded_at or now, True))
                attachments += len(case_attachments)
        finally:
            if bundle is not None:
                bundle.close()
        if plans:
            counts["activities_migrated"] += activities
            counts["memos_migrated"] += memos
            counts["introductions_migrated"] += introductions
            counts["attachments_migrated"] += attachments
        insert_rows(Case, CASE_COLUMNS, cases, adapted=True)
        insert_rows(DesiredConditions, DESIRED_COLUMNS, desired_rows, adapted=True)
        insert_rows(CaseTag, TAG_COLUMNS, tag_rows, adapted=True)
        insert_rows(CaseAssignee, ASSIGNEE_COLUMNS, assignee_rows, adapted=True)
        insert_rows(Activity, ACTIVITY_COLUMNS, activity_rows, adapted=True)
        insert_rows(Introduction, INTRODUCTION_COLUMNS, introduction_rows, adapted=True)
        insert_rows(Attachment, ATTACHMENT_COLUMNS, attachment_rows)

    # -- the end ---------------------------------------------------------------------------------
    def final_status(self, counts: Counter) -> str:
        if not counts.get("migrated") and not counts.get("failed"):
            return RunStatus.NOTHING_TO_MIGRATE
        return super().final_status(counts)

    def finished(self) -> None:
        """The admin who started the run gets an e-mail with its counts, once the run's end is committed."""
        gc.unfreeze()  # a worker process goes on with other work: its objects are collectable again
        if self.params.get("dry_run"):
            return
        from estatecrm.legacy.reports import send_run_finished_mail

        run_id = self.run.pk
        transaction.on_commit(lambda: send_run_finished_mail(run_id))
