"""The legacy desktop migration as a pipeline job: bundle -> converter -> batches written with the ledger.

Each batch is one transaction (the engine's): the cases it migrates with their customers, contacts,
tags, assignees, desired conditions, activities, introductions and attachments, their ledger entries
(the unique (company, source system, 追客番号) makes a second migration of a case impossible) and one
`CaseOutcome` per source case. The processing order is fixed by the bundle and the run's parameters
(full: file order; quick: newest first), so a run resumed after a crash continues after its checkpoint.
"""

import logging
from collections import Counter
from datetime import date
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event
from estatecrm.crm.choices import ActivityKind, CaseOrigin, CustomerKind
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
from estatecrm.legacy.converter import CaseRecord, Converter, Source, Target, load_source
from estatecrm.legacy.models import CaseOutcome
from estatecrm.normalize import name_key, reading_key
from estatecrm.pipeline.bulk import allocate_ids, insert_rows
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus
from estatecrm.pipeline.engine import Batch, Job, register_job
from estatecrm.pipeline.models import LedgerEntry
from estatecrm.tenancy.models import Membership, OrgUnit, User

logger = logging.getLogger(__name__)

BATCH_CASES = 1000
EMPTY_DICT: dict = {}
CUSTOMER_COLUMNS = (
    "id", "company_id", "kind", "name", "name_key", "kana", "kana_key", "gender", "birth_date", "postal_code", "prefecture",
    "city", "street", "building", "employer", "annual_income", "household_size", "homepage", "line_link_number",
    "line_user_id", "is_unsubscribed", "custom_values", "created_at", "updated_at", "deleted_at",
)
CONTACT_COLUMNS = ("id", "company_id", "customer_id", "name", "kana", "position", "created_at", "updated_at")
POINT_COLUMNS = ("company_id", "contact_id", "customer_id", "kind", "raw", "normalized", "invalid_reason", "position")
CASE_COLUMNS = (
    "id", "company_id", "customer_id", "kind", "status", "sub_status_id", "rank_id", "owning_org_id", "main_assignee_id",
    "project_id", "origin", "source_system", "source_id", "started_on", "first_inquiry_date", "first_inquiry_source",
    "first_inquiry_listing_ref", "first_inquiry_listing_name", "auto_intro_mail", "other_info", "needs_review",
    "review_messages", "custom_values", "created_at", "updated_at", "deleted_at",
)
DESIRED_COLUMNS = (
    "company_id", "case_id", "rent_min", "rent_max", "includes_management_fee", "price_min", "price_max", "layouts", "area_min",
    "area_max", "land_area_min", "walk_minutes", "building_age", "lines_stations", "areas", "move_in", "features", "management_comment",
)
TAG_COLUMNS = ("company_id", "case_id", "tag_id", "position")
ASSIGNEE_COLUMNS = ("company_id", "case_id", "user_id", "position")
ACTIVITY_COLUMNS = ("company_id", "case_id", "kind", "occurred_at", "actor_id", "subject", "body", "is_done", "org_unit_id",
                    "is_migrated", "created_at", "updated_at")
INTRODUCTION_COLUMNS = ("company_id", "case_id", "listing_id", "listing_ref", "listing_name", "rent_or_price", "layout", "introduced_on",
                        "method", "reaction", "is_migrated", "created_at", "updated_at")
ATTACHMENT_COLUMNS = ("company_id", "case_id", "file", "original_name", "size", "content_type", "uploaded_by_id", "uploaded_at", "is_migrated")
LEDGER_COLUMNS = ("company_id", "run_id", "source_system", "source_key", "row_number", "outcome", "target_type", "target_id", "before", "created_at")
OUTCOME_COLUMNS = ("company_id", "run_id", "row_number", "source_id", "customer_source_id", "outcome", "reason", "case_id", "customer_id",
                   "needs_review")
PER_CASE_FILES = (files.CONDITIONS_FILE, files.INTRODUCTIONS_FILE, files.ACTIVITIES_FILE, files.ATTACHMENTS_FILE)


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


