"""Exit codes of `legacy-migrate run` (pipeline/commands.py): a failed or aborted run is not a success."""

import io

import pytest
from django.core.management import CommandError, call_command

from estatecrm.legacy.jobs import LegacyMigrationJob
from estatecrm.pipeline.commands import EXIT_RUN_ABORTED, EXIT_RUN_FAILED
from estatecrm.pipeline.engine import request_abort
from estatecrm.pipeline.models import Run

pytestmark = pytest.mark.django_db


def run_command(bundle_path):
    out, err = io.StringIO(), io.StringIO()
    call_command("legacy-migrate", "run", str(bundle_path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp",
                 "--json", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_migration_whose_run_failed_exits_with_3(sample_company, bundle_path, monkeypatch):
    # given: the database refuses the first batch
    def refuse(job, batch):
        raise RuntimeError("value too long for type character varying(200)")

    monkeypatch.setattr(LegacyMigrationJob, "write", refuse)
    # when
    with pytest.raises(CommandError) as raised:
        run_command(bundle_path)
    # then
    run = Run.objects.unscoped().get()
    assert (run.status, raised.value.returncode) == ("failed", EXIT_RUN_FAILED)
    assert str(raised.value) == (f"Run {run.pk} failed: The run stopped because of an internal error: "
                                 "value too long for type character varying(200)")


def test_an_aborted_migration_exits_with_4(sample_company, bundle_path, monkeypatch):
    # given: an admin aborts the run while its first batch is written
    monkeypatch.setattr("estatecrm.legacy.jobs.BATCH_CASES", 10)
    write = LegacyMigrationJob.write

    def write_then_abort(job, batch):
        request_abort(Run.objects.unscoped().get(pk=job.run.pk))
        return write(job, batch)

    monkeypatch.setattr(LegacyMigrationJob, "write", write_then_abort)
    # when
    with pytest.raises(CommandError) as raised:
        run_command(bundle_path)
    # then
    run = Run.objects.unscoped().get()
    assert (run.status, run.counts["source_cases"], raised.value.returncode) == ("aborted", 10, EXIT_RUN_ABORTED)


def test_a_migration_that_completed_exits_with_0(sample_company, bundle_path):
    out, _err = run_command(bundle_path)
    assert '"status": "completed"' in out
