"""`estatecrm tenant apply FILE.yaml [--dry-run] [--json]`: create or update a company from a set-up file.

Exit codes: 0 applied (or nothing to change); 1 the file cannot be read, is invalid, or does not fit
the database (every error on its own line, nothing written); 2 wrong usage (argparse).
docs/tenant-file.md describes the file.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from estatecrm.core.errors import ApplicationError
from estatecrm.crm.tenant_file import parse_tenant_file
from estatecrm.crm.tenant_setup import ApplyResult, do_apply_tenant_spec


class Command(BaseCommand):
    help = "Create or update a company (units, users, masters, projects, workgroups) from a tenant set-up file."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        apply = commands.add_parser("apply", help="create or update the company of FILE to match it; deletes nothing")
        apply.add_argument("file", help="the tenant file (YAML, UTF-8)")
        apply.add_argument("--dry-run", action="store_true", help="validate and report what would change; write nothing")
        apply.add_argument("--json", action="store_true", help="print one JSON object: company, changed, created, updated")

    def handle(self, *args, action, file, dry_run=False, json=False, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}") from None
        parsed = parse_tenant_file(content)
        if not parsed.is_valid:
            raise CommandError(self.error_lines(f"{path} is not a valid tenant file:", [str(error) for error in parsed.errors]))
        try:
            result = do_apply_tenant_spec(parsed.spec, dry_run=dry_run)
        except ApplicationError as error:
            lines = [f"{place}: {message}" for place, messages in error.fields.items() for message in messages]
            raise CommandError(self.error_lines(f"{path}: {error.message}", lines)) from None
        if json:
            self.stdout.write(json_dumps(result.as_dict()))
        else:
            self.stdout.write(summary(result))

    @staticmethod
    def error_lines(headline: str, lines: list[str]) -> str:
        return "\n".join([headline, *lines])


def json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def summary(result: ApplyResult) -> str:
    """`k0001: created company 1, org_units 6; updated users 1` (dry run: `would create ...`), or `no changes`."""
    if not result.changed:
        return f"{result.company_code}: no changes" + (" (dry run)" if result.dry_run else "")
    parts = []
    for verb, counts in (("create", result.created), ("update", result.updated)):
        listed = ", ".join(f"{kind} {count}" for kind, count in counts.items() if count)
        if listed:
            parts.append(f"{'would ' + verb if result.dry_run else verb + 'd'} {listed}")
    suffix = " (dry run: nothing written)" if result.dry_run else ""
    return f"{result.company_code}: " + "; ".join(parts) + suffix
