"""Starting, aborting and reverting legacy desktop migrations; creating the masters a bundle needs."""

import csv
import io
import secrets
from collections import Counter
from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.transactions import enqueue_on_commit
from estatecrm.crm.actions import do_upsert_rank, do_upsert_sub_status, do_upsert_tag
from estatecrm.crm.models import Case, Customer, Rank, SubStatus, Tag
from estatecrm.legacy import bundle as files
from estatecrm.legacy import error_codes
from estatecrm.legacy.choices import (
    MASTER_SOURCE_SYSTEM,
    MASTERS_RUN_KIND,
    QUICK_MONTHS,
    REVERT_DAYS,
    RUN_KIND,
    Mode,
    Outcome,
    PreflightStage,
    PreflightStatus,
)
from estatecrm.legacy.converter import clean, load_source, split_list
from estatecrm.legacy.models import CaseOutcome
from estatecrm.legacy.selectors import PREFLIGHT_FILE
from estatecrm.normalize import normalize_email
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus
from estatecrm.pipeline.engine import execute_run, request_abort
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.pipeline.readers import ReadError
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.selectors import Actor

REVERTIBLE = {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES, RunStatus.ABORTED, RunStatus.FAILED, RunStatus.NOTHING_TO_MIGRATE}


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day when it is shorter)."""
    import calendar

    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def quick_start_date(today: date | None = None) -> date:
    return months_before(today or timezone.localdate(), QUICK_MONTHS)


def parse_staff_map(content: bytes) -> dict[str, str]:
    """`社員コード,email` lines (a header line is allowed) -> {code: lower-case e-mail}. CP932 or UTF-8.

    Anything ambiguous is refused with the line: more than two columns, a code mapped to two different
    addresses, a map without a single mapping (a file that is all header would silently map nobody)."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApplicationError(error_codes.STAFF_MAP_INVALID, _("The staff map is neither UTF-8 nor Shift_JIS text."))
    mapping: dict[str, str] = {}
    lines: dict[str, int] = {}
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            cells = [cell.strip() for cell in cells]
            while cells and not cells[-1]:
                cells.pop()
            if not cells:
                continue
            if len(cells) != 2:
                raise ApplicationError(error_codes.STAFF_MAP_INVALID, _(
                    "Line %(line)d of the staff map has %(count)d columns: each line is “社員コード,email”.") % {"line": number, "count": len(cells)})
            email = normalize_email(cells[1])
            if not email.is_valid:
                if number == 1:
                    continue  # a header line
                raise ApplicationError(error_codes.STAFF_MAP_INVALID, _("Line %(line)d of the staff map has no valid e-mail address.") % {"line": number})
            if not cells[0]:
                raise ApplicationError(error_codes.STAFF_MAP_INVALID, _("Line %(line)d of the staff map has no 社員コード.") % {"line": number})
            if mapping.get(cells[0], email.value) != email.value:
                raise ApplicationError(error_codes.STAFF_MAP_INVALID, _(
                    "The staff map maps “%(code)s” twice, to different e-mail addresses (lines %(first)d and %(line)d).")
                    % {"code": cells[0], "first": lines[cells[0]], "line": number})
            mapping[cells[0]] = email.value
            lines.setdefault(cells[0], number)
    except csv.Error as error:
        raise ApplicationError(error_codes.STAFF_MAP_INVALID, _("The staff map is not a valid CSV file: %(error)s") % {"error": error}) from None
    if not mapping:
        raise ApplicationError(error_codes.STAFF_MAP_INVALID, _("The staff map has no “社員コード,email” line."))
    return mapping


def check_bundle(path: Path) -> None:
    """Open and read the whole bundle; a bad one raises ApplicationError with the reader's message."""
    try:
        with files.Bundle(path) as bundle:
            bundle.check()  # reads every member as a run would, keeping nothing
    except ReadError as error:
        raise ApplicationError(error.code, error.message) from None


