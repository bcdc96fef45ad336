"""The move-in from another vendor as pipeline jobs: one run per phase, and its revert as a run.

A phase's records are processed in a fixed order (agents, listings, seekers, activities, links; file
order within each), so the checkpoint is a position in it and a run killed at any point resumes after
its last committed batch. Each batch (one transaction, the engine's) writes what its records become,
their ledger entries (`ledger_system(vendor, entity)`, the record's key: a second load of the package
skips them as already loaded) and one `RecordOutcome` per record, and counts them as choices.py says.

Scope: the active phase loads the agents, the active listings and seekers and the links between an
active seeker and an active listing; the archive phase the archived listings and seekers, every
activity (the history) and the remaining links.
"""

import datetime
import gc
import json
import logging
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Max, OuterRef, Subquery
from django.db.models.deletion import ProtectedError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError
from estatecrm.crm.bulk_columns import CASE_COLUMNS, CONTACT_COLUMNS, CUSTOMER_COLUMNS, POINT_COLUMNS
from estatecrm.crm.case_numbers import allocate_case_numbers
from estatecrm.crm.choices import (
    ActivityDirection,
    ActivityKind,
    CaseKind,
    CaseOrigin,
    CaseStatus,
    ContactPointKind,
    CustomerKind,
    Layout,
    ListingStatus,
)
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
    Listing,
    ListingStation,
)
from estatecrm.normalize import name_key, normalize_email, normalize_phone, reading_key
from estatecrm.pipeline.bulk import allocate_ids, insert_rows
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus
from estatecrm.pipeline.engine import Batch, Job, RunRefused, register_job
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.pipeline.readers import ReadError
from estatecrm.pipeline.reverts import RevertJob, revert_kind
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import Membership, OrgUnit, User
from estatecrm.vendor import error_codes
from estatecrm.vendor.choices import (
    ENTITIES,
    RUN_KIND,
    Entity,
    FailReason,
    Outcome,
    Phase,
    SkipReason,
    ledger_system,
)
from estatecrm.vendor.models import MoveIn, RecordOutcome

logger = logging.getLogger(__name__)

BATCH_RECORDS = 3000
REVERT_BATCH = 3000
CREATED = LedgerOutcome.CREATED.value
LEDGER_SKIPPED = LedgerOutcome.SKIPPED.value
LOADED, SKIPPED, FAILED = Outcome.LOADED.value, Outcome.SKIPPED.value, Outcome.FAILED.value
TEN_THOUSAND = Decimal(10000)
ONE_DECIMAL = Decimal("0.1")
CENTS = Decimal("0.01")
MONEY_LIMIT = Decimal(10) ** 12  # DecimalField(max_digits=14, decimal_places=2)
LAYOUTS = set(Layout.values)
NUL, REPLACEMENT = "\x00", "\ufffd"
ACTIVITY_KINDS = {"call": ActivityKind.CALL.value, "mail": ActivityKind.EMAIL_OUT.value, "visit": ActivityKind.VISIT.value,
                  "note": ActivityKind.NOTE.value}
CONTACT_ACTIVITY_KINDS = {ActivityKind.CALL.value, ActivityKind.EMAIL_OUT.value, ActivityKind.VISIT.value, ActivityKind.SHOWING.value}
JP_MOBILE_PREFIXES = ("+8170", "+8180", "+8190")

LISTING_COLUMNS = (
    "id", "company_id", "ref", "name", "kind", "status", "rent", "management_fee", "deposit_months", "key_money_months", "price", "layout",
    "area", "postal_code", "prefecture", "city", "street", "building", "built_on", "feature_bits", "suumo_id", "homes_id", "athome_id",
    "notes", "agent_id", "currency", "amount", "created_at", "updated_at",
)
STATION_COLUMNS = ("company_id", "listing_id", "line", "station", "walk_minutes", "position")
DESIRED_COLUMNS = (
    "company_id", "case_id", "rent_min", "rent_max", "includes_management_fee", "price_min", "price_max", "layouts", "area_min", "area_max",
    "land_area_min", "walk_minutes", "building_age", "lines_stations", "areas", "move_in", "features", "management_comment", "currency",
    "budget_min", "budget_max",
)
ACTIVITY_COLUMNS = ("id", "company_id", "case_id", "kind", "occurred_at", "actor_id", "subject", "body", "is_done", "org_unit_id",
                    "is_migrated", "direction", "created_at", "updated_at")
INTRODUCTION_COLUMNS = ("id", "company_id", "case_id", "listing_id", "listing_ref", "listing_name", "rent_or_price", "layout", "introduced_on",
                        "method", "reaction", "is_migrated", "created_at", "updated_at")
LEDGER_COLUMNS = ("company_id", "run_id", "source_system", "source_key", "row_number", "outcome", "target_type", "target_id", "before",
                  "created_at")
OUTCOME_COLUMNS = ("company_id", "run_id", "entity", "position", "row_number", "source_id", "outcome", "reason", "detail", "target_type",
                   "target_id")
SOURCE_ID_LENGTH = RecordOutcome._meta.get_field("source_id").max_length
DETAIL_LENGTH = RecordOutcome._meta.get_field("detail").max_length
LEDGER_KEY_LENGTH = LedgerEntry._meta.get_field("source_key").max_length


def limit(model, field: str) -> int:
    return model._meta.get_field(field).max_length


def shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def man_yen_rent(amount: Decimal | None) -> Decimal | None:
    """Yen -> 万円 with one decimal, rounded half up (rents)."""
    return None if amount is None else (amount / TEN_THOUSAND).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def man_yen_price(amount: Decimal | None) -> int | None:
    """Yen -> whole 万円, rounded half up (prices)."""
    return None if amount is None else int((amount / TEN_THOUSAND).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    """A source time without an offset is taken in the project's time zone."""
    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment)


def money_total(records, field: str) -> str:
    return str(sum((getattr(record, field) for record in records if getattr(record, field) is not None), Decimal(0)))


def package_path(run: Run) -> Path:
    return Path(default_storage.path(run.source_file.name))


