"""A lead import survives its worker being killed: a new worker resumes it, every row once."""

import os
import signal

import pytest

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Customer
from estatecrm.leads import actions
from estatecrm.leads.tests.accounting import assert_every_row_a_new_lead_once
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.tasks import run_pipeline
from estatecrm.pipeline.testing import start_worker, wait_for, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 3000


def test_a_killed_worker_leaves_a_run_that_the_next_worker_finishes_exactly_once(company, company_admin, admin_actor, project, tmp_path):
    # given: an import of 3,000 rows, throttled so that the first worker is killed in the middle
    path = tmp_path / "leads.csv"
    lines = ["会社名,担当者,電話番号"] + [f"株式会社テスト{n},担当{n},03-{1000 + n // 10000:04d}-{n % 10000:04d}" for n in range(ROWS)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp932")
    run = actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, background=False)
    Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "rate": 1500, "batch_rows": 500})
    run_pipeline.using(backend="database").enqueue(run.pk)
    environment = worker_environment()
    first = start_worker(environment, tmp_path / "worker.log")
    try:
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).rows_done >= 2000)
        # when: the worker dies without any chance to clean up
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    interrupted = Run.objects.for_company(company).get(pk=run.pk)
    assert interrupted.status == RunStatus.RUNNING
    assert 0 < interrupted.rows_done < ROWS
    second = start_worker(environment, tmp_path / "worker.log")
    try:
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).is_finished, timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
    # then: every row written exactly once
    assert_every_row_a_new_lead_once(company, run.pk, ROWS)
    with company_scope(company):
        assert Customer.objects.values("name").distinct().count() == ROWS
