"""The lead import as a pipeline job: read -> map -> normalize/validate -> resolve duplicates -> write."""

import datetime
import json
from collections import Counter
from pathlib import Path

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext_lazy

from estatecrm.audit.actions import record_event
from estatecrm.crm.bulk_columns import CASE_COLUMNS, CONTACT_COLUMNS, CUSTOMER_COLUMNS, POINT_COLUMNS
from estatecrm.crm.case_numbers import allocate_case_numbers
from estatecrm.crm.choices import CaseKind, CaseOrigin, CaseStatus, ContactPointKind, CustomerKind
from estatecrm.crm.duplicates import block_values as duplicate_block_values
from estatecrm.crm.duplicates import refresh_customers as refresh_duplicates
from estatecrm.crm.link_numbers import allocate_link_numbers
from estatecrm.crm.models import Case, Contact, ContactPoint, Customer, CustomField
from estatecrm.leads.choices import (
    DEFAULT_DUPLICATE_KEYS,
    RUN_KIND,
    SOURCE_SYSTEM,
    DuplicateKey,
    DuplicatePolicy,
)
from estatecrm.leads.converter import LeadConverter, LeadRow
from estatecrm.leads.fields import lead_fields
from estatecrm.leads.selectors import case_source_id, created_leads, last_row_written, ledger_rows
from estatecrm.normalize import reading_key
from estatecrm.pipeline.bulk import allocate_ids, apply_run_settings, insert_rows
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus
from estatecrm.pipeline.engine import Batch, Job, register_job
from estatecrm.pipeline.lock_objects import lock_for_write, write_version
from estatecrm.pipeline.mapping import check_mapping, column_indexes
from estatecrm.pipeline.models import LedgerEntry, RowIssue, Run, RunRange
from estatecrm.pipeline.parallel import can_share_database, produce_in_child, use_own_connections
from estatecrm.pipeline.readers import ReadError, open_table
from estatecrm.pipeline.reverts import REVERT_BATCH, RevertJob, revert_kind
from estatecrm.tenancy.models import Membership, User

# Rows per batch (one transaction), unless the run's params say `batch_rows`. Measured at 1,000,000 rows
# against 1,000,000 existing ones (docs/performance.md): 2,000 -> 93-106 s, 5,000 -> 81-83 s,
# 10,000 -> 89-95 s. Each commit writes every index page the batch touched to the WAL; larger
# batches touch fewer pages per row, until the batches crossing to the writer grow too large.
BATCH_ROWS = 5000
# Rows are inserted with `adapted=True`: JSON columns get their text, encoded here.
EMPTY_DICT = "{}"
CONTACT_ADDED = {"contact_added": True}
CONTACT_ADDED_JSON = json.dumps(CONTACT_ADDED)
LEDGER_COLUMNS = ("company_id", "run_id", "source_system", "source_key", "row_number", "outcome", "target_type", "target_id", "before", "created_at")
ISSUE_COLUMNS = ("company_id", "run_id", "row_number", "field", "code", "params", "cells", "is_failure")
# The columns a row of the import fills per row, in the order of its value tuples; every other column
# of the table has one value for the whole batch (`constants` of insert_rows: bound once, not per row).
CUSTOMER_VARYING = ("id", "kind", "name", "name_key", "postal_code", "prefecture", "city", "street", "building", "homepage", "custom_values",
                    "birth_date", "kana", "kana_key", "line_link_number")
CONTACT_VARYING = ("id", "customer_id", "name", "kana", "position")
POINT_VARYING = ("contact_id", "customer_id", "kind", "raw", "normalized", "position")
CASE_VARYING = ("id", "customer_id", "kind", "owning_org_id", "main_assignee_id", "source_id", "number", "first_inquiry_date",
                "first_inquiry_source", "other_info")
LEDGER_VARYING = ("source_key", "row_number", "outcome", "target_type", "target_id", "before")
ISSUE_VARYING = ("row_number", "field", "code", "params", "cells", "is_failure")
LEDGER_ROW_NUMBER, LEDGER_TARGET, LEDGER_BEFORE = (LEDGER_VARYING.index(name) for name in ("row_number", "target_id", "before"))
OVERWRITE_FIELDS = ("postal_code", "prefecture", "city", "street", "building", "homepage", "birth_date")
# The company's write lock (pipeline.WriteLock) of every lead import: duplicates are looked for among
# the whole company's customers, so two imports of one company check and write one after the other.
DUPLICATE_LOCK = "leads.duplicates"
# The row field a duplicate rule's issue points at.
RULE_FIELDS = {"name": "lead_name", "phone": "phone", "phone_in_file": "phone", "email": "email", "email_in_file": "email"}




def import_kinds(params: dict) -> tuple[str, str]:
    """(case kind, customer kind) the run creates: chosen for the import (defaulted from its project when it
    started); a row's own kind columns win over them. Plain str values: sqlite3 binds an exact str without
    a lookup, a choices member through its adapter protocol (about 0.5 µs a value)."""
    return str(params.get("case_kind") or CaseKind.RENT.value), str(params.get("customer_kind") or CustomerKind.PERSON.value)


