"""What the commands that run or revert a run share: their exit codes.

    0  the run ended: completed, completed with row failures (those rows are in its report), nothing
       to migrate; a dry run or a revert done
    1  refused before any run was created or changed (bad file, options, mapping, a refused revert):
       Django's CommandError, as before
    2  the command line itself is wrong (argparse)
    3  the run failed (it stopped: unreadable input found while running, an internal error)
    4  the run was aborted (by an admin, from the page or `legacy-migrate abort`)
    5  this process did not see the run end: another worker took it over and goes on with it

A revert is a run too: `--no-wait` leaves it to a worker and exits with 0 once it is started.

docs/legacy-migration.md and README.md list them.
"""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run

EXIT_REFUSED = 1
EXIT_RUN_FAILED = 3
EXIT_RUN_ABORTED = 4
EXIT_RUN_NOT_ENDED = 5
ENDED_WELL = {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES, RunStatus.NOTHING_TO_MIGRATE, RunStatus.REVERTED}


def exit_code_of(run: Run) -> int:
    if run.status in ENDED_WELL:
        return 0
    if run.status == RunStatus.FAILED:
        return EXIT_RUN_FAILED
    if run.status == RunStatus.ABORTED:
        return EXIT_RUN_ABORTED
    return EXIT_RUN_NOT_ENDED


def check_run_ended_well(run: Run) -> None:
    """Raise CommandError with the run's exit code (its summary was printed already) unless it ended well."""
    code = exit_code_of(run)
    if code == EXIT_RUN_FAILED:
        raise CommandError(_("Run %(run)d failed: %(error)s") % {"run": run.pk, "error": run.error_message}, returncode=code)
    if code == EXIT_RUN_ABORTED:
        raise CommandError(_("Run %(run)d was aborted.") % {"run": run.pk}, returncode=code)
    if code == EXIT_RUN_NOT_ENDED:
        raise CommandError(_("Run %(run)d has not ended here (%(status)s): follow it with its id.") % {"run": run.pk, "status": run.status},
                           returncode=code)


def execute_with_progress(run: Run) -> None:
    """Execute the run here; on a terminal, with a progress bar (rows done of the total)."""
    import sys

    from estatecrm.pipeline.engine import execute_run

    if not sys.stdout.isatty():
        execute_run(run.pk)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task(run.source_name or run.kind, total=None)
        execute_run(run.pk, progress=lambda current: bar.update(task, completed=current.rows_done, total=current.rows_total))
