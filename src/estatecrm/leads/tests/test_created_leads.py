"""A lead the import creates is carried by its case (source "run:row"), not by a ledger entry: a resumed import
knows the leads its earlier batches created, a revert finds them, and imports written before that change
(a ledger entry per created lead too) revert with the same counts."""

from collections import Counter

import pytest
from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, Contact, ContactPoint, Customer
from estatecrm.dedup.merge import MergeRequest, do_merge_cases
from estatecrm.leads import actions
from estatecrm.leads.choices import SOURCE_SYSTEM
from estatecrm.leads.jobs import LeadImportJob
from estatecrm.leads.selectors import created_leads, row_outcomes
from estatecrm.leads.tests.accounting import written_rows
from estatecrm.pipeline import engine
from estatecrm.pipeline.choices import LedgerOutcome, RunStatus
from estatecrm.pipeline.models import LedgerEntry, Run

pytestmark = pytest.mark.django_db

# Rows 2-9 of the file; later rows repeat earlier ones across batches of 2 rows: the same lead (a contact is
# added to it), a phone of another lead (a duplicate within the file), an e-mail address of another lead.
ROWS = [
    ("A商事", "受付", "03-1111-0001", "a@example.jp", ""),
    ("B物産", "受付", "03-2222-0002", "", ""),
    ("C不動産", "受付", "03-3333-0003", "", ""),
    ("A商事", "総務", "03-1111-0009", "", ""),
    ("D建設", "受付", "03-2222-0002", "", ""),
    ("E興業", "受付", "03-5555-0005", "a@example.jp", ""),
    ("F住宅", "受付", "03-6666-0006", "", ""),
    ("C不動産", "経理", "03-3333-0010", "", ""),
]


class Crash(BaseException):
    """Stands for the worker dying: not an Exception, so the engine cannot record a failure."""


def start(actor, path, project, **options) -> Run:
    run = actions.do_start_lead_import(actor=actor, path=path, file_name=path.name, project=project, background=False,
                                       duplicate_keys=["name", "phone", "email"], on_duplicate="skip", **options)
    Run.objects.for_company(run.company_id).filter(pk=run.pk).update(params={**run.params, "batch_rows": 2})
    return run


def holdings(company) -> tuple:
    """Per customer (by name): its contacts and phones; the number of cases."""
    with company_scope(company):
        customers = sorted(
            (customer.name, tuple(sorted(Contact.objects.filter(customer=customer).values_list("name", flat=True))),
             tuple(sorted(ContactPoint.objects.filter(customer=customer).values_list("normalized", flat=True))))
            for customer in Customer.objects.all())
        return customers, Case.objects.count()


def clear(company) -> None:
    with company_scope(company):
        Case.objects.all().delete()
        ContactPoint.objects.all().delete()
        Contact.objects.all().delete()
        Customer.objects.all().delete()


def test_an_import_resumed_after_a_crash_knows_the_leads_its_committed_batches_created(company, admin_actor, project, write_csv,
                                                                                       monkeypatch):
    # given: the import uninterrupted, as the reference
    path = write_csv(ROWS)
    reference = start(admin_actor, path, project)
    assert engine.execute_run(reference.pk) == RunStatus.COMPLETED
    reference.refresh_from_db()
    expected = holdings(company)
    assert (reference.counts["leads_created"], reference.counts["skipped_duplicates"], reference.counts["contacts_added_to_leads"]) == (4, 2, 2)
    clear(company)
    # when: the same import's worker dies after its second batch committed (rows 2-5), and another resumes it
    write, calls = LeadImportJob.write, Counter()

    def dying_write(job, batch):
        calls["write"] += 1
        if calls["write"] == 3:
            raise Crash()
        return write(job, batch)

    monkeypatch.setattr(LeadImportJob, "write", dying_write)
    run = start(admin_actor, path, project)
    with pytest.raises(Crash):
        engine.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.checkpoint) == (RunStatus.RUNNING, 5)
    monkeypatch.setattr(LeadImportJob, "write", write)
    Run.objects.for_company(company).filter(pk=run.pk).update(heartbeat_at=timezone.now() - engine.stale_after() * 2)
    assert engine.execute_run(run.pk) == RunStatus.COMPLETED
    # then: the rows after the crash found the leads of the rows before it as the uninterrupted import did
    run.refresh_from_db()
    assert run.counts == reference.counts
    assert holdings(company) == expected
    assert written_rows(run) == Counter(range(2, 10))
    # no ledger entry for a created lead: its case carries the run and the row
    assert not LedgerEntry.objects.for_company(company).filter(run=run, outcome=LedgerOutcome.CREATED).exists()
    with company_scope(company):
        assert sorted(Case.objects.filter(source_system=SOURCE_SYSTEM).values_list("source_id", flat=True)) == [
            f"{run.pk}:{row}" for row in (2, 3, 4, 8)]


