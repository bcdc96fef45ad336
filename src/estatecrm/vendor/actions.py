"""Starting, aborting and reverting the phases of a move-in from another vendor's CRM (vendor/jobs.py)."""

import csv
import io
import re
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError
from estatecrm.core.transactions import enqueue_on_commit
from estatecrm.crm.models import Case, Listing
from estatecrm.normalize import normalize_email
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run, request_abort
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.pipeline.readers import ReadError
from estatecrm.pipeline.reverts import revert_kind
from estatecrm.tenancy.models import User
from estatecrm.tenancy.permissions import require_user
from estatecrm.vendor import error_codes
from estatecrm.vendor.choices import RUN_KIND, Entity, Outcome, Phase, ledger_system
from estatecrm.vendor.models import MoveIn, RecordOutcome

PHASES = ("active", "archive", "all")
REVERTIBLE = {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES, RunStatus.ABORTED, RunStatus.FAILED}
RUNNING = (RunStatus.PENDING, RunStatus.RUNNING)
LOADED_WELL = (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES)
LISTED_AGENTS = 50  # unknown agents named in a refusal (the count says how many there are)


@dataclass
class ImportStarted:
    """What starting a phase made: the move-in (created or found) and the phase's run."""

    move_in: MoveIn
    run: Run


