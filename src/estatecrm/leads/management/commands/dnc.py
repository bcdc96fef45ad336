"""`estatecrm dnc import FILE --company CODE [--workgroup NAME ...] [--mapping MAPPING.json] [--json]`,
plus `dnc list`, `dnc remove ID` and `dnc export --out FILE`."""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.leads.actions import do_remove_dnc_entry, do_start_dnc_import
from estatecrm.leads.models import DoNotCallEntry, DoNotCallScope
from estatecrm.leads.selectors import summarize_counts
from estatecrm.normalize import neutralize_formula
from estatecrm.pipeline.commands import check_run_ended_well
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.readers import ReadError
from estatecrm.tenancy.commands import acting_actor, company_by_code
from estatecrm.tenancy.models import Workgroup


class Command(BaseCommand):
    help = "Do-not-call (禁止リード) lists: import, list, remove, export."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        importing = commands.add_parser("import")
        importing.add_argument("file")
        importing.add_argument("--company", required=True)
        importing.add_argument("--workgroup", action="append", default=[], help="repeat for several; none: the whole company")
        importing.add_argument("--mapping")
        importing.add_argument("--encoding")
        importing.add_argument("--as", dest="as_email")
        importing.add_argument("--json", action="store_true")
        for name in ("list", "export"):
            sub = commands.add_parser(name)
            sub.add_argument("--company", required=True)
            if name == "list":
                sub.add_argument("--json", action="store_true")
            else:
                sub.add_argument("--out", required=True)
        remove = commands.add_parser("remove")
        remove.add_argument("entry_id", type=int)
        remove.add_argument("--company", required=True)
        remove.add_argument("--as", dest="as_email")

    def handle(self, *args, action, **options):
        company = company_by_code(options["company"])
        with company_scope(company):
            getattr(self, f"handle_{action}")(company, options)

    def handle_import(self, company, options):
        actor = acting_actor(company, options["as_email"])
        groups = []
        for name in options["workgroup"]:
            group = Workgroup.objects.for_company(company).filter(name=name).first()
            if group is None:
                raise CommandError(f"Unknown workgroup: {name}")
            groups.append(group)
        mapping = None
        if options["mapping"]:
            try:
                mapping = json.loads(Path(options["mapping"]).read_text(encoding="utf-8-sig"))
            except (OSError, ValueError) as error:
                raise CommandError(f"Cannot read the mapping file: {error}") from None
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            run = do_start_dnc_import(actor=actor, path=path, file_name=path.name, workgroups=groups, mapping=mapping,
                                      encoding=options["encoding"] or "", background=False)
        except ReadError as error:
            raise CommandError(error.message) from None
        except ApplicationError as error:
            raise CommandError(error.message) from None
        execute_run(run.pk)
        run.refresh_from_db()
        summary = summarize_counts(run.counts or {})
        result = {"import_id": run.pk, "status": run.status, "rows": summary["rows"],
                  "entries_created": int((run.counts or {}).get("entries_created", 0)), "failed": summary["failed"],
                  "failed_by_reason": summary["failed_by_reason"], "workgroups": [group.name for group in groups]}
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
        check_run_ended_well(run)  # the exit code says how the run ended (pipeline/commands.py)

    def rows(self, company):
        scopes: dict[int, list[str]] = {}
        for entry_id, name in DoNotCallScope.objects.for_company(company).values_list("entry_id", "workgroup__name"):
            scopes.setdefault(entry_id, []).append(name)
        for entry in DoNotCallEntry.objects.for_company(company).order_by("pk"):
            yield {"id": entry.pk, "lead_name": entry.name, "phone": entry.phone, "phone_raw": entry.phone_raw, "note": entry.note,
                   "workgroups": sorted(scopes.get(entry.pk, [])), "created_at": entry.created_at.isoformat()}

    def handle_list(self, company, options):
        rows = list(self.rows(company))
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            scope = ", ".join(row["workgroups"]) or "(company)"
            self.stdout.write(f"{row['id']:>6}  {row['lead_name'] or '-'}  {row['phone'] or '-'}  {scope}")

    def handle_export(self, company, options):
        with Path(options["out"]).open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(["id", "リード名", "電話番号", "電話番号(入力)", "備考", "ワークグループ", "登録日時"])
            count = 0
            for row in self.rows(company):
                writer.writerow([neutralize_formula(str(value)) for value in (
                    row["id"], row["lead_name"], row["phone"], row["phone_raw"], row["note"], ";".join(row["workgroups"]), row["created_at"])])
                count += 1
        self.stdout.write(f"{count} entries written to {options['out']}")

    def handle_remove(self, company, options):
        actor = acting_actor(company, options["as_email"])
        entry = DoNotCallEntry.objects.for_company(company).filter(pk=options["entry_id"]).first()
        if entry is None:
            raise CommandError(f"No do-not-call entry {options['entry_id']} in company {company.code}")
        do_remove_dnc_entry(actor=actor, entry=entry)
        self.stdout.write(f"entry {options['entry_id']} removed")