def test_a_forced_revert_trashes_a_linked_case_but_not_the_existing_customer_it_was_linked_to(company, admin_actor, project, write_csv):
    # given: an existing lead, and an import whose lead a 名寄せ link then moved to the existing customer
    first = start(admin_actor, write_csv([("既存商事", "受付", "03-1111-0001", "", "")], name="first.csv"), project)
    engine.execute_run(first.pk)
    run = start(admin_actor, write_csv([("新規商事", "受付", "03-2222-0002", "", ""), ("別件商事", "受付", "03-3333-0003", "", "")]), project)
    engine.execute_run(run.pk)
    run.refresh_from_db()
    with company_scope(company):
        existing = Customer.objects.get(name="既存商事")
        existing_case = Case.objects.get(customer=existing)
        imported = Customer.objects.get(name="新規商事")
        linked_case = Case.objects.get(customer=imported)
    do_merge_cases(acting_user=admin_actor.user, request=MergeRequest(survivor_id=existing_case.pk, case_ids=[linked_case.pk], integrate=False))
    with company_scope(company):
        assert Case.objects.get(pk=linked_case.pk).customer_id == existing.pk
    # when: the import is reverted anyway
    counts = actions.do_revert_lead_import(actor=admin_actor, run=run, force=True)
    # then: both cases it created are in the trash, with the customer it created that has no case left; the
    # existing customer and its own case stay
    with company_scope(company):
        assert Case.objects.get(pk=linked_case.pk).deleted_at is not None
        assert Customer.objects.get(name="別件商事").deleted_at is not None
        assert (Customer.objects.get(pk=existing.pk).deleted_at, Case.objects.get(pk=existing_case.pk).deleted_at) == (None, None)
    assert counts["leads_trashed"] == 1


def test_an_import_written_with_a_ledger_entry_per_created_lead_reverts_with_the_same_counts(company, admin_actor, project, write_csv):
    # given: an import as versions before 2026-12 wrote it: a ledger entry for each lead it created as well
    run = start(admin_actor, write_csv(ROWS), project)
    engine.execute_run(run.pk)
    run.refresh_from_db()
    created = sorted(created_leads(company.pk, run.pk, 0, 9))
    LedgerEntry.objects.bulk_create(
        LedgerEntry(company_id=company.pk, run=run, source_system=SOURCE_SYSTEM, source_key=f"{run.pk}:{row}", row_number=row,
                    outcome=LedgerOutcome.CREATED, target_type="crm.customer", target_id=customer_id)
        for row, _case, customer_id in created)
    assert written_rows(run) == Counter(range(2, 10))
    assert Counter(outcome for _row, outcome in row_outcomes(run)) == {"created": 4, "skipped": 2, "updated": 2}
    # when
    counts = actions.do_revert_lead_import(actor=admin_actor, run=run)
    # then: each row undone once
    revert = Run.objects.for_company(company).filter(kind="lead_import_revert").get()
    assert (revert.status, revert.rows_total, revert.rows_done) == (RunStatus.COMPLETED, 8, 8)
    assert counts["leads_trashed"] == 4
    with company_scope(company):
        assert not Customer.objects.filter(deleted_at__isnull=True).exists()
        assert not Case.objects.filter(deleted_at__isnull=True).exists()