def parse_agent_map(content: bytes) -> dict[str, str]:
    """`source_email,user_email` lines (a header line is allowed) -> {source e-mail: user e-mail}, lower case."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError("agent_map_invalid", _("The agent map is not UTF-8 text.")) from None
    mapping: dict[str, str] = {}
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        cells = [cell.strip() for cell in cells if cell.strip()]
        if not cells:
            continue
        source, target = (normalize_email(cell) for cell in cells[:2]) if len(cells) == 2 else (None, None)
        if source is None or not (source.is_valid and target.is_valid):
            if number == 1:
                continue  # a header line
            raise ApplicationError("agent_map_invalid", _("Line %(line)d of the agent map is not “source_email,user_email”.") % {"line": number})
        mapping[source.value] = target.value
    return mapping


def zipped(path: Path) -> Path:
    """A folder package as a ZIP file in a temporary folder (the run keeps one file)."""
    folder = Path(tempfile.mkdtemp(prefix="vendor-package-"))
    target = folder / f"{path.name or 'package'}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member in sorted(path.rglob("*")):
            if member.is_file():
                archive.write(member, member.relative_to(path).as_posix())
    return target


def read_package(profile_name_or_path, package_path: Path, *, region: str | None = None, currency: str | None = None):
    """(profile, extracted) or ApplicationError: unknown profile, unreadable or incomplete package."""
    from estatecrm.vendor.profiles import Profile, extract, load_profile

    try:
        # (a Profile itself: the move-in's, as its active phase used it)
        profile = profile_name_or_path if isinstance(profile_name_or_path, Profile) else load_profile(str(profile_name_or_path))
        extracted = extract(profile, package_path, region=region, currency=currency)
    except ReadError as error:
        raise ApplicationError(error.code, error.message) from None
    except OSError as error:
        raise ApplicationError(error_codes.PACKAGE_UNREADABLE, _("The package could not be read: %(error)s") % {"error": error}) from None
    check = extracted.check
    if not check.is_loadable:
        missing = list(check.missing_files) + [f"{member}: {', '.join(columns)}" for member, columns in check.missing_columns.items() if columns]
        raise ApplicationError(error_codes.PACKAGE_INCOMPLETE, _("The package lacks what the profile needs: %(missing)s")
                               % {"missing": "; ".join(missing)})
    return profile, extracted


def agents_preflight(company_id: int, items, agent_map: dict[str, str], *, vendor: str, create_agents: bool,
                     emails: dict[str, str] | None = None) -> list[str]:
    """Check that every agent the phase names is a user of the company; return the e-mails to create
    (`create_agents`) or refuse AGENTS_UNKNOWN with the list (nothing written)."""
    from estatecrm.vendor.jobs import agent_email, agent_keys

    keys = sorted(agent_keys(items))
    wanted = {key: agent_email(emails or {}, agent_map, key) for key in keys}
    users = {email.lower(): (pk, company, active) for pk, email, company, active in
             User.objects.filter(email__in=set(wanted.values())).values_list("pk", "email", "company_id", "is_active")}
    ours = set(LedgerEntry.objects.for_company(company_id).filter(source_system=ledger_system(vendor, Entity.AGENTS))
               .values_list("target_id", flat=True))
    unknown, to_create = [], []
    for key, email in wanted.items():
        user = users.get(email)
        if user is not None and user[1] == company_id and (user[2] or user[0] in ours):
            continue
        if create_agents and (user is None or (user[1] == company_id and not user[2])):
            if user is None:
                to_create.append(key)
            continue
        unknown.append(key if email == key else f"{key} → {email}")
    if unknown:
        shown = ", ".join(unknown[:LISTED_AGENTS]) + (" …" if len(unknown) > LISTED_AGENTS else "")
        raise ApplicationError(error_codes.AGENTS_UNKNOWN, _(
            "%(count)d agents of the package are not active users of the company (map them to users with an agent map, or "
            "create them as inactive users): %(agents)s") % {"count": len(unknown), "agents": shown})
    return to_create


def move_in_runs(move_in: MoveIn):
    return Run.objects.for_company(move_in.company_id).filter(kind=RUN_KIND, params__move_in_id=move_in.pk)


def check_not_running(move_in: MoveIn) -> None:
    runs = move_in_runs(move_in)
    running = runs.filter(status__in=RUNNING).first()
    if running is None:
        running = Run.objects.for_company(move_in.company_id).filter(
            kind=revert_kind(RUN_KIND), params__run_id__in=list(runs.values_list("pk", flat=True)), status__in=RUNNING).first()
    if running is not None:
        raise ApplicationError(error_codes.MOVE_IN_RUNNING, _("A phase of this move-in is still running (run #%(run)d).") % {"run": running.pk})


@transaction.atomic
def do_start_import(acting_user, company, package_path, profile_name_or_path, *, phase: str = "active", dry_run: bool = False,
                    agent_map: dict | None = None, create_agents: bool = False, background: bool = True,
                    package_name: str | None = None, region: str | None = None, currency: str | None = None) -> ImportStarted:
    """Check the package and the agents (nothing is written when either is refused), find or create the
    move-in, and create the phase's run with its own copy of the package. `phase` "all" starts the active
    phase and, once it has loaded, the archive phase (`background`; the caller starts it otherwise, as the
    CLI does). `background`: enqueue the run once this transaction commits; otherwise the caller executes it.
    `package_name`: the package's name when `package_path` is a copy of it (default: the path's name); the
    archive phase finds its move-in by it. `region` / `currency`: the package's phone region and currency when its
    profile has no manifest to say them (a HubSpot or Salesforce export of a Polish office: "PL", "PLN").
    Company admins only; audited."""
    require_user(acting_user, "vendor_migration")
    if acting_user is not None and acting_user.company_id != company.pk:
        raise ApplicationError("unknown_company", _("Unknown company."))
    if phase not in PHASES:
        raise ApplicationError("invalid_option", _("Unknown phase: %(phase)s") % {"phase": phase})
    if dry_run and background:
        # A dry run is executed here, in a transaction its caller rolls back (`run_phases`); never by a worker.
        raise ApplicationError("invalid_option", _("A dry run is executed at once, not in the background."))
    package_path = Path(package_path)
    region, currency = (region or "").strip().upper() or None, (currency or "").strip().upper() or None
    if (region and not re.fullmatch(r"[A-Z]{2}", region)) or (currency and not re.fullmatch(r"[A-Z]{3}", currency)):
        raise ApplicationError("invalid_option", _("The region is two letters (JP, PL) and the currency three (JPY, PLN)."))
    profile, extracted = read_package(profile_name_or_path, package_path, region=region, currency=currency)
    run_phase = Phase.ARCHIVE.value if phase == "archive" else Phase.ACTIVE.value
    package_name = package_name or package_path.name
    candidates = MoveIn.objects.for_company(company).select_for_update().filter(vendor=extracted.vendor, package_name=package_name).order_by("-pk")
    move_in = None
    if run_phase == Phase.ARCHIVE:
        for candidate in candidates:
            active = candidate.active_run
            if active is not None and active.status in LOADED_WELL and active.reverted_at is None and (dry_run or not active.is_dry_run):
                move_in = candidate
                break
        if move_in is None:
            raise ApplicationError(error_codes.PHASE_ORDER, _(
                "The archive phase of %(package)s needs its active phase loaded first (and not reverted).") % {"package": package_name})
        check_not_running(move_in)
    else:
        move_in = candidates.first()
        if move_in is not None:
            check_not_running(move_in)
    from estatecrm.vendor.jobs import agent_emails, phase_items

    agent_map = {key.lower(): value.lower() for key, value in (agent_map or {}).items()}
    to_create = agents_preflight(company.pk, phase_items(extracted, run_phase), agent_map, vendor=extracted.vendor, create_agents=create_agents,
                                emails=agent_emails(extracted))
    options = {"agent_map": agent_map, "create_agents": create_agents, "dry_run": dry_run, "phase": phase, "region": region,
               "currency": currency}
    if move_in is None:
        move_in = MoveIn.objects.create(company=company, vendor=extracted.vendor[:100], profile=profile.name[:100], profile_text=profile.text,
                                        package_name=package_name[:255], region=extracted.region[:2], currency=extracted.currency[:3],
                                        created_by=acting_user, options=options)
    else:
        move_in.profile, move_in.profile_text, move_in.options = profile.name[:100], profile.text, options
    run = Run(company=company, kind=RUN_KIND, token=secrets.token_hex(8), created_by=acting_user, source_name=package_name[:255],
              is_dry_run=dry_run, params={
                  "move_in_id": move_in.pk, "phase": run_phase, "acting_user_id": acting_user.pk if acting_user else None, "dry_run": dry_run,
                  "agent_map": agent_map, "create_agents": to_create, "then_archive": phase == "all" and background and not dry_run,
                  "language": translation.get_language() or "ja", "region": region, "currency": currency,
              })
    if package_path.is_dir():
        archive = zipped(package_path)
        try:
            run.keep_source_file(archive, f"{package_name}.zip")
        finally:
            archive.unlink(missing_ok=True)
            archive.parent.rmdir()
    else:
        run.keep_source_file(package_path, package_name)
    run.save()
    if run_phase == Phase.ACTIVE:
        move_in.active_run = run
    else:
        move_in.archive_run = run
    move_in.save()
    record_event(company_id=company.pk, actor=acting_user, verb="start_vendor_import", instance=run,
                 after={"package": package_name, "vendor": move_in.vendor, "phase": run_phase, "dry_run": dry_run, "create_agents": to_create},
                 run_id=run.pk)
    if background:
        from estatecrm.pipeline.tasks import run_pipeline

        enqueue_on_commit(run_pipeline, run.pk)
    else:
        from estatecrm.vendor.jobs import hand_over

        hand_over(run, extracted)  # the caller executes the run in this process: it need not read the package again
    return ImportStarted(move_in=move_in, run=run)


def start_archive_after(run_id: int) -> Run | None:
    """After an active phase started as "all" has loaded: start its archive phase in the background from the
    active run's copy of the package, as the same user with the same options (nothing when the active phase
    did not load well)."""
    from django.core.files.storage import default_storage

    from estatecrm.core.scope import company_scope
    from estatecrm.vendor.profiles import profile_for_move_in

    run = Run.objects.unscoped().filter(pk=run_id).select_related("company").first()
    if run is None or run.status not in LOADED_WELL:
        return None
    with company_scope(run.company_id):
        move_in = MoveIn.objects.for_company(run.company_id).get(pk=run.params["move_in_id"])
        user = User.objects.filter(pk=run.params.get("acting_user_id")).first()
        path = Path(default_storage.path(run.source_file.name))
        started = do_start_import(user, run.company, path, profile_for_move_in(move_in), phase="archive",
                                  agent_map=run.params.get("agent_map"), create_agents=bool(move_in.options.get("create_agents")),
                                  background=True, package_name=move_in.package_name, region=move_in.options.get("region"),
                                  currency=move_in.options.get("currency"))
    return started.run


EDITED_LISTED = 50  # cases and listings named in an edited_since refusal (the count says how many there are)


def edited_since(run: Run) -> list[tuple[str, str, int]]:
    """(entity, source id, target id) of the cases (with their customers) and listings the phase loaded that
    were changed after the move-in's runs ended: after the last of its phase runs and their reverts, since
    the archive phase and its revert change the active phase's cases themselves (their last contact)."""
    if run.finished_at is None:
        return []
    company_id = run.company_id
    phase_runs = Run.objects.for_company(company_id).filter(kind=RUN_KIND, params__move_in_id=run.params.get("move_in_id"))
    ends = [end for end in phase_runs.values_list("finished_at", flat=True) if end]
    ends += [end for end in Run.objects.for_company(company_id).filter(
        kind=revert_kind(RUN_KIND), params__run_id__in=list(phase_runs.values_list("pk", flat=True))).values_list("finished_at", flat=True) if end]
    margin = max([run.finished_at, *ends]) + timezone.timedelta(seconds=1)
    loaded = RecordOutcome.objects.for_company(company_id).filter(run=run, outcome=Outcome.LOADED)
    cases = dict(loaded.filter(target_type="crm.case").values_list("target_id", "source_id"))
    listings = dict(loaded.filter(target_type="crm.listing").values_list("target_id", "source_id"))
    live_cases = Case.objects.for_company(company_id).filter(pk__in=list(cases))
    edited = set(live_cases.filter(updated_at__gt=margin).values_list("pk", flat=True))
    edited |= set(live_cases.filter(customer__updated_at__gt=margin).values_list("pk", flat=True))
    found = [(Entity.SEEKERS.value, cases[pk], pk) for pk in sorted(edited)]
    found += [(Entity.LISTINGS.value, listings[pk], pk) for pk in Listing.objects.for_company(company_id).filter(
        pk__in=list(listings), updated_at__gt=margin).order_by("pk").values_list("pk", flat=True)]
    return found


