"""A legacy migration survives its worker being killed: a new worker resumes it, and the result is the
uninterrupted run's (every case once, the same counts)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from estatecrm.crm.models import Case, Customer
from estatecrm.crm.tenant_file import parse_tenant_file
from estatecrm.crm.tenant_setup import do_apply_tenant_spec
from estatecrm.legacy import actions
from estatecrm.legacy.choices import SOURCE_SYSTEM
from estatecrm.legacy.models import CaseOutcome
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.pipeline.tasks import run_pipeline
from estatecrm.pipeline.testing import start_worker, wait_for, worker_environment
from estatecrm.tenancy.models import Company, OrgUnit, User
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db(transaction=True)
CASES = 600
GENERATOR = Path(__file__).resolve().parents[4] / "bench" / "generate_legacy_bundle.py"


def generated_company(tmp_path):
    """A bundle of CASES follow-up cases made by bench/generate_legacy_bundle.py, and its tenant applied."""
    bundle, tenant = tmp_path / "bundle.zip", tmp_path / "tenant.yaml"
    subprocess.run([sys.executable, str(GENERATOR), str(CASES), str(bundle), "--tenant", str(tenant), "--seed", "3"], check=True,
                   capture_output=True)
    parsed = parse_tenant_file(tenant.read_bytes())
    assert parsed.is_valid, parsed.errors
    company = Company.objects.get(code=do_apply_tenant_spec(parsed.spec).company_code)
    return company, bundle


def uninterrupted_counts(options) -> dict:
    """The counts of the same run uninterrupted, in a transaction rolled back afterwards."""
    with transaction.atomic():
        run = actions.do_start_legacy_migration(**options, background=False)
        assert execute_run(run.pk) in {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES}
        run.refresh_from_db()
        counts = dict(run.counts)
        transaction.set_rollback(True)
    Path(run.source_file.path).unlink(missing_ok=True)
    return counts


def test_a_killed_worker_leaves_a_migration_that_the_next_worker_finishes_as_if_uninterrupted(tmp_path):
    # given: a migration of 600 cases in batches of 100, throttled so that the first worker is killed in the middle
    company, bundle = generated_company(tmp_path)
    actor = actor_for(User.objects.get(company=company, email="admin@example-fudosan.jp"))
    options = {"actor": actor, "path": bundle, "file_name": bundle.name, "org_unit": OrgUnit.objects.for_company(company).get(code="HQ")}
    expected = uninterrupted_counts(options)
    run = actions.do_start_legacy_migration(**options, background=False)
    Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "rate": 150, "batch_cases": 100})
    run_pipeline.using(backend="database").enqueue(run.pk)
    environment = worker_environment()
    first = start_worker(environment, tmp_path / "worker.log")
    try:
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).rows_done >= 200)
        # when: the worker dies without any chance to clean up
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    interrupted = Run.objects.for_company(company).get(pk=run.pk)
    assert interrupted.status == RunStatus.RUNNING
    assert 0 < interrupted.rows_done < CASES
    second = start_worker(environment, tmp_path / "worker.log")
    try:
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).is_finished, timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    # then: the uninterrupted run's counts, every source case accounted for once, every migrated case written once
    finished = Run.objects.for_company(company).get(pk=run.pk)
    assert (finished.status, finished.rows_done, finished.counts) == (RunStatus.COMPLETED, CASES, expected)
    assert CaseOutcome.objects.for_company(company).filter(run=run).count() == CASES
    assert CaseOutcome.objects.for_company(company).filter(run=run).values("source_id").distinct().count() == CASES
    migrated = expected["migrated"]
    assert migrated > 300
    assert Case.objects.for_company(company).count() == migrated
    assert Case.objects.for_company(company).values("source_id").distinct().count() == migrated
    assert LedgerEntry.objects.for_company(company).filter(run=run, source_system=SOURCE_SYSTEM).count() == migrated
    assert Customer.objects.for_company(company).count() == expected["customers_created"]
