"""A migration's revert is a background run: progress, exact counts, resumed after a crash, idempotent."""

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError
from estatecrm.crm.models import Case, Customer
from estatecrm.legacy import actions
from estatecrm.legacy.revert import LegacyMigrationRevertJob
from estatecrm.pipeline import engine
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import LedgerEntry, Run

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """Stands for the worker dying: not an Exception, so the engine cannot record a failure."""


@pytest.fixture
def migrated(sample_company, sample_actor, units, bundle_path):
    """The sample bundle migrated into HQ: 40 source cases, 20 migrated with 19 customers."""
    run = actions.do_start_legacy_migration(actor=sample_actor, path=bundle_path, file_name="b.zip", org_unit=units["HQ"], background=False)
    assert engine.execute_run(run.pk) == RunStatus.COMPLETED
    run.refresh_from_db()
    return run


def live(company):
    return (Case.objects.for_company(company).filter(deleted_at__isnull=True).count(),
            Customer.objects.for_company(company).filter(deleted_at__isnull=True).count())


def test_a_revert_killed_mid_way_resumes_to_the_counts_of_an_uninterrupted_revert(sample_company, sample_actor, migrated, monkeypatch):
    # given: a revert in batches of 10 source cases whose worker dies inside its third batch
    monkeypatch.setattr("estatecrm.legacy.revert.REVERT_BATCH", 10)
    write = LegacyMigrationRevertJob.write
    calls = Counter()

    def dying_write(job, batch):
        calls["write"] += 1
        counts = write(job, batch)
        if calls["write"] == 3:
            raise Crash()
        return counts

    monkeypatch.setattr(LegacyMigrationRevertJob, "write", dying_write)
    revert = actions.do_start_legacy_migration_revert(actor=sample_actor, run=migrated, background=False)
    with pytest.raises(Crash):
        engine.execute_run(revert.pk)
    revert.refresh_from_db()
    assert (revert.status, revert.rows_total, revert.rows_done) == (RunStatus.RUNNING, 40, 20)
    assert 0 < revert.counts["cases_trashed"] < 20
    # when: a new worker resumes it
    Run.objects.for_company(sample_company).filter(pk=revert.pk).update(heartbeat_at=timezone.now() - engine.stale_after() * 2)
    assert engine.execute_run(revert.pk) == RunStatus.COMPLETED
    # then: the counts of the synchronous revert it replaces (test_cli), everything undone once, the run reverted
    revert.refresh_from_db()
    migrated.refresh_from_db()
    assert (revert.rows_done, revert.counts) == (40, {"cases_trashed": 20, "customers_trashed": 19})
    assert (migrated.status, migrated.reverted_by) == (RunStatus.REVERTED, sample_actor.user)
    assert live(sample_company) == (0, 0)
    assert LedgerEntry.objects.for_company(sample_company).filter(run=migrated).count() == 0
    events = AuditEvent.objects.for_company(sample_company).filter(verb="revert", object_id=str(migrated.pk))
    assert [event.after for event in events] == [{"cases_trashed": 20, "customers_trashed": 19}]


def test_a_second_revert_is_refused_while_one_runs_and_after_it_ended(sample_company, sample_actor, migrated):
    revert = actions.do_start_legacy_migration_revert(actor=sample_actor, run=migrated, background=False)
    with pytest.raises(ApplicationError) as raised:
        actions.do_start_legacy_migration_revert(actor=sample_actor, run=migrated, background=False)
    assert (raised.value.code, raised.value.message) == ("revert_in_progress", f"This run is being reverted already (run #{revert.pk}).")
    assert engine.execute_run(revert.pk) == RunStatus.COMPLETED
    with pytest.raises(ApplicationError) as raised:
        actions.do_start_legacy_migration_revert(actor=sample_actor, run=migrated, background=False)
    assert raised.value.code == "not_revertible"
    assert Run.objects.for_company(sample_company).filter(kind="legacy_migration_revert").count() == 1


def test_a_case_edited_after_the_revert_was_requested_stops_it_before_it_changes_anything(sample_company, sample_actor, migrated):
    revert = actions.do_start_legacy_migration_revert(actor=sample_actor, run=migrated, background=False)
    edited = Case.objects.for_company(sample_company).order_by("pk").first()
    Case.objects.for_company(sample_company).filter(pk=edited.pk).update(updated_at=timezone.now() + timezone.timedelta(minutes=5))
    assert engine.execute_run(revert.pk) == RunStatus.FAILED
    revert.refresh_from_db()
    migrated.refresh_from_db()
    assert (revert.error_code, migrated.status, live(sample_company)) == ("edited_since", RunStatus.COMPLETED, (20, 19))


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("legacy-migrate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_revert_command_can_leave_the_revert_to_a_worker(sample_company, migrated, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        out, _err = cli("revert", str(migrated.pk), "--no-wait")
    # then: started and enqueued; nothing reverted yet
    revert = Run.objects.for_company(sample_company).get(kind="legacy_migration_revert")
    assert out.strip() == f"run {migrated.pk}: revert {revert.pk} started; follow it with `estatecrm legacy-migrate runs`"
    assert (revert.status, len(callbacks), live(sample_company)) == (RunStatus.PENDING, 1, (20, 19))
    # when: a worker runs it
    callbacks[0]()
    # then
    migrated.refresh_from_db()
    assert (migrated.status, live(sample_company)) == (RunStatus.REVERTED, (0, 0))


def test_a_revert_command_whose_revert_failed_exits_with_3(sample_company, migrated, monkeypatch):
    def refuse(job, batch):
        raise RuntimeError("disk full")

    monkeypatch.setattr(LegacyMigrationRevertJob, "write", refuse)
    with pytest.raises(CommandError) as raised:
        cli("revert", str(migrated.pk))
    revert = Run.objects.for_company(sample_company).get(kind="legacy_migration_revert")
    assert (revert.status, raised.value.returncode, live(sample_company)) == (RunStatus.FAILED, 3, (20, 19))