@transaction.atomic
def do_start_legacy_migration(
    *, actor: Actor, path: Path, file_name: str, org_unit: OrgUnit, mode: str = Mode.FULL, since: date | None = None,
    staff_map: dict | None = None, fallback_email: str = "", rate: float = 0, dry_run: bool = False, background: bool = True,
    today: date | None = None, language: str = "", is_bundle_checked: bool = False, is_stored_upload: bool = False,
) -> Run:
    """Check the bundle (nothing is written when it is bad), store it, create the run.

    Only a company admin or an admin of `org_unit` may start it. `background`: enqueue the run once this
    transaction commits; otherwise the caller executes it. `is_bundle_checked`: the whole bundle was
    already read by the background check of its upload, so it is not read again here.
    `is_stored_upload`: `path` is an upload in our storage (never changed): the run links it instead of
    copying it. Audited.
    """
    from django.utils import translation

    if org_unit.company_id != actor.company_id:
        raise ApplicationError(error_codes.UNKNOWN_ORG, _("Unknown organisation unit."))
    if not actor.can_admin_unit(org_unit.pk):
        raise PermissionDenied(_("Only a company administrator or an administrator of this unit can migrate its data."))
    if mode not in Mode.values:
        raise ApplicationError(error_codes.INVALID_OPTION, _("Unknown mode: %(mode)s") % {"mode": mode})
    if mode == Mode.QUICK:
        since = quick_start_date(today)
    fallback_user_id = None
    if fallback_email:
        fallback = User.objects.filter(company_id=actor.company_id, email=fallback_email.strip().lower(), is_active=True).first()
        if fallback is None:
            raise ApplicationError(error_codes.UNKNOWN_FALLBACK_ASSIGNEE, _("No active user %(email)s in this company.") % {"email": fallback_email})
        fallback_user_id = fallback.pk
    if not is_bundle_checked:
        check_bundle(path)
    run = Run(
        company_id=actor.company_id, kind=RUN_KIND, token=secrets.token_hex(8), created_by=actor.user, source_name=file_name, is_dry_run=dry_run,
        params={
            "org_unit_id": org_unit.pk, "mode": mode, "since": since.isoformat() if since else None, "staff_map": staff_map or {},
            "fallback_user_id": fallback_user_id, "rate": rate or 0, "dry_run": dry_run, "acting_user_id": actor.user.pk,
            "region": actor.company.phone_region, "language": language or translation.get_language() or "ja",
        },
    )
    run.keep_source_file(path, file_name, link=is_stored_upload)
    run.save()
    record_event(company_id=actor.company_id, actor=actor.user, verb="start_migration", instance=run,
                 after={"file": file_name, "org": org_unit.code, "mode": mode, "since": run.params["since"], "dry_run": dry_run}, run_id=run.pk)
    if background:
        from estatecrm.pipeline.tasks import run_pipeline

        enqueue_on_commit(run_pipeline, run.pk)
    return run


def do_dry_run_legacy_migration(**options) -> dict:
    """Everything a migration would do, counted, then rolled back: nothing is written, no file is kept."""
    from estatecrm.legacy.selectors import run_summary

    with transaction.atomic():
        run = do_start_legacy_migration(**options, dry_run=True, background=False)
        execute_run(run.pk)
        run.refresh_from_db()
        summary = run_summary(run)
        error = (run.error_code, run.error_message)
        transaction.set_rollback(True)
    Path(run.source_file.path).unlink(missing_ok=True)
    if error[1]:
        raise ApplicationError(*error)
    return {**summary, "run_id": None, "status": "dry_run", "would_end_as": summary["status"]}


def check_admin_of_run(actor: Actor, run: Run) -> None:
    unit_id = (run.params or {}).get("org_unit_id")
    if not actor.is_admin or (unit_id and not actor.can_admin_unit(unit_id)):
        raise PermissionDenied(_("Only a company administrator or an administrator of the run's unit can do this."))


def do_abort_legacy_migration(*, actor: Actor, run: Run) -> bool:
    """Ask the run to stop after its current batch (what was written stays). False when it already ended."""
    check_admin_of_run(actor, run)
    if run.is_finished:
        raise ApplicationError(error_codes.NOT_ABORTABLE, _("The run has already ended (%(status)s).") % {"status": run.get_status_display()})
    requested = request_abort(run)
    record_event(company_id=run.company_id, actor=actor.user, verb="abort", instance=run, run_id=run.pk)
    return requested


