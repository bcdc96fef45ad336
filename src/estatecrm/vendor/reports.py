"""The verification report of one phase run of a move-in (page, CSV, `estatecrm vendor verify`, API).

Per entity: the records of the phase's scope in the package (`Run.detected["source"]`), how many were
loaded, skipped (by reason) and failed (by reason) (aggregated from RecordOutcome, one GROUP BY), and
whether every source record is accounted for. Money: the totals of the money fields in the package
against the totals of what was loaded (Listing.amount of the loaded listings, DesiredConditions.budget_min
and budget_max of the loaded seekers' cases), with the difference. A sample of (up to) SAMPLE_SIZE records
per entity, drawn at random but the same for a run every time (seeded by the run's id, so the page, the
CSV and the command agree): the source cells (the package read once through the move-in's profile)
beside the values of the row each became.

Fast for 150,000 records: the counts and the money are aggregate queries, the sample draws from the
entity's positions (one column) and looks up its 20 rows and their targets only.

CSV (`write_csv`): UTF-8 with BOM (Excel), CRLF, formulas neutralized; three blocks, separated by an
empty row, each with its header row:
  1. counts:  区分, エンティティ, 元データ件数, 取込, スキップ, 失敗, 一致, 理由コード, 理由
     (one "合計" row per entity, then one "スキップ"/"失敗" row per reason with its count in its column)
  2. money:   区分, エンティティ, 項目, 通貨, 元データ合計, 取込合計, 差
  3. sample:  区分, エンティティ, 元ID, 行, 結果, 理由, 項目, 元データ, 取込先, 取込先URL
     (one row per field of each sampled record: the source column and value, the target's field and value)
"""

import csv
import datetime
import hashlib
import io
import json
import logging
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from estatecrm.normalize import neutralize_formula
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.vendor.choices import ENTITIES, RUN_KIND, Entity, FailReason, Outcome, Phase, SkipReason
from estatecrm.vendor.models import MoveIn, RecordOutcome

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 20
SAMPLE_CACHE_SECONDS = 3600
# The money fields of each entity in `detected["source"][entity]["money"]`, and their label.
MONEY_FIELDS = {"listings": ("amount",), "seekers": ("budget_min", "budget_max")}
# What a loaded record of each entity becomes when its outcome names no target type (RecordOutcome.target_type).
DEFAULT_TARGET_TYPES = {"agents": "tenancy.user", "listings": "crm.listing", "seekers": "crm.case", "activities": "crm.activity",
                        "links": "crm.introduction"}


def money_label(entity: str, name: str) -> str:
    labels = {("listings", "amount"): _("Rent or price"), ("seekers", "budget_min"): _("Budget from"),
              ("seekers", "budget_max"): _("Budget up to")}
    return labels.get((entity, name), name)


def reason_label(code: str) -> str:
    for choices in (SkipReason, FailReason):
        if code in choices.values:
            return str(choices(code).label)
    return code


def entity_label(entity: str) -> str:
    return str(Entity(entity).label) if entity in Entity.values else entity


@dataclass
class EntityCounts:
    entity: str
    source: int
    loaded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    failed: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return entity_label(self.entity)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def skipped_rows(self) -> list[tuple[str, str, int]]:
        return [(code, reason_label(code), count) for code, count in self.skipped.items()]

    @property
    def failed_rows(self) -> list[tuple[str, str, int]]:
        return [(code, reason_label(code), count) for code, count in self.failed.items()]

    @property
    def handled(self) -> int:
        return self.loaded + self.skipped_total + self.failed_total

    @property
    def is_accounted(self) -> bool:
        """Every source record of the phase is loaded, skipped or failed."""
        return self.source == self.handled

    def as_json(self) -> dict:
        return {"source": self.source, "loaded": self.loaded, "skipped": dict(self.skipped), "failed": dict(self.failed),
                "skipped_total": self.skipped_total, "failed_total": self.failed_total, "accounted": self.is_accounted}


def plain(amount: Decimal) -> Decimal:
    """A total without trailing zeros (98000, 489000.5): the same on every database."""
    amount = Decimal(amount)
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize()


@dataclass
class MoneyTotal:
    entity: str
    name: str
    currency: str
    source: Decimal
    loaded: Decimal

    @property
    def label(self) -> str:
        return money_label(self.entity, self.name)

    @property
    def difference(self) -> Decimal:
        return plain(self.loaded - self.source)

    def as_json(self) -> dict:
        return {"entity": self.entity, "field": self.name, "currency": self.currency, "source": str(self.source),
                "loaded": str(self.loaded), "difference": str(self.difference)}


