"""Lead imports and do-not-call lists through the API: the same steps as the pages and the CLI."""

import contextlib
import json
import shutil
import tempfile
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, UploadedFile
from ninja.security import django_auth

from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.core.ids import PathId
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Project
from estatecrm.leads import actions, schemas
from estatecrm.leads.choices import DEFAULT_DUPLICATE_KEYS, DuplicateKey, DuplicatePolicy
from estatecrm.leads.models import DoNotCallEntry, DoNotCallScope
from estatecrm.leads.reports import write_failed_rows
from estatecrm.leads.selectors import (
    access_import,
    import_list,
    import_summary,
    latest_reverts,
    revert_summary,
)
from estatecrm.pipeline.engine import request_abort
from estatecrm.pipeline.mapping import parse_mapping_json
from estatecrm.pipeline.readers import ReadError, open_table
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import actor_for

# Session authentication here; the API-wide token authentication applies to this router as well
# once it exists (one place: config/api.py).
router = Router(tags=["lead imports"], auth=django_auth)


def acting(request: HttpRequest, rule: str):
    """The caller as an Actor, refused (403) unless the rule of tenancy/permissions.py allows them, as on the pages."""
    actor = actor_for(request.auth)
    require(actor, rule)
    return actor


def project_of(actor, project_id: int) -> Project:
    project = Project.objects.for_company(actor.company_id).filter(pk=project_id).first()
    if project is None:
        raise NotFound()
    return project


@contextlib.contextmanager
def stored_upload(upload: UploadedFile):
    """The upload as a file of its own, removed with its folder whatever happens (accepted, refused,
    failed): a run keeps its own copy (Run.keep_source_file)."""
    directory = Path(tempfile.mkdtemp(prefix="estatecrm-upload-"))
    try:
        path = directory / (Path(upload.name or "upload").name or "upload")
        with path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def read_error(error: ReadError) -> ApplicationError:
    return ApplicationError(error.code, error.message, fields={"file": [error.message]})


def import_out(run, reverts: dict | None = None) -> dict:
    """`reverts`: import id -> latest revert run, when known for a whole list (else looked up)."""
    from estatecrm.pipeline.reverts import latest_revert

    revert = reverts.get(run.pk) if reverts is not None else latest_revert(run)
    return {
        **import_summary(run), "file": run.source_name, "project_id": run.params.get("project_id"),
        "case_kind": run.params.get("case_kind", ""), "customer_kind": run.params.get("customer_kind", ""),
        "created_by": run.created_by.email if run.created_by else None, "created_at": run.created_at,
        "rows_total": run.rows_total, "rows_done": run.rows_done, "error": run.error_message, "revert": revert_summary(revert),
    }


def parse_decisions(text: str) -> dict[int, str]:
    """`{"row number": "add|skip|overwrite"}`; a row named twice (also as `5` and `05`) is refused, not the last kept."""
    message = _("decisions must be a JSON object of row number -> add, skip or overwrite, each row once.")
    try:
        pairs = json.loads(text, object_pairs_hook=list)
        decisions = {int(row): value for row, value in pairs}
    except (ValueError, TypeError):
        raise ApplicationError("invalid", message, fields={"decisions": [message]}) from None
    if not isinstance(pairs, list) or len(decisions) != len(pairs):
        raise ApplicationError("invalid", message, fields={"decisions": [message]})
    return decisions


def options_from(mapping: str | None, duplicate_keys: str, on_duplicate: str, decisions: str | None) -> dict:
    try:
        parsed_mapping = parse_mapping_json(mapping) if mapping else None
    except ValueError as error:
        raise ApplicationError("invalid", str(error), fields={"mapping": [str(error)]}) from None
    parsed_decisions = parse_decisions(decisions) if decisions else None
    keys = [key.strip() for key in duplicate_keys.split(",") if key.strip()]
    if unknown := sorted(set(keys) - set(DuplicateKey.values)):
        message = _("Unknown duplicate keys: %(keys)s (use name, phone, email).") % {"keys": ", ".join(unknown)}
        raise ApplicationError("invalid", message, fields={"duplicate_keys": [message]})
    if on_duplicate not in DuplicatePolicy.values:
        message = _("on_duplicate must be add, skip or overwrite.")
        raise ApplicationError("invalid", message, fields={"on_duplicate": [message]})
    return {"mapping": parsed_mapping, "duplicate_keys": keys, "on_duplicate": on_duplicate, "decisions": parsed_decisions}


@router.post("/lead-imports/detect", response=schemas.DetectOut)
def detect(request, project_id: int = Form(...), file: UploadedFile = File(...), encoding: str = Form(""), sheet: str = Form("")):
    """Step 1: what the file is (encoding, delimiter, sheets, header row, headers) and the suggested mapping."""
    actor = acting(request, "lead_imports")
    project = project_of(actor, project_id)
    with stored_upload(file) as path:
        try:
            table = open_table(path, encoding=encoding or None, sheet=sheet or None)
        except ReadError as error:
            raise read_error(error) from None
        mapping, problems = actions.resolve_mapping(table, project, None)
    info = table.info
    return {"format": info.format, "encoding": info.encoding, "delimiter": info.delimiter, "sheet": info.sheet, "sheets": info.sheets,
            "header_row": info.header_row, "headers": info.headers, "suggested_mapping": mapping, "mapping_problems": problems}