def edited_since(run: Run) -> list[tuple[str, int]]:
    """(追客番号, case id) of the run's cases that someone changed after the run ended."""
    if run.finished_at is None:
        return []
    outcomes = dict(CaseOutcome.objects.for_company(run.company_id).filter(run=run, outcome=Outcome.MIGRATED).values_list("case_id", "source_id"))
    margin = run.finished_at + timezone.timedelta(seconds=1)
    edited = set(Case.objects.for_company(run.company_id).filter(pk__in=list(outcomes), updated_at__gt=margin).values_list("pk", flat=True))
    customer_ids = set(CaseOutcome.objects.for_company(run.company_id).filter(run=run, outcome=Outcome.MIGRATED).values_list("customer_id", flat=True))
    edited_customers = set(Customer.objects.for_company(run.company_id).filter(pk__in=customer_ids, updated_at__gt=margin).values_list("pk", flat=True))
    if edited_customers:
        edited |= set(Case.objects.for_company(run.company_id).filter(pk__in=list(outcomes), customer_id__in=edited_customers).values_list("pk", flat=True))
    return sorted((outcomes[pk], pk) for pk in edited)


def check_legacy_migration_revertible(run: Run, *, force: bool) -> None:
    """Refuse (ApplicationError) the revert of a run that has not ended, was reverted, ended more than
    REVERT_DAYS ago, or (a migration run) whose cases were edited since it ended, unless `force`."""
    if run.status not in REVERTIBLE or run.reverted_at is not None:
        raise ApplicationError(error_codes.NOT_REVERTIBLE, _("Only a finished run that was not reverted can be reverted."))
    if run.finished_at and timezone.now() - run.finished_at > timezone.timedelta(days=REVERT_DAYS):
        raise ApplicationError(error_codes.REVERT_TOO_LATE, _("A run can be reverted within %(days)d days of its end.") % {"days": REVERT_DAYS})
    if run.kind == MASTERS_RUN_KIND:
        return
    edited = edited_since(run)
    if edited and not force:
        raise ApplicationError(error_codes.EDITED_SINCE, _(
            "%(count)d migrated cases were edited after the run (追客番号 and case id: %(cases)s). Revert with force to undo anyway.")
            % {"count": len(edited), "cases": ", ".join(f"{source_id}={case_id}" for source_id, case_id in edited[:50])})


@transaction.atomic
def do_start_legacy_migration_revert(*, actor: Actor, run: Run, force: bool = False, background: bool = True) -> Run:
    """Start undoing a migration run in the background: a revert run (pipeline/reverts.py, legacy job
    `LegacyMigrationRevertJob`; progress on the run's page, resumed after a crash) puts its cases, and the
    customers only they use, in the trash and removes their ledger entries (so the cases can be migrated
    again), then marks the run reverted, with exact counts.

    Refused (nothing changes) as `check_legacy_migration_revertible` says (checked again when the revert
    starts), and while a revert of the run is under way. Admins of the run's unit only; audited (the start
    here, the revert with its counts when it ends). `background`: enqueue it once this transaction commits;
    otherwise the caller executes it (the CLI, with its progress)."""
    from estatecrm.pipeline.reverts import start_revert

    check_admin_of_run(actor, run)
    run = Run.objects.for_company(actor.company_id).select_for_update().get(pk=run.pk)
    if run.kind != RUN_KIND:
        raise ApplicationError(error_codes.NOT_REVERTIBLE, _("Only a finished run that was not reverted can be reverted."))
    return start_revert(run, actor=actor, force=force, check_revertible=check_legacy_migration_revertible, background=background,
                        in_progress=lambda running: ApplicationError(error_codes.REVERT_IN_PROGRESS, _(
                            "This run is being reverted already (run #%(run)d).") % {"run": running.pk}))


def do_revert_legacy_migration(*, actor: Actor, run: Run, force: bool = False) -> Counter:
    """Undo a run within 30 days, now, in this process: a masters run removes the masters it created (those
    no case uses; small: one transaction); a migration run is reverted by `do_start_legacy_migration_revert`
    (same refusals) executed at once. Returns the counts; a revert that stopped raises its reason."""
    if run.kind == MASTERS_RUN_KIND:
        return do_revert_legacy_masters(actor=actor, run=run)
    revert = do_start_legacy_migration_revert(actor=actor, run=run, force=force, background=False)
    execute_run(revert.pk)
    revert.refresh_from_db()
    if revert.status != RunStatus.COMPLETED:
        raise ApplicationError(revert.error_code or error_codes.NOT_REVERTIBLE, revert.error_message or revert.get_status_display())
    return Counter(revert.counts)