@dataclass
class SampleRecord:
    entity: str
    source_id: str
    row_number: int
    outcome: str
    reason: str
    detail: str
    source: list[tuple[str, str]]  # column -> text, as in the package
    target: list[tuple[str, str]]  # the target's field label -> value
    target_url: str = ""
    target_missing: bool = False  # loaded, but the row is gone (reverted, deleted)

    @property
    def outcome_label(self) -> str:
        return str(Outcome(self.outcome).label) if self.outcome in Outcome.values else self.outcome

    @property
    def reason_label(self) -> str:
        return reason_label(self.reason) if self.reason else ""

    @property
    def pairs(self) -> list[tuple[str, str, str, str]]:
        """Source column, source value, target field, target value: side by side, row by row."""
        length = max(len(self.source), len(self.target))
        source = self.source + [("", "")] * (length - len(self.source))
        target = self.target + [("", "")] * (length - len(self.target))
        return [(s[0], s[1], t[0], t[1]) for s, t in zip(source, target, strict=True)]

    def as_json(self) -> dict:
        return {"source_id": self.source_id, "row_number": self.row_number, "outcome": self.outcome, "reason": self.reason,
                "detail": self.detail, "source": dict(self.source), "target": dict(self.target), "target_url": self.target_url,
                "target_missing": self.target_missing}


@dataclass
class Report:
    run: Run
    move_in: MoveIn | None
    phase: str
    currency: str
    entities: list[EntityCounts]
    money: list[MoneyTotal]
    samples: dict[str, list[SampleRecord]]
    sample_error: str = ""  # the package could not be read: the sample shows the targets only
    generated_at: datetime.datetime = field(default_factory=timezone.now)

    @property
    def is_finished(self) -> bool:
        return self.run.status in RunStatus.finished()

    @property
    def is_accounted(self) -> bool:
        return all(counts.is_accounted for counts in self.entities)

    @property
    def phase_label(self) -> str:
        return str(Phase(self.phase).label) if self.phase in Phase.values else self.phase

    def as_json(self) -> dict:
        return {
            "run_id": self.run.pk, "move_in_id": self.move_in.pk if self.move_in else None, "phase": self.phase,
            "status": self.run.status, "finished": self.is_finished, "currency": self.currency, "accounted": self.is_accounted,
            "entities": {counts.entity: counts.as_json() for counts in self.entities},
            "money": [total.as_json() for total in self.money],
            "sample": {entity: [record.as_json() for record in records] for entity, records in self.samples.items()},
            "sample_error": self.sample_error,
        }


# ---------------------------------------------------------------------------------------------
# Building the report


def move_in_of(run: Run) -> MoveIn | None:
    move_in_id = (run.params or {}).get("move_in_id")
    if not move_in_id:
        return None
    return MoveIn.objects.for_company(run.company_id).filter(pk=move_in_id).first()


def verification(run: Run, *, sample_size: int = SAMPLE_SIZE, with_sample: bool = True) -> Report:
    """The verification report of a phase run (kind vendor_import)."""
    if run.kind != RUN_KIND:
        raise ValueError(f"run {run.pk} is not a {RUN_KIND} run")
    move_in = move_in_of(run)
    currency = move_in.currency if move_in else ""
    source = (run.detected or {}).get("source") or {}
    outcomes = RecordOutcome.objects.for_company(run.company_id).filter(run=run)
    counts: dict[str, EntityCounts] = {}
    for entity in ENTITIES:
        if entity in source:
            counts[entity] = EntityCounts(entity, int(source[entity].get("count") or 0))
    for row in outcomes.values("entity", "outcome", "reason").annotate(n=Count("pk")).order_by():
        entity_counts = counts.setdefault(row["entity"], EntityCounts(row["entity"], 0))
        if row["outcome"] == Outcome.LOADED:
            entity_counts.loaded += row["n"]
        elif row["outcome"] == Outcome.SKIPPED:
            entity_counts.skipped[row["reason"]] = entity_counts.skipped.get(row["reason"], 0) + row["n"]
        else:
            entity_counts.failed[row["reason"]] = entity_counts.failed.get(row["reason"], 0) + row["n"]
    order = {entity: index for index, entity in enumerate(ENTITIES)}
    entities = sorted(counts.values(), key=lambda item: (order.get(item.entity, len(order)), item.entity))
    for item in entities:
        item.skipped = dict(sorted(item.skipped.items()))
        item.failed = dict(sorted(item.failed.items()))
    report = Report(run=run, move_in=move_in, phase=(run.params or {}).get("phase", ""), currency=currency, entities=entities,
                    money=_money(run, source, outcomes, currency), samples={})
    if with_sample:
        _fill_sample(report, outcomes, sample_size)
    return report


