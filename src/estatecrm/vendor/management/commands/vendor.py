"""`estatecrm vendor check-profile|import|verify|revert|abort`: the move-in from another vendor's CRM.

    estatecrm vendor check-profile PROFILE_OR_NAME PACKAGE [--json]
    estatecrm vendor import PACKAGE --company CODE --profile NAME_OR_FILE --as EMAIL [--phase active|archive|all] [--dry-run] [--json]
    estatecrm vendor verify RUN_ID [--out FILE.csv] [--json]
    estatecrm vendor revert RUN_ID --company CODE --as EMAIL [--no-wait] [--json]
    estatecrm vendor abort RUN_ID --company CODE --as EMAIL [--json]

Each subcommand lives in vendor/cli/<name>.py (`add_arguments(parser)`, `handle(command, options)`).
A refusal prints one line on stderr and exits with code 2 (`--json`: one object with `refused`).
"""

import importlib

from django.core.management.base import BaseCommand

SUBCOMMANDS = {
    "check-profile": ("check_profile", "report the files, columns and values a profile does not know, before anything is loaded"),
    "import": ("importing", "load a package into a company: active data first, then the archive and history"),
    "verify": ("verify", "the verification report of a phase run: counts, money totals, a sample beside its source"),
    "revert": ("revert", "undo a phase run (the archive phase before the active one), here or by a worker (--no-wait)"),
    "abort": ("abort", "stop a running phase (or its revert) after its current batch; what was written stays"),
}


class Command(BaseCommand):
    # The system checks cost seconds of CPU per run; this command moves data only (`estatecrm check` runs them).
    requires_system_checks = []
    help = "Move-in from another vendor's CRM: check a profile against a package, import it in phases, verify, revert or abort a phase."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        for name, (module, help_text) in SUBCOMMANDS.items():
            sub = commands.add_parser(name, help=help_text)
            importlib.import_module(f"estatecrm.vendor.cli.{module}").add_arguments(sub)

    def handle(self, *args, **options):
        module = SUBCOMMANDS[options["action"]][0]
        return importlib.import_module(f"estatecrm.vendor.cli.{module}").handle(self, options)
