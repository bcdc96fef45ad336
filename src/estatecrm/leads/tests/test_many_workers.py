"""Several `estatecrm worker` processes share the queued runs: each run is executed exactly once, by one
worker, and every worker gets some (real processes on the test database)."""

import signal

import pytest
from django.db import connection

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, Customer
from estatecrm.leads import actions
from estatecrm.leads.tests.accounting import assert_each_row_written_once
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.tasks import run_pipeline
from estatecrm.pipeline.testing import start_worker, wait_for, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)
RUNS = 6
ROWS = 600


def workers_for_database() -> int:
    """Three workers on PostgreSQL; on SQLite, which has one writer at a time, two (they still share the queue)."""
    return 3 if connection.vendor == "postgresql" else 2


def test_workers_share_queued_runs_each_run_once_and_none_left_idle(company, company_admin, admin_actor, project, tmp_path):
    # given: six imports of different lists queued on the database backend, each throttled to last a few
    # seconds (so that one worker cannot take them all before the others start)
    runs = []
    for number in range(RUNS):
        path = tmp_path / f"leads-{number}.csv"
        lines = ["会社名,担当者,電話番号"] + [f"株式会社多数{number}の{n},担当{n},03-{5000 + number * 100 + n // 100}-{n % 100:04d}" for n in range(ROWS)]
        path.write_text("\r\n".join(lines) + "\r\n", encoding="cp932")
        run = actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, background=False)
        Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "rate": 150, "batch_rows": 100})
        run_pipeline.using(backend="database").enqueue(run.pk)
        runs.append(run)
    environment = worker_environment()
    # when: several workers run at once until every run ended
    workers = [start_worker(environment, tmp_path / f"worker-{number}.log") for number in range(workers_for_database())]
    try:
        assert wait_for(lambda: Run.objects.for_company(company).filter(pk__in=[run.pk for run in runs], finished_at__isnull=False).count() == RUNS,
                        timeout=180), [(tmp_path / f"worker-{number}.log").read_text() for number in range(len(workers))]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    # then: each run was claimed once (lease 1), completed with exact counts, and its rows written once
    finished = list(Run.objects.for_company(company).filter(pk__in=[run.pk for run in runs]).order_by("pk"))
    assert [(run.status, run.lease, run.rows_done, run.counts["leads_created"]) for run in finished] == [(RunStatus.COMPLETED, 1, ROWS, ROWS)] * RUNS
    for run in finished:
        assert_each_row_written_once(run, ROWS)
    with company_scope(company):
        assert Customer.objects.count() == RUNS * ROWS
        assert Case.objects.count() == RUNS * ROWS
        assert sorted(Case.objects.values_list("number", flat=True)) == list(range(1, RUNS * ROWS + 1))
    # and every worker ran some of them (each run names the worker process that ran it)
    worker_pids = {str(worker.pid) for worker in workers}
    ran_by = [run.worker.rsplit(":", 1)[1] for run in finished]
    assert set(ran_by) == worker_pids, ran_by