def open_run_table(run):
    params = run.params
    path = Path(default_storage.path(run.source_file.name))
    return open_table(path, encoding=params.get("encoding") or None, delimiter=params.get("delimiter") or None,
                      sheet=params.get("sheet") or None, header_row=params.get("header_row") or None)


@register_job
class LeadImportJob(Job):
    kind = RUN_KIND
    label = gettext_lazy("Lead import")
    permission_rule = "lead_imports"
    unit_param = "org_unit_id"
    # After the scan, a big import's rows may be written in ranges by several workers (PostgreSQL):
    # each range learns the leads the others committed under the duplicate lock (`learn_other_ranges`).
    splittable = True

    def __init__(self, run):
        super().__init__(run)
        self.company_id = run.company_id
        self.params = run.params
        self.policy = self.params.get("on_duplicate", DuplicatePolicy.ADD)
        self.duplicate_keys = set(self.params.get("duplicate_keys", DEFAULT_DUPLICATE_KEYS))
        self.decisions = {int(row): decision for row, decision in (self.params.get("decisions") or {}).items()}
        self.custom_fields = {
            field.name: (field.field_type, list(field.choices or []))
            for field in CustomField.objects.for_company(self.company_id)
        }
        self.case_kind, self.customer_kind = import_kinds(self.params)
        self._state_loaded = False
        # Versions of the duplicate lock that this run's own batches committed (see `lock_duplicates`).
        self.own_versions: set[int] = set()
        # Ranges found by prepare() when the engine asked for them (`range_bounds`).
        self.bounds: list[tuple[int, int]] = []
        # A range's job: per other range of the run, the row up to which its leads are known here.
        self.known_upto: dict[int, int] = {}

    # -- reading -------------------------------------------------------------------------------
    def prepare(self) -> int:
        table = open_run_table(self.run)
        fields = lead_fields(self.project_custom_field_names(), self.params["mapping"])
        problems = check_mapping(self.params["mapping"], table.info.headers, fields)
        if problems:
            key, code = next(iter(problems.items()))
            raise ReadError(code, mapping_problem_message(key, code, self.params["mapping"].get(key, "")))
        self.run.detected = {
            "format": table.info.format, "encoding": table.info.encoding, "delimiter": table.info.delimiter,
            "sheet": table.info.sheet, "sheets": table.info.sheets, "header_row": table.info.header_row,
            "headers": table.info.headers,
        }
        if not self.range_rows:
            return table.scan()
        # The same scan, noting the row numbers where each range of `range_rows` data rows begins and ends.
        count, first, number = 0, None, 0
        for row in table.rows():
            number = row.number
            if first is None:
                first = number
            count += 1
            if count % self.range_rows == 0:
                self.bounds.append((first, number))
                first = None
        if first is not None:
            self.bounds.append((first, number))
        return count

    def range_bounds(self) -> list[tuple[int, int]]:
        return self.bounds

    def project_custom_field_names(self) -> list[str]:
        from estatecrm.crm.models import ProjectField

        return list(
            ProjectField.objects.for_company(self.company_id).filter(project_id=self.params["project_id"])
            .order_by("position").values_list("custom_field__name", flat=True)
        )

    def batches(self, after_row: int, up_to_row: int | None = None):
        # Rows are read and normalized in a second process while this one writes. That process also
        # looks up the existing customers that share a key with its rows (through its own connection),
        # unless this connection holds a transaction another connection cannot see (a dry run, a test).
        custom_field_names = set(self.project_custom_field_names())
        custom_fields = {name: spec for name, spec in self.custom_fields.items() if name in custom_field_names}
        lookup = (self.company_id, sorted(self.duplicate_keys)) if can_share_database() else None
        return produce_in_child(converted_batches, self.run.source_file.name, self.params, custom_fields, after_row, lookup, up_to_row)

    # -- state that spans batches (rebuilt from the database after a crash) ----------------------
    def load_state(self) -> None:
        if self._state_loaded:
            return
        self._state_loaded = True
        self.run_customer_ids: set[int] = set()
        self.run_leads: dict[str, int] = {}
        self.run_phones: dict[str, str] = {}  # phone -> lead key of this run's lead that has it
        self.run_emails: dict[str, str] = {}  # e-mail -> lead key of this run's lead that has it
        if self.part is None:
            self.learn_leads([(0, self.run.checkpoint)])
        else:
            # Every entry and case up to a range's checkpoint committed with it: the rows of each range up to the
            # checkpoint noted here (this range's own: the one it resumes from).
            ranges = list(RunRange.objects.for_company(self.company_id).filter(run=self.run).exclude(pk=self.part.pk)
                          .values_list("pk", "first_row", "checkpoint"))
            self.known_upto = {pk: max(checkpoint, first_row - 1) for pk, first_row, checkpoint in ranges}
            self.learn_leads([(first_row - 1, self.known_upto[pk]) for pk, first_row, _checkpoint in ranges]
                             + [(self.part.first_row - 1, self.part.checkpoint)])
        self.importer = User.objects.get(pk=self.params["acting_user_id"])
        self.assignees: dict[str, User] = {}
        self.primary_units = dict(
            Membership.objects.for_company(self.company_id).filter(is_primary=True).values_list("user_id", "org_unit_id")
        )

    def learn_leads(self, spans: list[tuple[int, int]]) -> None:
        """Know the leads of this run that its (committed) rows in `spans` (after_row, up_to_row) created or
        added contacts to, as if this job had written them: their customers are the run's own (not existing
        customers), their name keys, phones and e-mail addresses the file's earlier leads. The created ones
        are found by their cases (selectors.created_leads), the others in the ledger."""
        created, touched = set(), set()
        for after_row, up_to_row in spans:
            if up_to_row <= after_row:
                continue
            created.update(customer_id for _row, _case, customer_id in created_leads(self.company_id, self.run.pk, after_row, up_to_row))
            touched.update(LedgerEntry.objects.for_company(self.company_id).filter(
                run=self.run, row_number__gt=after_row, row_number__lte=up_to_row, target_type="crm.customer",
                outcome=LedgerOutcome.UPDATED).values_list("target_id", flat=True))
        new = created - self.run_customer_ids
        self.run_customer_ids |= new
        # Contacts added to the run's own leads bring their phones and addresses (an overwritten existing
        # customer's do not: the file's later rows find those as existing).
        customer_ids = new | (touched & self.run_customer_ids)
        if not customer_ids:
            return
        key_of = dict(Customer.objects.for_company(self.company_id).filter(pk__in=customer_ids).values_list("pk", "name_key"))
        for pk in sorted(new):
            self.run_leads.setdefault(key_of[pk], pk)
        points = ContactPoint.objects.for_company(self.company_id).filter(customer_id__in=customer_ids)
        for customer_id, kind, normalized in points.values_list("customer_id", "kind", "normalized"):
            known = self.run_emails if kind == ContactPointKind.EMAIL else self.run_phones
            known.setdefault(normalized, key_of[customer_id])

    def learn_other_ranges(self) -> None:
        """A range's job, under the duplicate lock: learn the leads that the run's other ranges committed
        since this job last looked (their checkpoints moved), so that a row duplicating a row of another
        range is found as within the file, whichever range wrote first."""
        ranges = RunRange.objects.for_company(self.company_id).filter(run=self.run).exclude(pk=self.part.pk)
        for pk, first_row, checkpoint in ranges.values_list("pk", "first_row", "checkpoint"):
            known = max(self.known_upto.get(pk, 0), first_row - 1)
            if checkpoint > known:
                self.learn_leads([(known, checkpoint)])
                self.known_upto[pk] = checkpoint

    # -- writing -------------------------------------------------------------------------------
    def write(self, batch: Batch) -> Counter:
        self.load_state()
        self.overwritten: set[int] = set()
        self.overwritten_blocks: list[tuple[str, object]] = []
        constants = self.constants(timezone.now())
        counts: Counter = Counter(rows=len(batch.rows))
        ledger: list[tuple] = []
        issues: list[tuple] = []
        valid: list[LeadRow] = []
        looked_up = self.lock_duplicates(batch.lookups)
        self.resolve_assignees(batch.rows)
        for lead in batch.rows:
            if lead.assignee_email and lead.assignee_email not in self.assignees:
                lead.errors.append(("assignee_email", "assignee_unknown"))
            if lead.errors:
                counts["failed"] += 1
                cells = lead.cells_json or to_json([cell_json(cell) for cell in lead.cells])
                for field, code in lead.errors:
                    counts[f"failed_by_reason:{code}"] += 1
                    issues.append((lead.row_number, field, code, EMPTY_DICT, cells, True))
                ledger.append(self.ledger_row(lead, LedgerOutcome.FAILED))
            else:
                valid.append(lead)
        existing = self.existing_matches(valid, looked_up)
        new_leads: list[LeadRow] = []
        # (row, customer id, or the lead key of a lead created in this batch)
        contact_rows: list[tuple[LeadRow, int | str]] = []
        for lead in valid:
            same_run_customer = self.run_leads.get(lead.lead_key)
            duplicate_of, rule = self.duplicate_of(lead, *existing)
            if duplicate_of is not None:
                counts[f"duplicates:{rule}"] += 1
                # A name alone is a weak match (same name, another phone and e-mail: 山田 太郎 is common); the
                # same phone or e-mail is a strong one.
                strength = "weak" if rule == "name" and not same_point(lead, duplicate_of, *existing[1:]) else "strong"
                counts[f"duplicate_matches:{strength}"] += 1
                decision = self.decisions.get(lead.row_number, self.policy)
                # Flagged, not failed: the dry run lists these rows so an admin can decide them one by one.
                existing_id = duplicate_of if isinstance(duplicate_of, int) and duplicate_of > 0 else None
                issues.append((lead.row_number, RULE_FIELDS[rule], f"duplicate_{rule}",
                               to_json({"customer_id": existing_id, "lead_name": lead.lead_name, "phone": lead.phone, "email": lead.email,
                                        "decision": decision, "match": strength}), None, False))
                if decision == DuplicatePolicy.SKIP:
                    counts["skipped_duplicates"] += 1
                    target = duplicate_of if isinstance(duplicate_of, int) else self.run_leads.get(duplicate_of)
                    ledger.append(self.ledger_row(lead, LedgerOutcome.SKIPPED, target if target and target > 0 else None))
                    continue
                if decision == DuplicatePolicy.OVERWRITE and isinstance(duplicate_of, int):
                    before = self.overwrite(lead, duplicate_of, counts)
                    counts["updated"] += 1
                    ledger.append(self.ledger_row(lead, LedgerOutcome.UPDATED, duplicate_of, before))
                    continue
                if decision == DuplicatePolicy.OVERWRITE:
                    # A duplicate of a lead this file created: its values join that lead as a contact.
                    known = self.run_leads[duplicate_of]
                    contact_rows.append((lead, known if known > 0 else duplicate_of))
                    ledger.append(self.ledger_row(lead, LedgerOutcome.UPDATED, None, CONTACT_ADDED))
                    counts["contacts_added_to_leads"] += 1
                    continue
            self.run_phones.setdefault(lead.phone, lead.lead_key)
            if lead.email:
                self.run_emails.setdefault(lead.email, lead.lead_key)
            if same_run_customer is not None:
                contact_rows.append((lead, same_run_customer if same_run_customer > 0 else lead.lead_key))
                ledger.append(self.ledger_row(lead, LedgerOutcome.UPDATED, None, CONTACT_ADDED))
                counts["contacts_added_to_leads"] += 1
                continue
            new_leads.append(lead)
            contact_rows.append((lead, lead.lead_key))
            self.run_leads[lead.lead_key] = -1  # placeholder until the id is allocated below
        customer_ids = allocate_ids(Customer, len(new_leads))
        # A created lead has no ledger entry: its case carries the run and the row (selectors.created_leads).
        for lead, customer_id in zip(new_leads, customer_ids, strict=True):
            self.run_leads[lead.lead_key] = customer_id
            self.run_customer_ids.add(customer_id)
        link_numbers = allocate_link_numbers(self.company_id, len(new_leads))
        insert_rows(Customer, CUSTOMER_VARYING, [(*customer_row(lead, customer_id, self.customer_kind), link_number)
                                                 for lead, customer_id, link_number in zip(new_leads, customer_ids, link_numbers, strict=True)],
                    adapted=True, constants=constants[Customer])
        resolved = [(lead, target if isinstance(target, int) else self.run_leads[target]) for lead, target in contact_rows]
        self.fill_ledger_targets(ledger, resolved)
        self.write_contacts(resolved, constants)
        self.write_cases(new_leads, customer_ids, constants)
        # The batch's 名寄せ candidates in one refresh: its new leads and every customer it added to or overwrote.
        refresh_duplicates(self.company_id, {customer_id for _lead, customer_id in resolved} | set(self.overwritten),
                           blocks=self.overwritten_blocks, created=customer_ids)
        self.overwritten, self.overwritten_blocks = set(), []
        counts["contacts_created"] += len(resolved)
        counts["leads_created"] += len(new_leads)
        insert_rows(LedgerEntry, LEDGER_VARYING, ledger, adapted=True, constants=constants[LedgerEntry])
        insert_rows(RowIssue, ISSUE_VARYING, issues, adapted=True, constants=constants[RowIssue])
        record_event(company_id=self.company_id, actor=self.importer, verb="import", object_type="pipeline.run",
                     object_id=self.run.pk, object_repr=self.run.source_name, after=dict(counts), run_id=self.run.pk)
        return counts

    def lock_duplicates(self, looked_up):
        """Take the company's duplicate lock until this batch commits (another import's batch waits for it),
        and say whether the duplicate candidates the reading process looked up are still current: they are
        when no other run committed a batch since (the versions of the lock in between are all this run's;
        its own leads are known here anyway). Returns them, or None: they are looked up again, under the
        lock, where no other import can add a customer before this batch commits."""
        version = lock_for_write(self.company_id, DUPLICATE_LOCK)
        # Remembered at once, not on commit: a batch that rolls back ends this job (the run fails or was
        # taken over; a resumed run has a new job), so its version is never compared again.
        self.own_versions.add(version)
        if self.part is not None:
            self.learn_other_ranges()
        if looked_up is None:
            return None
        *matches, seen_version = looked_up
        if all(other in self.own_versions for other in range(seen_version + 1, version)):
            return tuple(matches)
        return None

    def constants(self, now) -> dict:
        """Per table, the values every row of this batch shares (Python values: insert_rows adapts them)."""
        company, run = self.company_id, self.run.pk
        stamps = {"company_id": company, "created_at": now, "updated_at": now}
        return {
            Customer: only_others(CUSTOMER_COLUMNS, CUSTOMER_VARYING, {
                **stamps, "kana": "", "kana_key": "", "gender": "", "birth_date": None, "employer": "", "annual_income": None,
                "household_size": None, "line_user_id": "", "is_unsubscribed": False, "deleted_at": None,
            }),
            Contact: only_others(CONTACT_COLUMNS, CONTACT_VARYING, stamps),
            ContactPoint: only_others(POINT_COLUMNS, POINT_VARYING, {"company_id": company, "invalid_reason": ""}),
            Case: only_others(CASE_COLUMNS, CASE_VARYING, {
                **stamps, "status": CaseStatus.NEW, "sub_status_id": None, "rank_id": None, "project_id": self.params["project_id"],
                "origin": CaseOrigin.LEAD_IMPORT, "source_system": SOURCE_SYSTEM, "started_on": timezone.localdate(),
                "first_inquiry_date": None, "first_inquiry_source": "", "first_inquiry_listing_ref": "", "first_inquiry_listing_name": "",
                "auto_intro_mail": False, "other_info": "", "needs_review": False, "review_messages": [], "custom_values": {},
                "next_action_at": None, "next_action": "", "last_contact_at": None, "deleted_at": None,
            }),
            LedgerEntry: only_others(LEDGER_COLUMNS, LEDGER_VARYING, {"company_id": company, "run_id": run, "source_system": SOURCE_SYSTEM,
                                                                      "created_at": now}),
            RowIssue: only_others(ISSUE_COLUMNS, ISSUE_VARYING, {"company_id": company, "run_id": run}),
        }

    def ledger_row(self, lead, outcome, target_id=None, before=None) -> tuple:
        """A ledger row in LEDGER_VARYING order. `before` (a dict) is encoded here."""
        encoded = None if before is None else CONTACT_ADDED_JSON if before is CONTACT_ADDED else to_json(before)
        return (f"{self.run.pk}:{lead.row_number}", lead.row_number, outcome.value,
                "crm.customer" if target_id is not None or before is not None else "", target_id, encoded)

    def fill_ledger_targets(self, ledger: list[tuple], resolved) -> None:
        """Contact rows of leads created in this batch learn their customer id once it is allocated."""
        customer_by_row = {lead.row_number: customer_id for lead, customer_id in resolved}
        for index, row in enumerate(ledger):
            if row[LEDGER_TARGET] is None and row[LEDGER_BEFORE] == CONTACT_ADDED_JSON:
                ledger[index] = (*row[:LEDGER_TARGET], customer_by_row[row[LEDGER_ROW_NUMBER]], *row[LEDGER_TARGET + 1:])

    def write_contacts(self, rows: list[tuple[LeadRow, int]], constants: dict) -> None:
        contact_ids = allocate_ids(Contact, len(rows))
        positions: Counter = Counter()
        contacts, points = [], []
        phone, email = ContactPointKind.PHONE.value, ContactPointKind.EMAIL.value
        for (lead, customer_id), contact_id in zip(rows, contact_ids, strict=True):
            contacts.append((contact_id, customer_id, lead.contact_name, lead.contact_kana, positions[customer_id]))
            positions[customer_id] += 1
            points.append((contact_id, customer_id, phone, lead.phone_raw[:300], lead.phone, 0))
            if lead.email_raw:
                points.append((contact_id, customer_id, email, lead.email_raw[:300], lead.email, 1))
        insert_rows(Contact, CONTACT_VARYING, contacts, adapted=True, constants=constants[Contact])
        insert_rows(ContactPoint, POINT_VARYING, points, adapted=True, constants=constants[ContactPoint])

    def write_cases(self, new_leads: list[LeadRow], customer_ids: list[int], constants: dict) -> None:
        case_ids = allocate_ids(Case, len(new_leads))
        numbers = iter(allocate_case_numbers(self.company_id, len(new_leads)))
        cases = []
        default_unit, run = self.params["org_unit_id"], self.run.pk
        for lead, customer_id, case_id in zip(new_leads, customer_ids, case_ids, strict=True):
            assignee = self.assignees[lead.assignee_email] if lead.assignee_email else self.importer
            cases.append((case_id, customer_id, lead.case_kind or self.case_kind, self.primary_units.get(assignee.pk) or default_unit, assignee.pk,
                          case_source_id(run, lead.row_number), next(numbers), lead.first_inquiry_date, lead.first_inquiry_source, lead.note))
        # No desired conditions row: a lead has none yet; the first edit creates it (every reader allows for none).
        insert_rows(Case, CASE_VARYING, cases, adapted=True, constants=constants[Case])

    def resolve_assignees(self, rows) -> None:
        wanted = {lead.assignee_email for lead in rows if lead.assignee_email} - set(self.assignees)
        if wanted:
            for user in User.objects.filter(company_id=self.company_id, email__in=wanted, is_active=True):
                self.assignees[user.email] = user

    def existing_matches(self, rows, looked_up=None) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """Per key (name, phone, e-mail), the existing customer a row duplicates: the lowest id not created by this run.

        `looked_up`: the batch's `candidate_matches`, when the reading process looked them up already."""
        matches = looked_up if looked_up is not None else candidate_matches(self.company_id, self.duplicate_keys, rows)
        run_customers = self.run_customer_ids
        return tuple(
            {key: lowest for key, ids in by_key.items() if (lowest := min((pk for pk in ids if pk not in run_customers), default=None))}
            for by_key in matches
        )

    def duplicate_of(self, lead, by_name, by_phone, by_email) -> tuple[int | str | None, str]:
        """An existing customer's id, or the lead key of a lead earlier in this file, that the row duplicates.

        A strong match wins over a weak one: a row whose name matches one customer while its phone or
        e-mail address is another's duplicates the other."""
        named = by_name.get(lead.lead_key) if DuplicateKey.NAME in self.duplicate_keys else None
        if named is not None and same_point(lead, named, by_phone, by_email):
            return named, "name"
        for key, value, existing, earlier_leads in ((DuplicateKey.PHONE, lead.phone, by_phone, self.run_phones),
                                                    (DuplicateKey.EMAIL, lead.email, by_email, self.run_emails)):
            if key not in self.duplicate_keys or not value:
                continue
            if value in existing:
                return existing[value], key.value
            earlier = earlier_leads.get(value)
            # Within the file, a phone or e-mail seen under another lead is a duplicate; under the same
            # lead it is just another contact row of that lead.
            if earlier is not None and earlier != lead.lead_key:
                return earlier, f"{key.value}_in_file"
        return (named, "name") if named is not None else (None, "")

    def overwrite(self, lead: LeadRow, customer_id: int, counts: Counter) -> dict:
        """Update the existing lead with the row's non-empty values; returns what it was (for revert)."""
        customer = Customer.objects.for_company(self.company_id).get(pk=customer_id)
        values = {name: getattr(lead, name) for name in OVERWRITE_FIELDS if getattr(lead, name)}
        changed = {name: value for name, value in values.items() if getattr(customer, name) != value}
        custom = {**customer.custom_values, **lead.custom}
        # Dates as ISO text in the ledger (JSON); a revert's update() reads them back.
        before = {"customer": {name: json_value(getattr(customer, name)) for name in changed}, "contacts": [], "points": []}
        if custom != customer.custom_values:
            before["customer"]["custom_values"] = customer.custom_values
            changed["custom_values"] = custom
        self.overwritten.add(customer_id)
        if changed:
            self.overwritten_blocks.extend(duplicate_block_values(customer))
            for name, value in changed.items():
                setattr(customer, name, value)
            customer.save(update_fields=[*changed, "updated_at"])
        contact = Contact.objects.for_company(self.company_id).filter(customer_id=customer_id, name=lead.contact_name).first()
        if contact is None:
            contact = Contact.objects.create(company_id=self.company_id, customer_id=customer_id, name=lead.contact_name,
                                             kana=lead.contact_kana, position=Contact.objects.for_company(self.company_id).filter(customer_id=customer_id).count())
            before["contacts"].append(contact.pk)
            counts["contacts_created"] += 1
        elif lead.contact_kana and contact.kana != lead.contact_kana:
            before["contact_kana"] = {"id": contact.pk, "kana": contact.kana}
            contact.kana = lead.contact_kana
            contact.save(update_fields=["kana", "updated_at"])
        existing = set(ContactPoint.objects.for_company(self.company_id).filter(contact=contact).values_list("normalized", flat=True))
        for kind, raw, normalized in ((ContactPointKind.PHONE, lead.phone_raw, lead.phone), (ContactPointKind.EMAIL, lead.email_raw, lead.email)):
            if raw and normalized not in existing:
                point = ContactPoint.objects.create(company_id=self.company_id, contact=contact, customer_id=customer_id, kind=kind,
                                                    raw=raw[:300], normalized=normalized, position=len(existing))
                before["points"].append(point.pk)
        return before