def _loaded_ids(outcomes, entity: str, target_type: str):
    return outcomes.filter(entity=entity, outcome=Outcome.LOADED, target_type=target_type).values("target_id")


def _money(run: Run, source: dict, outcomes, currency: str) -> list[MoneyTotal]:
    from estatecrm.crm.models import DesiredConditions, Listing

    totals = []
    for entity, names in MONEY_FIELDS.items():
        declared = (source.get(entity) or {}).get("money") or {}
        if entity not in source:
            continue
        if entity == "listings":
            loaded = Listing.objects.for_company(run.company_id).filter(pk__in=_loaded_ids(outcomes, "listings", "crm.listing")).aggregate(
                amount=Sum("amount"))
        else:
            loaded = DesiredConditions.objects.for_company(run.company_id).filter(
                case_id__in=_loaded_ids(outcomes, "seekers", "crm.case")).aggregate(budget_min=Sum("budget_min"), budget_max=Sum("budget_max"))
        for name in names:
            totals.append(MoneyTotal(entity, name, currency, plain(Decimal(str(declared.get(name) or 0))), plain(loaded.get(name) or 0)))
    return totals


def sample_positions(run: Run, entity: str, positions: list[int], size: int) -> list[int]:
    """`size` of `positions`, drawn at random, the same for the same run and entity every time."""
    if len(positions) <= size:
        return sorted(positions)
    rng = random.Random(f"{run.pk}:{entity}")
    return sorted(rng.sample(sorted(positions), size))


def _fill_sample(report: Report, outcomes, size: int) -> None:
    run = report.run
    chosen: dict[str, list[RecordOutcome]] = {}
    for counts in report.entities:
        positions = list(outcomes.filter(entity=counts.entity).values_list("position", flat=True))
        picked = sample_positions(run, counts.entity, positions, size)
        chosen[counts.entity] = list(outcomes.filter(entity=counts.entity, position__in=picked).order_by("position", "pk"))
    source_cells = _source_cells(report, {entity: rows for entity, rows in chosen.items() if rows})
    for entity, rows in chosen.items():
        by_type: dict[str, list[int]] = {}
        for row in rows:
            if row.target_id:
                by_type.setdefault(row.target_type or DEFAULT_TARGET_TYPES.get(entity, ""), []).append(row.target_id)
        targets = {(target_type, target_id): value for target_type, ids in by_type.items()
                   for target_id, value in _targets(run.company_id, target_type, ids).items()}
        records = []
        for row in rows:
            cells = source_cells.get((entity, row.source_id, row.row_number)) or source_cells.get((entity, row.source_id, None)) or {}
            target_type = row.target_type or DEFAULT_TARGET_TYPES.get(entity, "")
            target, url = targets.get((target_type, row.target_id), ([], "")) if row.target_id else ([], "")
            records.append(SampleRecord(entity=entity, source_id=row.source_id, row_number=row.row_number, outcome=row.outcome,
                                        reason=row.reason, detail=row.detail, source=list(cells.items()), target=target, target_url=url,
                                        target_missing=row.outcome == Outcome.LOADED and bool(row.target_id) and not target))
        report.samples[entity] = records


def package_path(run: Run) -> str:
    if not run.source_file:
        return ""
    try:
        return default_storage.path(run.source_file.name)
    except NotImplementedError:  # a storage without local paths
        return ""


def _profile(move_in: MoveIn):
    from estatecrm.vendor import profiles

    if hasattr(profiles, "profile_for_move_in"):
        return profiles.profile_for_move_in(move_in)
    return profiles.load_profile(move_in.profile)