@transaction.atomic(durable=True)
def do_revert_legacy_masters(*, actor: Actor, run: Run) -> Counter:
    """Undo a masters run within 30 days: the masters it created that no case uses are removed (with their
    ledger entries); the others are kept and counted. Atomic, audited."""
    check_admin_of_run(actor, run)
    run = Run.objects.for_company(actor.company_id).select_for_update().get(pk=run.pk)
    check_legacy_migration_revertible(run, force=False)
    counts = revert_masters(run)
    now = timezone.now()
    Run.objects.for_company(run.company_id).filter(pk=run.pk).update(status=RunStatus.REVERTED, reverted_at=now, reverted_by=actor.user)
    record_event(company_id=run.company_id, actor=actor.user, verb="revert", instance=run, after=dict(counts), run_id=run.pk)
    return counts


def revert_masters(run: Run) -> Counter:
    counts: Counter = Counter()
    models = {"crm.rank": (Rank, "cases"), "crm.substatus": (SubStatus, "cases"), "crm.tag": (Tag, "case_links")}
    for entry in LedgerEntry.objects.for_company(run.company_id).filter(run=run, source_system=MASTER_SOURCE_SYSTEM):
        model, relation = models[entry.target_type]
        instance = model.objects.for_company(run.company_id).filter(pk=entry.target_id).first()
        if instance is None:
            entry.delete()
            continue
        if getattr(instance, relation).exists():
            counts["masters_kept_in_use"] += 1
            continue
        instance.delete()
        entry.delete()
        counts["masters_removed"] += 1
    return counts


@transaction.atomic
def do_migrate_legacy_masters(*, actor: Actor, path: Path, file_name: str, sub_statuses: bool = True, ranks: bool = True,
                              tags: bool = True) -> tuple[Run, dict]:
    """Create, in one step, the sub-statuses of the desktop app's status master (each under its
    category) and the ranks and tags its cases use that are not registered yet. Idempotent; recorded as
    a run (so it can be reverted) with a ledger entry per master created. Company admins only."""
    if not actor.is_company_admin:
        raise PermissionDenied(_("Only a company administrator can change the company's masters."))
    try:
        with files.Bundle(path) as bundle:
            source = load_source(bundle)
    except ReadError as error:
        raise ApplicationError(error.code, error.message) from None
    company = actor.company
    run = Run.objects.create(company=company, kind=MASTERS_RUN_KIND, token=secrets.token_hex(8), created_by=actor.user, source_name=file_name,
                             status=RunStatus.COMPLETED, params={"sub_statuses": sub_statuses, "ranks": ranks, "tags": tags},
                             started_at=timezone.now(), finished_at=timezone.now())
    created: dict[str, list[str]] = {"sub_statuses": [], "ranks": [], "tags": []}
    # Names longer than the master's column are not created (never cut short: a shortened name would match
    # no case); their cases keep them in the other information, as for any unregistered master.
    too_long: dict[str, list[str]] = {"sub_statuses": [], "ranks": [], "tags": []}
    limits = {kind: model._meta.get_field("name").max_length for kind, model in (("sub_statuses", SubStatus), ("ranks", Rank), ("tags", Tag))}
    ledger: list[LedgerEntry] = []

    def remember(kind: str, key: str, instance, was_created: bool) -> None:
        if was_created:
            created[kind].append(key)
            ledger.append(LedgerEntry(company=company, run=run, source_system=MASTER_SOURCE_SYSTEM, source_key=f"{kind}:{key}"[:128],
                                      outcome=LedgerOutcome.CREATED, target_type=instance._meta.label_lower, target_id=instance.pk))

    if sub_statuses:
        from estatecrm.crm.choices import CaseStatus

        for name, category in source.statuses.items():
            if not name or category not in CaseStatus.values:
                continue
            if len(name) > limits["sub_statuses"]:
                too_long["sub_statuses"].append(name)
                continue
            position = SubStatus.objects.for_company(company).filter(status=category).count()
            instance, was_created = do_upsert_sub_status(company=company, status=category, name=name, position=position, acting_user=actor.user)
            remember("sub_statuses", f"{category}/{name}", instance, was_created)
    used_ranks = list(dict.fromkeys(clean(row["ランク"]) for _line, row in source.cases if clean(row["ランク"])))
    used_tags = list(dict.fromkeys(tag for _line, row in source.cases for tag in split_list(row["タグ"])))
    too_long["ranks"] = [name for name in used_ranks if len(name) > limits["ranks"]] if ranks else []
    too_long["tags"] = [name for name in used_tags if len(name) > limits["tags"]] if tags else []
    if ranks:
        start = Rank.objects.for_company(company).count()
        for offset, name in enumerate(name for name in used_ranks if len(name) <= limits["ranks"]):
            instance, was_created = do_upsert_rank(company=company, name=name, position=start + offset, acting_user=actor.user)
            remember("ranks", name, instance, was_created)
    if tags:
        start = Tag.objects.for_company(company).count()
        for offset, name in enumerate(name for name in used_tags if len(name) <= limits["tags"]):
            instance, was_created = do_upsert_tag(company=company, name=name, position=start + offset, acting_user=actor.user)
            remember("tags", name, instance, was_created)
    LedgerEntry.objects.bulk_create(ledger)
    counts = {kind: len(names) for kind, names in created.items()}
    Run.objects.for_company(company).filter(pk=run.pk).update(counts=counts)
    record_event(company_id=company.pk, actor=actor.user, verb="migrate_masters", instance=run, after=created, run_id=run.pk)
    return run, {"run_id": run.pk, "created": created, "not_created_too_long": too_long}


