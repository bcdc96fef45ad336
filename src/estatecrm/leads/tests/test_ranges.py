"""A big lead import split after its scan into ranges of rows (PIPELINE_RANGE_ROWS) that any worker writes:
the same counts, customers and cases as the import not split, whichever range commits first; abort,
revert and resume after a worker's death still hold."""

import os
import signal
from collections import Counter

import pytest
from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, ContactPoint, Customer
from estatecrm.leads import actions
from estatecrm.leads.choices import RUN_KIND
from estatecrm.leads.selectors import row_outcomes
from estatecrm.leads.tests.accounting import assert_each_row_written_once
from estatecrm.pipeline import engine
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import LedgerEntry, Run, RunRange
from estatecrm.pipeline.tasks import run_pipeline
from estatecrm.pipeline.testing import start_worker, wait_for, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 1000


def lead_lines(rows: int = ROWS) -> list[str]:
    """Leads with duplicates across the file: every 7th row repeats a lead 500 rows earlier (same name,
    another phone: a contact of that lead), every 11th has the phone of a row 300 rows earlier under
    another name (a duplicate by phone within the file), and a few rows fail (no phone)."""
    lines = ["会社名,担当者,電話番号"]
    for n in range(rows):
        name, phone = f"株式会社範囲{n}", f"03-{6000 + n // 100}-{n % 100:04d}"
        if n >= 500 and n % 7 == 0:
            name = f"株式会社範囲{n - 500}"
        if n >= 300 and n % 11 == 0:
            phone = f"03-{6000 + (n - 300) // 100}-{(n - 300) % 100:04d}"
        if n % 97 == 0:
            phone = ""
        lines.append(f"{name},担当{n},{phone}")
    return lines


def start_import(admin_actor, project, tmp_path, name="leads.csv", **params):
    path = tmp_path / name
    path.write_text("\r\n".join(lead_lines()) + "\r\n", encoding="cp932")
    run = actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, background=False)
    Run.objects.for_company(run.company_id).filter(pk=run.pk).update(params={**run.params, "batch_rows": 100, **params})
    return run


def outcome(company) -> tuple:
    """What the company holds: per customer (by name), its phones; the number of cases; the ledger's outcomes."""
    with company_scope(company):
        phones: dict[str, set] = {}
        for name, phone in ContactPoint.objects.values_list("customer__name", "normalized"):
            phones.setdefault(name, set()).add(phone)
        customers = sorted((name, tuple(sorted(phones.get(name, ())))) for name in Customer.objects.values_list("name", flat=True))
        outcomes = Counter(outcome for run in Run.objects.filter(kind=RUN_KIND) for _row, outcome in row_outcomes(run))
        return customers, Case.objects.count(), outcomes


def clear(company) -> None:
    with company_scope(company):
        Case.objects.all().delete()
        ContactPoint.objects.all().delete()
        Customer.objects.all().delete()
        LedgerEntry.objects.all().delete()


def test_a_split_import_counts_and_writes_what_the_whole_import_does_whichever_range_writes_first(
        company, company_admin, admin_actor, project, tmp_path, settings, monkeypatch):
    # given: the import not split, as the reference
    whole = start_import(admin_actor, project, tmp_path, name="whole.csv")
    assert engine.execute_run(whole.pk) == RunStatus.COMPLETED_WITH_FAILURES
    whole.refresh_from_db()
    expected = outcome(company)
    assert not RunRange.objects.for_company(company).exists()
    assert whole.counts["duplicates:phone_in_file"] > 0 and whole.counts["contacts_added_to_leads"] > 0
    clear(company)
    # when: the same file split into ranges of 250 rows, the ranges written last one first (no worker
    # took them: this process writes them in reverse order)
    settings.PIPELINE_RANGE_ROWS = 250
    monkeypatch.setattr(engine, "work_ranges", lambda run_id, progress=None: None)
    split = start_import(admin_actor, project, tmp_path, name="split.csv")
    assert engine.execute_run(split.pk, backend="database") is None
    ranges = list(RunRange.objects.for_company(company).filter(run=split).order_by("first_row"))
    assert [(part.first_row, part.last_row, part.status) for part in ranges] == [
        (2, 251, RunStatus.PENDING), (252, 501, RunStatus.PENDING), (502, 751, RunStatus.PENDING), (752, 1001, RunStatus.PENDING)]
    assert Run.objects.for_company(company).get(pk=split.pk).status == RunStatus.RUNNING
    statuses = [engine.execute_range(part.pk) for part in reversed(ranges)]
    # then: the same counts, customers, cases and ledger; the run ended once, with the last range
    split.refresh_from_db()
    assert statuses == [RunStatus.COMPLETED_WITH_FAILURES] * 4
    assert (split.status, split.rows_total, split.rows_done) == (RunStatus.COMPLETED_WITH_FAILURES, ROWS, ROWS)
    assert split.counts == whole.counts
    assert outcome(company) == expected
    # each range's counts add up to the run's
    total = Counter()
    for part in RunRange.objects.for_company(company).filter(run=split):
        total.update(part.counts)
    assert dict(total) == split.counts


