"""The engine's guarantees with a small job: batches commit with their checkpoint, abort, resume."""

from collections import Counter

import pytest
from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Tag
from estatecrm.pipeline import engine
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus
from estatecrm.pipeline.models import LedgerEntry, Run

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so the engine cannot record a failure."""


@engine.register_job
class TagJob(engine.Job):
    """Writes one tag per source row, five rows a batch; params may ask it to crash or abort."""

    kind = "test_tags"

    def prepare(self):
        return self.run.params["rows"]

    def batches(self, after_row):
        rows = list(range(after_row + 1, self.run.params["rows"] + 1))
        for start in range(0, len(rows), 5):
            chunk = rows[start:start + 5]
            yield engine.Batch(rows=chunk, last_row=chunk[-1], source_rows=len(chunk))

    def write(self, batch):
        for number in batch.rows:
            tag = Tag.objects.create(company_id=self.run.company_id, name=f"row-{number}")
            LedgerEntry.objects.create(company_id=self.run.company_id, run=self.run, source_system="test", source_key=str(number),
                                       row_number=number, outcome=LedgerOutcome.CREATED, target_type="crm.tag", target_id=tag.pk)
        if batch.last_row == self.run.params.get("crash_after"):
            raise Crash()
        if batch.last_row == self.run.params.get("abort_after"):
            engine.request_abort(Run.objects.for_company(self.run.company_id).get(pk=self.run.pk))
        if batch.last_row == self.run.params.get("fail_at"):
            raise RuntimeError("disk full")
        return Counter(created=len(batch.rows))


def make_run(company, **params):
    return Run.objects.create(company=company, kind="test_tags", params=params, token="t")


def tag_names(company):
    with company_scope(company):
        return sorted(Tag.objects.values_list("name", flat=True), key=lambda name: int(name.split("-")[1]))


def test_run_writes_every_row_and_completes(company):
    run = make_run(company, rows=12)
    assert engine.execute_run(run.pk) == RunStatus.COMPLETED
    run.refresh_from_db()
    assert (run.rows_total, run.rows_done, run.checkpoint, run.counts) == (12, 12, 12, {"created": 12})
    assert tag_names(company) == [f"row-{n}" for n in range(1, 13)]


def test_abort_finishes_the_current_batch_and_keeps_it(company):
    run = make_run(company, rows=20, abort_after=10)
    assert engine.execute_run(run.pk) == RunStatus.ABORTED
    run.refresh_from_db()
    assert (run.rows_done, run.checkpoint) == (10, 10)
    assert len(tag_names(company)) == 10


def test_a_crashed_run_resumes_after_its_last_committed_batch(company):
    # given: the worker dies inside the third batch (its writes roll back with the transaction)
    run = make_run(company, rows=20, crash_after=15)
    with pytest.raises(Crash):
        engine.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.checkpoint) == (RunStatus.RUNNING, 10)
    # when: another worker finds the run stale and resumes it
    Run.objects.for_company(company).filter(pk=run.pk).update(heartbeat_at=timezone.now() - engine.stale_after() * 2,
                                                              params={"rows": 20})
    assert engine.stale_run_ids() == [run.pk]
    assert engine.execute_run(run.pk) == RunStatus.COMPLETED
    # then: every row written exactly once
    assert tag_names(company) == [f"row-{n}" for n in range(1, 21)]
    assert LedgerEntry.objects.for_company(company).filter(run=run).count() == 20


def test_a_running_run_with_a_live_worker_is_not_taken_twice(company):
    run = make_run(company, rows=5)
    Run.objects.for_company(company).filter(pk=run.pk).update(status=RunStatus.RUNNING, heartbeat_at=timezone.now())
    assert engine.execute_run(run.pk) is None
    assert tag_names(company) == []


def test_an_unexpected_error_fails_the_run_and_keeps_committed_batches(company):
    run = make_run(company, rows=20, fail_at=10)
    assert engine.execute_run(run.pk) == RunStatus.FAILED
    run.refresh_from_db()
    assert (run.error_code, run.checkpoint) == ("internal_error", 5)
    assert "disk full" in run.error_message
    assert len(tag_names(company)) == 5


def test_abort_of_a_pending_run_ends_it_at_once(company):
    run = make_run(company, rows=5)
    assert engine.request_abort(run) is True
    run.refresh_from_db()
    assert run.status == RunStatus.ABORTED
    assert engine.execute_run(run.pk) is None


def test_finished_runs_are_left_alone(company):
    run = make_run(company, rows=5)
    engine.execute_run(run.pk)
    assert engine.execute_run(run.pk) is None
    assert engine.request_abort(Run.objects.for_company(company).get(pk=run.pk)) is False
