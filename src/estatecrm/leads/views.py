"""The import pages (administrators only): history, upload, mapping with dry run, progress, failed rows,
revert, saved mappings, the sample CSV, and the do-not-call list.

Views stay thin (STYLE.md): parse a form, `access_*`, call one action, render or redirect. Between
step 1 (upload) and step 2 (mapping) the file waits in Django's storage under the company's folder;
the session remembers which file and how to read it (the draft), so no URL names it.
"""

import csv
import io
import secrets
import shutil
import tempfile
from pathlib import Path

from django.contrib import messages
from django.core.files import File
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from estatecrm.core.errors import ApplicationError, NotFound
from estatecrm.core.ids import parse_id
from estatecrm.crm.choices import CaseKind, CustomerKind
from estatecrm.crm.models import CustomField, Project
from estatecrm.leads import actions, error_codes, selectors
from estatecrm.leads.choices import DuplicatePolicy
from estatecrm.leads.converter import convert_row
from estatecrm.leads.dnc import DNC_FIELDS
from estatecrm.leads.fields import CUSTOM_PREFIX, DEFAULT_FIELDS, NOTE_PREFIX, is_column_key
from estatecrm.leads.forms import (
    DELIMITER_CHOICES,
    MAPPING_PREFIX,
    ONE_CLICK_FIELDS,
    DoNotCallImportForm,
    MappingForm,
    ReadSettingsForm,
    RevertForm,
    UploadForm,
    field_label,
)
from estatecrm.leads.reports import reason_message, write_failed_rows
from estatecrm.normalize import neutralize_formula
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import request_abort
from estatecrm.pipeline.mapping import column_indexes, suggest_mapping
from estatecrm.pipeline.readers import ReadError, cell_text, encoding_label, open_table
from estatecrm.pipeline.reverts import latest_revert
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.permissions import allows
from estatecrm.tenancy.selectors import Actor
from estatecrm.tenancy.views import add_error

DRAFT_SESSION_KEY = "leads:import-draft"
UPLOAD_FOLDER = "lead-uploads"
PREVIEW_ROWS = 5
LIST_LIMIT = 100
DNC_LIST_LIMIT = 500
DNC_EXPORT_HEADERS = ("リード名", "電話番号", "備考", "ワークグループ")


# ---------------------------------------------------------------------------------------------
# Helpers


def posted(request: HttpRequest) -> tuple:
    """(data, files) of a POST, (None, None) otherwise: a form is bound exactly when the page was posted."""
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


def template_headers(project: Project | None) -> list[str]:
    """The canonical Japanese column headers: the default fields, then the project's custom fields."""
    headers = [field.synonyms[0] for field in DEFAULT_FIELDS]
    if project is not None:
        headers += actions.project_field_names(project)
    return headers


def reason_label(code: str, field: str = "") -> str:
    return reason_message(code, field)


def field_labels(lead_fields) -> dict[str, str]:
    return {field.key: field_label(field) for field in lead_fields}


def copy_to_temporary(upload) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="estatecrm-upload-"))
    path = directory / (Path(upload.name or "upload").name or "upload")
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return path


def remove_temporary(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)


def read_upload(path: Path, *, encoding: str = "", sheet: str = "", header_row: int | None = None):
    """Open and scan the whole file (nothing is stored when it is bad); returns (table, data row count)."""
    table = open_table(path, encoding=encoding or None, sheet=sheet or None, header_row=header_row)
    rows = table.scan()
    if rows == 0:
        raise ReadError("header_only", _("The file has a header row but no data rows."))
    return table, rows


# -- the draft between step 1 and step 2 --------------------------------------------------------


def get_draft(request: HttpRequest, actor: Actor) -> dict | None:
    draft = request.session.get(DRAFT_SESSION_KEY)
    if not draft or draft.get("company_id") != actor.company_id:
        return None
    if not default_storage.exists(draft["storage_name"]):
        return None
    return draft


