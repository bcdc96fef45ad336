"""Reads of lead imports and do-not-call entries, for the actor's company."""

from collections.abc import Iterator

from django.db.models import F, Max, Q, QuerySet

from estatecrm.core.errors import NotFound
from estatecrm.core.lookups import AnyOf
from estatecrm.crm.models import Case
from estatecrm.leads.choices import RUN_KIND, SOURCE_SYSTEM
from estatecrm.pipeline.choices import LedgerOutcome
from estatecrm.pipeline.models import LedgerEntry, Run, RunRange
from estatecrm.tenancy.selectors import Actor

SUMMARY_COUNTS = ("rows", "leads_created", "contacts_created", "updated", "skipped_duplicates", "failed")


def import_list(*, actor: Actor) -> QuerySet[Run]:
    """The lead imports the actor may see (rule `lead_imports`, unit scoped): a company admin every one; an org
    admin those whose leads go to a unit they administer, and their own."""
    runs = Run.objects.for_company(actor.company_id).filter(kind=RUN_KIND)
    if not actor.is_company_admin:
        runs = runs.filter(Q(created_by_id=actor.user.pk) | Q(params__org_unit_id__in=sorted(actor.admin_unit_ids)))
    return runs.select_related("created_by").order_by("-created_at", "-pk")


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
    # Strong (same phone) and weak (same name, another phone) matches among the duplicates.
    summary["duplicate_matches"] = {
        key.split(":", 1)[1]: int(value) for key, value in sorted(counts.items()) if key.startswith("duplicate_matches:")
    }
    return summary


# ---------------------------------------------------------------------------------------------
# What an import wrote, row by row
#
# A lead the import created is carried by its case: the case's `source_id` is "<run id>:<row number>"
# (source_system SOURCE_SYSTEM), found through the (company, source_system, source_id) index. The ledger
# holds the other rows only (failed, skipped, added to or overwriting a customer). Imports before
# 2026-12 wrote a ledger entry for each created lead as well; those entries are not read (the cases say
# the same), so every import is read one way.

# Source keys per query: one parameter each (core.lookups.AnyOf), however many.
KEY_CHUNK = 20_000


def case_source_id(run_id: int, row_number: int) -> str:
    """The `source_id` of the case an import's row created."""
    return f"{run_id}:{row_number}"


def created_leads(company_id: int, run_id: int, after_row: int, up_to_row: int) -> Iterator[tuple[int, int, int]]:
    """(row number, case id, customer id) of each lead the import `run_id` created from its rows after
    `after_row` up to `up_to_row`, in no particular order, in the trash or not. The customer is the case's
    now: a 名寄せ link may have moved the case to another customer since."""
    cases = Case.objects.for_company(company_id).filter(source_system=SOURCE_SYSTEM).order_by()
    for start in range(after_row + 1, up_to_row + 1, KEY_CHUNK):
        keys = [case_source_id(run_id, number) for number in range(start, min(start + KEY_CHUNK, up_to_row + 1))]
        for source_id, case_id, customer_id in cases.filter(AnyOf(F("source_id"), keys)).values_list("source_id", "pk", "customer_id"):
            yield int(source_id.partition(":")[2]), case_id, customer_id


def ledger_rows(run: Run) -> QuerySet[LedgerEntry]:
    """The import's ledger entries that say what a row became, besides the leads it created (`created_leads`)."""
    return LedgerEntry.objects.for_company(run.company_id).filter(run=run).exclude(outcome=LedgerOutcome.CREATED)


def row_outcomes(run: Run) -> Iterator[tuple[int, str]]:
    """(row number, outcome) of every source row the import wrote: what the rows became, by cases and ledger."""
    for row, _case, _customer in created_leads(run.company_id, run.pk, 0, last_row_written(run)):
        yield row, LedgerOutcome.CREATED.value
    yield from ledger_rows(run).values_list("row_number", "outcome").iterator(chunk_size=KEY_CHUNK)


def last_row_written(run: Run) -> int:
    """The highest source row number an entry or a case of the import may have: the checkpoint (of its last
    range, when it was split), or its highest ledger entry (imports before 2026-12 wrote one per row)."""
    ranges = RunRange.objects.for_company(run.company_id).filter(run=run).aggregate(top=Max("checkpoint"))["top"] or 0
    entries = LedgerEntry.objects.for_company(run.company_id).filter(run=run).aggregate(top=Max("row_number"))["top"] or 0
    return max(run.checkpoint, ranges, entries)


def import_summary(run: Run) -> dict:
    return {"import_id": run.pk, "status": run.status, **summarize_counts(run.counts or {})}


