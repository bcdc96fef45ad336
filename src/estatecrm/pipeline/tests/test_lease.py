"""A run's owner keeps it while alive (a heartbeat of its own), and a worker that was taken over is
fenced out (the run's lease): counts, report and status stay those of one uninterrupted run."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from estatecrm.pipeline import engine
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.pipeline.tests.test_engine import TagJob, make_run, tag_names


@engine.register_job
class TakenOverTagJob(TagJob):
    """The tag job, but another worker claims the run (its heartbeat made to look stale) right after the
    batch that ends at `taken_over_after` committed."""

    kind = "test_tags_taken_over"

    def batches(self, after_row):
        for batch in super().batches(after_row):
            yield batch
            if batch.last_row == self.run.params.get("taken_over_after"):
                Run.objects.for_company(self.run.company_id).filter(pk=self.run.pk).update(
                    heartbeat_at=timezone.now() - engine.stale_after() * 2)
                assert engine.claim_run(self.run.pk) is not None


@engine.register_job
class SlowPrepareTagJob(TagJob):
    """The tag job, reading its input for longer than the stale limit first."""

    kind = "test_tags_slow_prepare"

    def prepare(self):
        time.sleep(self.run.params["prepare_seconds"])
        return super().prepare()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind, params", [
    ("test_tags", {"rate": 2}),  # two batches of five rows, 2.5 s apart
    ("test_tags_slow_prepare", {"prepare_seconds": 2.5}),
], ids=["throttled", "slow_prepare"])
def test_a_run_is_not_taken_over_by_a_second_worker_while_its_owner_is_alive(company, settings, kind, params):
    # given: a run whose owner writes nothing for longer than the stale limit (a throttled run's sleep, a long prepare)
    settings.PIPELINE_STALE_SECONDS = 2
    run = make_run(company, rows=10, **params)
    Run.objects.for_company(company).filter(pk=run.pk).update(kind=kind)
    claims_of_the_second_worker = []
    finished = threading.Event()

    def second_worker():
        try:
            # It comes once the owner has claimed the run (before, the run is simply the first comer's).
            while not finished.is_set() and not Run.objects.for_company(company).filter(pk=run.pk, status=RunStatus.RUNNING).exists():
                time.sleep(0.01)
            while not finished.is_set():
                claims_of_the_second_worker.append(engine.execute_run(run.pk))
                time.sleep(0.1)
        finally:
            connection.close()

    other = threading.Thread(target=second_worker)
    other.start()
    # when: the owner runs it while the second worker keeps trying to take it
    try:
        status = engine.execute_run(run.pk)
    finally:
        finished.set()
        other.join(timeout=30)
    # then: the second worker never took it; one owner counted every row once
    assert status == RunStatus.COMPLETED
    assert len(claims_of_the_second_worker) > 10
    assert set(claims_of_the_second_worker) == {None}
    run.refresh_from_db()
    assert (run.status, run.rows_done, run.checkpoint, run.counts, run.lease) == (RunStatus.COMPLETED, 10, 10, {"created": 10}, 1)
    assert tag_names(company) == [f"row-{n}" for n in range(1, 11)]


@pytest.mark.django_db
def test_a_worker_whose_run_was_taken_over_cannot_commit_and_stops_quietly(company):
    # given: a run taken over by another worker after its first batch
    run = make_run(company, rows=20, taken_over_after=5)
    Run.objects.for_company(company).filter(pk=run.pk).update(kind="test_tags_taken_over")
    # when: the first owner goes on with its second batch
    status = engine.execute_run(run.pk)
    # then: that batch was refused and rolled back, and the first owner stopped without ending the run
    assert status is None
    run.refresh_from_db()
    assert (run.status, run.rows_done, run.checkpoint, run.counts, run.finished_at, run.lease) == (
        RunStatus.RUNNING, 5, 5, {"created": 5}, None, 2)
    assert tag_names(company) == [f"row-{n}" for n in range(1, 6)]
    assert LedgerEntry.objects.for_company(company).filter(run=run).count() == 5


@pytest.mark.django_db
def test_a_run_resumed_after_a_takeover_ends_with_the_counts_of_an_uninterrupted_run(company):
    # given: the first owner was fenced out after its first batch, and the worker that claimed it died too
    run = make_run(company, rows=20, taken_over_after=5)
    Run.objects.for_company(company).filter(pk=run.pk).update(kind="test_tags_taken_over")
    assert engine.execute_run(run.pk) is None
    Run.objects.for_company(company).filter(pk=run.pk).update(
        kind="test_tags", heartbeat_at=timezone.now() - engine.stale_after() * 2)
    # when: a worker resumes it
    assert engine.execute_run(run.pk) == RunStatus.COMPLETED
    # then: the run reads as an uninterrupted one (test_run_writes_every_row_and_completes)
    run.refresh_from_db()
    assert (run.status, run.rows_total, run.rows_done, run.checkpoint, run.counts) == (RunStatus.COMPLETED, 20, 20, 20, {"created": 20})
    assert tag_names(company) == [f"row-{n}" for n in range(1, 21)]
    assert LedgerEntry.objects.for_company(company).filter(run=run).count() == 20


@pytest.mark.django_db
def test_a_fenced_out_worker_cannot_end_the_run(company):
    # given: a run another worker claimed after this worker read it
    run = make_run(company, rows=5)
    lease = engine.claim_run(run.pk)
    Run.objects.for_company(company).filter(pk=run.pk).update(heartbeat_at=timezone.now() - engine.stale_after() * 2)
    assert engine.claim_run(run.pk) == lease + 1
    run.refresh_from_db()
    # when: the first worker tries to end it
    with pytest.raises(engine.LeaseLost):
        engine.finish_run(run, RunStatus.FAILED, {}, lease=lease)
    # then: the run is still the second worker's
    run.refresh_from_db()
    assert (run.status, run.finished_at, run.lease) == (RunStatus.RUNNING, None, lease + 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("taken_over", [False, True], ids=["ended_here", "taken_over"])
def test_a_beat_after_the_run_ended_under_its_own_lease_is_not_a_take_over(company, settings, caplog, taken_over):
    # given: a run that its worker (lease 1) just ended, or that another worker claimed (lease 2), while the
    # first worker's heartbeat thread still beats
    settings.PIPELINE_STALE_SECONDS = 0.4  # a beat every 0.1 s
    run = make_run(company, rows=1)
    Run.objects.for_company(company).filter(pk=run.pk).update(status=RunStatus.COMPLETED if not taken_over else RunStatus.RUNNING,
                                                              lease=2 if taken_over else 1)
    # when
    with caplog.at_level("WARNING", logger="estatecrm.pipeline.engine"), engine.Heartbeat(run, 1) as heartbeat:
        time.sleep(0.5)
    # then: only a real take-over stops the worker with a warning
    assert heartbeat.lost.is_set() is taken_over
    assert ("was taken over by another worker" in caplog.text) is taken_over