def _source_cells(report: Report, chosen: dict[str, list[RecordOutcome]]) -> dict:
    """(entity, key, row) and (entity, key, None) -> the source cells of the sampled records: the package read once."""
    if not chosen:
        return {}
    path = package_path(report.run)
    if report.move_in is None or not path:
        report.sample_error = _("The package of this run is not kept any more: the sample shows what was loaded only.")
        return {}
    # Reading a package of 150,000 records takes seconds: the cells of a sample are kept for an hour, keyed by
    # everything they depend on (the package, the profile, the sampled records).
    wanted = sorted((entity, row.source_id) for entity, rows in chosen.items() for row in rows)
    key = "vendor:sample-cells:" + hashlib.sha256(json.dumps(
        [report.run.pk, path, report.move_in.profile, report.move_in.profile_text, wanted]).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        try:
            found = _read_cells(report.move_in, path, chosen)
        except Exception as error:  # any failure to read the package leaves the counts standing
            logger.warning("vendor verification: cannot read the package of run %s: %s", report.run.pk, error)
            report.sample_error = _("The package of this run could not be read again: the sample shows what was loaded only.")
            return {}
        cache.set(key, found, SAMPLE_CACHE_SECONDS)
    cells = {}
    for entity, source_id, row, values in found:
        cells[(entity, source_id, row)] = values
        cells.setdefault((entity, source_id, None), values)
    return cells


def _read_cells(move_in: MoveIn, path: str, chosen: dict[str, list[RecordOutcome]]) -> list:
    """[entity, key, row, cells] of the sampled records: the package read once through the move-in's profile."""
    from estatecrm.vendor import profiles

    extracted = profiles.extract(_profile(move_in), path)
    found = []
    for entity, rows in chosen.items():
        wanted = {row.source_id for row in rows}
        found += [[entity, record.key, record.row, dict(record.cells)] for record in extracted.records(entity) if record.key in wanted]
    return found


# ---------------------------------------------------------------------------------------------
# The targets: the rows the sampled records became, with a link to their page


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return str(value)


def _money_text(amount, currency: str) -> str:
    return f"{amount} {currency}".strip() if amount is not None else ""


def _user_text(user) -> str:
    if user is None:
        return ""
    return f"{user.name} <{user.email}>" if user.name else user.email


def _targets(company_id: int, target_type: str, ids: list[int]) -> dict[int, tuple[list[tuple[str, str]], str]]:
    """target id -> (the target's fields and values, its page) for the rows of one target type."""
    if not ids:
        return {}
    builder = {"crm.listing": _listing_targets, "crm.case": _seeker_targets, "crm.activity": _activity_targets,
               "crm.introduction": _link_targets, "tenancy.user": _agent_targets}.get(target_type)
    return builder(company_id, ids) if builder else {}


def _listing_targets(company_id: int, ids: list[int]) -> dict:
    from estatecrm.crm.models import Listing, ListingStation

    stations: dict[int, str] = {}
    for station in ListingStation.objects.for_company(company_id).filter(listing_id__in=ids).order_by("position", "pk"):
        walk = _("%(minutes)d min walk") % {"minutes": station.walk_minutes} if station.walk_minutes is not None else ""
        stations.setdefault(station.listing_id, f"{station.station} {walk}".strip())
    result = {}
    for listing in Listing.objects.for_company(company_id).filter(pk__in=ids).select_related("agent"):
        address = " ".join(part for part in (listing.postal_code, listing.prefecture, listing.city, listing.street, listing.building) if part)
        values = [
            (_("Listing number"), listing.ref), (_("Title"), listing.name), (_("Kind"), listing.get_kind_display()),
            (_("Status"), listing.get_status_display()), (_("Rent or price"), _money_text(listing.amount, listing.currency)),
            (_("Address"), address), (_("Layout"), listing.layout), (_("Area (m²)"), _text(listing.area)),
            (_("Station"), stations.get(listing.pk, "")), (_("Agent"), _user_text(listing.agent)),
        ]
        result[listing.pk] = (values, reverse("listings:detail", kwargs={"listing_id": listing.pk}))
    return result


def _seeker_targets(company_id: int, ids: list[int]) -> dict:
    from estatecrm.crm.choices import ContactPointKind
    from estatecrm.crm.models import Case, ContactPoint, DesiredConditions

    cases = list(Case.objects.for_company(company_id).filter(pk__in=ids).select_related("customer", "main_assignee"))
    points: dict[int, dict[str, list[str]]] = {}
    for point in ContactPoint.objects.for_company(company_id).filter(customer_id__in={case.customer_id for case in cases}).order_by("position", "pk"):
        kind = "email" if point.kind == ContactPointKind.EMAIL else "phone"
        points.setdefault(point.customer_id, {}).setdefault(kind, []).append(point.normalized or point.raw)
    desired = {item.case_id: item for item in DesiredConditions.objects.for_company(company_id).filter(case_id__in=ids)}
    result = {}
    for case in cases:
        wants = desired.get(case.pk)
        budget = ""
        if wants is not None and (wants.budget_min is not None or wants.budget_max is not None):
            low = "" if wants.budget_min is None else str(wants.budget_min)
            high = "" if wants.budget_max is None else str(wants.budget_max)
            budget = f"{low} – {high} {wants.currency}".strip()
        values = [
            (_("Customer"), case.customer.name), (_("Kana"), case.customer.kana),
            (_("Phones"), "; ".join(points.get(case.customer_id, {}).get("phone", []))),
            (_("E-mail addresses"), "; ".join(points.get(case.customer_id, {}).get("email", []))),
            (_("Case number"), f"#{case.number}"), (_("Kind"), case.get_kind_display()), (_("Status"), case.get_status_display()),
            (_("Main assignee"), _user_text(case.main_assignee)), (_("Budget"), budget),
            (_("Areas"), _text(wants.areas if wants else [])), (_("Layouts"), _text(wants.layouts if wants else [])),
        ]
        if case.deleted_at is not None:
            values.append((_("In the trash"), _text(case.deleted_at)))
        result[case.pk] = (values, reverse("crm:detail", kwargs={"case_id": case.pk}))
    return result


def _activity_targets(company_id: int, ids: list[int]) -> dict:
    from estatecrm.crm.models import Activity

    result = {}
    for activity in Activity.objects.for_company(company_id).filter(pk__in=ids):
        values = [(_("Kind"), activity.get_kind_display()), (_("When"), _text(activity.occurred_at)), (_("Subject"), activity.subject),
                  (_("Text"), activity.body)]
        result[activity.pk] = (values, reverse("crm:detail", kwargs={"case_id": activity.case_id}))
    return result


def _link_targets(company_id: int, ids: list[int]) -> dict:
    from estatecrm.crm.models import Introduction

    result = {}
    for introduction in Introduction.objects.for_company(company_id).filter(pk__in=ids):
        listing = " ".join(part for part in (introduction.listing_ref, introduction.listing_name) if part)
        values = [(_("Listing"), listing), (_("Date"), _text(introduction.introduced_on))]
        result[introduction.pk] = (values, reverse("crm:detail", kwargs={"case_id": introduction.case_id}))
    return result


def _agent_targets(company_id: int, ids: list[int]) -> dict:
    from estatecrm.tenancy.models import User

    result = {}
    for user in User.objects.filter(company_id=company_id, pk__in=ids):
        values = [(_("E-mail address"), user.email), (_("Name"), user.name), (_("Active"), _text(user.is_active))]
        result[user.pk] = (values, reverse("settings:user", kwargs={"pk": user.pk}))
    return result


# ---------------------------------------------------------------------------------------------
# CSV

COUNTS_HEADER = ("区分", "エンティティ", "元データ件数", "取込", "スキップ", "失敗", "一致", "理由コード", "理由")
MONEY_HEADER = ("区分", "エンティティ", "項目", "通貨", "元データ合計", "取込合計", "差")
SAMPLE_HEADER = ("区分", "エンティティ", "元ID", "行", "結果", "理由", "項目", "元データ", "取込先", "取込先URL")


class _Writer:
    def __init__(self, handle):
        self.handle = handle
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer, lineterminator="\r\n")
        self._write("\ufeff")

    def _write(self, text: str) -> None:
        if isinstance(self.handle, io.TextIOBase):
            self.handle.write(text)
        else:
            self.handle.write(text.encode("utf-8"))

    def row(self, values) -> None:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.csv.writerow([neutralize_formula(value) if isinstance(value, str) else value for value in values])
        self._write(self.buffer.getvalue())