@router.post("/lead-imports/dry-run", response=schemas.DryRunOut)
def dry_run(request, project_id: int = Form(...), file: UploadedFile = File(...), mapping: str | None = Form(None),
            encoding: str = Form(""), sheet: str = Form(""), duplicate_keys: str = Form(",".join(DEFAULT_DUPLICATE_KEYS)),
            on_duplicate: str = Form("add"), decisions: str | None = Form(None),
                 case_kind: str = Form(""), customer_kind: str = Form("")):
    """Step 2: the counts an import would give (new leads and contacts, duplicates by rule, failures by reason); writes nothing."""
    actor = acting(request, "lead_imports")
    project = project_of(actor, project_id)
    with stored_upload(file) as path, company_scope(actor.company_id):
        try:
            counts = actions.do_dry_run_lead_import(actor=actor, path=path, file_name=file.name, project=project, encoding=encoding,
                                                    sheet=sheet, **options_from(mapping, duplicate_keys, on_duplicate, decisions),
                                                    case_kind=case_kind or None, customer_kind=customer_kind or None)
        except ReadError as error:
            raise read_error(error) from None
    from estatecrm.leads.selectors import summarize_counts

    return {"status": "dry_run", **summarize_counts(counts)}


@router.post("/lead-imports", response={202: schemas.ImportOut})
def start_import(request, project_id: int = Form(...), file: UploadedFile = File(...), mapping: str | None = Form(None),
                 encoding: str = Form(""), sheet: str = Form(""), duplicate_keys: str = Form(",".join(DEFAULT_DUPLICATE_KEYS)),
                 on_duplicate: str = Form("add"), decisions: str | None = Form(None),
                 case_kind: str = Form(""), customer_kind: str = Form("")):
    """Start an import in the background; poll GET /lead-imports/{id} for progress."""
    actor = acting(request, "lead_imports")
    project = project_of(actor, project_id)
    with stored_upload(file) as path, company_scope(actor.company_id):
        try:
            run = actions.do_start_lead_import(actor=actor, path=path, file_name=file.name, project=project, encoding=encoding,
                                               sheet=sheet, **options_from(mapping, duplicate_keys, on_duplicate, decisions),
                                                    case_kind=case_kind or None, customer_kind=customer_kind or None)
        except ReadError as error:
            raise read_error(error) from None
        run.refresh_from_db()
        return 202, import_out(run)


@router.get("/lead-imports", response=list[schemas.ImportOut])
def list_imports(request):
    actor = acting(request, "lead_imports")
    runs = list(import_list(actor=actor)[:200])
    reverts = latest_reverts(actor, runs)
    return [import_out(run, reverts) for run in runs]


@router.get("/lead-imports/{import_id}", response=schemas.ImportOut)
def get_import(request, import_id: PathId):
    return import_out(access_import(acting(request, "lead_imports"), import_id))


@router.post("/lead-imports/{import_id}/abort", response=schemas.ImportOut)
def abort_import(request, import_id: PathId):
    actor = acting(request, "lead_imports")
    run = access_import(actor, import_id)
    request_abort(run)
    run.refresh_from_db()
    return import_out(run)


@router.get("/lead-imports/{import_id}/failed-rows")
def failed_rows(request, import_id: PathId, encoding: str = ""):
    """The failed rows as CSV with the エラー内容 column (the source's encoding unless `encoding`)."""
    actor = acting(request, "lead_imports")
    run = access_import(actor, import_id)
    response = HttpResponse(content_type="text/csv")
    with company_scope(actor.company_id):
        result = write_failed_rows(run, response, encoding=encoding or None)
    response["Content-Type"] = f"text/csv; charset={result['charset']}"
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-failed-rows.csv"'
    return response


@router.post("/lead-imports/{import_id}/revert", response={202: schemas.ImportOut})
def revert_import(request, import_id: PathId, payload: schemas.RevertIn):
    """Start reverting the import in the background (refused at once, 4xx, when it cannot be reverted);
    poll GET /lead-imports/{id}: `revert.status` ends, and `status` becomes `reverted`."""
    actor = acting(request, "lead_imports")
    run = access_import(actor, import_id)
    with company_scope(actor.company_id):
        actions.do_start_lead_import_revert(actor=actor, run=run, force=payload.force)
    run.refresh_from_db()
    return 202, import_out(run)


@router.get("/do-not-call", response=list[schemas.DoNotCallOut])
def list_do_not_call(request):
    actor = acting(request, "do_not_call")
    scopes: dict[int, list[str]] = {}
    for entry_id, name in DoNotCallScope.objects.for_company(actor.company_id).values_list("entry_id", "workgroup__name"):
        scopes.setdefault(entry_id, []).append(name)
    return [
        {"id": entry.pk, "lead_name": entry.name, "phone": entry.phone, "phone_raw": entry.phone_raw, "note": entry.note,
         "workgroups": sorted(scopes.get(entry.pk, []))}
        for entry in DoNotCallEntry.objects.for_company(actor.company_id).order_by("pk")[:5000]
    ]


@router.delete("/do-not-call/{entry_id}", response={204: None})
def remove_do_not_call(request, entry_id: PathId):
    actor = acting(request, "do_not_call")
    entry = DoNotCallEntry.objects.for_company(actor.company_id).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound()
    actions.do_remove_dnc_entry(actor=actor, entry=entry)
    return 204, None
