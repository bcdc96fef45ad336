"""A lead import keeps the 名寄せ candidates current (one refresh per batch), and its revert takes them away."""

import pytest
from django.utils import timezone

from estatecrm.crm import duplicates
from estatecrm.crm.models import Case, Customer, DuplicateCandidate, DuplicateDismissal
from estatecrm.leads import actions
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import Run

pytestmark = pytest.mark.django_db


def run_import(actor, path, project, **options):
    run = actions.do_start_lead_import(actor=actor, path=path, file_name=path.name, project=project, background=False, **options)
    execute_run(run.pk)
    run.refresh_from_db()
    return run


def candidates(company) -> list[tuple]:
    """(customer name, customer name, rule, key) of every stored pair."""
    name_of = dict(Case.objects.for_company(company).values_list("pk", "customer__name"))
    return sorted((name_of[a], name_of[b], rule, key) for a, b, rule, key in
                  DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule", "key"))


def test_imported_leads_sharing_a_phone_or_an_e_mail_with_existing_ones_become_candidates(company, admin_actor, project, write_csv):
    # given: an existing lead
    run_import(admin_actor, write_csv([("A商事", "受付", "03-1234-5678", "info@a.example.jp", "1")], name="first.csv"), project)
    # when: a second file adds its duplicates (policy "add")
    run = run_import(admin_actor, write_csv([
        ("B商事", "営業部", "03-1234-5678", "b@b.example.jp", ""),
        ("C商事", "総務部", "06-1111-2222", "INFO@A.EXAMPLE.JP", ""),
        ("D商事", "経理部", "06-1111-2222", "d@d.example.jp", ""),
    ]), project, on_duplicate="add")
    # then
    assert run.counts["leads_created"] == 3
    assert candidates(company) == [
        ("A商事", "B商事", "phone", "+81312345678"),
        ("A商事", "C商事", "email", "info@a.example.jp"),
        ("C商事", "D商事", "phone", "+81611112222"),
    ]
    assert sorted(Case.objects.for_company(company).filter(has_duplicates=True).values_list("customer__name", flat=True)) == [
        "A商事", "B商事", "C商事", "D商事"]
    # when: the second import is reverted
    revert = actions.do_start_lead_import_revert(actor=admin_actor, run=run, background=False)
    execute_run(revert.pk)
    # then: its leads are in the trash, and so out of the candidates
    assert Customer.objects.for_company(company).filter(deleted_at__isnull=True).count() == 1
    assert candidates(company) == []
    assert not Case.objects.for_company(company).filter(has_duplicates=True).exists()


def test_candidates_across_batches_match_a_computation_from_scratch(company, admin_actor, project, write_csv):
    """Each batch refreshes its new leads without looking up stored rows of theirs (they have none); the stored
    rows of the existing customers they meet still change: a dismissed pair stays away, a number crossing the
    shared threshold drops the earlier pairs."""
    # given: two existing leads sharing a number, their pair dismissed, and a third sharing a switchboard
    run_import(admin_actor, write_csv([("A商事", "受付", "03-1234-5678", "", ""), ("B商事", "受付", "03-1234-5678", "", ""),
                                       ("C商事", "受付", "06-9999-0000", "", "")], name="first.csv"), project)
    first, second = Case.objects.for_company(company).order_by("pk")[:2]
    DuplicateDismissal.objects.create(company=company, case_a=first, case_b=second, dismissed_at=timezone.now())
    duplicates.refresh_customers(company.pk, [first.customer_id])
    assert candidates(company) == []
    # when: a file in batches of two adds a third holder of A's number and four more holders of C's (five: shared)
    run = actions.do_start_lead_import(actor=admin_actor, path=write_csv([
        ("D商事", "営業部", "03-1234-5678", "", ""), ("E商事", "営業部", "06-9999-0000", "", ""),
        ("F商事", "営業部", "06-9999-0000", "", ""), ("G商事", "営業部", "06-9999-0000", "", ""),
        ("H商事", "営業部", "06-9999-0000", "", ""),
    ]), file_name="second.csv", project=project, background=False, on_duplicate="add")
    Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "batch_rows": 2})
    execute_run(run.pk)
    # then: what the batches left is what a computation from scratch stores
    kept = candidates(company), sorted(Case.objects.for_company(company).filter(has_duplicates=True).values_list("pk", flat=True))
    assert kept[0] == [("A商事", "D商事", "phone", "+81312345678"), ("B商事", "D商事", "phone", "+81312345678")]
    DuplicateCandidate.objects.for_company(company).delete()
    Case.objects.for_company(company).update(has_duplicates=False)
    duplicates.refresh_company(company.pk)
    assert (candidates(company), sorted(Case.objects.for_company(company).filter(has_duplicates=True).values_list("pk", flat=True))) == kept