def discard_draft(request: HttpRequest) -> None:
    draft = request.session.pop(DRAFT_SESSION_KEY, None)
    if draft and draft.get("storage_name", "").startswith(f"{UPLOAD_FOLDER}/"):
        default_storage.delete(draft["storage_name"])


def draft_project(actor: Actor, draft: dict) -> Project | None:
    if not draft.get("project_id"):
        return None
    return Project.objects.for_company(actor.company_id).filter(pk=draft["project_id"]).first()


def open_draft(draft: dict):
    return open_table(Path(default_storage.path(draft["storage_name"])), encoding=draft.get("encoding") or None,
                      delimiter=draft.get("delimiter") or None, sheet=draft.get("sheet") or None,
                      header_row=draft.get("header_row") or None)


def row_decisions(post, policy: str) -> dict[int, str]:
    """`decision_<row>` fields of the dry run's duplicate table that differ from the import's policy."""
    decisions = {}
    for name, value in post.items():
        row = name.removeprefix("decision_")
        if name.startswith("decision_") and row.isdigit() and value in DuplicatePolicy.values and value != policy:
            decisions[int(row)] = value
    return decisions


def import_options(draft: dict, mapping: dict, form: MappingForm, post=None) -> dict:
    return {
        "case_kind": form.cleaned_data["case_kind"] or None, "customer_kind": form.cleaned_data["customer_kind"] or None,
        "decisions": row_decisions(post or {}, form.cleaned_data["on_duplicate"]) or None,
        "path": Path(default_storage.path(draft["storage_name"])), "file_name": draft["file_name"], "mapping": mapping,
        "encoding": draft.get("encoding") or "", "delimiter": draft.get("delimiter") or "", "sheet": draft.get("sheet") or "",
        "header_row": draft.get("header_row") or None, "duplicate_keys": form.cleaned_data["duplicate_keys"],
        "on_duplicate": form.cleaned_data["on_duplicate"],
    }


def preview(table, mapping: dict, project: Project | None, lead_fields, region: str) -> tuple[list, list]:
    """The first rows as in the file, and as they will be stored (normalized, with their errors)."""
    names = [field.key[len(CUSTOM_PREFIX):] for field in lead_fields if field.key.startswith(CUSTOM_PREFIX)]
    custom_fields = {
        field.name: (field.field_type, list(field.choices or []))
        for field in CustomField.objects.for_company(project.company_id).filter(name__in=names)
    } if project is not None and names else {}
    columns = {key: index for key, index in column_indexes(mapping, table.info.headers).items()
               if not key.startswith(CUSTOM_PREFIX) or key[len(CUSTOM_PREFIX):] in custom_fields}
    labels = field_labels(lead_fields)
    raw, converted = [], []
    for row in table.rows():
        raw.append((row.number, [cell_text(cell) for cell in row.cells]))
        lead = convert_row(row.number, row.cells, columns, custom_fields, region)
        address = " ".join(part for part in (lead.postal_code, lead.prefecture, lead.city, lead.street, lead.building) if part)
        converted.append({
            "row": row.number, "lead_name": lead.lead_name, "contact_name": lead.contact_name, "contact_kana": lead.contact_kana,
            "phone": lead.phone or lead.phone_raw, "email": lead.email or lead.email_raw, "address": address,
            "custom": lead.custom, "errors": [f"{labels.get(key, key)}: {reason_label(code, key)}" for key, code in lead.errors],
        })
        if len(raw) >= PREVIEW_ROWS:
            break
    return raw, converted


def summary_context(counts: dict, lead_fields=None) -> dict:
    summary = selectors.summarize_counts(counts or {})
    return {
        "summary": summary,
        "failed_reasons": [(reason_label(code), count) for code, count in summary["failed_by_reason"].items()],
        "duplicate_rules": [(rule_label(rule), count) for rule, count in summary["duplicates_by_rule"].items()],
    }