def check_revertible(run: Run, *, force: bool = False) -> None:
    """Refuse (NOT_REVERTIBLE) the revert of a run that is not a finished phase run, was reverted, or is the
    active phase of a move-in whose archive phase stands (revert the archive phase first); refuse
    (EDITED_SINCE) while cases or listings it loaded were changed since, unless `force`."""
    if run.kind != RUN_KIND or run.status not in REVERTIBLE or run.reverted_at is not None or run.is_dry_run:
        raise ApplicationError(error_codes.NOT_REVERTIBLE, _("Only a finished phase that was not reverted can be reverted."))
    if run.params.get("phase") == Phase.ACTIVE:
        standing = Run.objects.for_company(run.company_id).filter(
            kind=RUN_KIND, params__move_in_id=run.params.get("move_in_id"), params__phase=Phase.ARCHIVE, reverted_at__isnull=True,
        ).exclude(status=RunStatus.FAILED, rows_done=0).first()
        if standing is not None:
            raise ApplicationError(error_codes.NOT_REVERTIBLE, _(
                "The archive phase of this move-in (run #%(run)d) stands: revert it before the active phase.") % {"run": standing.pk})
    if force:
        return
    edited = edited_since(run)
    if edited:
        shown = ", ".join(f"{source_id} (#{target_id})" for _entity, source_id, target_id in edited[:EDITED_LISTED])
        raise ApplicationError(error_codes.EDITED_SINCE, _(
            "%(count)d cases or listings of this phase were changed since it was loaded: %(records)s. Revert anyway (force) to "
            "undo them too: changed cases go to the trash, changed listings are removed.") % {
                "count": len(edited), "records": shown + (" …" if len(edited) > EDITED_LISTED else "")})