def write_csv(report: Report, handle, *, language: str | None = None) -> None:
    """The report as one CSV (see the module's docstring for its blocks and columns). `handle` takes bytes
    (an HttpResponse, a file opened "wb") or text (a file opened "w", newline="")."""
    writer = _Writer(handle)
    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        writer.row(COUNTS_HEADER)
        for counts in report.entities:
            writer.row(("件数", counts.entity, counts.source, counts.loaded, counts.skipped_total, counts.failed_total,
                        "OK" if counts.is_accounted else "NG", "", ""))
            for reason, number in counts.skipped.items():
                writer.row(("スキップ", counts.entity, "", "", number, "", "", reason, reason_label(reason)))
            for reason, number in counts.failed.items():
                writer.row(("失敗", counts.entity, "", "", "", number, "", reason, reason_label(reason)))
        writer.row(())
        writer.row(MONEY_HEADER)
        for total in report.money:
            writer.row(("金額", total.entity, total.name, total.currency, total.source, total.loaded, total.difference))
        writer.row(())
        writer.row(SAMPLE_HEADER)
        base = settings.SITE_URL
        for entity, records in report.samples.items():
            for record in records:
                reason = record.reason_label + (f" ({record.detail})" if record.detail else "")
                url = base + record.target_url if record.target_url else ""
                for source_column, source_value, target_field, target_value in record.pairs or [("", "", "", "")]:
                    label = source_column if source_column else target_field
                    writer.row(("抽出", entity, record.source_id, record.row_number, record.outcome_label, reason, label, source_value,
                                f"{target_field}: {target_value}" if target_field else "", url))