def json_value(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


def only_others(columns: tuple[str, ...], varying: tuple[str, ...], values: dict) -> dict:
    """The constant columns of a table: every column not in `varying`, each with its value (KeyError
    when a column, say a new model field, has none: the import must decide what it writes there)."""
    return {name: values[name] for name in columns if name not in varying}


def customer_row(lead: LeadRow, customer_id: int, customer_kind: str) -> tuple:
    """A new lead's customer in CUSTOMER_VARYING order; `customer_kind`: the import's, unless the row says."""
    # A lead named after its contact (a person) is also found by the contact's reading.
    kana = lead.contact_kana if lead.is_named_after_contact else ""
    return (customer_id, lead.customer_kind or customer_kind, lead.lead_name, lead.lead_key, lead.postal_code, lead.prefecture, lead.city,
            lead.street, lead.building, lead.homepage, lead.custom_json or (to_json(lead.custom) if lead.custom else EMPTY_DICT), lead.birth_date,
            kana, reading_key(kana) if kana else "")


def same_point(lead: LeadRow, customer_id: int, by_phone: dict[str, int], by_email: dict[str, int]) -> bool:
    """Whether the row's phone or e-mail address belongs to the existing customer its name matched."""
    return by_phone.get(lead.phone) == customer_id or bool(lead.email) and by_email.get(lead.email) == customer_id


def candidate_matches(company_id: int, duplicate_keys, rows) -> tuple[dict[str, list[int]], dict[str, list[int]], dict[str, list[int]]]:
    """Customers of the company (not in the trash) sharing a duplicate key with a valid row, per key
    (name, phone, e-mail): key -> ids. One query per key and batch.

    No ORDER BY in SQL: it would make SQLite walk the company's rows in id order instead of using the
    (company, key) indexes.
    """
    by_name: dict[str, list[int]] = {}
    by_phone: dict[str, list[int]] = {}
    by_email: dict[str, list[int]] = {}
    rows = [lead for lead in rows if not lead.errors]
    if DuplicateKey.NAME in duplicate_keys and rows:
        keys = {lead.lead_key for lead in rows}
        for pk, key in Customer.objects.for_company(company_id).filter(name_key__in=keys, deleted_at__isnull=True).values_list("pk", "name_key"):
            by_name.setdefault(key, []).append(pk)
    if DuplicateKey.PHONE in duplicate_keys and rows:
        phones = {lead.phone for lead in rows}
        points = ContactPoint.objects.for_company(company_id).filter(
            normalized__in=phones, customer__deleted_at__isnull=True
        ).exclude(kind=ContactPointKind.EMAIL).order_by()
        for customer_id, phone in points.values_list("customer_id", "normalized"):
            by_phone.setdefault(phone, []).append(customer_id)
    emails = {lead.email for lead in rows if lead.email} if DuplicateKey.EMAIL in duplicate_keys else set()
    if emails:
        points = ContactPoint.objects.for_company(company_id).filter(
            normalized__in=emails, kind=ContactPointKind.EMAIL, customer__deleted_at__isnull=True
        ).order_by()
        for customer_id, email in points.values_list("customer_id", "normalized"):
            by_email.setdefault(email, []).append(customer_id)
    return by_name, by_phone, by_email


def looked_up_matches(lookup: tuple, rows) -> tuple[dict, dict, dict, int]:
    """`candidate_matches` of the rows (`lookup`: company id, duplicate keys), with the version of the
    company's duplicate lock noted before looking (the writer learns from it whether they are still current)."""
    company_id, duplicate_keys = lookup
    version = write_version(company_id, DUPLICATE_LOCK)
    return (*candidate_matches(company_id, duplicate_keys, rows), version)


def converted_batches(file_name: str, params: dict, custom_fields: dict, after_row: int, lookup: tuple | None = None,
                      up_to_row: int | None = None):
    """Batches of converted rows after `after_row`, up to `up_to_row` (a range; None: to the end), in the
    reading process. With `lookup`
    (company id, duplicate keys), each batch carries the `looked_up_matches` of its rows, looked up
    through this process's own database connection."""
    if lookup is not None:
        use_own_connections()
        apply_run_settings()
    path = Path(default_storage.path(file_name))
    table = open_table(path, encoding=params.get("encoding") or None, delimiter=params.get("delimiter") or None,
                       sheet=params.get("sheet") or None, header_row=params.get("header_row") or None)
    converter = LeadConverter(column_indexes(params["mapping"], table.info.headers), custom_fields,
                              params.get("region", "JP"), table.info.headers)
    batch_rows = int(params.get("batch_rows") or BATCH_ROWS)
    rows: list[LeadRow] = []
    source_rows = 0
    for row in table.rows():
        if row.number <= after_row:
            continue
        if up_to_row is not None and row.number > up_to_row:
            break
        lead = converter.convert(row.number, row.cells)
        # JSON text is encoded here, beside the writer: the custom values, and the cells of a failing row.
        if lead.custom:
            lead.custom_json = to_json(lead.custom)
        if lead.errors:
            lead.cells_json, lead.cells = to_json([cell_json(cell) for cell in lead.cells]), ()
        elif not lead.assignee_email:
            # The writer needs the original cells only for a failing row (an unknown assignee fails
            # there): not sending them halves what crosses to the writing process.
            lead.cells = ()
        rows.append(lead)
        source_rows += 1
        if len(rows) >= batch_rows:
            yield Batch(rows=rows, last_row=rows[-1].row_number, source_rows=source_rows,
                        lookups=looked_up_matches(lookup, rows) if lookup else None)
            rows, source_rows = [], 0
    if rows:
        yield Batch(rows=rows, last_row=rows[-1].row_number, source_rows=source_rows,
                    lookups=looked_up_matches(lookup, rows) if lookup else None)


# json.dumps(value, ensure_ascii=False) builds this encoder anew on every call; the reading process encodes
# a value per row.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def to_json(value) -> str:
    """A JSON column's value as the database takes it (what bulk.py's adapter would make of it):
    json.dumps(value, ensure_ascii=False)."""
    return _JSON_ENCODER.encode(value)


def cell_json(cell):
    from estatecrm.pipeline.readers import cell_text

    return cell if isinstance(cell, str | int | float | bool) or cell is None else cell_text(cell)


def mapping_problem_message(key: str, code: str, header: str) -> str:
    from django.utils.translation import gettext as _

    if code == "required_field_unmapped":
        return _("The required field “%(field)s” is not mapped to a column.") % {"field": key}
    if code == "unknown_header":
        return _("The column “%(header)s” mapped to “%(field)s” is not in the file.") % {"header": header, "field": key}
    return _("“%(field)s” is not a field of this import.") % {"field": key}


@register_job
class LeadImportRevertJob(RevertJob):
    """Undoes a lead import (`params["run_id"]`) from its last row up, the rows of REVERT_BATCH row numbers per
    transaction: each lead it created (selectors.created_leads) has its case put in the trash, and its customer
    too once none of the customer's cases is left outside it; overwritten values come back from each ledger
    entry's `before` (the last row's first, so two updates of one lead end in its original values); contacts
    and phones added to existing leads go. Every row changed is stamped with the revert's time (`params["at"]`).
    The checkpoint is the lowest row number of the rows undone so far: a revert resumed after a crash goes on
    below it, and the counts committed with each batch stay exact. When it completes, the import is marked
    reverted in the same transaction.

    A case the import created that a 名寄せ link moved to another customer goes to the trash alone: that
    customer keeps its other cases (an existing customer is never trashed by the revert of a later import)."""

    kind = revert_kind(RUN_KIND)
    label = gettext_lazy("Revert of a lead import")

    def check_revertible(self, *, force: bool) -> None:
        from estatecrm.leads.actions import check_lead_import_revertible

        check_lead_import_revertible(self.target, force=force)

    def rows_to_undo(self) -> int:
        top = last_row_written(self.target)
        created = sum(1 for _lead in created_leads(self.company_id, self.target.pk, 0, top))
        return ledger_rows(self.target).count() + created

    def batches(self, after_row: int, up_to_row: int | None = None):
        below = after_row or last_row_written(self.target) + 1
        entries = ledger_rows(self.target)
        while below > 1:
            first = max(below - REVERT_BATCH, 1)
            rows = [(row, LedgerOutcome.CREATED, case_id, customer_id)
                    for row, case_id, customer_id in created_leads(self.company_id, self.target.pk, first - 1, below - 1)]
            rows += entries.filter(row_number__gte=first, row_number__lt=below).values_list("row_number", "outcome", "target_id", "before")
            rows.sort(key=lambda row: row[0], reverse=True)
            below = first
            if rows:
                yield Batch(rows=rows, last_row=first, source_rows=len(rows))

    def write(self, batch: Batch) -> Counter:
        company_id, at = self.company_id, self.at
        counts: Counter = Counter(leads_trashed=0)
        # Rows are (row, CREATED, case id, customer id) for the leads the import created, (row, outcome, target id,
        # before) for its ledger entries.
        created_cases = [case_id for _row, outcome, case_id, _customer in batch.rows if outcome == LedgerOutcome.CREATED]
        created = {customer_id for _row, outcome, _case, customer_id in batch.rows if outcome == LedgerOutcome.CREATED}
        updated = [target_id for _row, outcome, target_id, before in batch.rows if outcome == LedgerOutcome.UPDATED and before and target_id]
        # What the candidates of other customers may hang on: the points removed, the reading and postal code changed back.
        removed_values = set(ContactPoint.objects.for_company(company_id).filter(
            pk__in=[pk for _row, outcome, _target, before in batch.rows if outcome == LedgerOutcome.UPDATED and before
                    for pk in before.get("points", ())]).values_list("normalized", flat=True))
        blocks = [block for customer in Customer.objects.for_company(company_id).filter(pk__in=updated) for block in duplicate_block_values(customer)] if updated else []
        if created_cases:
            cases = Case.objects.for_company(company_id)
            cases.filter(pk__in=created_cases, deleted_at__isnull=True).update(deleted_at=at)
            # The customers that keep a case outside the trash stay. Read by the customer index, the trash state in
            # Python: with `deleted_at IS NULL` in the query, SQLite (no statistics) walks the company's live cases
            # by case_deleted_idx for each customer (measured: a 100,000-row revert ran for minutes).
            keep = {customer_id for customer_id, deleted_at in cases.filter(customer_id__in=created).values_list("customer_id", "deleted_at")
                    if deleted_at is None}
            counts["leads_trashed"] = Customer.objects.for_company(company_id).filter(pk__in=created - keep, deleted_at__isnull=True).update(deleted_at=at)
        for _row, outcome, target_id, before in batch.rows:
            if outcome != LedgerOutcome.UPDATED or not before:
                continue
            if before.get("customer"):
                Customer.objects.for_company(company_id).filter(pk=target_id).update(**before["customer"], updated_at=at)
            if before.get("contact_kana"):
                Contact.objects.for_company(company_id).filter(pk=before["contact_kana"]["id"]).update(kana=before["contact_kana"]["kana"])
            if before.get("points"):
                ContactPoint.objects.for_company(company_id).filter(pk__in=before["points"]).delete()
            if before.get("contacts"):
                Contact.objects.for_company(company_id).filter(pk__in=before["contacts"]).delete()
            # Contacts this import added to a lead it created are trashed with their lead.
            counts["leads_restored"] += 1
        refresh_duplicates(company_id, {*created, *updated}, values=removed_values, blocks=blocks)
        return counts

    def before_finish(self, status: str, counts: Counter) -> None:
        counts.setdefault("leads_trashed", 0)
        if status != RunStatus.COMPLETED:
            return
        user = self.run.created_by
        Run.objects.for_company(self.company_id).filter(pk=self.target.pk).update(status=RunStatus.REVERTED, reverted_at=self.at, reverted_by=user)
        record_event(company_id=self.company_id, actor=user, verb="revert", instance=self.target, after=dict(counts), run_id=self.target.pk)
