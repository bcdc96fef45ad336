"""`estatecrm imports list|failed-rows|revert` (interface fixed by scripts)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.leads.actions import do_start_lead_import_revert
from estatecrm.leads.choices import RUN_KIND
from estatecrm.leads.reports import FAILED_ROWS_ENCODINGS, write_failed_rows
from estatecrm.leads.selectors import import_list, import_summary
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.commands import check_run_ended_well, execute_with_progress
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.commands import acting_actor, company_by_code


class Command(BaseCommand):
    # The system checks cost about 3 s of CPU per run here (a tenth of a 100,000-row import on PostgreSQL);
    # this command moves data only (`estatecrm check`, the server and the worker run them), as vendor's and staff's.
    requires_system_checks = []
    help = "List lead imports, write an import's failed rows, or revert an import."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        listing = commands.add_parser("list")
        listing.add_argument("--company", required=True)
        listing.add_argument("--json", action="store_true")
        failed = commands.add_parser("failed-rows")
        failed.add_argument("import_id", type=int)
        failed.add_argument("--out", required=True)
        failed.add_argument("--encoding", choices=FAILED_ROWS_ENCODINGS, help="default: the imported file's encoding (cp932 or utf-8-sig)")
        revert = commands.add_parser("revert")
        revert.add_argument("import_id", type=int)
        revert.add_argument("--force", action="store_true")
        revert.add_argument("--as", dest="as_email")
        revert.add_argument("--no-wait", action="store_true", help="leave the revert to a worker and exit at once (0: started)")

    def handle(self, *args, action, **options):
        if action == "list":
            company = company_by_code(options["company"])
            with company_scope(company):
                self.list_imports(company, options["json"])
            return
        run = self.find_run(options["import_id"])
        with company_scope(run.company_id):
            if action == "failed-rows":
                with Path(options["out"]).open("wb") as handle:
                    result = write_failed_rows(run, handle, encoding=options["encoding"])
                message = f"{result['rows']} failed rows written to {options['out']} ({result['encoding']})"
                if result["replaced_characters"]:
                    message += f"; {result['replaced_characters']} characters not in {result['encoding']} were replaced with ?"
                self.stdout.write(message)
            else:
                self.revert(run, options)

    def revert(self, run, options):
        """Revert as a run (pipeline/reverts.py), executed here with its progress, or by a worker (`--no-wait`).
        Exit codes: pipeline/commands.py."""
        actor = acting_actor(run.company, options["as_email"])
        try:
            revert = do_start_lead_import_revert(actor=actor, run=run, force=options["force"], background=options["no_wait"])
        except ApplicationError as error:
            raise CommandError(error.message) from None
        if options["no_wait"]:
            self.stdout.write(f"import {run.pk}: revert {revert.pk} started; follow it with `estatecrm imports list`")
            return
        execute_with_progress(revert)
        revert.refresh_from_db()
        if revert.status == RunStatus.COMPLETED:
            self.stdout.write(f"import {run.pk} reverted: " + json.dumps(dict(revert.counts), ensure_ascii=False))
        check_run_ended_well(revert)

    def find_run(self, run_id: int) -> Run:
        # The id names one import; its company comes from the row (a command runs with full rights).
        run = Run.objects.unscoped().filter(pk=run_id, kind=RUN_KIND).select_related("company").first()
        if run is None:
            raise CommandError(f"No import with id {run_id}")
        return run

    def list_imports(self, company, as_json):
        actor = acting_actor(company, None)
        rows = []
        for run in import_list(actor=actor):
            project_id = run.params.get("project_id")
            rows.append({
                **import_summary(run), "file": run.source_name, "project_id": project_id,
                "by": run.created_by.email if run.created_by else None, "created_at": run.created_at.isoformat(),
            })
        if as_json:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            self.stdout.write(
                f"{row['import_id']:>6}  {row['created_at'][:19]}  {row['status']:<24} {row['file']}  "
                f"rows={row['rows']} created={row['leads_created']} failed={row['failed']}"
            )