def extract_package(profile, path, params: dict):
    """The package read through the profile, with the region and currency the start was given (if any)."""
    from estatecrm.vendor.profiles import extract

    return extract(profile, path, region=params.get("region") or None, currency=params.get("currency") or None)


# Packages the start of a run has just read, handed to the run when the same process executes it (the CLI:
# a package of 150,000 records is read once instead of twice). A worker reads the run's copy itself.
# Keyed by the run's random token (an id comes back after a rolled-back transaction on SQLite).
READ_AT_START: dict[str, object] = {}


def hand_over(run: Run, extracted) -> None:
    READ_AT_START.clear()  # (one at a time: a run never executed here must not keep its package in memory)
    READ_AT_START[run.token] = extracted


def phase_items(extracted, phase: str) -> list[tuple[str, object]]:
    """(entity, record) of the phase, in processing order."""
    active_listings = {record.key for record in extracted.listings if record.is_active}
    active_seekers = {record.key for record in extracted.seekers if record.is_active}
    items: list[tuple[str, object]] = []
    if phase == Phase.ACTIVE:
        items += [(Entity.AGENTS.value, record) for record in extracted.agents]
        items += [(Entity.LISTINGS.value, record) for record in extracted.listings if record.is_active]
        items += [(Entity.SEEKERS.value, record) for record in extracted.seekers if record.is_active]
        items += [(Entity.LINKS.value, record) for record in extracted.links
                  if record.seeker_key in active_seekers and record.listing_key in active_listings]
    else:
        items += [(Entity.LISTINGS.value, record) for record in extracted.listings if not record.is_active]
        items += [(Entity.SEEKERS.value, record) for record in extracted.seekers if not record.is_active]
        items += [(Entity.ACTIVITIES.value, record) for record in extracted.activities]
        items += [(Entity.LINKS.value, record) for record in extracted.links
                  if not (record.seeker_key in active_seekers and record.listing_key in active_listings)]
    return items


def source_summary(items: list[tuple[str, object]]) -> dict:
    """`Run.detected["source"]`: per entity of the phase, its record count and money totals."""
    by_entity: dict[str, list] = {entity: [] for entity in ENTITIES}
    for entity, record in items:
        by_entity[entity].append(record)
    money_fields = {Entity.LISTINGS.value: ("amount",), Entity.SEEKERS.value: ("budget_min", "budget_max")}
    return {entity: {"count": len(records), "money": {name: money_total(records, name) for name in money_fields.get(entity, ())}}
            for entity, records in by_entity.items()}


def agent_keys(items) -> set[str]:
    """Every agent key the phase's records name (the agents file's and the records' agent columns)."""
    keys = set()
    for entity, record in items:
        key = record.key if entity == Entity.AGENTS else getattr(record, "agent_key", "")
        if key:
            keys.add(key)
    return keys


def fold_regions(extracted) -> None:
    """Outside Japan a state or region (a Polish województwo: "małopolskie") is no 都道府県: it joins the city
    ("Kraków, małopolskie") instead of the prefecture field, which holds Japan's 47 names."""
    for record in (*extracted.listings, *extracted.seekers):
        if record.prefecture:
            record.city = ", ".join(part for part in (record.city, record.prefecture) if part)
            record.prefecture = ""


def agent_emails(extracted) -> dict[str, str]:
    """Agent key -> the agent's e-mail (lower case), for profiles whose agents are keyed by the vendor's user id
    (Salesforce's User Id); a key without an agent record is taken as an e-mail itself."""
    return {record.key: record.email.strip().lower() for record in extracted.agents if record.email.strip()}


def agent_email(emails: dict[str, str], agent_map: dict[str, str], key: str) -> str:
    """The e-mail of the user an agent key names: through the agents file, then the agent map."""
    email = emails.get(key, key).strip().lower()
    return agent_map.get(email, agent_map.get(key.lower(), email))


def duplicate_records(extracted) -> set[int]:
    """id() of the records whose key an earlier record of the same entity has (file order)."""
    duplicates = set()
    for entity in ENTITIES:
        seen = set()
        for record in extracted.records(entity):
            if record.key in seen:
                duplicates.add(id(record))
            seen.add(record.key)
    return duplicates


def listing_amount_texts(extracted) -> dict[str, object]:
    """Listing key -> its record (the first of the key), for the names activities and links show."""
    found: dict[str, object] = {}
    for record in extracted.listings:
        found.setdefault(record.key, record)
    return found


class Lookups:
    """What the writer needs of the receiving company, read once per process (a resumed run reads again)."""

    def __init__(self, company_id: int, params: dict, extracted):
        self.company_id = company_id
        users = list(User.objects.filter(company_id=company_id).values_list("pk", "email"))
        self.users_by_email = {email.lower(): pk for pk, email in users}
        self.agent_map = {key.lower(): value.lower() for key, value in (params.get("agent_map") or {}).items()}
        self.agent_emails = agent_emails(extracted)
        self.primary_units = dict(Membership.objects.for_company(company_id).filter(is_primary=True).values_list("user_id", "org_unit_id"))
        units = list(OrgUnit.objects.for_company(company_id).values_list("pk", "code", "name", "parent_id"))
        roots = sorted(pk for pk, _code, _name, parent in units if parent is None)
        self.root_unit_id = roots[0] if roots else None
        by_code = {code: pk for pk, code, _name, _parent in units}
        by_name = {name: pk for pk, _code, name, _parent in units}
        self.agent_units: dict[str, int] = {}
        for record in extracted.agents:
            if record.unit:
                unit_id = by_code.get(record.unit) or by_name.get(record.unit)
                if unit_id:
                    self.agent_units.setdefault(record.key, unit_id)

    def user_of(self, agent_key: str) -> int | None:
        if not agent_key:
            return None
        return self.users_by_email.get(self.email_of(agent_key))

    def email_of(self, agent_key: str) -> str:
        return agent_email(self.agent_emails, self.agent_map, agent_key)

    def unit_of(self, agent_key: str, user_id: int | None) -> int | None:
        return (self.primary_units.get(user_id) if user_id else None) or self.agent_units.get(agent_key) or self.root_unit_id


