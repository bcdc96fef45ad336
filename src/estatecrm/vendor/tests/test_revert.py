"""Reverting each phase as a run: what it created goes, its ledger too, and the phase loads again."""

import datetime

import pytest

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import (
    Activity,
    Case,
    ContactPoint,
    Customer,
    DesiredConditions,
    Introduction,
    Listing,
    ListingStation,
)
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import LedgerEntry
from estatecrm.tenancy.models import User
from estatecrm.vendor import actions, error_codes
from estatecrm.vendor.tests import loading
from estatecrm.vendor.tests.packages import template_package

pytestmark = pytest.mark.django_db
jp_agents = loading.jp_agents  # a fixture


def load(user, company, path, phase="active", **options):
    started = actions.do_start_import(user, company, path, "template", phase=phase, background=False, **options)
    execute_run(started.run.pk)
    started.run.refresh_from_db()
    return started.run


def revert(user, run, batch_records=None):
    revert_run = actions.do_start_revert(user, run, background=False)
    if batch_records:
        revert_run.params = {**revert_run.params, "batch_records": batch_records}
        revert_run.save(update_fields=["params"])
    assert execute_run(revert_run.pk) == RunStatus.COMPLETED, revert_run.error_message
    revert_run.refresh_from_db()
    run.refresh_from_db()
    return revert_run


def table_counts():
    return {model.__name__: model.objects.count() for model in (Listing, ListingStation, Case, Customer, ContactPoint, DesiredConditions,
                                                                 Activity, Introduction)}


def test_revert_each_phase_then_load_again(tmp_path, company, company_admin, jp_agents):
    path = template_package(tmp_path / "package")
    with company_scope(company):
        active = load(company_admin, company, path)
        after_active = table_counts()
        archive = load(company_admin, company, path, "archive")
        after_both = table_counts()
        # the active phase cannot go while the archive phase stands
        with pytest.raises(ApplicationError) as refused:
            actions.do_start_revert(company_admin, active, background=False)
        assert refused.value.code == error_codes.NOT_REVERTIBLE
        # when: the archive phase is reverted (in batches of 2 ledger entries)
        reverted = revert(company_admin, archive, batch_records=2)
        # then: back to the state after the active phase; S-1's last contact is the showing of the active phase again
        assert archive.status == RunStatus.REVERTED and archive.reverted_by == company_admin
        assert table_counts() == after_active
        assert Case.objects.get(source_id="S-1").last_contact_at == datetime.datetime.fromisoformat("2026-10-05T11:00:00+09:00")
        assert reverted.counts == {"activities_removed": 4, "introductions_removed": 1, "cases_deleted": 1, "customers_deleted": 1,
                                   "listings_removed": 1}
        assert not LedgerEntry.objects.filter(run=archive).exists()
        # when: the active phase is reverted too
        revert(company_admin, active)
        assert set(table_counts().values()) == {0}
        assert User.objects.filter(email__in=list(jp_agents)).count() == 2  # existing users are never removed
        assert LedgerEntry.objects.count() == 0
        # when: both phases are loaded again
        again = [load(company_admin, company, path), load(company_admin, company, path, "archive")]
        assert [run.status for run in again] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
        assert table_counts() == after_both
        with pytest.raises(ApplicationError) as refused:
            actions.do_start_revert(company_admin, archive, background=False)  # reverted already
        assert refused.value.code == error_codes.NOT_REVERTIBLE


def test_revert_removes_the_agents_it_created(tmp_path, company, company_admin):
    path = template_package(tmp_path / "package.zip", as_zip=True)
    with company_scope(company):
        active = load(company_admin, company, path, create_agents=True)
        assert User.objects.filter(company=company, is_active=False).count() == 2
        revert(company_admin, active)
        assert not User.objects.filter(email__endswith="@demo.example.jp").exists()
        assert set(table_counts().values()) == {0}


def test_cases_the_office_worked_on_go_to_the_trash(tmp_path, company, company_admin, jp_agents):
    path = template_package(tmp_path / "package")
    with company_scope(company):
        active = load(company_admin, company, path)
        case = Case.objects.get(source_id="S-2")
        Activity.objects.create(company=company, case=case, kind="call", occurred_at=datetime.datetime.now(datetime.UTC), body="入居日の相談")
        revert(company_admin, active)
        case.refresh_from_db()  # (the default manager shows trashed rows too)
        assert case.deleted_at is not None and case.customer.deleted_at is not None
        assert not Case.objects.filter(source_id="S-1").exists()