# ---------------------------------------------------------------------------------------------
# The pages: a bundle uploaded to storage, checked in the background, then runs started from it


def _remove_upload(company_id: int, token: str, *, names: tuple[str, ...] = ("bundle.zip", "upload.json", PREFLIGHT_FILE)) -> None:
    from django.core.files.storage import default_storage

    from estatecrm.legacy.selectors import upload_folder

    folder = upload_folder(company_id, token)
    for name in names:
        default_storage.delete(f"{folder}/{name}")
    if "upload.json" not in names:
        return
    try:
        # FileSystemStorage leaves the emptied folder behind; other storages have no folders.
        Path(default_storage.path(folder)).rmdir()
    except (NotImplementedError, OSError):
        pass


def _write_preflight_file(company_id: int, token: str, state: dict) -> None:
    """Replace the upload's preflight.json in one step, so that a reader (the page, its poll) never sees
    it half written or missing."""
    import json
    import os

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from estatecrm.legacy.selectors import upload_folder

    name = f"{upload_folder(company_id, token)}/{PREFLIGHT_FILE}"
    content = json.dumps(state, ensure_ascii=False, default=str).encode("utf-8")
    try:
        target = Path(default_storage.path(name))
    except NotImplementedError:  # a storage without local paths: no rename, so delete and save
        default_storage.delete(name)
        default_storage.save(name, ContentFile(content))
        return
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def _queue_preflight(*, actor: Actor, org_unit: OrgUnit, token: str, reason: str, previous: dict | None) -> str:
    """Mark the upload's pre-flight `checking` (waiting for a worker) and enqueue its computation once the
    current transaction commits. The bundle check is not repeated once it has passed. Returns the
    request's time, which names this computation (a later request supersedes it)."""
    from estatecrm.legacy.tasks import compute_legacy_preflight

    requested_at = timezone.now().isoformat()
    _write_preflight_file(actor.company_id, token, {
        "status": PreflightStatus.CHECKING, "stage": PreflightStage.QUEUED, "reason": reason, "requested_at": requested_at,
        "requested_by_id": actor.user.pk, "bundle_checked": bool(previous and previous.get("bundle_checked")),
        "stage_started_at": requested_at, "preflight": None, "quick_since": None, "error": None, "computed_at": None,
    })
    enqueue_on_commit(compute_legacy_preflight, actor.company_id, org_unit.pk, token, requested_at)
    return requested_at


