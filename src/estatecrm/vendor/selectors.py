"""Reads of the move-ins from another vendor (rule `vendor_migration`: company admins)."""

from django.db.models import QuerySet

from estatecrm.core.errors import NotFound
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.reverts import active_revert, latest_revert
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor
from estatecrm.vendor.choices import ENTITIES, RUN_KIND, Entity, Phase
from estatecrm.vendor.models import MoveIn, VerdictRecord

RULE = "vendor_migration"


def move_in_list(*, actor: Actor) -> QuerySet:
    """The company's move-ins, newest first."""
    require(actor, RULE)
    return (MoveIn.objects.for_company(actor.company_id).select_related("created_by", "active_run", "archive_run", "verdict_by")
            .order_by("-created_at", "-pk"))


def access_move_in(actor: Actor, move_in_id) -> MoveIn:
    """A move-in of the actor's company, else NotFound; PermissionDenied unless the actor may read move-ins."""
    require(actor, RULE)
    move_in = move_in_list(actor=actor).filter(pk=move_in_id).first() if str(move_in_id).isdigit() else None
    if move_in is None:
        raise NotFound()
    return move_in


def phase_run(move_in: MoveIn, phase: str) -> Run | None:
    if phase == Phase.ACTIVE:
        return move_in.active_run
    if phase == Phase.ARCHIVE:
        return move_in.archive_run
    return None


def access_phase_run(actor: Actor, move_in_id, phase: str) -> tuple[MoveIn, Run]:
    """The run of one phase of a move-in; NotFound for an unknown phase or one not started."""
    move_in = access_move_in(actor, move_in_id)
    run = phase_run(move_in, phase)
    if run is None or run.kind != RUN_KIND:
        raise NotFound()
    return move_in, run


def access_run(actor: Actor, run_id) -> Run:
    """A phase run (kind vendor_import) of the actor's company, else NotFound."""
    require(actor, RULE)
    run = Run.objects.for_company(actor.company_id).filter(pk=run_id, kind=RUN_KIND).first() if str(run_id).isdigit() else None
    if run is None:
        raise NotFound()
    return run


def verdict_list(*, actor: Actor, move_in: MoveIn) -> QuerySet:
    require(actor, RULE)
    return VerdictRecord.objects.for_company(actor.company_id).filter(move_in=move_in).select_related("given_by").order_by("-given_at", "-pk")


def is_phase_done(run: Run | None) -> bool:
    """A phase the client can give a verdict on: its run ended (and was not reverted)."""
    return run is not None and run.status in RunStatus.finished() and run.status != RunStatus.REVERTED


def latest_done_phase(move_in: MoveIn) -> str:
    """The latest phase that ended ("" when none did)."""
    if is_phase_done(move_in.archive_run):
        return Phase.ARCHIVE
    if is_phase_done(move_in.active_run):
        return Phase.ACTIVE
    return ""


def phase_summary(run: Run | None) -> dict | None:
    """What lists show of a phase run, from its counts (no per-record query): status, progress, per entity."""
    if run is None:
        return None
    counts = run.counts or {}
    source = (run.detected or {}).get("source") or {}
    entities = {}
    for entity in ENTITIES:
        if entity not in source and not any(key.startswith(f"{entity}:") for key in counts):
            continue
        entities[entity] = {
            "label": str(Entity(entity).label),
            "source": int((source.get(entity) or {}).get("count") or 0),
            "loaded": int(counts.get(f"{entity}:loaded", 0)),
            "skipped": int(counts.get(f"{entity}:skipped", 0)),
            "failed": int(counts.get(f"{entity}:failed", 0)),
        }
    return {
        "run_id": run.pk, "phase": (run.params or {}).get("phase", ""), "status": run.status, "status_label": str(run.get_status_display()),
        "is_finished": run.status in RunStatus.finished(), "rows_done": run.rows_done, "rows_total": run.rows_total,
        "started_at": run.started_at, "finished_at": run.finished_at, "error": run.error_message, "entities": entities,
    }


# What a revert of a phase removes, from the phase run's counts: (count key, label) in the order the page lists them.
REMOVED = (
    ("listings:loaded", "listings"),
    ("seekers:loaded", "seekers"),
    ("activities:loaded", "activities"),
    ("links:loaded", "links"),
    ("users_created", "users_created"),
)


def revert_summary(revert: Run | None) -> dict | None:
    """The latest revert of a phase as the pages, the API and the CLI show it: poll it until `is_finished`."""
    if revert is None:
        return None
    return {"revert_run_id": revert.pk, "status": revert.status, "status_label": str(revert.get_status_display()),
            "is_finished": revert.status in RunStatus.finished(), "abort_requested": revert.abort_requested_at is not None,
            "rows_done": revert.rows_done, "rows_total": revert.rows_total, "counts": dict(revert.counts or {}), "error": revert.error_message}


def phase_state(run: Run | None) -> dict | None:
    """`phase_summary` and what the doors need: the latest revert (`revert_summary`), whether an abort was asked,
    and whether anything of the phase still runs (the phase run or its revert). One query more than
    `phase_summary` (the revert), so the lists keep to `phase_summary`."""
    summary = phase_summary(run)
    if summary is None:
        return None
    revert = latest_revert(run)
    summary["abort_requested"] = run.abort_requested_at is not None
    summary["revert"] = revert_summary(revert)
    summary["is_reverting"] = revert is not None and revert.status not in RunStatus.finished()
    return summary


def running_run(run: Run) -> Run | None:
    """What "abort" on a phase stops: the phase run while it runs, else its revert while that runs, else None."""
    if run.status not in RunStatus.finished():
        return run
    return active_revert(run)


def revert_preview(run: Run) -> list[dict]:
    """What reverting the phase removes, from its counts: listings, seekers (customers with their cases),
    activities, links (introductions) and the users the phase created (inactive ones only, when unused)."""
    counts = run.counts or {}
    return [{"key": name, "count": int(counts.get(key, 0))} for key, name in REMOVED]