@transaction.atomic
def do_start_revert(acting_user, run: Run, force: bool = False, *, background: bool = True) -> Run:
    """Start undoing a phase run as a revert run (VendorImportRevertJob: resumable, with progress): what the
    phase created goes, and its ledger entries, so that the phase can be loaded again. Refused as
    `check_revertible` says (checked again when the revert starts) and while a revert of it runs.
    Company admins only; audited."""
    from estatecrm.pipeline.reverts import start_revert
    from estatecrm.tenancy.selectors import actor_for

    require_user(acting_user, "vendor_migration")
    run = Run.objects.for_company(run.company_id).select_for_update().get(pk=run.pk)
    if acting_user is not None and acting_user.company_id != run.company_id:
        raise ApplicationError(error_codes.NOT_REVERTIBLE, _("Only a finished phase that was not reverted can be reverted."))
    actor = actor_for(acting_user) if acting_user is not None else _Operator()
    return start_revert(run, actor=actor, force=force, check_revertible=check_revertible, background=background,
                        in_progress=lambda running: ApplicationError(error_codes.NOT_REVERTIBLE, _(
                            "This phase is being reverted already (run #%(run)d).") % {"run": running.pk}))


class _Operator:
    """The actor of a management command without `--as` (no user)."""

    user = None


def do_abort_import(acting_user, run: Run) -> bool:
    """Ask a phase run (or its revert) to stop after its current batch; what was written stays (revert it).
    False when it already ended."""
    require_user(acting_user, "vendor_migration")
    if run.kind not in (RUN_KIND, revert_kind(RUN_KIND)):
        raise ApplicationError(error_codes.NOT_REVERTIBLE, _("Not a move-in run."))
    requested = request_abort(run)
    record_event(company_id=run.company_id, actor=acting_user, verb="abort", instance=run, run_id=run.pk)
    return requested