def do_store_legacy_bundle(*, actor: Actor, org_unit: OrgUnit, bundle_file, staff_map_file=None, replaces: str = "") -> str:
    """Keep an uploaded export bundle (streamed, any size) in storage under
    `legacy-uploads/<company>/<token>/` for the migration pages of `org_unit`, and return its token.

    Only cheap checks run here (the staff map; the ZIP's directory: a ZIP at all, safe paths, within the
    size limits, with 追客.csv): a failure removes the upload again and is refused with ApplicationError.
    The whole bundle is checked, and its pre-flight computed, by the `compute_legacy_preflight` task,
    enqueued once the current transaction commits; until it is done the upload is `checking` and no run
    can start from it. `replaces`: the token of the unit's previous upload, removed once this one is
    kept. Admins of the unit only. Audited.
    """
    import json

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from estatecrm.legacy.selectors import access_upload, upload_folder

    if org_unit.company_id != actor.company_id:
        raise ApplicationError(error_codes.UNKNOWN_ORG, _("Unknown organisation unit."))
    if not actor.can_admin_unit(org_unit.pk):
        raise PermissionDenied(_("Only a company administrator or an administrator of this unit can migrate its data."))
    staff_map = parse_staff_map(staff_map_file.read()) if staff_map_file else {}
    token = secrets.token_hex(16)
    folder = upload_folder(actor.company_id, token)
    file_name = Path(getattr(bundle_file, "name", "") or "bundle.zip").name[:200]
    try:
        stored = default_storage.save(f"{folder}/bundle.zip", bundle_file)
        try:
            # Opening reads the ZIP's directory only (paths, sizes, members), not the files in it.
            files.Bundle(Path(default_storage.path(stored))).close()
        except ReadError as error:
            raise ApplicationError(error.code, error.message) from None
        meta = {
            "org_unit_id": org_unit.pk, "file_name": file_name, "size": default_storage.size(stored), "staff_map": staff_map,
            "staff_map_name": Path(getattr(staff_map_file, "name", "") or "").name[:200] if staff_map_file else "",
            "uploaded_at": timezone.now().isoformat(), "uploaded_by_id": actor.user.pk,
        }
        default_storage.save(f"{folder}/upload.json", ContentFile(json.dumps(meta, ensure_ascii=False).encode("utf-8")))
        record_event(company_id=actor.company_id, actor=actor.user, verb="upload_migration_bundle", object_type="legacy.bundle",
                     object_id=token, object_repr=file_name, after={"org": org_unit.code, "size": meta["size"], "staff_map": len(staff_map)})
        _queue_preflight(actor=actor, org_unit=org_unit, token=token, reason="upload", previous=None)
    except BaseException:
        _remove_upload(actor.company_id, token)
        raise
    if replaces and replaces != token and access_upload(actor, replaces, org_unit=org_unit) is not None:
        _remove_upload(actor.company_id, replaces)
    return token


def do_discard_legacy_bundle(*, actor: Actor, org_unit: OrgUnit, token: str) -> bool:
    """Remove an upload of `org_unit` from storage, with its check result (runs keep their own copy of
    the bundle). False when there was none. Audited."""
    from estatecrm.legacy.selectors import access_upload

    stored = access_upload(actor, token, org_unit=org_unit)
    if stored is None:
        return False
    _remove_upload(actor.company_id, stored.token)
    record_event(company_id=actor.company_id, actor=actor.user, verb="discard_migration_bundle", object_type="legacy.bundle",
                 object_id=stored.token, object_repr=stored.file_name)
    return True


def check_upload_ready(actor: Actor, token: str, *, org_unit: OrgUnit):
    """The upload `token` of `org_unit` whose background check has passed and whose pre-flight is
    computed, else ApplicationError: none uploaded, still checking, or failed."""
    from estatecrm.legacy.selectors import access_stored_bundle, access_upload, preflight_state

    stored = access_upload(actor, token, org_unit=org_unit)
    if stored is None:
        raise ApplicationError(error_codes.BUNDLE_NOT_UPLOADED, _("Upload the bundle first: no uploaded bundle was found for this unit."))
    state = preflight_state(stored)
    if state is not None and state.is_failed:
        raise ApplicationError(error_codes.BUNDLE_CHECK_FAILED, _(
            "The uploaded bundle did not pass the check, so nothing can start from it: see the reason on ① and upload it again."))
    if state is None or not state.is_ready:
        raise ApplicationError(error_codes.BUNDLE_CHECKING, _(
            "The uploaded bundle is still being checked: wait until ① shows the estimated counts, then start."))
    if access_stored_bundle(actor, token, org_unit=org_unit) is None:
        raise ApplicationError(error_codes.BUNDLE_NOT_UPLOADED, _("Upload the bundle first: no uploaded bundle was found for this unit."))
    return stored


