"""Starting, dry-running and reverting lead imports; do-not-call entries."""

import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.transactions import enqueue_on_commit
from estatecrm.crm.choices import CaseKind, CustomerKind
from estatecrm.crm.models import Case, Customer, Project, ProjectField
from estatecrm.leads import error_codes
from estatecrm.leads.choices import DEFAULT_DUPLICATE_KEYS, RUN_KIND, DuplicatePolicy
from estatecrm.leads.fields import CUSTOM_PREFIX, NEW_CUSTOM_PREFIX, is_column_key, lead_fields
from estatecrm.leads.selectors import KEY_CHUNK, created_leads, last_row_written, ledger_rows
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.mapping import check_mapping, suggest_mapping
from estatecrm.pipeline.models import RowIssue, Run
from estatecrm.pipeline.readers import open_table
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import Actor

MAX_ROW_DECISIONS = 1000


def project_field_names(project: Project) -> list[str]:
    return list(
        ProjectField.objects.for_company(project.company_id).filter(project=project)
        .order_by("position").values_list("custom_field__name", flat=True)
    )


def suggest_default_mapping(table) -> dict:
    """The suggestion for a project that does not exist yet (default fields only)."""
    return suggest_mapping(table.info.headers, lead_fields())


def resolve_mapping(table, project: Project, mapping: dict | None) -> tuple[dict, dict]:
    """The mapping to use (given, or suggested from the headers) and its problems by field key. Without a
    lead name column (a list of people: 氏名, フリガナ, 電話番号) each lead is named after its contact."""
    names = project_field_names(project) if project.pk else []
    chosen = dict(mapping) if mapping else suggest_mapping(table.info.headers, lead_fields(names))
    return chosen, check_mapping(chosen, table.info.headers, lead_fields(names, chosen))


def check_import_kinds(project: Project, case_kind: str | None, customer_kind: str | None) -> tuple[str, str]:
    """The kinds an import creates: those chosen, else its project's defaults; refused when unknown."""
    case_kind = case_kind or project.default_case_kind
    customer_kind = customer_kind or project.default_customer_kind
    if case_kind not in CaseKind.values:
        message = _("The case kind must be rent or buy.")
        raise ApplicationError(error_codes.KIND_INVALID, message, fields={"case_kind": [message]})
    if customer_kind not in CustomerKind.values:
        message = _("The customer kind must be person, household or company.")
        raise ApplicationError(error_codes.KIND_INVALID, message, fields={"customer_kind": [message]})
    return case_kind, customer_kind


def create_column_fields(*, actor: Actor, project: Project, mapping: dict) -> dict:
    """Columns mapped to a new custom field (`new_custom:<header>`) get one, named after the header (a
    text field; an existing field of that name is reused) and linked to the project; returns the mapping
    with `custom:<name>` keys in their place. Needs the `masters_edit` rule (custom fields are company
    masters): an org admin's import refuses it, nothing is created."""
    from estatecrm.crm.actions import do_upsert_custom_field, do_upsert_project
    from estatecrm.crm.choices import CustomFieldType
    from estatecrm.crm.models import CustomField

    columns = [key for key in mapping if key.startswith(NEW_CUSTOM_PREFIX)]
    if not columns:
        return mapping
    require(actor, "masters_edit")
    links = ProjectField.objects.for_company(actor.company_id).filter(project=project).select_related("custom_field").order_by("position")
    linked = [link.custom_field for link in links]
    chosen = {key: header for key, header in mapping.items() if key not in columns}
    for key in columns:
        name = " ".join(key.removeprefix(NEW_CUSTOM_PREFIX).split())[:100]
        field = CustomField.objects.for_company(actor.company_id).filter(name=name).first()
        if field is None:
            field, _changed = do_upsert_custom_field(company=actor.company, name=name, field_type=CustomFieldType.TEXT, acting_user=actor.user)
        if field.pk not in {item.pk for item in linked}:
            linked.append(field)
        chosen[f"{CUSTOM_PREFIX}{field.name}"] = mapping[key]
    do_upsert_project(company=actor.company, name=project.name, custom_fields=linked, acting_user=actor.user)
    return chosen


