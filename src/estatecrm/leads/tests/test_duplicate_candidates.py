"""A lead import keeps the 名寄せ candidates current (one refresh per batch), and its revert takes them away."""

import pytest

from estatecrm.crm.models import Case, Customer, DuplicateCandidate
from estatecrm.leads import actions
from estatecrm.pipeline.engine import execute_run

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
