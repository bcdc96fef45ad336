"""A legacy migration keeps the 名寄せ candidates current (one refresh per batch), and its revert takes them away."""

import pytest

from estatecrm.crm.models import Case, DuplicateCandidate
from estatecrm.legacy import actions
from estatecrm.legacy.tests.bundles import case_bundle, case_row, customer_row
from estatecrm.pipeline import engine
from estatecrm.pipeline.choices import RunStatus

pytestmark = pytest.mark.django_db


def candidates(company) -> list[tuple]:
    """(source case id, source case id, rule, key) of every stored pair."""
    source_of = dict(Case.objects.for_company(company).values_list("pk", "source_id"))
    return sorted((source_of[a], source_of[b], rule, key) for a, b, rule, key in
                  DuplicateCandidate.objects.for_company(company).values_list("case_a_id", "case_b_id", "rule", "key"))


def test_migrated_customers_sharing_a_phone_become_candidates_across_batches_and_leave_on_revert(sample_company, sample_actor, units,
                                                                                                  tmp_path):
    # given: four customers in batches of two cases; C1 and C4 (in different batches) have one mobile, C2 and C3 others
    customers = [customer_row(1, 電話番号="090-1111-2222"), customer_row(2, 電話番号="090-3333-4444"),
                 customer_row(3, 電話番号="090-5555-6666"), customer_row(4, 電話番号="09011112222")]
    path = case_bundle(tmp_path / "bundle.zip", [case_row(number) for number in range(1, 5)], customers)
    run = actions.do_start_legacy_migration(actor=sample_actor, path=path, file_name="b.zip", org_unit=units["HQ"], background=False)
    run.params = {**run.params, "batch_cases": 2}
    run.save(update_fields=["params"])
    # when
    assert engine.execute_run(run.pk) == RunStatus.COMPLETED
    # then
    assert candidates(sample_company) == [("T1", "T4", "phone", "+819011112222")]
    assert sorted(Case.objects.for_company(sample_company).filter(has_duplicates=True).values_list("source_id", flat=True)) == ["T1", "T4"]
    # when
    revert = actions.do_start_legacy_migration_revert(actor=sample_actor, run=run, background=False)
    assert engine.execute_run(revert.pk) == RunStatus.COMPLETED
    # then
    assert candidates(sample_company) == []
    assert not Case.objects.for_company(sample_company).filter(has_duplicates=True).exists()