@register_job
class VendorImportJob(Job):
    kind = RUN_KIND
    label = gettext_lazy("Move-in from another vendor")
    permission_rule = "vendor_migration"

    def __init__(self, run: Run):
        super().__init__(run)
        self.company_id = run.company_id
        self.params = run.params
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        self.move_in = MoveIn.objects.for_company(self.company_id).get(pk=self.params["move_in_id"])
        self.phase = self.params["phase"]
        from estatecrm.vendor.profiles import profile_for_move_in

        try:
            self.extracted = READ_AT_START.pop(self.run.token, None) or extract_package(profile_for_move_in(self.move_in), package_path(self.run), self.params)
        except OSError as error:
            raise ReadError(error_codes.PACKAGE_UNREADABLE, _("The package could not be read: %(error)s") % {"error": error}) from None
        except ApplicationError as error:  # the profile (a refusal of the profiles' own)
            raise RunRefused(error.code, error.message) from None
        if not self.extracted.check.is_loadable:
            raise ReadError(error_codes.PACKAGE_INCOMPLETE, _("The package lacks files or columns the profile needs."))
        if self.extracted.region != "JP":
            fold_regions(self.extracted)
        gc.freeze()  # the records stay for the whole run: the collector need not scan them again
        self.items = phase_items(self.extracted, self.phase)
        duplicates = duplicate_records(self.extracted)
        self.is_duplicate = [id(record) in duplicates for _entity, record in self.items]
        self.lookups = Lookups(self.company_id, self.params, self.extracted)
        self.listings_by_key = listing_amount_texts(self.extracted)
        self.seeker_keys = {record.key for record in self.extracted.seekers}
        self.seeker_agents = {record.key: record.agent_key for record in reversed(self.extracted.seekers)}  # (the first of a key wins)
        self.vendor = self.move_in.vendor
        self.systems = {entity: ledger_system(self.vendor, entity) for entity in ENTITIES}
        self.currency = self.move_in.currency
        self.region = self.move_in.region
        self.is_yen = self.currency == "JPY"
        self.listing_ids: dict[str, int] = {}  # listing key -> id, loaded by this or an earlier run
        self.case_ids: dict[str, int] = {}  # seeker key -> case id
        self.language = self.params.get("language") or "ja"
        self.acting_user = User.objects.filter(pk=self.params.get("acting_user_id")).first()
        self._loaded = True

    # -- reading -------------------------------------------------------------------------------
    def prepare(self) -> int:
        self.load()
        self.run.detected = {**(self.run.detected or {}), "source": source_summary(self.items), "phase": self.phase,
                             "vendor": self.vendor, "currency": self.currency, "region": self.region}
        return len(self.items)

    def batches(self, after_row: int):
        self.load()
        size = int(self.params.get("batch_records") or BATCH_RECORDS)
        for start in range(after_row, len(self.items), size):
            chunk = list(range(start, min(start + size, len(self.items))))
            yield Batch(rows=chunk, last_row=chunk[-1] + 1, source_rows=len(chunk))

    # -- writing -------------------------------------------------------------------------------
    def write(self, batch: Batch) -> Counter:
        self.load()
        with translation.override(self.language):
            return self._write(batch)

    def _write(self, batch: Batch) -> Counter:
        now = timezone.now()
        self.now = now
        self.counts: Counter = Counter()
        self.ledger: list[tuple] = []
        self.outcomes: list[tuple] = []
        groups: dict[str, list[int]] = {}
        for index in batch.rows:
            groups.setdefault(self.items[index][0], []).append(index)
        if batch.rows[0] == 0:
            self.create_agents()
        for entity in ENTITIES:
            if entity in groups:
                getattr(self, f"write_{entity}")(groups[entity])
        insert_rows(LedgerEntry, LEDGER_COLUMNS, self.ledger)
        insert_rows(RecordOutcome, OUTCOME_COLUMNS, self.outcomes)
        record_event(company_id=self.company_id, actor=self.acting_user, verb="vendor_import", object_type="pipeline.run",
                     object_id=self.run.pk, object_repr=self.run.source_name, after=dict(self.counts), run_id=self.run.pk)
        return self.counts

    def outcome(self, index: int, outcome: str, reason: str = "", detail: str = "", target_type: str = "", target_id=None) -> None:
        entity, record = self.items[index]
        self.counts[f"{entity}:{outcome}"] += 1
        if reason:
            self.counts[f"{entity}:{outcome}:{reason}"] += 1
        if outcome == FAILED:
            self.counts["failed"] += 1
        self.outcomes.append((self.company_id, self.run.pk, entity, index + 1, record.row,
                              shortened(record.key.replace(NUL, REPLACEMENT), SOURCE_ID_LENGTH), outcome, reason,
                              shortened(detail.replace(NUL, REPLACEMENT), DETAIL_LENGTH), target_type, target_id))

    def remember(self, index: int, entity: str, key: str, target_type: str, target_id: int, outcome: str = CREATED) -> None:
        self.ledger.append((self.company_id, self.run.pk, self.systems[entity], key, index + 1, outcome, target_type, target_id, None, self.now))

    def triage(self, indexes: list[int], entity: str) -> tuple[list[int], dict[str, tuple[int, int, str]]]:
        """The records of `indexes` to write (the others get their outcome here: duplicate, already loaded,
        failed by the profile's problems) and the ledger entries found for their keys."""
        keys = [self.items[index][1].key for index in indexes]
        entries = {key: (run_id, target_id, outcome) for key, run_id, target_id, outcome in LedgerEntry.objects.for_company(self.company_id).filter(
            source_system=self.systems[entity], source_key__in=[key[:LEDGER_KEY_LENGTH] for key in keys if NUL not in key]).values_list(
            "source_key", "run_id", "target_id", "outcome")}
        todo = []
        for index in indexes:
            record = self.items[index][1]
            if NUL in record.key or NUL in "".join(record.cells.values()):
                # A NUL character: no database column takes it (PostgreSQL refuses the whole batch).
                column = next((name for name, value in record.cells.items() if NUL in value), "id")
                self.outcome(index, FAILED, FailReason.INVALID_VALUE.value, f"{column}={record.cells.get(column, record.key)}")
            elif self.is_duplicate[index]:
                self.outcome(index, SKIPPED, SkipReason.DUPLICATE_IN_PACKAGE.value)
            elif record.key in entries and not (entity == Entity.AGENTS and entries[record.key][0] == self.run.pk):
                self.outcome(index, SKIPPED, SkipReason.ALREADY_LOADED.value)
            elif len(record.key) > LEDGER_KEY_LENGTH:
                self.outcome(index, FAILED, FailReason.TOO_LONG.value, f"id={record.key}")
            elif record.failures:
                problem = record.failures[0]
                self.outcome(index, FAILED, problem.code, f"{problem.field}={problem.value}")
            else:
                todo.append(index)
        return todo, entries

    def too_long(self, index: int, values) -> bool:
        """Fail the record when one of its (field, value, limit) is too long for its column."""
        for name, value, length in values:
            if value and len(value) > length:
                self.outcome(index, FAILED, FailReason.TOO_LONG.value, f"{name}={value}")
                return True
        return False

    def invalid(self, index: int, name: str, value) -> None:
        self.outcome(index, FAILED, FailReason.INVALID_VALUE.value, f"{name}={value}")

    # -- agents --------------------------------------------------------------------------------
    def create_agents(self) -> None:
        """The first batch creates the agents the start was told to create (`params["create_agents"]`,
        e-mails): inactive users without a usable password, a member of the unit the agents file names or
        of the root unit. A revert of this run removes those nothing uses any more."""
        wanted = self.params.get("create_agents") or []
        if not wanted:
            return
        names = {record.key: record.name for record in self.extracted.agents}
        positions = {record.key: index for index, (entity, record) in enumerate(self.items) if entity == Entity.AGENTS}
        for key in wanted:
            email = self.lookups.email_of(key)
            if email in self.lookups.users_by_email:
                continue
            user = User.objects.create_user(email=email, password=None, name=names.get(key, "")[:limit(User, "name")],
                                            company_id=self.company_id, is_active=False)
            unit_id = self.lookups.agent_units.get(key) or self.lookups.root_unit_id
            Membership.objects.create(company_id=self.company_id, user=user, org_unit_id=unit_id, role=Role.AGENT, is_primary=True)
            self.lookups.users_by_email[email] = user.pk
            self.lookups.primary_units[user.pk] = unit_id
            self.remember(positions.get(key, -1), Entity.AGENTS.value, key, "tenancy.user", user.pk)
            self.counts["users_created"] += 1  # (not an outcome: an agent may be named by records only)
            record_event(company_id=self.company_id, actor=self.acting_user, verb="create", instance=user,
                         after={"email": email, "name": user.name, "is_active": False, "vendor_run": self.run.pk}, run_id=self.run.pk)

    def write_agents(self, indexes: list[int]) -> None:
        todo, entries = self.triage(indexes, Entity.AGENTS.value)
        created_here = {record.key for _e, record in (self.items[index] for index in indexes)} & {
            entry[3] for entry in self.ledger if entry[2] == self.systems[Entity.AGENTS]}
        for index in todo:
            record = self.items[index][1]
            entry = entries.get(record.key)
            if record.key in created_here or (entry and entry[0] == self.run.pk and entry[2] == CREATED):
                user_id = entry[1] if entry else self.lookups.user_of(record.key)
                self.outcome(index, LOADED, target_type="tenancy.user", target_id=user_id)
                continue
            user_id = self.lookups.user_of(record.key)
            if user_id is None:  # (the start's pre-flight refused such packages; a user removed meanwhile)
                self.outcome(index, FAILED, FailReason.UNKNOWN_AGENT.value, f"email={record.key}")
                continue
            self.remember(index, Entity.AGENTS.value, record.key, "tenancy.user", user_id, LEDGER_SKIPPED)
            self.outcome(index, SKIPPED, SkipReason.AGENT_EXISTS.value, target_type="tenancy.user", target_id=user_id)

    # -- listings ------------------------------------------------------------------------------
    def write_listings(self, indexes: list[int]) -> None:
        todo, _entries = self.triage(indexes, Entity.LISTINGS.value)
        refs = {self.items[index][1].key for index in todo}
        taken = set(Listing.objects.for_company(self.company_id).filter(ref__in=refs).values_list("ref", flat=True))
        rows, stations, planned = [], [], []
        is_yen, currency, now = self.is_yen, self.currency, self.now
        for index in todo:
            record = self.items[index][1]
            if self.too_long(index, (("id", record.key, limit(Listing, "ref")), ("title", record.title, limit(Listing, "name")),
                                     ("postal_code", record.postal_code, limit(Listing, "postal_code")),
                                     ("prefecture", record.prefecture, limit(Listing, "prefecture")),
                                     ("city", record.city, limit(Listing, "city")), ("address", record.street, limit(Listing, "street")),
                                     ("station", record.station, limit(ListingStation, "station")))):
                continue
            if record.key in taken:
                self.outcome(index, FAILED, FailReason.LISTING_NUMBER_TAKEN.value, f"id={record.key}")
                continue
            if not record.title.strip():
                self.outcome(index, FAILED, FailReason.MISSING_VALUE.value, "title=")
                continue
            amount = record.amount
            if amount is not None and (amount < 0 or amount >= MONEY_LIMIT):
                self.invalid(index, "price", amount)
                continue
            kind = CaseKind.BUY.value if record.kind == "sale" else CaseKind.RENT.value
            rent = price = None
            if is_yen and amount is not None:
                if kind == CaseKind.RENT:
                    rent = man_yen_rent(amount)
                    if rent >= Decimal(10) ** 7:
                        self.invalid(index, "price", amount)
                        continue
                else:
                    price = man_yen_price(amount)
                    if price > 2_147_483_647:
                        self.invalid(index, "price", amount)
                        continue
            area = record.area_m2
            if area is not None:
                area = area.quantize(CENTS, rounding=ROUND_HALF_UP)
                if area < 0 or area >= Decimal(10) ** 6:
                    self.invalid(index, "area_m2", record.area_m2)
                    continue
            built_on = None
            if record.built_year is not None:
                if not 1000 <= record.built_year <= 9999:
                    self.invalid(index, "built_year", record.built_year)
                    continue
                built_on = datetime.date(record.built_year, 1, 1)
            walk = record.walk_minutes
            if walk is not None and not 0 <= walk <= 32767:
                self.invalid(index, "walk_minutes", walk)
                continue
            notes = dict(record.extra)
            layout = record.layout
            if layout and layout not in LAYOUTS:
                notes.setdefault("layout", layout)
                layout = ""
            agent_id = self.lookups.user_of(record.agent_key)
            taken.add(record.key)
            planned.append(index)
            rows.append([None, self.company_id, record.key, record.title.strip(), kind,
                         ListingStatus.AVAILABLE.value if record.is_active else ListingStatus.HIDDEN.value, rent, None, None, None, price,
                         layout, area, record.postal_code, record.prefecture, record.city, record.street, "", built_on, 0, "", "", "",
                         "\n".join(f"{name}: {value}" for name, value in notes.items() if value), agent_id, currency if amount is not None else "",
                         amount, aware(record.created_at) or now, aware(record.updated_at) or aware(record.created_at) or now])
        ids = allocate_ids(Listing, len(rows))
        for row, listing_id, index in zip(rows, ids, planned, strict=True):
            row[0] = listing_id
            record = self.items[index][1]
            if record.station:
                stations.append((self.company_id, listing_id, "", record.station, record.walk_minutes, 0))
            self.listing_ids[record.key] = listing_id
            self.remember(index, Entity.LISTINGS.value, record.key, "crm.listing", listing_id)
            self.outcome(index, LOADED, target_type="crm.listing", target_id=listing_id)
        insert_rows(Listing, LISTING_COLUMNS, rows)
        insert_rows(ListingStation, STATION_COLUMNS, stations)

    # -- seekers -------------------------------------------------------------------------------
    def seeker_points(self, record) -> list[tuple[str, str, str, str]]:
        points = []
        for raw in record.phones:
            raw = raw.strip()
            if not raw:
                continue
            result = normalize_phone(raw, self.region)
            normalized = result.value if result.is_valid else ""
            kind = ContactPointKind.MOBILE.value if normalized.startswith(JP_MOBILE_PREFIXES) else ContactPointKind.PHONE.value
            points.append((kind, raw, normalized, "" if result.is_valid else result.reason))
        for raw in record.emails:
            raw = raw.strip()
            if not raw:
                continue
            result = normalize_email(raw)
            points.append((ContactPointKind.EMAIL.value, raw, result.value if result.is_valid else "", "" if result.is_valid else result.reason))
        return points

    def other_info(self, record) -> str:
        lines = []
        if record.status_text:
            lines.append(_("Status in %(vendor)s: %(status)s") % {"vendor": self.vendor, "status": record.status_text})
        lines += [f"{name}: {value}" for name, value in record.extra.items() if value]
        return "\n".join(lines)

    def write_seekers(self, indexes: list[int]) -> None:
        todo, _entries = self.triage(indexes, Entity.SEEKERS.value)
        company_id, now, is_yen, currency = self.company_id, self.now, self.is_yen, self.currency
        planned = []
        for index in todo:
            record = self.items[index][1]
            if self.too_long(index, (("id", record.key, limit(Case, "source_id")), ("name", record.name, limit(Customer, "name")),
                                     ("kana", record.kana, limit(Customer, "kana")),
                                     ("postal_code", record.postal_code, limit(Customer, "postal_code")),
                                     ("prefecture", record.prefecture, limit(Customer, "prefecture")),
                                     ("city", record.city, limit(Customer, "city")), ("address", record.street, limit(Customer, "street")),
                                     ("employer", record.employer, limit(Customer, "employer")),
                                     *(("phone", raw, limit(ContactPoint, "raw")) for raw in record.phones),
                                     *(("email", raw, limit(ContactPoint, "raw")) for raw in record.emails))):
                continue
            if not record.name.strip():
                self.outcome(index, FAILED, FailReason.MISSING_VALUE.value, "name=")
                continue
            bad = next(((name, value) for name in ("budget_min", "budget_max") if (value := getattr(record, name)) is not None
                        and (value < 0 or value >= MONEY_LIMIT or (is_yen and value >= Decimal(10) ** 10))), None)
            if bad:
                self.invalid(index, *bad)
                continue
            planned.append(index)
        count = len(planned)
        customer_ids, contact_ids, case_ids = allocate_ids(Customer, count), allocate_ids(Contact, count), allocate_ids(Case, count)
        numbers = allocate_case_numbers(company_id, count)
        link_numbers = allocate_link_numbers(company_id, count)
        customers, contacts, points, cases, desired = [], [], [], [], []
        source_system = self.vendor[:limit(Case, "source_system")]
        for index, customer_id, contact_id, case_id, number, link_number in zip(planned, customer_ids, contact_ids, case_ids, numbers,
                                                                                 link_numbers, strict=True):
            record = self.items[index][1]
            name, kana = record.name.strip(), record.kana.strip()
            customers.append((customer_id, company_id, CustomerKind.PERSON.value, name, name_key(name), kana, reading_key(kana) if kana else "",
                              "", None, record.postal_code, record.prefecture, record.city, record.street, "", record.employer, None, None,
                              "", link_number, "", False, {}, now, now, None))
            contacts.append((contact_id, company_id, customer_id, name, kana, 0, now, now))
            points.extend((company_id, contact_id, customer_id, *point, position) for position, point in enumerate(self.seeker_points(record)))
            agent_id = self.lookups.user_of(record.agent_key)
            kind = CaseKind.BUY.value if record.kind == "buy" else CaseKind.RENT.value
            started = timezone.localtime(aware(record.created_at)).date() if record.created_at else None
            cases.append((case_id, company_id, customer_id, number, kind,
                          CaseStatus.FOLLOWING.value if record.is_active else CaseStatus.CLOSED.value, None, None,
                          self.lookups.unit_of(record.agent_key, agent_id), agent_id, None, CaseOrigin.VENDOR_MIGRATION.value, source_system,
                          record.key, started, None, "", "", "", False, self.other_info(record), False, [], {}, None, "", None, now, now, None))
            rent_min = rent_max = price_min = price_max = None
            if is_yen:
                if kind == CaseKind.RENT:
                    rent_min, rent_max = man_yen_rent(record.budget_min), man_yen_rent(record.budget_max)
                else:
                    price_min, price_max = man_yen_price(record.budget_min), man_yen_price(record.budget_max)
            has_budget = record.budget_min is not None or record.budget_max is not None
            desired.append((company_id, case_id, rent_min, rent_max, None, price_min, price_max,
                            [layout for layout in record.layouts if layout in LAYOUTS], None, None, None, None, None, [],
                            [area for area in record.areas if area], "", [], "", currency if has_budget else "", record.budget_min,
                            record.budget_max))
            self.case_ids[record.key] = case_id
            self.remember(index, Entity.SEEKERS.value, record.key, "crm.case", case_id)
            self.outcome(index, LOADED, target_type="crm.case", target_id=case_id)
        insert_rows(Customer, CUSTOMER_COLUMNS, customers)
        insert_rows(Contact, CONTACT_COLUMNS, contacts)
        insert_rows(ContactPoint, POINT_COLUMNS, points)
        insert_rows(Case, CASE_COLUMNS, cases)
        insert_rows(DesiredConditions, DESIRED_COLUMNS, desired)
        if customer_ids:
            refresh_duplicates(company_id, customer_ids, created=customer_ids)

    # -- what activities and links refer to -------------------------------------------------------
    def resolve(self, entity: str, keys: set[str], known: dict[str, int]) -> None:
        """Fill `known` (key -> target id) with the keys of `entity` an earlier batch or run loaded."""
        missing = [key for key in keys if key and key not in known and len(key) <= LEDGER_KEY_LENGTH]
        if missing:
            known.update(LedgerEntry.objects.for_company(self.company_id).filter(
                source_system=self.systems[entity], source_key__in=missing).values_list("source_key", "target_id"))

    def listing_label(self, listing_key: str) -> str:
        record = self.listings_by_key.get(listing_key)
        return f"{listing_key} {record.title}".strip() if record is not None else listing_key

    # -- activities ----------------------------------------------------------------------------
    def write_activities(self, indexes: list[int]) -> None:
        todo, _entries = self.triage(indexes, Entity.ACTIVITIES.value)
        self.resolve(Entity.SEEKERS.value, {self.items[index][1].seeker_key for index in todo}, self.case_ids)
        rows, planned, last_contact = [], [], {}
        for index in todo:
            record = self.items[index][1]
            if record.seeker_key not in self.seeker_keys:
                self.outcome(index, FAILED, FailReason.UNKNOWN_SEEKER.value, f"seeker_id={record.seeker_key}")
                continue
            case_id = self.case_ids.get(record.seeker_key)
            if case_id is None:
                self.outcome(index, SKIPPED, SkipReason.SEEKER_NOT_LOADED.value)
                continue
            at = aware(record.at)
            if at is None:
                self.outcome(index, FAILED, FailReason.MISSING_VALUE.value, "at=")
                continue
            if self.too_long(index, (("subject", record.subject, limit(Activity, "subject")),)):
                continue
            kind = ACTIVITY_KINDS.get(record.kind, ActivityKind.NOTE.value)
            body = record.text
            if record.listing_key:
                body = "\n".join(part for part in (body, _("Listing: %(listing)s") % {"listing": self.listing_label(record.listing_key)}) if part)
            extra = "\n".join(f"{name}: {value}" for name, value in record.extra.items() if value)
            body = "\n".join(part for part in (body, extra) if part)
            rows.append([None, self.company_id, case_id, kind, at, self.lookups.user_of(record.agent_key), record.subject, body, True,
                         None, True, ActivityDirection.OUTBOUND.value if kind == ActivityKind.EMAIL_OUT else "", self.now, self.now])
            planned.append(index)
            if kind in CONTACT_ACTIVITY_KINDS and (case_id not in last_contact or last_contact[case_id] < at):
                last_contact[case_id] = at
        ids = allocate_ids(Activity, len(rows))
        for row, activity_id, index in zip(rows, ids, planned, strict=True):
            row[0] = activity_id
            self.remember(index, Entity.ACTIVITIES.value, self.items[index][1].key, "crm.activity", activity_id)
            self.outcome(index, LOADED, target_type="crm.activity", target_id=activity_id)
        insert_rows(Activity, ACTIVITY_COLUMNS, rows)
        self.update_last_contact(last_contact)

    def update_last_contact(self, last_contact: dict[int, datetime.datetime]) -> None:
        """The cases' last contact: the latest contact activity, when later than the one they have."""
        if not last_contact:
            return
        adapt = connection.ops.adapt_datetimefield_value
        table, quote = Case._meta.db_table, connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(table)} SET last_contact_at = %s WHERE company_id = %s AND id = %s "
                f"AND (last_contact_at IS NULL OR last_contact_at < %s)",
                [(adapt(at), self.company_id, case_id, adapt(at)) for case_id, at in last_contact.items()])

    # -- links ---------------------------------------------------------------------------------
    def write_links(self, indexes: list[int]) -> None:
        todo, _entries = self.triage(indexes, Entity.LINKS.value)
        self.resolve(Entity.SEEKERS.value, {self.items[index][1].seeker_key for index in todo}, self.case_ids)
        self.resolve(Entity.LISTINGS.value, {self.items[index][1].listing_key for index in todo}, self.listing_ids)
        listing_ids = {self.listing_ids[self.items[index][1].listing_key] for index in todo if self.items[index][1].listing_key in self.listing_ids}
        listings = {pk: (ref, name, kind, rent, price, amount, layout) for pk, ref, name, kind, rent, price, amount, layout in
                    Listing.objects.for_company(self.company_id).filter(pk__in=listing_ids).values_list(
                        "pk", "ref", "name", "kind", "rent", "price", "amount", "layout")}
        introductions, activities, planned, last_contact = [], [], [], {}
        for index in todo:
            record = self.items[index][1]
            if record.seeker_key not in self.seeker_keys:
                self.outcome(index, FAILED, FailReason.UNKNOWN_SEEKER.value, f"seeker_id={record.seeker_key}")
                continue
            if record.listing_key not in self.listings_by_key:
                self.outcome(index, FAILED, FailReason.UNKNOWN_LISTING.value, f"listing_id={record.listing_key}")
                continue
            case_id = self.case_ids.get(record.seeker_key)
            if case_id is None:
                self.outcome(index, SKIPPED, SkipReason.SEEKER_NOT_LOADED.value)
                continue
            listing_id = self.listing_ids.get(record.listing_key)
            if listing_id is None or listing_id not in listings:
                self.outcome(index, SKIPPED, SkipReason.LISTING_NOT_LOADED.value)
                continue
            ref, name, kind, rent, price, amount, layout = listings[listing_id]
            rent_or_price = (rent if kind == CaseKind.RENT else (Decimal(price) if price is not None else None)) if self.is_yen else None
            link_at = aware(record.at)
            on = timezone.localtime(link_at).date() if link_at else None
            introductions.append([None, self.company_id, case_id, listing_id, ref, name, rent_or_price, layout, on, "", "", True, self.now, self.now])
            activity = None
            if record.kind == "viewed":
                activity = (ActivityKind.SHOWING.value, "", f"{ref} {name}")
            elif record.kind == "offered":
                activity = (ActivityKind.NOTE.value, "申込", f"{ref} {name}")
            if activity is not None:
                at = link_at or self.now
                actor = self.lookups.user_of(self.seeker_agents.get(record.seeker_key, ""))  # the seeker's agent
                activities.append([None, self.company_id, case_id, activity[0], at, actor, activity[1], activity[2], True, None, True, "",
                                   self.now, self.now])
                if activity[0] in CONTACT_ACTIVITY_KINDS and (case_id not in last_contact or last_contact[case_id] < at):
                    last_contact[case_id] = at
            planned.append((index, activities[-1] if activity is not None else None))
        introduction_ids = allocate_ids(Introduction, len(introductions))
        activity_ids = iter(allocate_ids(Activity, len(activities)))
        for row, introduction_id, (index, activity) in zip(introductions, introduction_ids, planned, strict=True):
            row[0] = introduction_id
            key = self.items[index][1].key
            self.remember(index, Entity.LINKS.value, key, "crm.introduction", introduction_id)
            if activity is not None:
                activity[0] = next(activity_ids)
                self.remember(index, Entity.LINKS.value, f"{key}#activity"[:LEDGER_KEY_LENGTH], "crm.activity", activity[0])
            self.outcome(index, LOADED, target_type="crm.introduction", target_id=introduction_id)
        insert_rows(Introduction, INTRODUCTION_COLUMNS, introductions)
        insert_rows(Activity, ACTIVITY_COLUMNS, activities)
        self.update_last_contact(last_contact)

    # -- the end ---------------------------------------------------------------------------------
    def finished(self) -> None:
        """The onboarding staff get their e-mail once the run's end is committed; an active phase started
        as "all" starts its archive phase."""
        gc.unfreeze()
        if self.params.get("dry_run"):
            return
        from django.db import transaction

        run_id = self.run.pk

        def after_commit():
            from estatecrm.vendor.notifications import send_phase_finished_mail

            send_phase_finished_mail(run_id)
            if self.params.get("then_archive"):
                from estatecrm.vendor.actions import start_archive_after

                start_archive_after(run_id)

        transaction.on_commit(after_commit)