def rule_label(rule: str) -> str:
    return {"name": _("Lead name"), "phone": _("Phone number"), "phone_in_file": _("Phone number, within the file"),
            "email": _("E-mail address"), "email_in_file": _("E-mail address, within the file")}.get(rule, rule)


# ---------------------------------------------------------------------------------------------
# History and step 1


@require_GET
@permission_view("lead_imports")
def import_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    runs = list(selectors.import_list(actor=actor)[:LIST_LIMIT])
    projects = selectors.project_names(actor, runs)
    rows = [{"run": run, "project": projects.get(run.params.get("project_id"), ""),
             "summary": selectors.summarize_counts(run.counts or {})} for run in runs]
    return render(request, "leads/import_list.html", {"rows": rows, "draft": get_draft(request, actor)})


@permission_view("lead_imports")
def import_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Step 1: choose the file and the project. A file that cannot be read is refused next to the field."""
    form = UploadForm(*posted(request), actor=actor)
    if request.method == "POST" and form.is_valid():
        new_project = "" if form.cleaned_data["project"] else form.cleaned_data["new_project"]
        try:
            if new_project:
                new_project = actions.check_new_project_name(actor, new_project)
        except ApplicationError as error:
            add_error(form, error)
        else:
            upload = form.cleaned_data["file"]
            path = copy_to_temporary(upload)
            try:
                table, rows = read_upload(path, encoding=form.cleaned_data["encoding"], sheet=form.cleaned_data["sheet"],
                                          header_row=form.cleaned_data["header_row"])
            except ReadError as error:
                form.add_error("file", error.message)
            else:
                discard_draft(request)
                with path.open("rb") as handle:
                    storage_name = default_storage.save(f"{UPLOAD_FOLDER}/{actor.company_id}/{secrets.token_hex(8)}/{path.name}", File(handle))
                request.session[DRAFT_SESSION_KEY] = {
                    "company_id": actor.company_id, "storage_name": storage_name, "file_name": path.name,
                    "project_id": form.cleaned_data["project"].pk if form.cleaned_data["project"] else None,
                    "new_project": new_project, "encoding": form.cleaned_data["encoding"], "delimiter": "",
                    "sheet": form.cleaned_data["sheet"] or table.info.sheet or "", "header_row": form.cleaned_data["header_row"],
                    "rows": rows,
                }
                return redirect("leads:mapping")
            finally:
                remove_temporary(path)
    projects = Project.objects.for_company(actor.company_id).order_by("name")
    return render(request, "leads/import_new.html", {"form": form, "projects": projects})


@require_GET
@permission_view("lead_imports")
def sample_template(request: HttpRequest, actor: Actor) -> HttpResponse:
    """A CSV with the canonical column headers (UTF-8 with BOM, opens in Excel), for the project when given."""
    project = None
    if request.GET.get("project"):
        project = Project.objects.for_company(actor.company_id).filter(pk=parse_id(request.GET["project"])).first()
        if project is None:
            raise NotFound()
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(template_headers(project))
    response = HttpResponse(("\ufeff" + text.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, "lead-import-template.csv")
    return response


# ---------------------------------------------------------------------------------------------
# Step 2: mapping, dry run, start


@permission_view("lead_imports")
def import_mapping(request: HttpRequest, actor: Actor) -> HttpResponse:
    draft = get_draft(request, actor)
    if draft is None:
        messages.info(request, _("Choose a file to import first."))
        return redirect("leads:new")
    project = draft_project(actor, draft)
    if project is None and not draft.get("new_project"):
        discard_draft(request)
        messages.error(request, _("The project of this import no longer exists. Choose the file again."))
        return redirect("leads:new")
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "reread":
        return reread(request, draft)
    if request.method == "POST" and action == "cancel":
        discard_draft(request)
        messages.info(request, _("The file was discarded."))
        return redirect("leads:list")
    try:
        table = open_draft(draft)
    except ReadError as error:
        messages.error(request, error.message)
        return redirect("leads:new")
    info = table.info
    lead_fields = actions.fields_for_project(project)
    saved_mappings = list(selectors.saved_mapping_list(actor=actor))
    mapping = suggest_mapping(info.headers, lead_fields)
    if request.GET.get("saved"):
        saved = selectors.access_saved_mapping(actor, request.GET["saved"])
        mapping = actions.mapping_for_headers(saved.mapping, info.headers, lead_fields)
        messages.info(request, _("The saved mapping “%(name)s” was applied to the columns of this file.") % {"name": saved.name})
    data = request.POST if request.method == "POST" else None
    assigned = data is not None and not action and assign_column(data, info.headers)
    if assigned:
        data = assigned
    form = MappingForm(data, lead_fields=lead_fields, headers=info.headers, mapping=mapping, project=project)
    dry_run = None
    if request.method == "POST" and form.is_valid() and not assigned:
        chosen = form.mapping()
        target = {"project": project, "new_project_name": draft.get("new_project") or ""}
        try:
            if action == "save_mapping":
                if project is None:
                    message = _("The project is created when the import starts; the mapping is saved then.")
                    raise ApplicationError(error_codes.UNKNOWN_PROJECT, message, fields={"mapping_name": [message]})
                actions.do_save_lead_mapping(actor=actor, project=project, name=form.cleaned_data["mapping_name"], mapping=chosen)
                messages.success(request, _("The mapping was saved."))
                saved_mappings = list(selectors.saved_mapping_list(actor=actor))
            elif action == "dry_run":
                report = actions.do_dry_run_lead_import_from_page(actor=actor, **target, **import_options(draft, chosen, form, request.POST))
                labels = field_labels(lead_fields)
                case_ids = selectors.first_case_ids(actor, [item["customer_id"] for item in report.duplicates if item.get("customer_id")])
                dry_run = {
                    **summary_context(report.counts),
                    "issues": [(row, labels.get(key, key), reason_label(code, key)) for row, key, code in report.issues],
                    "issue_count": report.issue_count, "more_issues": report.issue_count - len(report.issues),
                    "duplicates": [{**item, "case_id": case_ids.get(item.get("customer_id"))} for item in report.duplicates],
                    "duplicate_count": report.duplicate_count,
                    "more_duplicates": report.duplicate_count - len(report.duplicates),
                    "decision_choices": DuplicatePolicy.choices,
                }
            elif action == "start":
                run = actions.do_start_lead_import_from_page(actor=actor, **target, mapping_name=form.cleaned_data["mapping_name"],
                                                             **import_options(draft, chosen, form, request.POST))
                discard_draft(request)
                messages.success(request, _("The import started."))
                return redirect("leads:detail", run_id=run.pk)
        except ReadError as error:
            form.add_error(None, error.message)
        except ApplicationError as error:
            for key, field_messages in error.fields.items():
                name = key if key in form.fields else form.field_name(key)
                for message in field_messages:
                    form.add_error(name if name in form.fields else None, message)
            if not error.fields:
                form.add_error(None, error.message)
    try:
        raw_rows, converted_rows = preview(table, form.mapping(), project, lead_fields, actor.company.phone_region)
    except ReadError as error:
        raw_rows, converted_rows = [], []
        form.add_error(None, error.message)
    settings_form = ReadSettingsForm(sheets=info.sheets, initial={
        "encoding": draft.get("encoding") or "", "delimiter": draft.get("delimiter") or "", "sheet": info.sheet or "",
        "header_row": info.header_row,
    })
    return render(request, "leads/import_mapping.html", {
        "draft": draft, "project": project, "project_name": project.name if project else draft.get("new_project"), "info": info,
        "encoding_name": encoding_label(info.encoding) if info.encoding else "", "form": form,
        "delimiter_name": dict(DELIMITER_CHOICES).get(info.delimiter, info.delimiter) if info.delimiter else "", "settings_form": settings_form,
        "raw_rows": raw_rows, "converted_rows": converted_rows, "saved_mappings": saved_mappings, "dry_run": dry_run,
        "custom_names": [field.label for field in lead_fields if field.key.startswith(CUSTOM_PREFIX)],
        "unmapped": unmapped_columns(form, info.headers, raw_rows), "one_click_fields": form.free_one_click_fields(),
        "can_create_fields": allows(actor, "masters_edit"),
        "kept_columns": [(key, key.partition(":")[2], key.startswith(NOTE_PREFIX)) for key in form.mapping() if is_column_key(key)],
    })


def assign_column(post, headers) -> dict | None:
    """The posted mapping with one column sent (a one-click button of 「取り込まれない列」: `assign_<target>` =
    header) to a note, a new custom field or a default field, or taken back (`unassign` = its key); None
    when the post is no such click."""
    data = post.copy()
    if post.get("unassign"):
        target, _sep, header = post["unassign"].partition(":")
        name = "note_columns" if f"{target}:" == NOTE_PREFIX else "new_custom_columns"
        data.setlist(name, [value for value in post.getlist(name) if value != header])
        return data
    for name in post:
        header = post[name] if name.startswith("assign_") else ""
        if header not in headers:
            continue
        target = name.removeprefix("assign_")
        if target == "note":
            if not post.get(MAPPING_PREFIX + "note"):
                data[MAPPING_PREFIX + "note"] = header
            else:
                data.setlist("note_columns", [*post.getlist("note_columns"), header])
        elif target == "new_custom":
            data.setlist("new_custom_columns", [*post.getlist("new_custom_columns"), header])
        elif target in ONE_CLICK_FIELDS:
            data[MAPPING_PREFIX + target] = header
        else:
            continue
        return data
    return None


def unmapped_columns(form: MappingForm, headers, raw_rows) -> list[tuple[str, str]]:
    """(header, its value in the first row) of each column no field takes."""
    first = raw_rows[0][1] if raw_rows else []
    position = {header: index for index, header in reversed(list(enumerate(headers)))}
    return [(header, first[position[header]] if position[header] < len(first) else "") for header in form.unmapped_columns(headers)]


def reread(request: HttpRequest, draft: dict) -> HttpResponse:
    """Read the file again with other settings (encoding, delimiter, sheet, header row)."""
    form = ReadSettingsForm(request.POST)
    try:
        info = open_draft(draft).info
        form = ReadSettingsForm(request.POST, sheets=info.sheets)
    except ReadError:
        pass
    if not form.is_valid():
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, message)
        return redirect("leads:mapping")
    changed = {**draft, **{key: form.cleaned_data.get(key) or ("" if key != "header_row" else None)
                           for key in ("encoding", "delimiter", "sheet", "header_row")}}
    try:
        read_upload(Path(default_storage.path(draft["storage_name"])), encoding=changed["encoding"], sheet=changed["sheet"],
                    header_row=changed["header_row"])
        open_draft(changed)
    except ReadError as error:
        messages.error(request, error.message)
        return redirect("leads:mapping")
    request.session[DRAFT_SESSION_KEY] = changed
    messages.success(request, _("The file was read again with the new settings."))
    return redirect("leads:mapping")


# ---------------------------------------------------------------------------------------------
# One import: progress, abort, failed rows, revert


@require_GET
@permission_view("lead_imports")
def import_detail(request: HttpRequest, actor: Actor, run_id: int) -> HttpResponse:
    run = selectors.access_import(actor, run_id)
    project = Project.objects.for_company(actor.company_id).filter(pk=run.params.get("project_id")).first()
    rate = eta = None
    if run.status == RunStatus.RUNNING and run.started_at and run.rows_done:
        elapsed = max((timezone.now() - run.started_at).total_seconds(), 0.001)
        rate = run.rows_done / elapsed
        if run.rows_total:
            eta = int(max(run.rows_total - run.rows_done, 0) / rate)
    percent = int(100 * run.rows_done / run.rows_total) if run.rows_total else (100 if run.is_finished else 0)
    revert = latest_revert(run)
    is_reverting = revert is not None and not revert.is_finished
    revert_percent = min(int(100 * revert.rows_done / revert.rows_total), 100) if revert is not None and revert.rows_total else 0
    return render(request, "leads/import_detail.html", {
        "run": run, "project": project, "rate": int(rate) if rate else None, "eta": eta, "percent": min(percent, 100),
        "is_revertible": run.status in actions.REVERTIBLE and not is_reverting,
        "revert": revert, "is_reverting": is_reverting, "revert_percent": revert_percent,
        "source_encoding": encoding_label((run.detected or {}).get("encoding") or "") if (run.detected or {}).get("encoding") else "",
        # Imports from before the kinds were chosen have none recorded.
        "case_kind_label": CaseKind(run.params["case_kind"]).label if run.params.get("case_kind") in CaseKind.values else "",
        "customer_kind_label": CustomerKind(run.params["customer_kind"]).label if run.params.get("customer_kind") in CustomerKind.values else "",
        **summary_context(run.counts),
    })


@require_POST
@permission_view("lead_imports")
def import_abort(request: HttpRequest, actor: Actor, run_id: int) -> HttpResponse:
    run = selectors.access_import(actor, run_id)
    if request_abort(run):
        messages.success(request, _("The import stops after the current batch."))
    else:
        messages.info(request, _("The import had already ended."))
    return redirect("leads:detail", run_id=run.pk)


@require_GET
@permission_view("lead_imports")
def failed_rows(request: HttpRequest, actor: Actor, run_id: int) -> HttpResponse:
    """The failed rows with the エラー内容 column, in the file's encoding unless `encoding` says otherwise."""
    run = selectors.access_import(actor, run_id)
    response = HttpResponse(content_type="text/csv")
    try:
        result = write_failed_rows(run, response, encoding=request.GET.get("encoding") or None)
    except ApplicationError as error:
        return HttpResponse(error.message + "\n", status=400, content_type="text/plain; charset=utf-8")
    response["Content-Type"] = f"text/csv; charset={result['charset']}"
    response["Content-Disposition"] = content_disposition_header(True, f"import-{run.pk}-failed-rows.csv")
    return response


