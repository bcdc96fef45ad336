"""Each phase survives its worker being killed: a new worker resumes it, and the result is the uninterrupted
run's (every record accounted for once, the same counts, every row written once)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Activity, Case, Customer, Introduction, Listing
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.pipeline.tasks import run_pipeline
from estatecrm.pipeline.testing import start_worker, wait_for, worker_environment
from estatecrm.tenancy.choices import Role
from estatecrm.vendor import actions
from estatecrm.vendor.models import RecordOutcome

pytestmark = pytest.mark.django_db(transaction=True)
GENERATOR = Path(__file__).resolve().parents[4] / "bench" / "generate_vendor_package.py"


def start(company, admin, package, phase):
    return actions.do_start_import(admin, company, package, "template", phase=phase, background=False).run


def uninterrupted_counts(company, admin, package, phase) -> dict:
    """The counts of the same phase uninterrupted, in a transaction rolled back afterwards."""
    with transaction.atomic():
        run = start(company, admin, package, phase)
        assert execute_run(run.pk) == RunStatus.COMPLETED
        run.refresh_from_db()
        counts = dict(run.counts)
        transaction.set_rollback(True)
    Path(run.source_file.path).unlink(missing_ok=True)
    return counts


def killed_and_resumed(tmp_path, company, run) -> Run:
    """Run `run` in a worker throttled to 300 records/s in batches of 50, SIGKILL the worker after 150
    records, then let a second worker finish it."""
    Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "rate": 300, "batch_records": 50})
    run_pipeline.using(backend="database").enqueue(run.pk)
    environment = worker_environment()
    first = start_worker(environment, tmp_path / "worker.log")
    try:
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).rows_done >= 150)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    interrupted = Run.objects.for_company(company).get(pk=run.pk)
    assert interrupted.status == RunStatus.RUNNING
    assert 0 < interrupted.rows_done < interrupted.rows_total
    second = start_worker(environment, tmp_path / "worker.log")
    try:
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).is_finished, timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    return Run.objects.for_company(company).get(pk=run.pk)


def test_a_killed_worker_leaves_each_phase_to_the_next_worker_as_if_uninterrupted(tmp_path):
    # given: a generated package of 250 listings and 250 seekers, half of them active, and its company
    package = tmp_path / "package.zip"
    subprocess.run([sys.executable, str(GENERATOR), "250", "250", str(package), "--active", "0.5", "--agents", "4", "--seed", "5"], check=True,
                   capture_output=True)
    company = testing.make_company("move")
    hq = testing.make_unit(company, "HQ", name="本社")
    admin = testing.make_user(company, hq, role=Role.ADMIN, email="admin@move.example.jp")
    for number in range(1, 5):
        testing.make_user(company, hq, email=f"agent{number:02d}@vendor.example.jp")
    with company_scope(company):
        for phase in ("active", "archive"):
            expected = uninterrupted_counts(company, admin, package, phase)
            # when: the worker dies in the middle of the phase, and another one resumes it
            finished = killed_and_resumed(tmp_path, company, start(company, admin, package, phase))
            # then: the uninterrupted phase's counts, each record once, each row once
            assert (finished.status, finished.rows_done, finished.counts) == (RunStatus.COMPLETED, finished.rows_total, expected)
            outcomes = RecordOutcome.objects.filter(run=finished)
            assert outcomes.count() == outcomes.values("position").distinct().count() == finished.rows_total
            assert LedgerEntry.objects.filter(run=finished, target_type="crm.case").count() == expected["seekers:loaded"]
        loaded = {entity: sum(run.counts.get(f"{entity}:loaded", 0) for run in Run.objects.filter(kind="vendor_import"))
                  for entity in ("listings", "seekers", "activities", "links")}
        assert loaded["seekers"] > 200 and loaded["activities"] > 300
        assert (Listing.objects.count(), Case.objects.count(), Customer.objects.count(), Introduction.objects.count()) == (
            loaded["listings"], loaded["seekers"], loaded["seekers"], loaded["links"])
        assert Case.objects.values("source_id").distinct().count() == loaded["seekers"]
        assert Activity.objects.filter(kind__in=["call", "email_out", "visit", "note"], subject="").count() >= loaded["activities"]