def latest_reverts(actor: Actor, runs) -> dict[int, Run]:
    """Import id -> its latest revert run (pipeline/reverts.py), for the given imports (one query)."""
    from estatecrm.pipeline.reverts import revert_kind

    ids = [run.pk for run in runs]
    latest: dict[int, Run] = {}
    if not ids:
        return latest
    reverts = Run.objects.for_company(actor.company_id).filter(kind=revert_kind(RUN_KIND), params__run_id__in=ids).order_by("-pk")
    for revert in reverts:
        latest.setdefault(int(revert.params["run_id"]), revert)
    return latest


def revert_summary(revert: Run | None) -> dict | None:
    """A revert run as the CLI and API report it (the import's `revert`): poll it until `status` ends."""
    if revert is None:
        return None
    return {"revert_id": revert.pk, "status": revert.status, "rows_total": revert.rows_total, "rows_done": revert.rows_done,
            "leads_trashed": int((revert.counts or {}).get("leads_trashed", 0)),
            "leads_restored": int((revert.counts or {}).get("leads_restored", 0)), "error": revert.error_message}


# ---------------------------------------------------------------------------------------------
# The import pages


def project_names(actor: Actor, runs) -> dict[int, str]:
    """Project id -> name for the projects the runs imported into (one query)."""
    from estatecrm.crm.models import Project

    ids = {run.params.get("project_id") for run in runs if run.params.get("project_id")}
    return dict(Project.objects.for_company(actor.company_id).filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def saved_mapping_list(*, actor: Actor, project=None) -> QuerySet:
    from estatecrm.leads.models import SavedMapping

    mappings = SavedMapping.objects.for_company(actor.company_id).select_related("project")
    if project is not None:
        mappings = mappings.filter(project=project)
    return mappings.order_by("project__name", "name", "pk")


def access_saved_mapping(actor: Actor, mapping_id):
    from estatecrm.leads.models import SavedMapping

    try:
        return saved_mapping_list(actor=actor).get(pk=int(mapping_id))
    except (SavedMapping.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def dnc_entry_list(*, actor: Actor) -> QuerySet:
    from estatecrm.leads.models import DoNotCallEntry

    return DoNotCallEntry.objects.for_company(actor.company_id).order_by("-pk")


def dnc_workgroup_names(actor: Actor, entry_ids) -> dict[int, list[str]]:
    """Entry id -> names of the workgroups it is scoped to (none: the whole company)."""
    from estatecrm.leads.models import DoNotCallScope

    names: dict[int, list[str]] = {}
    scopes = DoNotCallScope.objects.for_company(actor.company_id).filter(entry_id__in=list(entry_ids))
    for entry_id, name in scopes.order_by("workgroup__name").values_list("entry_id", "workgroup__name"):
        names.setdefault(entry_id, []).append(name)
    return names


def access_dnc_entry(actor: Actor, entry_id):
    from estatecrm.leads.models import DoNotCallEntry

    try:
        return dnc_entry_list(actor=actor).get(pk=int(entry_id))
    except (DoNotCallEntry.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def dnc_import_list(*, actor: Actor) -> QuerySet[Run]:
    from estatecrm.leads.dnc import DNC_RUN_KIND

    return Run.objects.for_company(actor.company_id).filter(kind=DNC_RUN_KIND).select_related("created_by").order_by("-created_at", "-pk")


def edited_leads(actor: Actor, run: Run) -> list[dict]:
    """The leads of an import edited since it ended (a revert refuses them unless forced), with their case."""
    from estatecrm.crm.models import Customer
    from estatecrm.leads.actions import edited_since

    customer_ids = edited_since(run)
    if not customer_ids:
        return []
    names = dict(Customer.objects.for_company(actor.company_id).filter(pk__in=customer_ids).values_list("pk", "name"))
    case_ids: dict[int, int] = {}
    for customer_id, case_id in Case.objects.for_company(actor.company_id).filter(customer_id__in=customer_ids).order_by("pk").values_list("customer_id", "pk"):
        case_ids.setdefault(customer_id, case_id)
    return [{"customer_id": pk, "name": names.get(pk, ""), "case_id": case_ids.get(pk)} for pk in customer_ids]


def first_case_ids(actor: Actor, customer_ids) -> dict[int, int]:
    """Customer id -> the id of its first live case the actor sees (a duplicate's link to the existing lead)."""
    cases = Case.objects.for_company(actor.company_id).filter(
        actor.case_visibility_q(), customer_id__in=set(customer_ids), deleted_at__isnull=True).order_by("-pk")
    return dict(cases.values_list("customer_id", "pk"))