@permission_view("lead_imports")
def import_revert(request: HttpRequest, actor: Actor, run_id: int) -> HttpResponse:
    """Confirm, then revert; refused with the list of leads edited since unless forced."""
    run = selectors.access_import(actor, run_id)
    form = RevertForm(*posted(request)[:1])
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_start_lead_import_revert(actor=actor, run=run, force=form.cleaned_data["force"])
        except ApplicationError as error:
            if error.code != error_codes.EDITED_SINCE:
                messages.error(request, error.message)
                return redirect("leads:detail", run_id=run.pk)
            refused = error.message
        else:
            # The revert runs in the background (as long as the import did): its progress shows on the import's page.
            messages.success(request, _("The import is being reverted in the background: this page shows its progress."))
            return redirect("leads:detail", run_id=run.pk)
    return render(request, "leads/import_revert.html", {
        "run": run, "form": form, "refused": refused, "edited": selectors.edited_leads(actor, run) if run.finished_at else [],
    }, status=409 if refused else 200)


# ---------------------------------------------------------------------------------------------
# Saved mappings


@require_GET
@permission_view("lead_mappings")
def mapping_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    mappings = list(selectors.saved_mapping_list(actor=actor))
    labels = field_labels(DEFAULT_FIELDS)
    rows = [{"mapping": mapping, "columns": [(labels.get(key, key.removeprefix(CUSTOM_PREFIX)), header) for key, header in mapping.mapping.items()]}
            for mapping in mappings]
    return render(request, "leads/mapping_list.html", {"rows": rows})


