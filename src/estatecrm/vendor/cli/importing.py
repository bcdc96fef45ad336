"""`estatecrm vendor import PACKAGE --company CODE --profile NAME_OR_FILE --as EMAIL [--phase active|archive|all]
[--dry-run] [--json] [--agent-map FILE.csv] [--create-agents] [--region JP|PL|...] [--currency JPY|PLN|...]`

Loads the phase(s) here, with a progress bar on a terminal. `--json` prints one object: `run_id`, `status`,
`phase`, `entities` (per entity `source`, `loaded`, `skipped` {reason: count}, `failed`, `failed_reasons`);
with `--phase all` the last run's id and status, the entities summed over both phases and `runs`.
A refusal prints one line on stderr and exits with 2 (`--json`: the object with `refused` and `message`).
A phase that failed or was aborted exits with pipeline/commands.py's codes (3, 4).
"""

import json
import sys
from pathlib import Path

from django.core.management.base import CommandError

from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.pipeline.commands import EXIT_RUN_ABORTED, EXIT_RUN_FAILED
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import Company, User

EXIT_REFUSED = 2


def add_arguments(parser) -> None:
    parser.add_argument("package", help="a ZIP file or a folder")
    parser.add_argument("--company", required=True)
    parser.add_argument("--profile", required=True, help="a built-in profile's name or a profile file (YAML)")
    parser.add_argument("--as", dest="as_email", required=True, help="the company administrator the import acts as")
    parser.add_argument("--phase", choices=["active", "archive", "all"], default="active")
    parser.add_argument("--dry-run", action="store_true", help="do everything, then roll it back: nothing is written")
    parser.add_argument("--agent-map", help="CSV of source_email,user_email: the package's agents mapped to users")
    parser.add_argument("--create-agents", action="store_true", help="create the agents that are not users as inactive users")
    parser.add_argument("--region", help="the phone and address region when the package has no manifest saying it (JP, PL...)")
    parser.add_argument("--currency", help="the currency of the money fields when the package has no manifest saying it (JPY, PLN...)")
    parser.add_argument("--json", action="store_true")


def refuse(command, options, code: str, message: str):
    if options["json"]:
        command.stdout.write(json.dumps({"refused": code, "message": str(message)}, ensure_ascii=False))
    else:
        command.stderr.write(str(message))
    raise CommandError(str(message), returncode=EXIT_REFUSED)


def with_progress(run: Run) -> None:
    if not sys.stdout.isatty():
        execute_run(run.pk)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    label = f"{run.source_name} ({run.params.get('phase')})"
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task(label, total=None)
        execute_run(run.pk, progress=lambda current: bar.update(task, completed=current.rows_done, total=current.rows_total))


def handle(command, options):
    from estatecrm.vendor import actions

    company = Company.objects.filter(code=options["company"]).first()
    if company is None:
        return refuse(command, options, "unknown_company", f"Unknown company: {options['company']}")
    user = User.objects.filter(company=company, email=options["as_email"].strip().lower(), is_active=True).first()
    if user is None:
        return refuse(command, options, "unknown_user", f"No active user {options['as_email']} in company {company.code}")
    path = Path(options["package"])
    if not path.exists():
        return refuse(command, options, "package_unreadable", f"No such file or folder: {path}")
    agent_map = None
    if options["agent_map"]:
        try:
            content = Path(options["agent_map"]).read_bytes()
        except OSError as error:  # (only the map's own reading: an error of the run is not the map's)
            return refuse(command, options, "agent_map_invalid", f"Cannot read the agent map: {error.strerror or error}")
    with company_scope(company):
        try:
            if options["agent_map"]:
                agent_map = actions.parse_agent_map(content)
            summary = actions.run_phases(user, company, path, options["profile"], phase=options["phase"], dry_run=options["dry_run"],
                                         agent_map=agent_map, create_agents=options["create_agents"],
                                         region=options["region"], currency=options["currency"],
                                         progress=None if options["json"] else with_progress)
        except PermissionDenied as error:
            return refuse(command, options, "permission_denied", str(error))
        except ApplicationError as error:
            return refuse(command, options, error.code, error.message)
    if options["json"]:
        command.stdout.write(json.dumps(summary, ensure_ascii=False))
    else:
        write_text(command, summary)
    status = summary.get("would_end_as", summary["status"]) if options["dry_run"] else summary["status"]
    if "error" in summary:
        command.stderr.write(f"error: {summary['error']['message']}")
    if status == "failed":
        raise CommandError(f"Run {summary['run_id']} failed", returncode=EXIT_RUN_FAILED)
    if status == "aborted":
        raise CommandError(f"Run {summary['run_id']} was aborted", returncode=EXIT_RUN_ABORTED)


def write_text(command, summary: dict) -> None:
    command.stdout.write(f"run {summary['run_id']} ({summary['phase']}): {summary['status']}")
    for entity, values in summary["entities"].items():
        skipped = ", ".join(f"{reason} {count}" for reason, count in values["skipped"].items()) or "0"
        failed = ", ".join(f"{reason} {count}" for reason, count in values["failed_reasons"].items()) or "0"
        command.stdout.write(f"  {entity:<10} source {values['source']:>7}  loaded {values['loaded']:>7}  skipped {skipped}  failed {failed}")
