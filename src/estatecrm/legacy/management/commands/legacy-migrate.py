"""`estatecrm legacy-migrate preflight|masters|run|runs|report|migrated-ids|abort|revert` (interface fixed by issue 5)."""

import datetime
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.legacy import actions
from estatecrm.legacy.choices import MASTERS_RUN_KIND, RUN_KIND, Mode
from estatecrm.legacy.reports import write_migrated_ids, write_reconciliation
from estatecrm.legacy.selectors import migration_list, preflight, run_summary
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.commands import check_run_ended_well, execute_with_progress
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.readers import ReadError
from estatecrm.tenancy.commands import acting_actor, company_by_code
from estatecrm.tenancy.models import OrgUnit


def parse_day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from None


class Command(BaseCommand):
    # The system checks cost about 3 s of CPU per run here (a tenth of a 100,000-row import on PostgreSQL);
    # this command moves data only (`estatecrm check`, the server and the worker run them), as vendor's and staff's.
    requires_system_checks = []
    help = "Migrate follow-up cases from the legacy desktop app's export bundle."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        check = commands.add_parser("preflight")
        check.add_argument("bundle")
        check.add_argument("--company", required=True)
        check.add_argument("--org", required=True)
        check.add_argument("--staff-map")
        check.add_argument("--json", action="store_true")
        masters = commands.add_parser("masters")
        masters.add_argument("bundle")
        masters.add_argument("--company", required=True)
        masters.add_argument("--substatuses", action="store_true")
        masters.add_argument("--ranks", action="store_true")
        masters.add_argument("--tags", action="store_true")
        masters.add_argument("--json", action="store_true")
        run = commands.add_parser("run")
        run.add_argument("bundle")
        run.add_argument("--company", required=True)
        run.add_argument("--org", required=True)
        run.add_argument("--as", dest="as_email", required=True)
        run.add_argument("--mode", choices=Mode.values, default=Mode.FULL)
        run.add_argument("--since")
        run.add_argument("--staff-map")
        run.add_argument("--fallback-assignee")
        run.add_argument("--dry-run", action="store_true")
        run.add_argument("--rate", type=float, default=0, help="source cases per second (0: as fast as possible)")
        run.add_argument("--json", action="store_true")
        runs = commands.add_parser("runs")
        runs.add_argument("--company", required=True)
        runs.add_argument("--json", action="store_true")
        for name in ("report", "migrated-ids"):
            sub = commands.add_parser(name)
            sub.add_argument("run_id", type=int)
            sub.add_argument("--out", required=True)
        abort = commands.add_parser("abort")
        abort.add_argument("run_id", type=int)
        revert = commands.add_parser("revert")
        revert.add_argument("run_id", type=int)
        revert.add_argument("--force", action="store_true")
        revert.add_argument("--no-wait", action="store_true", help="leave the revert to a worker and exit at once (0: started)")

    def handle(self, *args, action, **options):
        try:
            if action in {"preflight", "masters", "run", "runs"}:
                company = company_by_code(options["company"])
                with company_scope(company):
                    getattr(self, action)(company, options)
                return
            run = self.find_run(options["run_id"])
            with company_scope(run.company_id):
                getattr(self, action.replace("-", "_"))(run, options)
        except ReadError as error:
            raise CommandError(error.message) from None
        except ApplicationError as error:
            raise CommandError(error.message) from None

    # -- helpers ---------------------------------------------------------------------------------
    def find_run(self, run_id: int) -> Run:
        # The id names one run; its company comes from the row (a command runs with full rights).
        run = Run.objects.unscoped().filter(pk=run_id, kind__in=[RUN_KIND, MASTERS_RUN_KIND]).select_related("company").first()
        if run is None:
            raise CommandError(f"No migration run with id {run_id}")
        return run

    def bundle(self, options) -> Path:
        path = Path(options["bundle"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        return path

    def unit(self, company, code: str) -> OrgUnit:
        unit = OrgUnit.objects.for_company(company).filter(code=code).first()
        if unit is None:
            raise CommandError(f"Unknown org unit: {code}")
        return unit

    def staff_map(self, options) -> dict:
        if not options.get("staff_map"):
            return {}
        try:
            return actions.parse_staff_map(Path(options["staff_map"]).read_bytes())
        except OSError as error:
            raise CommandError(f"Cannot read the staff map: {error.strerror or error}") from None

    def emit(self, value, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(value, ensure_ascii=False))
            return
        for key, item in value.items():
            self.stdout.write(f"{key}: {json.dumps(item, ensure_ascii=False) if isinstance(item, dict | list) else item}")

    # -- actions ---------------------------------------------------------------------------------
    def preflight(self, company, options):
        actor = acting_actor(company, None)
        result = preflight(actor=actor, path=self.bundle(options), org_unit=self.unit(company, options["org"]),
                           staff_map=self.staff_map(options), quick_since=actions.quick_start_date())
        self.emit(result, options["json"])

    def masters(self, company, options):
        actor = acting_actor(company, None)
        chosen = {"sub_statuses": options["substatuses"], "ranks": options["ranks"], "tags": options["tags"]}
        if not any(chosen.values()):
            chosen = dict.fromkeys(chosen, True)  # none named: all three
        path = self.bundle(options)
        _run, result = actions.do_migrate_legacy_masters(actor=actor, path=path, file_name=path.name, **chosen)
        self.emit(result, options["json"])

    def run(self, company, options):
        actor = acting_actor(company, options["as_email"])
        path = self.bundle(options)
        common = {
            "actor": actor, "path": path, "file_name": path.name, "org_unit": self.unit(company, options["org"]), "mode": options["mode"],
            "since": parse_day(options["since"]) if options["since"] else None, "staff_map": self.staff_map(options),
            "fallback_email": options["fallback_assignee"] or "", "rate": options["rate"],
        }
        if options["dry_run"]:
            self.emit(actions.do_dry_run_legacy_migration(**common), options["json"])
            return
        run = actions.do_start_legacy_migration(**common, background=False)
        if options["json"] or not sys.stdout.isatty():
            execute_run(run.pk)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
                task = bar.add_task(run.source_name, total=None)
                execute_run(run.pk, progress=lambda current: bar.update(task, completed=current.rows_done, total=current.rows_total))
        run.refresh_from_db()
        self.emit(run_summary(run), options["json"])
        if run.status == RunStatus.NOTHING_TO_MIGRATE:
            self.stderr.write("Nothing to migrate: no case of the bundle is eligible for this unit and these options.")
        if run.error_message:
            self.stderr.write(f"error: {run.error_message}")
        check_run_ended_well(run)  # the exit code says how the run ended (pipeline/commands.py)

    def runs(self, company, options):
        actor = acting_actor(company, None)
        rows = [{**run_summary(run), "kind": run.kind, "file": run.source_name, "by": run.created_by.email if run.created_by else None,
                 "created_at": run.created_at.isoformat()} for run in migration_list(actor=actor)]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            self.stdout.write(f"{row['run_id']:>6}  {row['created_at'][:19]}  {row['kind']:<16} {row['status']:<24} {row['file']}  "
                              f"cases={row['source_cases']} migrated={row['migrated']} skipped={sum(row['skipped'].values())} failed={row['failed']}")

    def report(self, run, options):
        with Path(options["out"]).open("wb") as handle:
            totals = write_reconciliation(run, handle)
        self.stdout.write(f"report of run {run.pk} written to {options['out']}: {totals['source_cases']} cases = "
                          f"{totals['migrated']} migrated + {totals['skipped']} skipped + {totals['failed']} failed")

    def migrated_ids(self, run, options):
        with Path(options["out"]).open("wb") as handle:
            count = write_migrated_ids(run, handle)
        self.stdout.write(f"{count} migrated cases of run {run.pk} written to {options['out']}")

    def abort(self, run, options):
        actor = acting_actor(run.company, None)
        actions.do_abort_legacy_migration(actor=actor, run=run)
        self.stdout.write(f"run {run.pk}: abort requested; the current batch finishes and what was written stays")

    def revert(self, run, options):
        """A migration run is reverted as a run (pipeline/reverts.py), executed here with its progress, or by a
        worker (`--no-wait`); a masters run at once. Exit codes: pipeline/commands.py."""
        actor = acting_actor(run.company, None)
        if run.kind == MASTERS_RUN_KIND:
            counts = actions.do_revert_legacy_migration(actor=actor, run=run, force=options["force"])
            self.stdout.write(f"run {run.pk} reverted: " + json.dumps(dict(counts), ensure_ascii=False))
            return
        revert = actions.do_start_legacy_migration_revert(actor=actor, run=run, force=options["force"], background=options["no_wait"])
        if options["no_wait"]:
            self.stdout.write(f"run {run.pk}: revert {revert.pk} started; follow it with `estatecrm legacy-migrate runs`")
            return
        execute_with_progress(revert)
        revert.refresh_from_db()
        if revert.status == RunStatus.COMPLETED:
            self.stdout.write(f"run {run.pk} reverted: " + json.dumps(dict(revert.counts), ensure_ascii=False))
        check_run_ended_well(revert)
