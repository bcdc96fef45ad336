"""A lead import's revert is a background run: progress, exact counts, resumed after a crash, idempotent."""

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, Customer
from estatecrm.leads import actions
from estatecrm.leads.jobs import LeadImportRevertJob
from estatecrm.pipeline import engine
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """Stands for the worker dying: not an Exception, so the engine cannot record a failure."""


def run_import(actor, path, project, **options):
    run = actions.do_start_lead_import(actor=actor, path=path, file_name=path.name, project=project, background=False, **options)
    engine.execute_run(run.pk)
    run.refresh_from_db()
    return run


@pytest.fixture
def overwriting_import(company, admin_actor, project, write_csv):
    """12 new leads, and one existing lead (A商事) overwritten by the import."""
    run_import(admin_actor, write_csv([("A商事", "受付", "03-1234-5678", "", "1")], name="first.csv"), project)
    rows = [("A商事", "総務", "03-1111-1111", "", "9")] + [(f"新規{n}商事", "受付", f"03-2222-{n:04d}", "", "") for n in range(12)]
    return run_import(admin_actor, write_csv(rows), project, duplicate_keys=["name"], on_duplicate="overwrite")


def live_names(company):
    with company_scope(company):
        return sorted(Customer.objects.filter(deleted_at__isnull=True).values_list("name", flat=True))


def test_a_revert_killed_mid_way_resumes_to_the_counts_of_an_uninterrupted_revert(company, admin_actor, overwriting_import, monkeypatch):
    # given: a revert in batches of 5 ledger entries whose worker dies inside its second batch
    monkeypatch.setattr("estatecrm.leads.jobs.REVERT_BATCH", 5)
    write = LeadImportRevertJob.write
    calls = Counter()

    def dying_write(job, batch):
        calls["write"] += 1
        counts = write(job, batch)
        if calls["write"] == 2:
            raise Crash()
        return counts

    monkeypatch.setattr(LeadImportRevertJob, "write", dying_write)
    revert = actions.do_start_lead_import_revert(actor=admin_actor, run=overwriting_import, background=False)
    with pytest.raises(Crash):
        engine.execute_run(revert.pk)
    revert.refresh_from_db()
    assert (revert.status, revert.rows_total, revert.rows_done, revert.counts) == (RunStatus.RUNNING, 13, 5, {"leads_trashed": 5})
    assert len(live_names(company)) == 13 - 5
    # when: a new worker resumes it
    Run.objects.for_company(company).filter(pk=revert.pk).update(heartbeat_at=timezone.now() - engine.stale_after() * 2)
    assert engine.execute_run(revert.pk) == RunStatus.COMPLETED
    # then: every lead undone once, the counts exact, the import reverted once
    revert.refresh_from_db()
    overwriting_import.refresh_from_db()
    assert (revert.rows_done, revert.counts) == (13, {"leads_trashed": 12, "leads_restored": 1})
    assert (overwriting_import.status, overwriting_import.reverted_by) == (RunStatus.REVERTED, admin_actor.user)
    assert live_names(company) == ["A商事"]
    with company_scope(company):
        assert Customer.objects.get(name="A商事").custom_values == {"所有物件数": 1}
        assert Case.objects.filter(deleted_at__isnull=True).count() == 1
        # one time for the whole revert, before and after the crash (the trash restores what went together)
        assert len(set(Customer.objects.filter(deleted_at__isnull=False).values_list("deleted_at", flat=True))) == 1
    events = AuditEvent.objects.for_company(company).filter(verb="revert", object_id=str(overwriting_import.pk))
    assert [event.after for event in events] == [{"leads_trashed": 12, "leads_restored": 1}]


def test_a_second_revert_is_refused_while_one_runs_and_after_it_ended(company, admin_actor, overwriting_import):
    # given: a revert waiting for a worker
    revert = actions.do_start_lead_import_revert(actor=admin_actor, run=overwriting_import, background=False)
    # when / then: a second one is refused, nothing changes
    with pytest.raises(ApplicationError) as raised:
        actions.do_start_lead_import_revert(actor=admin_actor, run=overwriting_import, background=False)
    assert (raised.value.code, raised.value.message) == ("revert_in_progress", f"This import is being reverted already (run #{revert.pk}).")
    assert Run.objects.for_company(company).filter(kind="lead_import_revert").count() == 1
    assert engine.execute_run(revert.pk) == RunStatus.COMPLETED
    with pytest.raises(ApplicationError) as raised:
        actions.do_start_lead_import_revert(actor=admin_actor, run=overwriting_import, background=False)
    assert raised.value.code == "not_revertible"
    assert Run.objects.for_company(company).filter(kind="lead_import_revert").count() == 1


def test_a_lead_edited_after_the_revert_was_requested_stops_it_before_it_changes_anything(company, admin_actor, overwriting_import):
    # given: a revert requested, then a lead edited before a worker takes it
    revert = actions.do_start_lead_import_revert(actor=admin_actor, run=overwriting_import, background=False)
    with company_scope(company):
        edited = Customer.objects.get(name="新規3商事")
    Customer.objects.for_company(company).filter(pk=edited.pk).update(updated_at=timezone.now() + timezone.timedelta(seconds=5))
    # when
    assert engine.execute_run(revert.pk) == RunStatus.FAILED
    # then
    revert.refresh_from_db()
    overwriting_import.refresh_from_db()
    assert (revert.error_code, overwriting_import.status) == ("edited_since", RunStatus.COMPLETED)
    assert revert.error_message == (f"1 imported leads were edited after the import (customer ids: {edited.pk}). "
                                    "Revert with force to undo anyway.")
    assert len(live_names(company)) == 13


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("imports", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_revert_command_waits_for_the_revert_run(company, company_admin, overwriting_import):
    out, _err = cli("revert", str(overwriting_import.pk))
    assert out.strip() == f'import {overwriting_import.pk} reverted: {{"leads_trashed": 12, "leads_restored": 1}}'
    assert Run.objects.for_company(company).get(kind="lead_import_revert").status == RunStatus.COMPLETED


def test_the_revert_command_can_leave_the_revert_to_a_worker(company, company_admin, overwriting_import, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        out, _err = cli("revert", str(overwriting_import.pk), "--no-wait")
    # then: started, enqueued, nothing reverted yet
    revert = Run.objects.for_company(company).get(kind="lead_import_revert")
    assert out.strip() == f"import {overwriting_import.pk}: revert {revert.pk} started; follow it with `estatecrm imports list`"
    assert (revert.status, len(callbacks), len(live_names(company))) == (RunStatus.PENDING, 1, 13)


def test_a_revert_command_whose_revert_failed_exits_with_3(company, company_admin, overwriting_import, monkeypatch):
    def refuse(job, batch):
        raise RuntimeError("disk full")

    monkeypatch.setattr(LeadImportRevertJob, "write", refuse)
    with pytest.raises(CommandError) as raised:
        cli("revert", str(overwriting_import.pk))
    revert = Run.objects.for_company(company).get(kind="lead_import_revert")
    assert (revert.status, raised.value.returncode) == (RunStatus.FAILED, 3)
    assert len(live_names(company)) == 13