# ---------------------------------------------------------------------------------------------
# Revert


def still_used_users(company_id: int, user_ids) -> set[int]:
    """Of these users, those a case, a case's sub-assignees, a listing or an activity refers to."""
    user_ids = list(user_ids)
    used = set(Case.objects.for_company(company_id).filter(main_assignee_id__in=user_ids).values_list("main_assignee_id", flat=True))
    used |= set(CaseAssignee.objects.for_company(company_id).filter(user_id__in=user_ids).values_list("user_id", flat=True))
    used |= set(Listing.objects.for_company(company_id).filter(agent_id__in=user_ids).values_list("agent_id", flat=True))
    used |= set(Activity.objects.for_company(company_id).filter(actor_id__in=user_ids).values_list("actor_id", flat=True))
    return used


@register_job
class VendorImportRevertJob(RevertJob):
    """Undoes one phase run (`params["run_id"]`) through its ledger, newest records first (links, activities,
    seekers, listings, agents), a batch per transaction: what the run created goes (activities and
    introductions deleted; cases deleted with their customers when nothing else refers to them, else moved
    to the trash; listings deleted; inactive users it created deleted when nothing uses them) and so do its
    ledger entries, so that the phase can be loaded again. Each batch removes the entries it handled, so a
    revert resumed after a crash goes on with what is left. When it completes, the run is marked reverted."""

    kind = revert_kind(RUN_KIND)
    label = gettext_lazy("Revert of a move-in phase")
    permission_rule = "vendor_migration"

    def check_revertible(self, *, force: bool) -> None:
        from estatecrm.vendor.actions import check_revertible

        check_revertible(self.target, force=force)

    def rows_to_undo(self) -> int:
        return LedgerEntry.objects.for_company(self.company_id).filter(run=self.target).count()

    def batches(self, after_row: int):
        entries = LedgerEntry.objects.for_company(self.company_id).filter(run=self.target).order_by("-row_number", "-pk")
        size = int(self.run.params.get("batch_records") or REVERT_BATCH)
        done = after_row
        while True:
            rows = list(entries.values_list("pk", "target_type", "target_id", "outcome")[:size])
            if not rows:
                return
            done += len(rows)
            yield Batch(rows=rows, last_row=done, source_rows=len(rows))

    def write(self, batch: Batch) -> Counter:
        company_id = self.company_id
        counts: Counter = Counter()
        targets: dict[str, list[int]] = {}
        for _pk, target_type, target_id, outcome in batch.rows:
            if target_id is not None and outcome == CREATED:
                targets.setdefault(target_type, []).append(target_id)
        activity_ids = targets.get("crm.activity", [])
        if activity_ids:
            touched = set(Activity.objects.for_company(company_id).filter(pk__in=activity_ids).values_list("case_id", flat=True))
            counts["activities_removed"] += Activity.objects.for_company(company_id).filter(pk__in=activity_ids).delete()[1].get(Activity._meta.label, 0)
            latest = Activity.objects.for_company(company_id).filter(case_id=OuterRef("pk"), kind__in=CONTACT_ACTIVITY_KINDS, is_done=True)
            Case.objects.for_company(company_id).filter(pk__in=touched).update(
                last_contact_at=Subquery(latest.values("case_id").annotate(at=Max("occurred_at")).values("at")[:1]))
        introduction_ids = targets.get("crm.introduction", [])
        if introduction_ids:
            counts["introductions_removed"] += Introduction.objects.for_company(company_id).filter(pk__in=introduction_ids).delete()[1].get(
                Introduction._meta.label, 0)
        if targets.get("crm.case"):
            self.remove_cases(targets["crm.case"], counts)
        listing_ids = targets.get("crm.listing", [])
        if listing_ids:
            counts["listings_removed"] += Listing.objects.for_company(company_id).filter(pk__in=listing_ids).delete()[1].get(Listing._meta.label, 0)
        user_ids = targets.get("tenancy.user", [])
        if user_ids:
            used = still_used_users(company_id, user_ids)
            unused = [pk for pk in user_ids if pk not in used]
            Membership.objects.for_company(company_id).filter(user_id__in=unused).delete()
            counts["agents_removed"] += User.objects.filter(company_id=company_id, pk__in=unused, is_active=False).delete()[1].get(
                User._meta.label, 0)
            counts["agents_kept_in_use"] += len(used)
        LedgerEntry.objects.for_company(company_id).filter(pk__in=[row[0] for row in batch.rows]).delete()
        return counts

    def remove_cases(self, case_ids: list[int], counts: Counter) -> None:
        """Cases nothing else refers to (no activity, introduction, attachment, assignee or tag of anyone
        else, not changed since the run) are deleted with their customer when it has no other case; the
        others go to the trash (their customer too when it has no other case in use)."""
        company_id = self.company_id
        cases = list(Case.objects.for_company(company_id).filter(pk__in=case_ids).values_list("pk", "customer_id", "updated_at"))
        margin = (self.target.finished_at or self.at) + datetime.timedelta(seconds=1)
        referred = set()
        for model in (Activity, Introduction, Attachment, CaseAssignee, CaseTag):
            referred |= set(model.objects.for_company(company_id).filter(case_id__in=case_ids).values_list("case_id", flat=True))
        deletable = [pk for pk, _customer, updated in cases if pk not in referred and updated <= margin]
        trashed = [pk for pk, _customer, _updated in cases if pk not in set(deletable)]
        customer_ids = {customer for _pk, customer, _updated in cases}
        if deletable:
            try:
                counts["cases_deleted"] += Case.objects.for_company(company_id).filter(pk__in=deletable).delete()[1].get(Case._meta.label, 0)
            except ProtectedError:
                trashed += deletable
        if trashed:
            counts["cases_trashed"] += Case.objects.for_company(company_id).filter(pk__in=trashed, deleted_at__isnull=True).update(deleted_at=self.at)
        with_cases = set(Case.objects.for_company(company_id).filter(customer_id__in=customer_ids).values_list("customer_id", flat=True))
        live = set(Case.objects.for_company(company_id).filter(customer_id__in=customer_ids, deleted_at__isnull=True)
                   .values_list("customer_id", flat=True))
        gone = [pk for pk in customer_ids if pk not in with_cases]
        if gone:
            try:
                counts["customers_deleted"] += Customer.objects.for_company(company_id).filter(pk__in=gone).delete()[1].get(Customer._meta.label, 0)
            except ProtectedError:
                counts["customers_trashed"] += Customer.objects.for_company(company_id).filter(pk__in=gone, deleted_at__isnull=True).update(
                    deleted_at=self.at)
        idle = [pk for pk in customer_ids if pk in with_cases and pk not in live]
        if idle:
            counts["customers_trashed"] += Customer.objects.for_company(company_id).filter(pk__in=idle, deleted_at__isnull=True).update(
                deleted_at=self.at)
        refresh_duplicates(company_id, customer_ids)

    def before_finish(self, status: str, counts: Counter) -> None:
        if status != RunStatus.COMPLETED:
            return
        user = self.run.created_by
        Run.objects.for_company(self.company_id).filter(pk=self.target.pk).update(status=RunStatus.REVERTED, reverted_at=self.at, reverted_by=user)
        record_event(company_id=self.company_id, actor=user, verb="revert", instance=self.target, after=dict(counts), run_id=self.target.pk)


def entities_summary(run: Run) -> dict:
    """Per entity of a phase run: `{source, loaded, skipped: {reason: n}, failed, failed_reasons: {reason: n}}`
    (the counts the run committed; `source` from its prepare())."""
    counts = run.counts or {}
    source = (run.detected or {}).get("source", {})
    summary = {}
    for entity in ENTITIES:
        skipped = {key.split(":", 2)[2]: value for key, value in counts.items() if key.startswith(f"{entity}:skipped:")}
        failed = {key.split(":", 2)[2]: value for key, value in counts.items() if key.startswith(f"{entity}:failed:")}
        summary[entity] = {"source": source.get(entity, {}).get("count", 0), "loaded": counts.get(f"{entity}:loaded", 0),
                           "skipped": skipped, "failed": counts.get(f"{entity}:failed", 0), "failed_reasons": failed}
    return summary


def json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=json_default)
