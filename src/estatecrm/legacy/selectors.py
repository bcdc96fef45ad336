"""Reads of legacy migrations: runs, their summaries, and the pre-flight of a bundle for a unit."""

from collections import Counter
from pathlib import Path

from django.db.models import QuerySet

from estatecrm.core.errors import NotFound, PermissionDenied
from estatecrm.legacy import bundle as files
from estatecrm.legacy.choices import ELIGIBLE_CATEGORIES, MASTERS_RUN_KIND, RUN_KIND, SOURCE_SYSTEM, Mode
from estatecrm.legacy.converter import Converter, clean, load_source, split_list
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
        full = converter.convert(line, row)
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
