"""Log-ins go on while a worker writes a lead import's batches, and the import still writes every row once.

On SQLite the import's batches follow each other with no pause: without turns at the write lock
(core/sqlite/turns.py) a log-in's writes (session, last log-in, audit) waited for the import's end."""

import signal
import time

import pytest

from estatecrm.leads import actions
from estatecrm.leads.tests.accounting import assert_every_row_a_new_lead_once
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.tasks import run_pipeline
from estatecrm.pipeline.testing import start_worker, wait_for, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 10_000
BATCH_ROWS = 1_000  # 10 batches of a few tenths of a second each on the project machine
# A log-in waits at most about a batch per write on SQLite (a row lock at most on PostgreSQL). Generous.
LOG_IN_WITHIN_SECONDS = 10.0


def test_log_ins_get_in_while_an_import_writes_and_the_import_writes_every_row_once(client, company, company_admin, admin_actor,
                                                                                     project, tmp_path):
    # given: a worker writing an import of 10,000 rows in batches of 1,000, back to back
    path = tmp_path / "leads.csv"
    lines = ["会社名,担当者,電話番号"] + [f"株式会社テスト{n},担当{n},03-{1000 + n // 10000:04d}-{n % 10000:04d}" for n in range(ROWS)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp932")
    run = actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, background=False)
    Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "batch_rows": BATCH_ROWS})
    run_pipeline.using(backend="database").enqueue(run.pk)
    worker = start_worker(worker_environment(), tmp_path / "worker.log")

    log_ins, slowest = [], 0.0

    def log_in():
        client.logout()
        response = client.post("/login/", {"username": company_admin.email, "password": "pass-Word-123"})
        assert response.status_code == 302

    log_in()  # the first request of this process loads the pages' code: not timed
    try:
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).rows_done >= BATCH_ROWS)
        # when: the admin logs in again and again while the batches are written
        while not Run.objects.for_company(company).get(pk=run.pk).is_finished and len(log_ins) < 50:
            started = time.monotonic()
            log_in()
            slowest = max(slowest, time.monotonic() - started)
            log_ins.append(Run.objects.for_company(company).get(pk=run.pk).rows_done)
            time.sleep(0.2)  # people log in now and then
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).is_finished, timeout=120)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    # then: each log-in got in within a few batches (it writes 4-5 times: each may wait for one batch), and the
    # first ones while the batches went on (core/tests/test_sqlite_turns.py bounds one write by a batch) ...
    assert slowest < LOG_IN_WITHIN_SECONDS
    assert log_ins[0] < ROWS, log_ins
    # ... and the import wrote every row exactly once
    assert_every_row_a_new_lead_once(company, run.pk, ROWS)
