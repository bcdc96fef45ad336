"""`estatecrm vendor revert RUN_ID --company CODE --as EMAIL [--no-wait] [--json]`: undo one phase of a move-in.

The revert is a run of its own (kind `vendor_import_revert`, resumable, with progress), started through
`vendor.actions.do_start_revert` as the company administrator `--as`, and executed here with a progress bar on a
terminal; `--no-wait` leaves it to a worker and exits at once (0: started). The active phase is refused while
its archive phase stands: revert the archive phase first.

Prints `revert_run_id`, `run_id` (the phase run), `status` and `counts` (what it removed: listings_removed,
cases_deleted, cases_trashed, customers_deleted, activities_removed, introductions_removed, agents_removed...);
`--json` as one object. Exit codes: 0 reverted (or started, `--no-wait`); 2 refused (unknown company, user or
run, not revertible): one line on stderr (`--json`: `{"refused": code, "message": ...}` on stdout); a revert that
failed or was aborted: pipeline/commands.py's codes (3, 4).
"""

import json

from django.core.management.base import CommandError

from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.pipeline.commands import check_run_ended_well, execute_with_progress
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.models import Company, User
from estatecrm.vendor.choices import RUN_KIND
from estatecrm.vendor.cli.importing import EXIT_REFUSED


def add_arguments(parser) -> None:
    parser.add_argument("run_id", metavar="RUN_ID", help="the id of a phase run (`vendor import` prints it)")
    parser.add_argument("--company", required=True)
    parser.add_argument("--as", dest="as_email", required=True, help="the company administrator the revert acts as")
    parser.add_argument("--force", action="store_true", help="revert even what the office changed since the load (edited_since)")
    parser.add_argument("--no-wait", action="store_true", help="leave the revert to a worker and exit at once (0: started)")
    parser.add_argument("--json", action="store_true")


def refuse(command, options, code: str, message: str):
    """One line on stderr (the CommandError's), exit 2; `--json`: the object with `refused` and `message` on stdout too."""
    if options["json"]:
        command.stdout.write(json.dumps({"refused": code, "message": str(message)}, ensure_ascii=False))
    raise CommandError(str(message), returncode=EXIT_REFUSED)


def company_user_run(command, options, kinds: tuple[str, ...]) -> tuple[Company, User, Run]:
    """The company (`--company`), its active user `--as` and its run RUN_ID of one of `kinds`; else refuse."""
    company = Company.objects.filter(code=options["company"]).first()
    if company is None:
        refuse(command, options, "unknown_company", f"Unknown company: {options['company']}")
    user = User.objects.filter(company=company, email=options["as_email"].strip().lower(), is_active=True).first()
    if user is None:
        refuse(command, options, "unknown_user", f"No active user {options['as_email']} in company {company.code}")
    run_id = str(options["run_id"])
    run = (Run.objects.unscoped().filter(pk=int(run_id), company=company, kind__in=kinds).first()
           if run_id.isdigit() and len(run_id) <= 18 else None)
    if run is None:
        refuse(command, options, "run_unknown", f"No move-in run with id {run_id} in company {company.code}")
    return company, user, run


def handle(command, options):
    from estatecrm.vendor import actions

    company, user, run = company_user_run(command, options, (RUN_KIND,))
    with company_scope(company):
        try:
            revert = actions.do_start_revert(user, run, force=options["force"], background=options["no_wait"])
        except PermissionDenied as error:
            return refuse(command, options, "permission_denied", str(error))
        except ApplicationError as error:
            return refuse(command, options, error.code, error.message)
        if not options["no_wait"]:
            if options["json"]:
                execute_run(revert.pk)
            else:
                execute_with_progress(revert)
        revert.refresh_from_db()
    result = {"revert_run_id": revert.pk, "run_id": run.pk, "status": revert.status, "counts": dict(revert.counts or {})}
    if revert.error_message:
        result["error"] = {"code": revert.error_code, "message": revert.error_message}
    if options["json"]:
        command.stdout.write(json.dumps(result, ensure_ascii=False))
    elif options["no_wait"]:
        command.stdout.write(f"run {run.pk}: revert {revert.pk} started; follow it with `estatecrm vendor verify {run.pk}` or the move-in page")
    else:
        command.stdout.write(f"run {run.pk}: revert {revert.pk} {revert.status} " + json.dumps(result["counts"], ensure_ascii=False))
    if not options["no_wait"]:
        check_run_ended_well(revert)  # the exit code says how the revert ended