def test_an_aborted_phase_keeps_what_it_wrote_and_reverts_like_any(tmp_path, company, company_admin, jp_agents):
    path = template_package(tmp_path / "package")
    with company_scope(company):
        started = actions.do_start_import(company_admin, company, path, "template", background=False)
        started.run.params = {**started.run.params, "batch_records": 3}
        started.run.save(update_fields=["params"])
        # when: the abort is asked for once the first batch (the 2 agents and a listing) committed
        status = execute_run(started.run.pk, progress=lambda run: actions.do_abort_import(company_admin, run))
        run = started.run
        run.refresh_from_db()
        # then: the run stops after that batch, with its outcomes
        assert (status, run.rows_done, run.rows_total) == (RunStatus.ABORTED, 3, 8)
        assert (Listing.objects.count(), Case.objects.count()) == (1, 0)
        # an aborted phase reverts, and the phase loads again in full
        revert(company_admin, run)
        assert Listing.objects.count() == 0
        again = load(company_admin, company, path)
        assert (again.status, again.counts["listings:loaded"], again.counts["seekers:loaded"]) == (RunStatus.COMPLETED, 2, 2)


class Crash(BaseException):
    """The process dies in the middle of a batch (nothing of the batch commits, the run stays running)."""


def test_a_revert_that_crashed_resumes_after_its_last_batch(tmp_path, company, company_admin, jp_agents, monkeypatch):
    from django.utils import timezone

    from estatecrm.pipeline.models import Run
    from estatecrm.vendor.jobs import VendorImportRevertJob

    path = template_package(tmp_path / "package")
    with company_scope(company):
        active = load(company_admin, company, path)
        revert_run = actions.do_start_revert(company_admin, active, background=False)
        revert_run.params = {**revert_run.params, "batch_records": 3}
        revert_run.save(update_fields=["params"])
        write, calls = VendorImportRevertJob.write, []

        def crashing(job, batch):
            calls.append(len(batch.rows))
            if len(calls) == 2:
                raise Crash
            return write(job, batch)

        monkeypatch.setattr(VendorImportRevertJob, "write", crashing)
        with pytest.raises(Crash):
            execute_run(revert_run.pk)
        revert_run.refresh_from_db()
        assert (revert_run.status, revert_run.rows_done) == (RunStatus.RUNNING, 3)
        # when: the run looks stale and is executed again
        monkeypatch.setattr(VendorImportRevertJob, "write", write)
        Run.objects.filter(pk=revert_run.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(hours=1))
        assert execute_run(revert_run.pk) == RunStatus.COMPLETED
        # then: everything the phase wrote is gone, each ledger entry handled once
        revert_run.refresh_from_db()
        # the ledger entries: 2 agents, 2 listings, 2 seekers, 2 links and the showing of the viewed one
        assert revert_run.rows_done == revert_run.rows_total == 9
        assert set(table_counts().values()) == {0}
        active.refresh_from_db()
        assert active.status == RunStatus.REVERTED


def test_what_the_office_changed_since_is_named_and_reverted_only_when_forced(tmp_path, company, company_admin, jp_agents):
    with company_scope(company):
        run = load(company_admin, company, template_package(tmp_path / "package"))
        later = run.finished_at + datetime.timedelta(minutes=5)
        Case.objects.filter(source_id="S-1").update(updated_at=later)  # an agent worked on it after the load
        Listing.objects.filter(ref="L-1002").update(updated_at=later)
        with pytest.raises(ApplicationError) as refused:
            actions.do_start_revert(company_admin, run, background=False)
        assert refused.value.code == error_codes.EDITED_SINCE
        assert "S-1" in refused.value.message and "L-1002" in refused.value.message and "S-2" not in refused.value.message
        assert [entity for entity, _source, _target in actions.edited_since(run)] == ["seekers", "listings"]

        forced = actions.do_start_revert(company_admin, run, force=True, background=False)
        assert execute_run(forced.pk) == RunStatus.COMPLETED
        run.refresh_from_db()
        assert run.status == RunStatus.REVERTED
        assert not Listing.objects.filter(ref="L-1002").exists()
        assert Case.objects.get(source_id="S-1").deleted_at is not None  # the changed case went to the trash, not away
