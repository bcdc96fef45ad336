"""`estatecrm import-leads FILE --company CODE --project NAME ...` (interface fixed by scripts)."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.models import Project
from estatecrm.leads import actions
from estatecrm.leads.choices import DEFAULT_DUPLICATE_KEYS, DuplicateKey, DuplicatePolicy
from estatecrm.leads.selectors import import_summary, summarize_counts
from estatecrm.pipeline.commands import check_run_ended_well
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.mapping import parse_mapping_json
from estatecrm.pipeline.readers import ReadError, open_table
from estatecrm.tenancy.commands import acting_actor, company_by_code


class Command(BaseCommand):
    # The system checks cost about 3 s of CPU per run here (a tenth of a 100,000-row import on PostgreSQL);
    # this command moves data only (`estatecrm check`, the server and the worker run them), as vendor's and staff's.
    requires_system_checks = []
    help = "Import a lead list (CSV, TSV, TXT, XLSX, XLS, ODS) into a project."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--company", required=True)
        parser.add_argument("--project", required=True)
        parser.add_argument("--create-project", action="store_true")
        parser.add_argument("--as", dest="as_email")
        parser.add_argument("--mapping", help="MAPPING.json: field key -> file header")
        parser.add_argument("--sheet")
        parser.add_argument("--encoding")
        parser.add_argument("--header-row", type=int)
        parser.add_argument("--duplicate-keys", default=",".join(DEFAULT_DUPLICATE_KEYS), help="comma-separated: name, phone, email")
        parser.add_argument("--on-duplicate", default=DuplicatePolicy.ADD, choices=DuplicatePolicy.values)
        parser.add_argument("--case-kind", choices=("rent", "buy"), help="the kind of case each new lead gets (default: the project's)")
        parser.add_argument("--customer-kind", choices=("person", "company"),
                            help="the kind of customer each new lead is (default: the project's)")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        company = company_by_code(options["company"])
        with company_scope(company):
            self.import_file(company, options)

    def import_file(self, company, options):
        actor = acting_actor(company, options["as_email"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        keys = [key.strip() for key in options["duplicate_keys"].split(",") if key.strip()]
        unknown = set(keys) - set(DuplicateKey.values)
        if unknown:
            raise CommandError(f"Unknown duplicate keys: {', '.join(sorted(unknown))} (use name, phone, email)")
        project = Project.objects.for_company(company).filter(name=options["project"]).first()
        if project is None and not options["create_project"]:
            raise CommandError(f"Unknown project: {options['project']} (pass --create-project to create it)")
        mapping = self.read_mapping(options["mapping"])
        settings = {"encoding": options["encoding"] or "", "sheet": options["sheet"] or "", "header_row": options["header_row"]}
        try:
            if project is None:
                if options["dry_run"]:
                    # A dry run writes nothing: it checks against a project made for it and rolled back.
                    project = Project(company=company, name=options["project"])
                else:
                    project, _created = do_upsert_project(company=company, name=options["project"], acting_user=actor.user,
                                                          case_kind=options["case_kind"], customer_kind=options["customer_kind"])
            if mapping is None:
                self.print_suggested_mapping(path, project, settings, options["json"])
            common = {
                "actor": actor, "path": path, "file_name": path.name, "project": project, "mapping": mapping,
                "duplicate_keys": keys, "on_duplicate": options["on_duplicate"], "case_kind": options["case_kind"],
                "customer_kind": options["customer_kind"], **settings,
            }
            if options["dry_run"]:
                self.dry_run(project, common, options["json"])
                return
            run = actions.do_start_lead_import(**common, background=False)
        except ReadError as error:
            raise CommandError(error.message) from None
        except ApplicationError as error:
            details = "; ".join(f"{key}: {' '.join(messages)}" for key, messages in error.fields.items())
            raise CommandError(f"{error.message} {details}".strip()) from None
        self.run_import(run, options["json"])

    def read_mapping(self, mapping_path):
        if not mapping_path:
            return None
        try:
            text = Path(mapping_path).read_text(encoding="utf-8-sig")
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the mapping file: {error}") from None
        try:
            return parse_mapping_json(text)
        except ValueError as error:
            raise CommandError(str(error)) from None

    def print_suggested_mapping(self, path, project, settings, as_json):
        table = open_table(path, encoding=settings["encoding"] or None, sheet=settings["sheet"] or None, header_row=settings["header_row"])
        mapping, _problems = actions.resolve_mapping(table, project, None) if project.pk else (actions.suggest_default_mapping(table), {})
        # With --json, stdout carries only the final object: the suggestion goes to stderr.
        stream = self.stderr if as_json else self.stdout
        stream.write("Suggested mapping: " + json.dumps(mapping, ensure_ascii=False))
        if "lead_name" not in mapping and "contact_name" in mapping:
            stream.write(f"lead_name: the contact's name ({mapping['contact_name']})")

    def dry_run(self, project, common, as_json):
        from django.db import transaction

        with transaction.atomic():
            if project.pk is None:
                project.save()
            counts = actions.do_dry_run_lead_import(**common)
            transaction.set_rollback(True)
        result = {"import_id": None, "status": "dry_run", **summarize_counts(counts)}
        self.report(result, as_json)

    def run_import(self, run, as_json):
        if as_json or not sys.stdout.isatty():
            execute_run(run.pk)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
                task = bar.add_task(run.source_name, total=None)

                def advance(current):
                    bar.update(task, completed=current.rows_done, total=current.rows_total)

                execute_run(run.pk, progress=advance)
        run.refresh_from_db()
        self.report(import_summary(run), as_json, error=run.error_message)
        check_run_ended_well(run)  # the exit code says how the run ended (pipeline/commands.py)

    def report(self, result, as_json, error=""):
        if as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        for key, value in result.items():
            self.stdout.write(f"{key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value}")
        if error:
            self.stdout.write(f"error: {error}")
