"""Reads of lead imports and do-not-call entries, for the actor's company."""

from django.db.models import QuerySet

from estatecrm.core.errors import NotFound
from estatecrm.leads.choices import RUN_KIND
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.selectors import Actor

SUMMARY_COUNTS = ("rows", "leads_created", "contacts_created", "updated", "skipped_duplicates", "failed")


def import_list(*, actor: Actor) -> QuerySet[Run]:
    return Run.objects.for_company(actor.company_id).filter(kind=RUN_KIND).select_related("created_by").order_by("-created_at", "-pk")


def access_import(actor: Actor, run_id) -> Run:
    try:
        return import_list(actor=actor).get(pk=int(run_id))
    except (Run.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def summarize_counts(counts: dict) -> dict:
    """The counts of an import as the CLI and API report them (keys are part of the interface)."""
    summary = {key: int(counts.get(key, 0)) for key in SUMMARY_COUNTS}
    summary["failed_by_reason"] = {
        key.split(":", 1)[1]: int(value) for key, value in sorted(counts.items()) if key.startswith("failed_by_reason:")
    }
    summary["duplicates_by_rule"] = {
        key.split(":", 1)[1]: int(value) for key, value in sorted(counts.items()) if key.startswith("duplicates:")
    }
    return summary


def import_summary(run: Run) -> dict:
    return {"import_id": run.pk, "status": run.status, **summarize_counts(run.counts or {})}
