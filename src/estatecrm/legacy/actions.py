"""Starting, aborting and reverting legacy desktop migrations; creating the masters a bundle needs."""

import csv
import io
import secrets
from collections import Counter
from datetime import date
from pathlib import Path

from django.core.files import File
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
    CUSTOMER_SOURCE_SYSTEM,
    MASTER_SOURCE_SYSTEM,
    MASTERS_RUN_KIND,
    QUICK_MONTHS,
    REVERT_DAYS,
    RUN_KIND,
    SOURCE_SYSTEM,
    Mode,
    Outcome,
)
from estatecrm.legacy.converter import clean, load_source, split_list
from estatecrm.legacy.models import CaseOutcome
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
    """`社員コード,email` lines (a header line is allowed) -> {code: lower-case e-mail}. CP932 or UTF-8."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApplicationError(error_codes.STAFF_MAP_INVALID, _("The staff map is neither UTF-8 nor Shift_JIS text."))
    mapping: dict[str, str] = {}
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if len(cells) < 2:
            raise ApplicationError(error_codes.STAFF_MAP_INVALID, _("Line %(line)d of the staff map is not “社員コード,email”.") % {"line": number})
        email = normalize_email(cells[1])
        if not email.is_valid:
            if number == 1:
                continue  # a header line
            raise ApplicationError(error_codes.STAFF_MAP_INVALID, _("Line %(line)d of the staff map has no valid e-mail address.") % {"line": number})
        mapping[cells[0]] = email.value
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
    today: date | None = None, language: str = "",
) -> Run:
    """Check the bundle (nothing is written when it is bad), store it, create the run.

    Only a company admin or an admin of `org_unit` may start it. `background`: enqueue the run once this
    transaction commits; otherwise the caller executes it. Audited.
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
    check_bundle(path)
    run = Run(
        company_id=actor.company_id, kind=RUN_KIND, token=secrets.token_hex(8), created_by=actor.user, source_name=file_name, is_dry_run=dry_run,
        params={
            "org_unit_id": org_unit.pk, "mode": mode, "since": since.isoformat() if since else None, "staff_map": staff_map or {},
            "fallback_user_id": fallback_user_id, "rate": rate or 0, "dry_run": dry_run, "acting_user_id": actor.user.pk,
            "region": actor.company.phone_region, "language": language or translation.get_language() or "ja",
        },
    )
    with Path(path).open("rb") as handle:
        run.source_file.save(file_name, File(handle), save=False)
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


@transaction.atomic(durable=True)
def do_revert_legacy_migration(*, actor: Actor, run: Run, force: bool = False) -> Counter:
    """Undo a run within 30 days: its cases, and the customers only they use, go to the trash; their
    ledger entries go, so the cases can be migrated again. A masters run removes the masters it created
    (those no case uses). Refused, with the cases edited since, unless `force`. Atomic, audited."""
    check_admin_of_run(actor, run)
    run = Run.objects.for_company(actor.company_id).select_for_update().get(pk=run.pk)
    if run.status not in REVERTIBLE or run.reverted_at is not None:
        raise ApplicationError(error_codes.NOT_REVERTIBLE, _("Only a finished run that was not reverted can be reverted."))
    now = timezone.now()
    if run.finished_at and now - run.finished_at > timezone.timedelta(days=REVERT_DAYS):
        raise ApplicationError(error_codes.REVERT_TOO_LATE, _("A run can be reverted within %(days)d days of its end.") % {"days": REVERT_DAYS})
    counts: Counter = Counter()
    if run.kind == MASTERS_RUN_KIND:
        counts.update(revert_masters(run))
    else:
        edited = edited_since(run)
        if edited and not force:
            raise ApplicationError(error_codes.EDITED_SINCE, _(
                "%(count)d migrated cases were edited after the run (追客番号 and case id: %(cases)s). Revert with force to undo anyway.")
                % {"count": len(edited), "cases": ", ".join(f"{source_id}={case_id}" for source_id, case_id in edited[:50])})
        case_ids = list(CaseOutcome.objects.for_company(run.company_id).filter(run=run, outcome=Outcome.MIGRATED).values_list("case_id", flat=True))
        counts["cases_trashed"] = Case.objects.for_company(run.company_id).filter(pk__in=case_ids, deleted_at__isnull=True).update(deleted_at=now)
        created = dict(LedgerEntry.objects.for_company(run.company_id).filter(run=run, source_system=CUSTOMER_SOURCE_SYSTEM)
                       .values_list("target_id", "pk"))
        still_used = set(Case.objects.for_company(run.company_id).filter(customer_id__in=list(created), deleted_at__isnull=True)
                         .values_list("customer_id", flat=True))
        trashed = [customer_id for customer_id in created if customer_id not in still_used]
        counts["customers_trashed"] = Customer.objects.for_company(run.company_id).filter(pk__in=trashed, deleted_at__isnull=True).update(deleted_at=now)
        LedgerEntry.objects.for_company(run.company_id).filter(pk__in=[created[customer_id] for customer_id in trashed]).delete()
        LedgerEntry.objects.for_company(run.company_id).filter(run=run, source_system=SOURCE_SYSTEM).delete()
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
            position = SubStatus.objects.for_company(company).filter(status=category).count()
            instance, was_created = do_upsert_sub_status(company=company, status=category, name=name[:100], position=position, acting_user=actor.user)
            remember("sub_statuses", f"{category}/{name}", instance, was_created)
    used_ranks = list(dict.fromkeys(clean(row["ランク"]) for _line, row in source.cases if clean(row["ランク"])))
    used_tags = list(dict.fromkeys(tag for _line, row in source.cases for tag in split_list(row["タグ"])))
    if ranks:
        start = Rank.objects.for_company(company).count()
        for offset, name in enumerate(used_ranks):
            instance, was_created = do_upsert_rank(company=company, name=name[:50], position=start + offset, acting_user=actor.user)
            remember("ranks", name, instance, was_created)
    if tags:
        start = Tag.objects.for_company(company).count()
        for offset, name in enumerate(used_tags):
            instance, was_created = do_upsert_tag(company=company, name=name[:100], position=start + offset, acting_user=actor.user)
            remember("tags", name, instance, was_created)
    LedgerEntry.objects.bulk_create(ledger)
    counts = {kind: len(names) for kind, names in created.items()}
    Run.objects.for_company(company).filter(pk=run.pk).update(counts=counts)
    record_event(company_id=company.pk, actor=actor.user, verb="migrate_masters", instance=run, after=created, run_id=run.pk)
    return run, {"run_id": run.pk, "created": created}


