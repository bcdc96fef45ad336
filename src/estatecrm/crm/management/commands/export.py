"""`estatecrm export KIND --company CODE [--format jsonl|csv|xlsx] [--out FILE]` (kinds: cases, and those apps register).

`export cases --include-merged` also exports the cases merged away by 名寄せ."""

from django.core.management.base import BaseCommand, CommandError

from estatecrm.crm.export import EXPORTERS, write_csv, write_jsonl, write_xlsx
from estatecrm.tenancy.commands import company_by_code


class Command(BaseCommand):
    help = "Export a company's records as JSONL, CSV (UTF-8 with BOM) or XLSX."

    def add_arguments(self, parser):
        kinds = parser.add_subparsers(dest="kind", required=True)
        for kind in sorted(EXPORTERS):
            sub = kinds.add_parser(kind)
            sub.add_argument("--company", required=True)
            sub.add_argument("--format", choices=["jsonl", "csv", "xlsx"], default="jsonl")
            sub.add_argument("--out", default="-", help="a file, or - for standard output")
            if kind == "leads":
                sub.add_argument("--project")
            if kind == "cases":
                sub.add_argument("--include-merged", action="store_true", help="also the cases merged away by 名寄せ")

    def handle(self, *args, kind, company, format, out, **options):
        company = company_by_code(company)
        exporter = EXPORTERS[kind]
        records = exporter(company, options)
        if format == "xlsx":
            if out == "-":
                raise CommandError("XLSX needs --out FILE")
            count = write_xlsx(records, out, exporter.shape)
        elif out == "-":
            # The wrapped stream itself: records are written line by line, not through write()'s newline.
            count = self.write(format, records, self.stdout._out, exporter.shape)
        else:
            with open(out, "w", encoding="utf-8", newline="") as handle:
                count = self.write(format, records, handle, exporter.shape)
        if out != "-":
            self.stdout.write(f"{count} {kind} written to {out}")

    def write(self, format, records, handle, shape) -> int:
        return write_jsonl(records, handle) if format == "jsonl" else write_csv(records, handle, shape)