def do_request_legacy_preflight(*, actor: Actor, org_unit: OrgUnit, token: str, reason: str = "recompute") -> bool:
    """Compute the pre-flight of the upload `token` of `org_unit` again in the background (the company's
    masters, staff or migrated cases changed): its status goes back to `checking` and the
    `compute_legacy_preflight` task is enqueued once the current transaction commits. A request made while
    one is running supersedes it. False when there is no bundle to compute from (none, or it failed the
    check). Admins of the unit only. Audited."""
    from estatecrm.legacy.selectors import access_stored_bundle, read_preflight_file

    if not actor.can_admin_unit(org_unit.pk):
        raise PermissionDenied(_("Only a company administrator or an administrator of this unit can migrate its data."))
    stored = access_stored_bundle(actor, token, org_unit=org_unit)
    if stored is None:
        return False
    previous = read_preflight_file(actor.company_id, stored.token)
    _queue_preflight(actor=actor, org_unit=org_unit, token=stored.token, reason=reason, previous=previous)
    record_event(company_id=actor.company_id, actor=actor.user, verb="recompute_migration_preflight", object_type="legacy.bundle",
                 object_id=stored.token, object_repr=stored.file_name, after={"org": org_unit.code, "reason": reason})
    return True


def do_migrate_legacy_masters_from_upload(*, actor: Actor, org_unit: OrgUnit, token: str) -> tuple[Run, dict]:
    """`do_migrate_legacy_masters` from the checked upload of `org_unit`, then its pre-flight computed
    again in the background (the masters it counted as unregistered now exist). Refused while the upload
    is checking or failed. Audited (both steps)."""
    stored = check_upload_ready(actor, token, org_unit=org_unit)
    run, result = do_migrate_legacy_masters(actor=actor, path=stored.path, file_name=stored.file_name)
    do_request_legacy_preflight(actor=actor, org_unit=org_unit, token=stored.token, reason="masters")
    return run, result


def _is_current(company_id: int, token: str, requested_at: str) -> bool:
    """Whether no later request superseded the computation requested at `requested_at` (and the upload
    still exists). ISO times of one clock compare as times."""
    from django.utils.dateparse import parse_datetime

    from estatecrm.legacy.selectors import read_preflight_file

    state = read_preflight_file(company_id, token)
    if state is None or not state.get("requested_at"):
        return False
    return parse_datetime(state["requested_at"]) <= parse_datetime(requested_at)


def _messages_in_every_language(step, error) -> dict[str, str]:
    """The refusal `error` of `step` in every language of the site, so that the page can show it in the
    viewer's: the reader translates its messages when it raises them, so the step is repeated (only on
    failure, only as far as the failure) under each other language."""
    from django.conf import settings
    from django.utils import translation

    messages = {translation.get_language() or settings.LANGUAGE_CODE: error.message}
    for language, _name in settings.LANGUAGES:
        if language in messages:
            continue
        with translation.override(language):
            try:
                step()
            except (ApplicationError, ReadError) as again:
                if again.code == error.code:
                    messages[language] = again.message
    return messages