@transaction.atomic
def do_start_lead_import(
    *, actor: Actor, path: Path, file_name: str, project: Project, mapping: dict | None = None, encoding: str = "",
    delimiter: str = "", sheet: str = "", header_row: int | None = None, duplicate_keys=DEFAULT_DUPLICATE_KEYS,
    on_duplicate: str = DuplicatePolicy.ADD, decisions: dict | None = None, background: bool = True,
    case_kind: str | None = None, customer_kind: str | None = None,
) -> Run:
    """Check the file and mapping (nothing is written when they are bad), store the file, create the run.

    `case_kind` (rent / buy) and `customer_kind` (person / household / company): what every new lead is,
    unless its row has a kind column; None takes the project's defaults. Nothing is guessed from names.
    Columns mapped to new custom fields get them here (`create_column_fields`, rule `masters_edit`).

    `background`: enqueue the run for a worker once this transaction commits; otherwise the caller
    executes it (the CLI, with its progress bar). Admin only (a bulk operation), and the new leads go to
    the actor's primary unit: an org admin must administer it (rule `lead_imports`, unit scoped).
    """
    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can import leads."))
    require(actor, "lead_imports", unit_id=actor.primary_unit_id)
    if project.company_id != actor.company_id:
        raise ApplicationError(error_codes.UNKNOWN_PROJECT, _("Unknown project."))
    kinds = check_import_kinds(project, case_kind, customer_kind)
    table = open_table(path, encoding=encoding or None, delimiter=delimiter or None, sheet=sheet or None, header_row=header_row)
    chosen, problems = resolve_mapping(table, project, mapping)
    if not problems:
        chosen = create_column_fields(actor=actor, project=project, mapping=chosen)
        chosen, problems = resolve_mapping(table, project, chosen)
    if problems:
        raise ApplicationError(
            error_codes.MAPPING_INVALID, _("The column mapping is not complete."),
            fields={key: [mapping_problem_text(code)] for key, code in problems.items()},
        )
    if decisions and len(decisions) > MAX_ROW_DECISIONS:
        raise ApplicationError(error_codes.TOO_MANY_DECISIONS, _("At most %(count)d rows can be decided one by one.") % {"count": MAX_ROW_DECISIONS})
    run = Run(
        company_id=actor.company_id, kind=RUN_KIND, token=secrets.token_hex(8), created_by=actor.user, source_name=file_name,
        params={
            "project_id": project.pk, "mapping": chosen, "encoding": encoding or table.info.encoding or "",
            "delimiter": delimiter or table.info.delimiter or "", "sheet": sheet or table.info.sheet or "",
            "header_row": header_row or table.info.header_row, "duplicate_keys": list(duplicate_keys), "on_duplicate": on_duplicate,
            "decisions": {str(row): decision for row, decision in (decisions or {}).items()}, "acting_user_id": actor.user.pk,
            "org_unit_id": actor.primary_unit_id, "region": actor.company.phone_region,
            "case_kind": kinds[0], "customer_kind": kinds[1],
        },
    )
    run.keep_source_file(path, file_name)
    run.save()
    record_event(company_id=actor.company_id, actor=actor.user, verb="start_import", instance=run,
                 after={"file": file_name, "project": project.name, "case_kind": kinds[0], "customer_kind": kinds[1]}, run_id=run.pk)
    if background:
        from estatecrm.pipeline.tasks import run_pipeline

        enqueue_on_commit(run_pipeline, run.pk)
    return run


def mapping_problem_text(code: str) -> str:
    return {
        "required_field_unmapped": _("This field is required: choose the column that holds it."),
        "unknown_header": _("The file has no such column."),
        "unknown_field": _("There is no such field."),
        "duplicate_header": _("The file has several columns with this header: rename them so that it is clear which one to import."),
    }.get(code, code)


def do_dry_run_lead_import(**options) -> Counter:
    """Everything an import would do, counted, then rolled back: nothing is written."""
    counts: Counter = Counter()
    with transaction.atomic():
        run = do_start_lead_import(**options, background=False)
        execute_run(run.pk)
        run.refresh_from_db()
        counts.update(run.counts)
        counts["status:" + run.status] = 1
        if run.error_message:
            raise ApplicationError(run.error_code, run.error_message)
        transaction.set_rollback(True)
    Path(run.source_file.path).unlink(missing_ok=True)
    return counts


REVERTIBLE = {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES, RunStatus.ABORTED, RunStatus.FAILED}