def test_ranges_in_order_by_one_worker_and_the_revert_of_a_split_import(company, company_admin, admin_actor, project, tmp_path, settings):
    # given: a split import that this process writes alone, range after range (the task backend runs the
    # ranges' tasks at once)
    settings.PIPELINE_RANGE_ROWS = 300
    run = start_import(admin_actor, project, tmp_path)
    # when
    status = engine.execute_run(run.pk)
    # then
    run.refresh_from_db()
    assert status == RunStatus.COMPLETED_WITH_FAILURES
    assert RunRange.objects.for_company(company).filter(run=run).count() == 4
    assert set(RunRange.objects.for_company(company).filter(run=run).values_list("status", "lease")) <= {
        (RunStatus.COMPLETED, 1), (RunStatus.COMPLETED_WITH_FAILURES, 1)}
    assert run.rows_done == ROWS
    assert_each_row_written_once(run, ROWS)
    # and its revert trashes every lead it created
    counts = actions.do_revert_lead_import(actor=admin_actor, run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.REVERTED
    with company_scope(company):
        assert counts["leads_trashed"] == Customer.objects.count() == run.counts["leads_created"]
        assert Customer.objects.filter(deleted_at__isnull=True).count() == 0


def test_an_abort_stops_every_range_and_ends_the_run_once(company, company_admin, admin_actor, project, tmp_path, settings, monkeypatch):
    # given: a split import whose first range is written, then an abort is asked for
    settings.PIPELINE_RANGE_ROWS = 250
    monkeypatch.setattr(engine, "work_ranges", lambda run_id, progress=None: None)
    run = start_import(admin_actor, project, tmp_path)
    engine.execute_run(run.pk, backend="database")
    ranges = list(RunRange.objects.for_company(company).filter(run=run).order_by("first_row"))
    engine.execute_range(ranges[0].pk)
    run.refresh_from_db()
    assert engine.request_abort(run)
    # when: the other ranges are taken
    statuses = [engine.execute_range(part.pk) for part in ranges[1:]]
    # then: they stop before writing; the run is aborted, with the first range's rows counted
    run.refresh_from_db()
    assert statuses == [RunStatus.ABORTED] * 3
    assert (run.status, run.rows_done) == (RunStatus.ABORTED, 250)
    assert_each_row_written_once(run, 250)
    assert run.counts == RunRange.objects.for_company(company).get(pk=ranges[0].pk).counts
    # a range taken again does nothing
    assert engine.execute_range(ranges[1].pk) is None


def test_a_split_run_is_never_claimed_again_and_only_its_stale_range_is_resumed(company, company_admin, admin_actor, project, tmp_path,
                                                                               settings, monkeypatch):
    # given: a split run whose worker stopped beating long ago, with one range whose worker died too
    settings.PIPELINE_RANGE_ROWS = 250
    monkeypatch.setattr(engine, "work_ranges", lambda run_id, progress=None: None)
    run = start_import(admin_actor, project, tmp_path)
    engine.execute_run(run.pk, backend="database")
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    Run.objects.for_company(company).filter(pk=run.pk).update(heartbeat_at=long_ago)
    ranges = list(RunRange.objects.for_company(company).filter(run=run).order_by("first_row"))
    RunRange.objects.for_company(company).filter(pk=ranges[1].pk).update(status=RunStatus.RUNNING, heartbeat_at=long_ago, lease=1)
    RunRange.objects.for_company(company).filter(pk=ranges[2].pk).update(status=RunStatus.RUNNING, heartbeat_at=timezone.now(), lease=1)
    # when / then: the sweep resumes that range alone, never the run; the run is not claimable
    assert engine.stale_run_ids() == []
    assert engine.stale_range_ids() == [ranges[1].pk]
    assert engine.claim_run(run.pk) is None
    assert engine.claim_range(ranges[2].pk) is None
    assert engine.claim_range(ranges[1].pk) == 2


def test_workers_share_the_ranges_of_a_run_and_a_killed_worker_s_range_resumes(company, company_admin, admin_actor, project, tmp_path,
                                                                               settings):
    # given: a split import (4 ranges of 250 rows), throttled so that the workers overlap (on SQLite too:
    # its one writer at a time interleaves their batches)
    settings.PIPELINE_RANGE_ROWS = 250
    run = start_import(admin_actor, project, tmp_path, rate=100)
    environment = {**worker_environment(), "PIPELINE_RANGE_ROWS": "250"}
    run_pipeline.using(backend="database").enqueue(run.pk)
    workers = [start_worker(environment, tmp_path / f"worker-{number}.log") for number in range(3)]
    logs = lambda: [(tmp_path / f"worker-{number}.log").read_text() for number in range(3)]  # noqa: E731
    try:
        ranges = RunRange.objects.for_company(company).filter(run=run)
        assert wait_for(lambda: ranges.filter(status=RunStatus.RUNNING).count() >= 2 and ranges.filter(rows_done__gt=0).count() >= 2,
                        timeout=90), logs()
        # when: the worker of a running range dies
        victim_range = ranges.filter(status=RunStatus.RUNNING, rows_done__gt=0).first()
        victim = next(worker for worker in workers if victim_range.worker.endswith(f":{worker.pid}"))
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        assert wait_for(lambda: Run.objects.for_company(company).get(pk=run.pk).is_finished, timeout=180), logs()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    # then: the killed range was resumed (its lease 2), the others ran once, on more than one worker,
    # and every row was written once with the counts of the file
    run.refresh_from_db()
    assert (run.status, run.rows_done) == (RunStatus.COMPLETED_WITH_FAILURES, ROWS)
    parts = list(RunRange.objects.for_company(company).filter(run=run))
    assert sorted(part.lease for part in parts) == [1, 1, 1, 2]
    assert RunRange.objects.for_company(company).get(pk=victim_range.pk).lease == 2
    assert len({part.worker for part in parts}) >= 2
    assert_each_row_written_once(run, ROWS)
    total = Counter()
    for part in parts:
        total.update(part.counts)
    assert dict(total) == run.counts
    assert run.counts["rows"] == ROWS


def test_a_failed_range_stops_the_others_and_the_run_fails_with_its_error(company, company_admin, admin_actor, project, tmp_path, settings,
                                                                          monkeypatch):
    # given: a split import whose third range is refused while it writes
    from estatecrm.leads.jobs import LeadImportJob

    settings.PIPELINE_RANGE_ROWS = 250
    monkeypatch.setattr(engine, "work_ranges", lambda run_id, progress=None: None)
    run = start_import(admin_actor, project, tmp_path)
    engine.execute_run(run.pk, backend="database")
    ranges = list(RunRange.objects.for_company(company).filter(run=run).order_by("first_row"))
    write = LeadImportJob.write

    def refusing(job, batch):
        if job.part.pk == ranges[2].pk:
            raise engine.RunRefused("refused_for_the_test", "Refused.")
        return write(job, batch)

    monkeypatch.setattr(LeadImportJob, "write", refusing)
    # when: the last range is written, the third fails, then the first two are taken
    statuses = [engine.execute_range(part.pk) for part in (ranges[3], ranges[2], ranges[0], ranges[1])]
    # then: the first two stopped before writing; the run failed once, with the third range's error,
    # and its counts are the last range's
    run.refresh_from_db()
    assert statuses == [RunStatus.COMPLETED_WITH_FAILURES, RunStatus.FAILED, RunStatus.ABORTED, RunStatus.ABORTED]
    assert (run.status, run.error_code, run.error_message, run.rows_done) == (RunStatus.FAILED, "refused_for_the_test", "Refused.", 250)
    assert run.counts == RunRange.objects.for_company(company).get(pk=ranges[3].pk).counts
    assert_each_row_written_once(run, 250)