def do_compute_legacy_preflight(*, company_id: int, org_unit_id: int, token: str, requested_at: str) -> str:
    """The background half of an upload: read the whole bundle (`check_bundle`; once per upload), then
    compute its pre-flight for the unit (`selectors.preflight` with the stored staff map and the quick
    window of today) as the admin who requested it, writing the stage to preflight.json as it goes and
    the result at the end (`ready` with the counts, or `failed` with the reason).

    A bundle that fails is removed from storage (its upload.json and preflight.json stay, to show why),
    so no run can start from it; an unexpected error keeps it, so that the admin can recompute.
    Idempotent: nothing happens when the upload is gone or a later request superseded this one, and a
    finished computation is not repeated. Returns the status written (or `superseded`)."""
    import logging

    from django.conf import settings
    from django.utils import translation

    from estatecrm.core.scope import company_scope
    from estatecrm.legacy.selectors import access_stored_bundle, preflight, read_preflight_file
    from estatecrm.tenancy.selectors import actor_for

    state = read_preflight_file(company_id, token)
    if state is None or state.get("status") != PreflightStatus.CHECKING or not _is_current(company_id, token, requested_at):
        return "superseded"

    def write(**changes) -> bool:
        if not _is_current(company_id, token, requested_at):
            return False
        state.update(changes)
        _write_preflight_file(company_id, token, state)
        return True

    def fail(code: str, messages: dict, *, remove_bundle: bool) -> str:
        if not write(status=PreflightStatus.FAILED, stage=PreflightStage.DONE, error={"code": code, "messages": messages},
                     preflight=None, computed_at=timezone.now().isoformat()):
            return "superseded"
        if remove_bundle:
            _remove_upload(company_id, token, names=("bundle.zip",))
            record_event(company_id=company_id, actor=user, verb="reject_migration_bundle", object_type="legacy.bundle", object_id=token,
                         after={"code": code, "message": messages.get(settings.LANGUAGE_CODE, "")})
        return PreflightStatus.FAILED

    with company_scope(company_id), translation.override(settings.LANGUAGE_CODE):
        user = User.objects.filter(company_id=company_id, pk=state.get("requested_by_id"), is_active=True).first()
        org_unit = OrgUnit.objects.for_company(company_id).filter(pk=org_unit_id).first()
        try:
            actor = actor_for(user) if user is not None else None
        except PermissionDenied:
            actor = None
        if actor is None or org_unit is None or not actor.can_admin_unit(org_unit.pk):
            # Not the bundle's fault: it stays, and an admin of the unit can recompute.
            return fail(error_codes.REQUESTER_NOT_ADMIN, {}, remove_bundle=False)
        stored = access_stored_bundle(actor, token, org_unit=org_unit)
        if stored is None:
            return "superseded"  # discarded meanwhile
        quick_since = quick_start_date()

        def check() -> None:
            check_bundle(stored.path)

        def count() -> dict:
            return preflight(actor=actor, path=stored.path, org_unit=org_unit, staff_map=stored.staff_map, quick_since=quick_since)

        step = check
        try:
            if not state.get("bundle_checked"):
                if not write(stage=PreflightStage.CHECK, stage_started_at=timezone.now().isoformat()):
                    return "superseded"
                check()
            step = count
            if not write(stage=PreflightStage.COUNT, bundle_checked=True, stage_started_at=timezone.now().isoformat()):
                return "superseded"
            counts = count()
        except (ApplicationError, ReadError) as error:
            # What the reader refuses is the bundle's fault: it goes. Anything else (a permission) keeps it.
            is_bundle_error = isinstance(error, ReadError) or (step is check and not isinstance(error, PermissionDenied))
            return fail(error.code, _messages_in_every_language(step, error), remove_bundle=is_bundle_error)
        except Exception:
            logging.getLogger(__name__).exception("the pre-flight of upload %s failed", token)
            return fail(error_codes.PREFLIGHT_FAILED, {}, remove_bundle=False)
        if not write(status=PreflightStatus.READY, stage=PreflightStage.DONE, preflight=counts, quick_since=quick_since.isoformat(),
                     error=None, computed_at=timezone.now().isoformat()):
            return "superseded"
    return PreflightStatus.READY


@transaction.atomic
def do_start_legacy_migration_from_upload(*, actor: Actor, org_unit: OrgUnit, token: str, mode: str = Mode.FULL, since: date | None = None,
                                          fallback_email: str = "", language: str = "") -> Run:
    """Start a migration of an uploaded bundle into `org_unit`, run in the background by the pipeline
    task once this transaction commits (`do_start_legacy_migration` does the checks and the audit).

    Refused until the upload's background check has passed (and its pre-flight is computed), while
    another migration of the company is waiting or running (both would take the same cases), and when
    the upload is gone."""
    from estatecrm.legacy.selectors import active_migration

    stored = check_upload_ready(actor, token, org_unit=org_unit)
    running = active_migration(actor=actor)
    if running is not None:
        raise ApplicationError(error_codes.RUN_IN_PROGRESS, _("Migration #%(run)d has not ended yet: wait for it to end or abort it first.")
                               % {"run": running.pk})
    return do_start_legacy_migration(actor=actor, path=stored.path, file_name=stored.file_name, org_unit=org_unit, mode=mode, since=since,
                                     staff_map=stored.staff_map, fallback_email=fallback_email, language=language, background=True,
                                     is_bundle_checked=True, is_stored_upload=True)