def edited_since(run: Run) -> list[int]:
    """Customers this run created or updated that someone changed after the run ended (their customer row or
    one of their cases).

    The created ones are read a chunk of rows at a time (their cases carry the run: selectors.created_leads),
    the updated ones with the run's ledger as a subquery: no list of 600,000 ids travels at once."""
    if run.finished_at is None:
        return []
    margin = run.finished_at + timezone.timedelta(seconds=1)
    customers, cases = Customer.objects.for_company(run.company_id), Case.objects.for_company(run.company_id)

    def edited(customer_ids) -> set[int]:
        found = set(customers.filter(pk__in=customer_ids, updated_at__gt=margin).values_list("pk", flat=True))
        return found | set(cases.filter(customer_id__in=customer_ids, updated_at__gt=margin).values_list("customer_id", flat=True))

    found = edited(ledger_rows(run).filter(target_type="crm.customer", outcome=LedgerOutcome.UPDATED).values("target_id"))
    created: list[int] = []
    for _row, _case, customer_id in created_leads(run.company_id, run.pk, 0, last_row_written(run)):
        created.append(customer_id)
        if len(created) == KEY_CHUNK:
            found |= edited(created)
            created = []
    if created:
        found |= edited(created)
    return sorted(found)


def check_lead_import_revertible(run: Run, *, force: bool) -> None:
    """Refuse (ApplicationError) the revert of an import that has not ended, was reverted, or whose leads
    were edited since it ended (unless `force`)."""
    if run.status not in REVERTIBLE:
        raise ApplicationError(error_codes.NOT_REVERTIBLE, _("Only a finished import can be reverted."))
    edited = edited_since(run)
    if edited and not force:
        raise ApplicationError(
            error_codes.EDITED_SINCE,
            _("%(count)d imported leads were edited after the import (customer ids: %(ids)s). Revert with force to undo anyway.")
            % {"count": len(edited), "ids": ", ".join(str(pk) for pk in edited[:20])},
        )


@transaction.atomic
def do_start_lead_import_revert(*, actor: Actor, run: Run, force: bool = False, background: bool = True) -> Run:
    """Start undoing an import in the background: a revert run (pipeline/reverts.py; progress on the
    import's page, resumed after a crash) puts its new leads in the trash, brings overwritten values back
    and removes the contacts it added, then marks the import reverted, with exact counts.

    Refused (nothing changes) when the import has not ended, was reverted, is being reverted, or when
    leads were edited since, unless `force` (checked again when the revert run starts). Admin only;
    audited (the start here, the revert with its counts when it ends). `background`: enqueue the revert
    run once this transaction commits; otherwise the caller executes it (the CLI, with its progress)."""
    from estatecrm.pipeline.reverts import start_revert

    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can revert imports."))
    run = Run.objects.for_company(actor.company_id).select_for_update().get(pk=run.pk)
    return start_revert(run, actor=actor, force=force, check_revertible=check_lead_import_revertible, background=background,
                        in_progress=lambda running: ApplicationError(error_codes.REVERT_IN_PROGRESS, _(
                            "This import is being reverted already (run #%(run)d).") % {"run": running.pk}))


def do_revert_lead_import(*, actor: Actor, run: Run, force: bool = False) -> Counter:
    """Undo an import now, in this process: `do_start_lead_import_revert` (same refusals) executed at once.
    Returns the revert's counts (`leads_trashed`, `leads_restored`); a revert that stopped raises its reason."""
    revert = do_start_lead_import_revert(actor=actor, run=run, force=force, background=False)
    execute_run(revert.pk)
    revert.refresh_from_db()
    if revert.status != RunStatus.COMPLETED:
        raise ApplicationError(revert.error_code or error_codes.NOT_REVERTIBLE, revert.error_message or revert.get_status_display())
    return Counter(revert.counts)


# ---------------------------------------------------------------------------------------------
# Do-not-call entries


