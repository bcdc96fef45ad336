"""`estatecrm vendor abort RUN_ID --company CODE --as EMAIL [--json]`: stop a phase of a move-in (or its revert).

RUN_ID is a phase run (or a revert run): while the phase runs, it stops after its current batch (a run no
worker took yet stops at once); when the phase has ended and a revert of it runs, the revert stops. What was
written stays (revert the phase to undo it). Through `vendor.actions.do_abort_import`, as the company
administrator `--as`.

Prints `run_id` (the run asked to stop), `status` and `abort_requested`; `--json` as one object. Exit codes:
0 the abort was asked; 2 refused (unknown company, user or run, nothing running: `run_finished`): one line on
stderr (`--json`: `{"refused": code, "message": ...}` on stdout).
"""

import json

from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.core.scope import company_scope
from estatecrm.pipeline.reverts import revert_kind
from estatecrm.vendor import selectors
from estatecrm.vendor.choices import RUN_KIND
from estatecrm.vendor.cli.revert import company_user_run, refuse


def add_arguments(parser) -> None:
    parser.add_argument("run_id", metavar="RUN_ID", help="the id of a phase run (or of its revert)")
    parser.add_argument("--company", required=True)
    parser.add_argument("--as", dest="as_email", required=True, help="the company administrator the abort acts as")
    parser.add_argument("--json", action="store_true")


def handle(command, options):
    from estatecrm.vendor import actions

    company, user, run = company_user_run(command, options, (RUN_KIND, revert_kind(RUN_KIND)))
    with company_scope(company):
        target = selectors.running_run(run) if run.kind == RUN_KIND else (None if run.is_finished else run)
        if target is None:
            return refuse(command, options, "run_finished", _("Nothing of run %(run)d is running.") % {"run": run.pk})
        try:
            actions.do_abort_import(user, target)
        except PermissionDenied as error:
            return refuse(command, options, "permission_denied", str(error))
        except ApplicationError as error:
            return refuse(command, options, error.code, error.message)
        target.refresh_from_db()
    result = {"run_id": target.pk, "kind": target.kind, "status": target.status, "abort_requested": target.abort_requested_at is not None}
    if options["json"]:
        command.stdout.write(json.dumps(result, ensure_ascii=False))
    else:
        command.stdout.write(f"run {target.pk}: abort requested ({target.status}); the current batch finishes and what was written stays")
