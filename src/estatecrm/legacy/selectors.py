"""Reads of legacy migrations: runs, their summaries, and the pre-flight of a bundle for a unit."""

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from estatecrm.core.errors import NotFound, PermissionDenied
from estatecrm.legacy import bundle as files
from estatecrm.legacy import error_codes
from estatecrm.legacy.choices import (
    ELIGIBLE_CATEGORIES,
    MASTERS_RUN_KIND,
    QUICK_CAP,
    RUN_KIND,
    SOURCE_SYSTEM,
    Mode,
    PreflightStage,
    PreflightStatus,
)
from estatecrm.legacy.converter import Converter, clean, load_source, split_list
from estatecrm.legacy.models import CaseOutcome
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.tenancy.models import OrgUnit
from estatecrm.tenancy.selectors import Actor


def migration_list(*, actor: Actor) -> QuerySet[Run]:
    """The company's migration and masters runs, newest first (admins only see them)."""
    if not actor.is_admin:
        return Run.objects.none()
    return (Run.objects.for_company(actor.company_id).filter(kind__in=[RUN_KIND, MASTERS_RUN_KIND])
            .select_related("created_by").order_by("-created_at", "-pk"))


def access_migration(actor: Actor, run_id) -> Run:
    try:
        run = migration_list(actor=actor).get(pk=int(run_id))
    except (Run.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    unit_id = (run.params or {}).get("org_unit_id")
    if unit_id and not actor.can_admin_unit(unit_id):
        raise NotFound()
    return run


def run_summary(run: Run) -> dict:
    """The counts of a run as `legacy-migrate run --json` prints them (keys are part of the interface)."""
    counts = run.counts or {}
    return {
        "run_id": run.pk,
        "status": run.status,
        "mode": (run.params or {}).get("mode", Mode.FULL),
        "source_cases": int(counts.get("source_cases", 0)),
        "migrated": int(counts.get("migrated", 0)),
        "skipped": {key.split(":", 1)[1]: int(value) for key, value in sorted(counts.items()) if key.startswith("skipped:")},
        "failed": int(counts.get("failed", 0)),
        "needs_review": int(counts.get("needs_review", 0)),
        "activities_migrated": int(counts.get("activities_migrated", 0)),
        "attachments_migrated": int(counts.get("attachments_migrated", 0)),
    }


def preflight(*, actor: Actor, path: Path, org_unit: OrgUnit, staff_map: dict | None = None, since=None, quick_since=None) -> dict:
    """What a migration of the bundle into `org_unit` would do, computed without writing anything.

    Eligible counts by category (full, and quick: started within the quick window), staff the bundle
    names who match no user (with how many cases name them), statuses / ranks / tags that are not
    registered (with how many eligible cases use each), and sub-assignees who are outside their case's
    unit. Refused unless the actor administers the unit.
    """
    from estatecrm.legacy.jobs import load_target

    if not actor.can_admin_unit(org_unit.pk):
        raise PermissionDenied()
    with files.Bundle(path) as bundle:
        source = load_source(bundle)
        bundle.check_attachments()  # as the run's check does: a damaged attachment is refused here too
    target = load_target(actor.company_id, {"org_unit_id": org_unit.pk, "staff_map": staff_map or {}, "region": actor.company.phone_region,
                                            "since": since.isoformat() if since else None})
    converter = Converter(source, target)
    migrated = set(LedgerEntry.objects.for_company(actor.company_id).filter(source_system=SOURCE_SYSTEM).values_list("source_key", flat=True))
    eligible: dict[str, Counter] = {Mode.FULL: Counter(), Mode.QUICK: Counter()}
    skipped: Counter = Counter()
    unmatched: dict[str, Counter] = {}
    statuses: Counter = Counter()
    ranks: Counter = Counter()
    tags: Counter = Counter()
    outside: list[dict] = []
    for line, row in source.cases:
        for code in [clean(row["主担当"]), *split_list(row["副担当"])]:
            if code and converter.user_for_staff(code) is None:
                unmatched.setdefault(code, Counter())["cases"] += 1
        source_id = clean(row["追客番号"])
        if source_id in migrated:
            skipped["already_migrated"] += 1
            continue
        record = converter.screen(line, row)
        if not record.is_migratable:
            skipped[record.skip_reason or record.fail_reason] += 1
            continue
        # The whole conversion, as the run does it: a case it fails (a value too long) is not counted eligible.
        full = converter.convert(line, row)
        if not full.is_migratable:
            skipped[full.skip_reason or full.fail_reason] += 1
            continue
        category = converter.category_of(row)
        eligible[Mode.FULL][category] += 1
        if quick_since is not None and record.started_on is not None and record.started_on >= quick_since:
            eligible[Mode.QUICK][category] += 1
        status_name = clean(row["追客ステータス"])
        if (category, status_name) not in target.sub_statuses:
            statuses[f"{category}/{status_name}"] += 1
        if clean(row["ランク"]) and clean(row["ランク"]) not in target.ranks:
            ranks[clean(row["ランク"])] += 1
        for tag in split_list(row["タグ"]):
            if tag not in target.tags:
                tags[tag] += 1
        for user_id in full.sub_assignee_ids:
            if not target.can_reach(user_id, full.owning_org_id):
                outside.append({"source_id": source_id, "user": target.user_names.get(user_id, ""),
                                "unit": target.unit_names.get(full.owning_org_id, "")})
    staff = source.staff
    return {
        "org": org_unit.code,
        "source_cases": len(source.cases),
        "eligible": {mode: {category: counts.get(category, 0) for category in ELIGIBLE_CATEGORIES} for mode, counts in eligible.items()},
        "not_eligible": dict(sorted(skipped.items())),
        "unmatched_staff": [
            {"code": code, "name": staff[code].name if code in staff else "", "email": staff[code].email if code in staff else "",
             "cases": counts["cases"]} for code, counts in sorted(unmatched.items())
        ],
        "unregistered_sub_statuses": dict(sorted(statuses.items())),
        "unregistered_ranks": dict(sorted(ranks.items())),
        "unregistered_tags": dict(sorted(tags.items())),
        "sub_assignees_outside_unit": outside,
        "row_counts": source.row_counts,
        "declared_counts": source.declared_counts,
        "unknown_columns": source.unknown_columns,
    }


# ---------------------------------------------------------------------------------------------
# The pages (Settings > org unit > onboarding > data migration)

UPLOAD_ROOT = "legacy-uploads"
PREFLIGHT_FILE = "preflight.json"
_UPLOAD_TOKEN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class StoredBundle:
    """A bundle uploaded through the pages, kept in storage until it is replaced or discarded."""

    token: str
    company_id: int
    org_unit_id: int
    file_name: str
    size: int
    staff_map: dict
    staff_map_name: str
    uploaded_at: str
    uploaded_by_id: int | None

    @property
    def folder(self) -> str:
        return upload_folder(self.company_id, self.token)

    @property
    def storage_name(self) -> str:
        return f"{self.folder}/bundle.zip"

    @property
    def path(self) -> Path:
        return Path(default_storage.path(self.storage_name))


def upload_folder(company_id: int, token: str) -> str:
    return f"{UPLOAD_ROOT}/{int(company_id)}/{token}"


def access_upload(actor: Actor, token: str | None, *, org_unit: OrgUnit) -> StoredBundle | None:
    """The actor's company's upload `token` for `org_unit`, or None (unknown, another company's, another
    unit's, or discarded), whether or not its bundle is still there (a bundle that failed the check is
    removed, its upload.json and preflight.json stay to tell why). The token is checked before it names
    a storage path."""
    if not token or not _UPLOAD_TOKEN.match(str(token)) or not actor.can_admin_unit(org_unit.pk):
        return None
    meta = _read_json(f"{upload_folder(actor.company_id, token)}/upload.json")
    if meta is None or meta.get("org_unit_id") != org_unit.pk:
        return None
    return StoredBundle(token=token, company_id=actor.company_id, org_unit_id=org_unit.pk, file_name=meta.get("file_name", ""),
                        size=int(meta.get("size", 0)), staff_map=meta.get("staff_map") or {}, staff_map_name=meta.get("staff_map_name", ""),
                        uploaded_at=meta.get("uploaded_at", ""), uploaded_by_id=meta.get("uploaded_by_id"))


def access_stored_bundle(actor: Actor, token: str | None, *, org_unit: OrgUnit) -> StoredBundle | None:
    """Like `access_upload`, but only while the bundle itself is in storage (not discarded, not failed)."""
    stored = access_upload(actor, token, org_unit=org_unit)
    if stored is None or not default_storage.exists(stored.storage_name):
        return None
    return stored


def _read_json(name: str) -> dict | None:
    try:
        with default_storage.open(name, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_preflight_file(company_id: int, token: str) -> dict | None:
    """The raw state of the background check of an upload (`preflight.json`), or None when there is none."""
    return _read_json(f"{upload_folder(company_id, token)}/{PREFLIGHT_FILE}")


@dataclass(frozen=True)
class PreflightState:
    """The background check of an uploaded bundle, as the task left it: `checking` (at `stage`), `ready`
    (with the pre-flight counts) or `failed` (with the reason; the bundle was removed)."""

    status: str
    stage: str
    requested_at: datetime | None
    computed_at: datetime | None
    bundle_checked: bool
    preflight: dict | None
    quick_since: date | None
    error_code: str
    error_messages: dict

    @property
    def is_checking(self) -> bool:
        return self.status == PreflightStatus.CHECKING

    @property
    def is_ready(self) -> bool:
        return self.status == PreflightStatus.READY and self.preflight is not None

    @property
    def is_failed(self) -> bool:
        return self.status == PreflightStatus.FAILED

    @property
    def stage_label(self) -> str:
        return str(PreflightStage(self.stage).label) if self.stage in PreflightStage.values else ""

    @property
    def status_label(self) -> str:
        return str(PreflightStatus(self.status).label) if self.status in PreflightStatus.values else ""

    def elapsed_seconds(self, now: datetime | None = None) -> int:
        """Seconds since the check was requested (until it ended, once it has)."""
        if self.requested_at is None:
            return 0
        end = self.computed_at if self.computed_at is not None and not self.is_checking else (now or timezone.now())
        return max(0, int((end - self.requested_at).total_seconds()))

    @property
    def elapsed_display(self) -> str:
        """The elapsed time as m:ss (the page's script keeps it running)."""
        minutes, seconds = divmod(self.elapsed_seconds(), 60)
        return f"{minutes}:{seconds:02d}"

    def error_message(self, language: str = "") -> str:
        """The reason of a failure in `language` (the viewer's): the reader's messages are kept in every
        language of the site; the codes of this module are rendered now."""
        if not self.is_failed:
            return ""
        messages = self.error_messages or {}
        for candidate in (language, (language or "").split("-")[0], settings.LANGUAGE_CODE):
            if candidate and messages.get(candidate):
                return messages[candidate]
        if messages:
            return next(iter(messages.values()))
        if self.error_code == error_codes.REQUESTER_NOT_ADMIN:
            return gettext("The admin who asked for the check can no longer migrate this unit's data: recompute the counts.")
        return gettext("The counts could not be computed because of an internal error: recompute them, and contact support if it "
                       "happens again.")


def _parse_datetime(value) -> datetime | None:
    from django.utils.dateparse import parse_datetime

    return parse_datetime(value) if isinstance(value, str) and value else None


def preflight_state(stored: StoredBundle) -> PreflightState | None:
    """The state of the background check of `stored` (reached through `access_upload`), or None when it
    was never requested (an upload kept before checks ran in the background)."""
    data = read_preflight_file(stored.company_id, stored.token)
    if data is None or data.get("status") not in PreflightStatus.values:
        return None
    error = data.get("error") or {}
    quick_since = data.get("quick_since")
    return PreflightState(
        status=data["status"], stage=data.get("stage", ""), requested_at=_parse_datetime(data.get("requested_at")),
        computed_at=_parse_datetime(data.get("computed_at")), bundle_checked=bool(data.get("bundle_checked")),
        preflight=data.get("preflight") if isinstance(data.get("preflight"), dict) else None,
        quick_since=date.fromisoformat(quick_since) if isinstance(quick_since, str) and quick_since else None,
        error_code=str(error.get("code", "")), error_messages=error.get("messages") or {},
    )


def preflight_is_outdated(*, actor: Actor, state: PreflightState | None) -> bool:
    """Whether a migration or masters run of the company ended after the counts were computed (they may
    have changed: cases already migrated, masters registered)."""
    if state is None or not state.is_ready or state.computed_at is None:
        return False
    return migration_list(actor=actor).filter(finished_at__gt=state.computed_at).exists()


def unit_migration_list(*, actor: Actor, org_unit: OrgUnit) -> QuerySet[Run]:
    """The migration runs into `org_unit`, newest first (admins of the unit only)."""
    if not actor.can_admin_unit(org_unit.pk):
        return Run.objects.none()
    return migration_list(actor=actor).filter(kind=RUN_KIND, params__org_unit_id=org_unit.pk)


def access_unit_migration(actor: Actor, run_id, *, org_unit: OrgUnit) -> Run:
    """A migration run into `org_unit`, else NotFound (another company's, another unit's, a masters run)."""
    run = access_migration(actor, run_id)
    if run.kind != RUN_KIND or (run.params or {}).get("org_unit_id") != org_unit.pk:
        raise NotFound()
    return run


def active_migration(*, actor: Actor) -> Run | None:
    """A migration run of the company that has not ended yet (waiting or running), if any."""
    from estatecrm.pipeline.choices import RunStatus

    return migration_list(actor=actor).filter(kind=RUN_KIND, status__in=[RunStatus.PENDING, RunStatus.RUNNING]).first()


@dataclass(frozen=True)
class QuickCandidate:
    source_id: str
    customer_name: str
    started_on: date | None
    status_name: str
    main_assignee: str


def quick_migration_list(*, actor: Actor, path: Path, org_unit: OrgUnit, staff_map: dict | None = None,
                         fallback_user_id: int | None = None, since: date) -> dict:
    """The cases a quick migration into `org_unit` would take, newest first as the run takes them:
    started on or after `since`, eligible, not migrated yet; at most QUICK_CAP (`over_cap`: how many
    would be left for the next run). Reads the bundle; writes nothing."""
    from estatecrm.legacy.jobs import load_target, processing_order

    if not actor.can_admin_unit(org_unit.pk):
        raise PermissionDenied()
    with files.Bundle(path) as bundle:
        source = load_source(bundle)
    target = load_target(actor.company_id, {"org_unit_id": org_unit.pk, "staff_map": staff_map or {}, "region": actor.company.phone_region,
                                            "since": since.isoformat(), "fallback_user_id": fallback_user_id})
    converter = Converter(source, target)
    migrated = set(LedgerEntry.objects.for_company(actor.company_id).filter(source_system=SOURCE_SYSTEM).values_list("source_key", flat=True))
    candidates: list[QuickCandidate] = []
    over_cap = 0
    seen: set[str] = set()
    for line, row in processing_order(source, Mode.QUICK):
        source_id = clean(row["追客番号"])
        if source_id in migrated or source_id in seen:
            continue
        seen.add(source_id)
        record = converter.screen(line, row)
        if not record.is_migratable:
            continue
        if len(candidates) >= QUICK_CAP:
            over_cap += 1
            continue
        customer = source.customers.get(record.customer_source_id)
        candidates.append(QuickCandidate(
            source_id=source_id, customer_name=clean(customer[1]["氏名"]) if customer else "", started_on=record.started_on,
            status_name=clean(row["追客ステータス"]), main_assignee=target.user_names.get(record.main_assignee_id, ""),
        ))
    return {"since": since, "cases": candidates, "over_cap": over_cap}


def run_outcome_list(*, actor: Actor, run: Run, outcome: str = "", reason: str = "", needs_review: bool = False) -> QuerySet[CaseOutcome]:
    """The source cases of a run (optionally of one outcome, reason, or only those needing review), in
    source order. The run was reached through `access_unit_migration`, so it is the actor's."""
    if not actor.is_admin:
        return CaseOutcome.objects.none()
    outcomes = CaseOutcome.objects.for_company(actor.company_id).filter(run=run)
    if outcome:
        outcomes = outcomes.filter(outcome=outcome)
    if reason:
        outcomes = outcomes.filter(reason=reason)
    if needs_review:
        outcomes = outcomes.filter(needs_review=True)
    return outcomes.order_by("row_number", "pk")


def customer_names(*, actor: Actor, customer_ids) -> dict[int, str]:
    """Customer id -> name for the ids given (the actor's company only; trashed ones included)."""
    from estatecrm.crm.models import Customer

    ids = [pk for pk in customer_ids if pk]
    if not ids:
        return {}
    return dict(Customer.objects.for_company(actor.company_id).filter(pk__in=ids).values_list("pk", "name"))


def revert_summary(revert: Run | None) -> dict | None:
    """A migration run's latest revert as the run's status and the CLI report it: poll it until `status` ends."""
    if revert is None:
        return None
    counts = revert.counts or {}
    return {"revert_id": revert.pk, "status": revert.status, "status_label": str(revert.get_status_display()), "rows_total": revert.rows_total,
            "rows_done": revert.rows_done, "cases_trashed": int(counts.get("cases_trashed", 0)),
            "customers_trashed": int(counts.get("customers_trashed", 0)), "error": revert.error_message}