@transaction.atomic
def do_start_dnc_import(*, actor: Actor, path: Path, file_name: str, workgroups=(), mapping: dict | None = None,
                        encoding: str = "", sheet: str = "", background: bool = True) -> Run:
    """Check the file and store it; the run adds one entry per valid row, scoped to `workgroups`
    (none: the whole company). Admin only."""
    from estatecrm.leads.dnc import DNC_FIELDS, DNC_RUN_KIND

    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can import do-not-call lists."))
    if any(group.company_id != actor.company_id for group in workgroups):
        raise ApplicationError(error_codes.MAPPING_INVALID, _("Unknown workgroup."))
    table = open_table(path, encoding=encoding or None, sheet=sheet or None)
    chosen = dict(mapping) if mapping else suggest_mapping(table.info.headers, DNC_FIELDS)
    problems = check_mapping(chosen, table.info.headers, DNC_FIELDS)
    if problems or not (chosen.get("lead_name") or chosen.get("phone")):
        raise ApplicationError(error_codes.MAPPING_INVALID, _("Map a column to the lead name, the phone number, or both."),
                               fields={key: [mapping_problem_text(code)] for key, code in problems.items()})
    run = Run(company_id=actor.company_id, kind=DNC_RUN_KIND, token=secrets.token_hex(8), created_by=actor.user, source_name=file_name,
              params={"mapping": chosen, "encoding": encoding or table.info.encoding or "", "sheet": sheet or table.info.sheet or "",
                      "workgroup_ids": [group.pk for group in workgroups], "region": actor.company.phone_region})
    run.keep_source_file(path, file_name)
    run.save()
    record_event(company_id=actor.company_id, actor=actor.user, verb="start_import", instance=run,
                 after={"file": file_name, "workgroups": [group.name for group in workgroups]}, run_id=run.pk)
    if background:
        from estatecrm.pipeline.tasks import run_pipeline

        enqueue_on_commit(run_pipeline, run.pk)
    return run


@transaction.atomic
def do_remove_dnc_entry(*, actor: Actor, entry) -> None:
    """Delete a do-not-call entry (admin only). Audited with what it was."""
    from estatecrm.audit.actions import snapshot

    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can change the do-not-call list."))
    before = snapshot(entry, ["name", "phone_raw", "phone", "note"])
    entry_id = entry.pk
    entry.delete()
    record_event(company_id=actor.company_id, actor=actor.user, verb="delete", object_type="leads.donotcallentry",
                 object_id=entry_id, object_repr=entry.name or entry.phone_raw, before=before)


# ---------------------------------------------------------------------------------------------
# The import pages: a project chosen or named on the page, saved column mappings


def fields_for_project(project: Project | None):
    """The fields a file maps to: the default fields, plus the custom fields of an existing project."""
    return lead_fields(project_field_names(project) if project is not None and project.pk else ())


def mapping_for_headers(saved: dict, headers, fields) -> dict:
    """A saved mapping applied to a new file: each field keeps its column when the file has a header of
    the same name (width, case, spacing and punctuation folded); fields the file lacks are left out."""
    from estatecrm.pipeline.mapping import fold_header

    by_folded: dict[str, str] = {}
    for header in headers:
        if header and header.strip():
            by_folded.setdefault(fold_header(header), header)
    known = {field.key for field in fields}
    applied = {}
    for key, header in (saved or {}).items():
        if (key not in known and not is_column_key(key)) or not isinstance(header, str):
            continue
        match = header if header in headers else by_folded.get(fold_header(header))
        if match:
            applied[key] = match
    return applied


def check_new_project_name(actor: Actor, name: str) -> str:
    """The name of a project to create with the import, refused when empty or taken."""
    name = " ".join((name or "").split())
    if not name:
        raise ApplicationError(error_codes.UNKNOWN_PROJECT, _("Choose a project or name a new one."), fields={"new_project": [_("Choose a project or name a new one.")]})
    if Project.objects.for_company(actor.company_id).filter(name=name).exists():
        message = _("A project with this name already exists: choose it in the list.")
        raise ApplicationError(error_codes.PROJECT_EXISTS, message, fields={"new_project": [message]})
    return name[:200]


def _project_for_import(actor: Actor, project: Project | None, new_project_name: str, options: dict) -> Project:
    """The chosen project, or the new one named on the page: its imports' kinds default to this import's."""
    if project is not None:
        return project
    from estatecrm.crm.actions import do_upsert_project

    created, _created = do_upsert_project(company=actor.company, name=check_new_project_name(actor, new_project_name), acting_user=actor.user,
                                          case_kind=options.get("case_kind"), customer_kind=options.get("customer_kind"))
    return created