# ---------------------------------------------------------------------------------------------
# The pages: a bundle uploaded to storage, then runs started from it in the background


def _remove_upload(company_id: int, token: str) -> None:
    from django.core.files.storage import default_storage

    from estatecrm.legacy.selectors import upload_folder

    folder = upload_folder(company_id, token)
    for name in ("bundle.zip", "upload.json"):
        default_storage.delete(f"{folder}/{name}")
    try:
        # FileSystemStorage leaves the emptied folder behind; other storages have no folders.
        Path(default_storage.path(folder)).rmdir()
    except (NotImplementedError, OSError):
        pass


def do_store_legacy_bundle(*, actor: Actor, org_unit: OrgUnit, bundle_file, staff_map_file=None, replaces: str = "") -> str:
    """Keep an uploaded export bundle (streamed, any size) in storage under
    `legacy-uploads/<company>/<token>/` for the migration pages of `org_unit`, and return its token.

    The whole bundle is checked first (as a run would read it): a bad bundle or staff map is removed
    again and refused with ApplicationError, so nothing is kept. `replaces`: the token of the unit's
    previous upload, removed once this one is kept. Admins of the unit only. Audited.
    """
    import json

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from estatecrm.legacy.selectors import upload_folder

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
        check_bundle(Path(default_storage.path(stored)))
        meta = {
            "org_unit_id": org_unit.pk, "file_name": file_name, "size": default_storage.size(stored), "staff_map": staff_map,
            "staff_map_name": Path(getattr(staff_map_file, "name", "") or "").name[:200] if staff_map_file else "",
            "uploaded_at": timezone.now().isoformat(), "uploaded_by_id": actor.user.pk,
        }
        default_storage.save(f"{folder}/upload.json", ContentFile(json.dumps(meta, ensure_ascii=False).encode("utf-8")))
        record_event(company_id=actor.company_id, actor=actor.user, verb="upload_migration_bundle", object_type="legacy.bundle",
                     object_id=token, object_repr=file_name, after={"org": org_unit.code, "size": meta["size"], "staff_map": len(staff_map)})
    except BaseException:
        _remove_upload(actor.company_id, token)
        raise
    if replaces and replaces != token:
        from estatecrm.legacy.selectors import access_stored_bundle

        if access_stored_bundle(actor, replaces, org_unit=org_unit) is not None:
            _remove_upload(actor.company_id, replaces)
    return token


def do_discard_legacy_bundle(*, actor: Actor, org_unit: OrgUnit, token: str) -> bool:
    """Remove an uploaded bundle of `org_unit` from storage (runs keep their own copy). False when
    there was none. Audited."""
    from estatecrm.legacy.selectors import access_stored_bundle

    stored = access_stored_bundle(actor, token, org_unit=org_unit)
    if stored is None:
        return False
    _remove_upload(actor.company_id, stored.token)
    record_event(company_id=actor.company_id, actor=actor.user, verb="discard_migration_bundle", object_type="legacy.bundle",
                 object_id=stored.token, object_repr=stored.file_name)
    return True


@transaction.atomic
def do_start_legacy_migration_from_upload(*, actor: Actor, org_unit: OrgUnit, token: str, mode: str = Mode.FULL, since: date | None = None,
                                          fallback_email: str = "", language: str = "") -> Run:
    """Start a migration of an uploaded bundle into `org_unit`, run in the background by the pipeline
    task once this transaction commits (`do_start_legacy_migration` does the checks and the audit).

    Refused while another migration of the company is waiting or running (both would take the same
    cases), and when the upload is gone."""
    from estatecrm.legacy.selectors import access_stored_bundle, active_migration

    stored = access_stored_bundle(actor, token, org_unit=org_unit)
    if stored is None:
        raise ApplicationError(error_codes.BUNDLE_NOT_UPLOADED, _("Upload the bundle first: no uploaded bundle was found for this unit."))
    running = active_migration(actor=actor)
    if running is not None:
        raise ApplicationError(error_codes.RUN_IN_PROGRESS, _("Migration #%(run)d has not ended yet: wait for it to end or abort it first.")
                               % {"run": running.pk})
    return do_start_legacy_migration(actor=actor, path=stored.path, file_name=stored.file_name, org_unit=org_unit, mode=mode, since=since,
                                     staff_map=stored.staff_map, fallback_email=fallback_email, language=language, background=True)