def processing_order(source: Source, mode: str) -> list[tuple[int, dict]]:
    """Full: file order. Quick: newest start date first (undated last), file order among equals."""
    if mode != Mode.QUICK:
        return source.cases
    from estatecrm.normalize import parse_date

    def started(item):
        value = item[1]["追客開始日"].strip()
        parsed = parse_date(value) if value else None
        return parsed.value.toordinal() if parsed is not None and parsed.is_valid else 0

    return sorted(source.cases, key=lambda item: (-started(item), item[0]))


@register_job
class LegacyMigrationJob(Job):
    kind = RUN_KIND

    def __init__(self, run):
        super().__init__(run)
        self.company_id = run.company_id
        self.params = run.params
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        with files.Bundle(bundle_path(self.run)) as bundle:
            self.source = load_source(bundle)
        self.target = load_target(self.company_id, self.params)
        self.converter = Converter(self.source, self.target)
        self.order = processing_order(self.source, self.params.get("mode", Mode.FULL))
        self.language = self.params.get("language") or "ja"
        self.quick_taken = int((self.run.counts or {}).get("migrated", 0))
        self.seen: set[str] = set(
            CaseOutcome.objects.for_company(self.company_id).filter(run=self.run).values_list("source_id", flat=True)
        )
        self.acting_user = User.objects.filter(pk=self.params.get("acting_user_id")).first()

    # -- reading -------------------------------------------------------------------------------
    def prepare(self) -> int:
        self.load()
        self.run.detected = {
            "declared_counts": self.source.declared_counts,
            "row_counts": {name: count for name, count in self.source.row_counts.items()},
            "orphans": {name: self.source.orphans(name) for name in PER_CASE_FILES},
            "orphan_customers": len(set(self.source.customers) - {row["顧客番号"].strip() for _line, row in self.source.cases}),
            "unknown_columns": self.source.unknown_columns,
        }
        return len(self.order)

    def batches(self, after_row: int):
        self.load()
        for start in range(after_row, len(self.order), BATCH_CASES):
            chunk = self.order[start:start + BATCH_CASES]
            rows = [(start + offset + 1, line, row) for offset, (line, row) in enumerate(chunk)]
            yield Batch(rows=rows, last_row=start + len(chunk), source_rows=len(chunk))

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
        counts: Counter = Counter()
        keys = [row["追客番号"].strip() for _index, _line, row in batch.rows]
        migrated_before = set(
            LedgerEntry.objects.for_company(self.company_id).filter(source_system=SOURCE_SYSTEM, source_key__in=keys)
            .values_list("source_key", flat=True)
        )
        outcomes: list[tuple] = []
        records: list[CaseRecord] = []
        is_quick = self.params.get("mode") == Mode.QUICK
        for _index, line, row in batch.rows:
            counts["source_cases"] += 1
            source_id = row["追客番号"].strip()
            customer_source_id = row["顧客番号"].strip()
            if source_id in migrated_before or source_id in self.seen:
                self.skip(counts, outcomes, line, source_id, customer_source_id, SkipReason.ALREADY_MIGRATED)
                continue
            self.seen.add(source_id)
            record = self.converter.convert(line, row)
            if record.fail_reason:
                counts["failed"] += 1
                counts[f"failed:{record.fail_reason}"] += 1
                outcomes.append((self.company_id, self.run.pk, line, source_id, customer_source_id, Outcome.FAILED, record.fail_reason,
                                 None, None, False))
                continue
            if record.skip_reason:
                self.skip(counts, outcomes, line, source_id, customer_source_id, record.skip_reason)
                continue
            if is_quick and self.quick_taken >= QUICK_CAP:
                self.skip(counts, outcomes, line, source_id, customer_source_id, SkipReason.OVER_QUICK_CAP)
                continue
            self.quick_taken += 1
            records.append(record)
        ledger: list[tuple] = []
        customer_ids = self.write_customers(records, ledger, counts, now)
        case_ids = allocate_ids(Case, len(records))
        self.write_cases(records, case_ids, customer_ids, now, counts, saved_files)
        for record, case_id in zip(records, case_ids, strict=True):
            ledger.append((self.company_id, self.run.pk, SOURCE_SYSTEM, record.source_id, record.row_number, LedgerOutcome.CREATED,
                           "crm.case", case_id, None, now))
            outcomes.append((self.company_id, self.run.pk, record.row_number, record.source_id, record.customer_source_id, Outcome.MIGRATED,
                             "", case_id, customer_ids[record.customer_source_id], record.needs_review))
            counts["migrated"] += 1
            counts["needs_review"] += int(record.needs_review)
            for name, rows in ((files.CONDITIONS_FILE, self.source.conditions), (files.INTRODUCTIONS_FILE, self.source.introductions),
                               (files.ACTIVITIES_FILE, self.source.activities), (files.ATTACHMENTS_FILE, self.source.attachments)):
                counts[f"rows_used:{name}"] += len(rows.get(record.source_id, ()))
        insert_rows(LedgerEntry, LEDGER_COLUMNS, ledger)
        insert_rows(CaseOutcome, OUTCOME_COLUMNS, outcomes)
        record_event(company_id=self.company_id, actor=self.acting_user, verb="migrate", object_type="pipeline.run", object_id=self.run.pk,
                     object_repr=self.run.source_name, after=dict(counts), run_id=self.run.pk)
        return counts

    def skip(self, counts: Counter, outcomes: list, line: int, source_id: str, customer_source_id: str, reason: str) -> None:
        counts["skipped"] += 1
        counts[f"skipped:{reason}"] += 1
        outcomes.append((self.company_id, self.run.pk, line, source_id, customer_source_id, Outcome.SKIPPED, reason, None, None, False))

    def write_customers(self, records: list[CaseRecord], ledger: list, counts: Counter, now) -> dict[str, int]:
        """One customer per source 顧客番号: the one an earlier batch or run created, else a new one."""
        wanted = list(dict.fromkeys(record.customer_source_id for record in records))
        existing = dict(
            LedgerEntry.objects.for_company(self.company_id).filter(source_system=CUSTOMER_SOURCE_SYSTEM, source_key__in=wanted)
            .values_list("source_key", "target_id")
        )
        new = [key for key in wanted if key not in existing]
        ids = allocate_ids(Customer, len(new))
        first_row = {}
        by_key = {}
        for record in records:
            first_row.setdefault(record.customer_source_id, record.row_number)
            by_key.setdefault(record.customer_source_id, record.customer)
        customers, contacts, points = [], [], []
        contact_ids = allocate_ids(Contact, len(new))
        for key, customer_id, contact_id in zip(new, ids, contact_ids, strict=True):
            customer = by_key[key]
            customers.append((customer_id, self.company_id, CustomerKind.PERSON, customer.name, name_key(customer.name), customer.kana,
                              reading_key(customer.kana) if customer.kana else "", customer.gender, customer.birth_date, customer.postal_code,
                              customer.prefecture, customer.city, customer.street, customer.building, customer.employer,
                              customer.annual_income, customer.household_size, "", "", "", False, EMPTY_DICT, now, now, None))
            contacts.append((contact_id, self.company_id, customer_id, customer.name, customer.kana, 0, now, now))
            for position, point in enumerate(customer.points):
                points.append((self.company_id, contact_id, customer_id, point.kind, point.raw, point.normalized, point.invalid_reason, position))
            ledger.append((self.company_id, self.run.pk, CUSTOMER_SOURCE_SYSTEM, key, first_row[key], LedgerOutcome.CREATED, "crm.customer",
                           customer_id, None, now))
        insert_rows(Customer, CUSTOMER_COLUMNS, customers)
        insert_rows(Contact, CONTACT_COLUMNS, contacts)
        insert_rows(ContactPoint, POINT_COLUMNS, points)
        counts["customers_created"] += len(new)
        return {**existing, **dict(zip(new, ids, strict=True))}

    def write_cases(self, records, case_ids, customer_ids, now, counts: Counter, saved_files: list[str]) -> None:
        cases, desired_rows, tag_rows, assignee_rows, activity_rows, introduction_rows, attachment_rows = [], [], [], [], [], [], []
        is_dry_run = bool(self.params.get("dry_run"))
        bundle = None if is_dry_run or not any(record.attachments for record in records) else files.Bundle(bundle_path(self.run))
        try:
            for record, case_id in zip(records, case_ids, strict=True):
                desired = record.desired
                cases.append((
                    case_id, self.company_id, customer_ids[record.customer_source_id], record.kind, record.status, record.sub_status_id,
                    record.rank_id, record.owning_org_id, record.main_assignee_id, None, CaseOrigin.LEGACY_MIGRATION, SOURCE_SYSTEM,
                    record.source_id, record.started_on, record.first_inquiry_date, record.first_inquiry_source,
                    record.first_inquiry_listing_ref, record.first_inquiry_listing_name, False, record.other_info, record.needs_review,
                    record.review_messages, EMPTY_DICT, now, now, None,
                ))
                desired_rows.append((
                    self.company_id, case_id, desired.get("rent_min"), desired.get("rent_max"), desired.get("includes_management_fee"),
                    desired.get("price_min"), desired.get("price_max"), desired["layouts"], desired.get("area_min"), desired.get("area_max"),
                    desired.get("land_area_min"), desired.get("walk_minutes"), desired.get("building_age"), desired["lines_stations"],
                    desired["areas"], desired.get("move_in", ""), desired["features"], desired.get("management_comment", ""),
                ))
                tag_rows.extend((self.company_id, case_id, tag_id, position) for position, tag_id in enumerate(record.tag_ids))
                assignee_rows.extend((self.company_id, case_id, user_id, position) for position, user_id in enumerate(record.sub_assignee_ids))
                for activity in record.activities:
                    activity_rows.append((self.company_id, case_id, activity.kind, activity.occurred_at, activity.actor_id, activity.subject,
                                          activity.body, activity.is_done,
                                          record.owning_org_id if activity.kind == ActivityKind.VISIT_APPOINTMENT else None, True, now, now))
                counts["activities_migrated"] += len(record.activities)
                if record.memo:
                    memo_at = record.memo_at or now
                    activity_rows.append((self.company_id, case_id, ActivityKind.NOTE, memo_at, None, _("Follow-up memo (desktop app)"),
                                          record.memo, True, None, True, now, now))
                    counts["memos_migrated"] += 1
                for introduction in record.introductions:
                    introduction_rows.append((self.company_id, case_id, None, introduction.listing_ref, introduction.listing_name,
                                              introduction.rent_or_price, introduction.layout, introduction.introduced_on, introduction.method,
                                              introduction.reaction, True, now, now))
                counts["introductions_migrated"] += len(record.introductions)
                for attachment in record.attachments:
                    name, size = "", bundle.member_size(attachment.member) if bundle else 0
                    if bundle is not None:
                        name = default_storage.save(f"attachments/{self.company_id}/{case_id}/{Path(attachment.original_name).name or 'file'}",
                                                    ContentFile(bundle.read_bytes(attachment.member)))
                        saved_files.append(name)
                    attachment_rows.append((self.company_id, case_id, name, attachment.original_name, size, "", None, attachment.uploaded_at or now, True))
                counts["attachments_migrated"] += len(record.attachments)
        finally:
            if bundle is not None:
                bundle.close()
        insert_rows(Case, CASE_COLUMNS, cases)
        insert_rows(DesiredConditions, DESIRED_COLUMNS, desired_rows)
        insert_rows(CaseTag, TAG_COLUMNS, tag_rows)
        insert_rows(CaseAssignee, ASSIGNEE_COLUMNS, assignee_rows)
        insert_rows(Activity, ACTIVITY_COLUMNS, activity_rows)
        insert_rows(Introduction, INTRODUCTION_COLUMNS, introduction_rows)
        insert_rows(Attachment, ATTACHMENT_COLUMNS, attachment_rows)

    # -- the end ---------------------------------------------------------------------------------
    def final_status(self, counts: Counter) -> str:
        if not counts.get("migrated") and not counts.get("failed"):
            return RunStatus.NOTHING_TO_MIGRATE
        return super().final_status(counts)

    def finished(self) -> None:
        """The admin who started the run gets an e-mail with its counts, once the run's end is committed."""
        if self.params.get("dry_run"):
            return
        from estatecrm.legacy.reports import send_run_finished_mail

        run_id = self.run.pk
        transaction.on_commit(lambda: send_run_finished_mail(run_id))