def import_summary(run: Run) -> dict:
    """The CLI's object for one phase run: run_id, status, phase, entities."""
    from estatecrm.vendor.jobs import entities_summary

    summary = {"run_id": run.pk, "status": run.status, "phase": run.params.get("phase"), "entities": entities_summary(run)}
    if run.error_code:
        summary["error"] = {"code": run.error_code, "message": run.error_message}
    return summary


def combined_summary(summaries: list[dict]) -> dict:
    """Phase "all": the last run's id and status, the entities summed over the phases, and every run."""
    entities: dict[str, dict] = {}
    for summary in summaries:
        for entity, values in summary["entities"].items():
            total = entities.setdefault(entity, {"source": 0, "loaded": 0, "skipped": {}, "failed": 0, "failed_reasons": {}})
            for name in ("source", "loaded", "failed"):
                total[name] += values[name]
            for name in ("skipped", "failed_reasons"):
                for reason, count in values[name].items():
                    total[name][reason] = total[name].get(reason, 0) + count
    last = summaries[-1]
    combined = {"run_id": last["run_id"], "status": last["status"], "phase": "all", "entities": entities,
                "runs": [{"run_id": item["run_id"], "phase": item["phase"], "status": item["status"]} for item in summaries]}
    if "error" in last:
        combined["error"] = last["error"]
    for item, summary in zip(combined["runs"], summaries, strict=True):
        if "would_end_as" in summary:
            item["would_end_as"] = summary["would_end_as"]
    return combined


def run_phases(acting_user, company, package_path, profile_name_or_path, *, phase: str, dry_run: bool = False, agent_map=None,
               create_agents: bool = False, progress=None, region: str | None = None, currency: str | None = None) -> dict:
    """Start and execute the phase(s) here (the CLI), one after the other; the summary object (`import_summary`,
    or `combined_summary` for "all"). A dry run does it all in a transaction rolled back at the end: nothing is
    written, no file kept; its runs have no id."""
    phases = [Phase.ACTIVE.value, Phase.ARCHIVE.value] if phase == "all" else [phase]
    summaries, kept = [], []

    def execute():
        for each in phases:
            started = do_start_import(acting_user, company, package_path, profile_name_or_path, phase=each, dry_run=dry_run,
                                      agent_map=agent_map, create_agents=create_agents, background=False, region=region,
                                      currency=currency)
            kept.append(started.run.source_file.name)
            if progress is not None:
                progress(started.run)
            else:
                execute_run(started.run.pk)
            started.run.refresh_from_db()
            summaries.append(import_summary(started.run))
            if started.run.status not in LOADED_WELL:
                break

    if dry_run:
        from django.core.files.storage import default_storage

        try:
            with transaction.atomic():
                execute()
                transaction.set_rollback(True)
        finally:
            for name in kept:
                default_storage.delete(name)
        for summary in summaries:
            summary["would_end_as"], summary["status"], summary["run_id"] = summary["status"], "dry_run", None
    else:
        execute()
    summary = combined_summary(summaries) if phase == "all" else summaries[-1]
    if dry_run:
        summary["would_end_as"] = summaries[-1]["would_end_as"]
    return summary