@require_POST
@permission_view("lead_mappings")
def mapping_delete(request: HttpRequest, actor: Actor, mapping_id: int) -> HttpResponse:
    saved = selectors.access_saved_mapping(actor, mapping_id)
    actions.do_delete_saved_mapping(actor=actor, saved_mapping=saved)
    messages.success(request, _("The mapping “%(name)s” was deleted.") % {"name": saved.name})
    return redirect("leads:mappings")


# ---------------------------------------------------------------------------------------------
# Do-not-call list


@permission_view("do_not_call")
def dnc_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The entries (searchable), the import of a list, and the recent imports of lists."""
    form = DoNotCallImportForm(*posted(request), actor=actor)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        path = copy_to_temporary(upload)
        try:
            read_upload(path, encoding=form.cleaned_data["encoding"])
            actions.do_start_dnc_import(actor=actor, path=path, file_name=path.name, workgroups=list(form.cleaned_data["workgroups"]),
                                        encoding=form.cleaned_data["encoding"])
        except ReadError as error:
            form.add_error("file", error.message)
        except ApplicationError as error:
            # The mapping problems name the list's columns, not this form's fields: shown at the file.
            form.add_error("file", error.message)
        else:
            messages.success(request, _("The do-not-call list is being imported."))
            return redirect("leads:dnc")
        finally:
            remove_temporary(path)
    query = (request.GET.get("q") or "").strip()
    entries = selectors.dnc_entry_list(actor=actor)
    if query:
        from django.db.models import Q

        entries = entries.filter(Q(name__icontains=query) | Q(phone_raw__icontains=query) | Q(phone__icontains=query))
    total = entries.count()
    shown = list(entries[:DNC_LIST_LIMIT])
    scopes = selectors.dnc_workgroup_names(actor, [entry.pk for entry in shown])
    runs = list(selectors.dnc_import_list(actor=actor)[:10])
    return render(request, "leads/dnc_list.html", {
        "form": form, "entries": [(entry, scopes.get(entry.pk, [])) for entry in shown], "total": total, "query": query,
        "runs": [(run, selectors.summarize_counts(run.counts or {}), int((run.counts or {}).get("entries_created", 0))) for run in runs],
        "columns": [field.label for field in DNC_FIELDS],
    })


@require_POST
@permission_view("do_not_call")
def dnc_remove(request: HttpRequest, actor: Actor, entry_id: int) -> HttpResponse:
    entry = selectors.access_dnc_entry(actor, entry_id)
    label = str(entry)
    actions.do_remove_dnc_entry(actor=actor, entry=entry)
    messages.success(request, _("“%(entry)s” was removed from the do-not-call list.") % {"entry": label})
    return redirect("leads:dnc")


@require_GET
@permission_view("do_not_call")
def dnc_export(request: HttpRequest, actor: Actor) -> HttpResponse:
    """All entries as CSV (UTF-8 with BOM) with the headers a do-not-call import recognizes."""
    entries = selectors.dnc_entry_list(actor=actor).order_by("pk")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")

    def line(values) -> str:
        text.seek(0)
        text.truncate()
        writer.writerow([neutralize_formula(value) for value in values])
        return text.getvalue()

    def rows(batch):
        scopes = selectors.dnc_workgroup_names(actor, [entry.pk for entry in batch])
        for entry in batch:
            yield line((entry.name, entry.phone_raw, entry.note, ";".join(scopes.get(entry.pk, []))))

    def lines():
        yield "\ufeff" + line(DNC_EXPORT_HEADERS)
        batch = []
        for entry in entries.iterator(chunk_size=2000):
            batch.append(entry)
            if len(batch) >= 2000:
                yield from rows(batch)
                batch = []
        yield from rows(batch)

    response = StreamingHttpResponse((line.encode("utf-8") for line in lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"do-not-call-{timezone.localdate():%Y%m%d}.csv")
    return response