@transaction.atomic
def do_start_lead_import_from_page(*, actor: Actor, project: Project | None = None, new_project_name: str = "",
                                   mapping_name: str = "", **options) -> Run:
    """Start an import from the pages: creates the named new project (default fields only) and saves the
    mapping under `mapping_name` in the same transaction, so a refused import leaves neither behind."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can import leads."))
    project = _project_for_import(actor, project, new_project_name, options)
    run = do_start_lead_import(actor=actor, project=project, **options)
    if mapping_name:
        do_save_lead_mapping(actor=actor, project=project, name=mapping_name, mapping=run.params["mapping"])
    return run


@dataclass
class DryRunReport:
    counts: Counter
    issues: list  # [(row number, field key, reason code)], the first MAX_REPORTED_ISSUES
    issue_count: int
    # Rows flagged as duplicates, the first MAX_ROW_DECISIONS: {"row", "rule", "customer_id", "lead_name", "phone", "email", "decision", "match"}
    duplicates: list = field(default_factory=list)
    duplicate_count: int = 0


MAX_REPORTED_ISSUES = 200


def do_dry_run_lead_import_from_page(*, actor: Actor, project: Project | None = None, new_project_name: str = "", **options) -> DryRunReport:
    """What the import would do, counted, with its first row errors; nothing is written (a new project
    is made for the check and rolled back with everything else)."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can import leads."))
    counts: Counter = Counter()
    with transaction.atomic():
        project = _project_for_import(actor, project, new_project_name, options)
        run = do_start_lead_import(actor=actor, project=project, **options, background=False)
        execute_run(run.pk)
        run.refresh_from_db()
        counts.update(run.counts)
        issues = RowIssue.objects.for_company(run.company_id).filter(run=run, is_failure=True).order_by("row_number", "pk")
        issue_count = issues.count()
        reported = list(issues.values_list("row_number", "field", "code")[:MAX_REPORTED_ISSUES])
        flagged = RowIssue.objects.for_company(run.company_id).filter(run=run, is_failure=False, code__startswith="duplicate_")
        duplicate_count = flagged.count()
        duplicates = [{"row": row, "rule": code.removeprefix("duplicate_"), **params}
                      for row, code, params in flagged.order_by("row_number").values_list("row_number", "code", "params")[:MAX_ROW_DECISIONS]]
        error = (run.error_code, run.error_message)
        transaction.set_rollback(True)
    Path(run.source_file.path).unlink(missing_ok=True)
    if error[1]:
        raise ApplicationError(*error)
    return DryRunReport(counts=counts, issues=reported, issue_count=issue_count, duplicates=duplicates, duplicate_count=duplicate_count)


@transaction.atomic
def do_save_lead_mapping(*, actor: Actor, project: Project, name: str, mapping: dict):
    """Save (or replace) the column mapping called `name` of `project`. Admin only; audited.

    Only known field keys of the project are kept; a mapping with no field is refused.
    """
    from estatecrm.leads.models import SavedMapping

    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can save column mappings."))
    if project.company_id != actor.company_id:
        raise ApplicationError(error_codes.UNKNOWN_PROJECT, _("Unknown project."))
    name = " ".join((name or "").split())[:100]
    if not name:
        message = _("Name the mapping to save it.")
        raise ApplicationError(error_codes.MAPPING_INVALID, message, fields={"mapping_name": [message]})
    known = {field.key for field in fields_for_project(project)}
    cleaned = {key: header for key, header in (mapping or {}).items() if (key in known or is_column_key(key)) and isinstance(header, str) and header}
    if not cleaned:
        message = _("Map at least one column before saving the mapping.")
        raise ApplicationError(error_codes.MAPPING_INVALID, message, fields={"mapping_name": [message]})
    existing = SavedMapping.objects.for_company(actor.company_id).filter(project=project, name=name).select_for_update().first()
    if existing is not None and existing.mapping == cleaned:
        return existing
    before = {"mapping": existing.mapping} if existing is not None else None
    saved, created = SavedMapping.objects.for_company(actor.company_id).update_or_create(
        company_id=actor.company_id, project=project, name=name, defaults={"mapping": cleaned},
    )
    record_event(company_id=actor.company_id, actor=actor.user, verb="create" if created else "update", instance=saved,
                 object_repr=f"{project.name}: {name}", before=before, after={"project": project.name, "name": name, "mapping": cleaned})
    return saved


@transaction.atomic
def do_delete_saved_mapping(*, actor: Actor, saved_mapping) -> None:
    """Delete a saved column mapping. Admin only; audited with what it was."""
    if not actor.is_admin:
        raise PermissionDenied(_("Only administrators can delete column mappings."))
    before = {"project_id": saved_mapping.project_id, "name": saved_mapping.name, "mapping": saved_mapping.mapping}
    mapping_id = saved_mapping.pk
    saved_mapping.delete()
    record_event(company_id=actor.company_id, actor=actor.user, verb="delete", object_type="leads.savedmapping",
                 object_id=mapping_id, object_repr=before["name"], before=before)
