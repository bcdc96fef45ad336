"""Two users merging overlapping cases at the same time: one succeeds, the other gets `merge_conflict` and
nothing half-done (the cases are locked in pk order and checked live inside the lock)."""

import threading

import pytest
from django.db import connection
from django.db.models import Count

from estatecrm.core import testing
from estatecrm.core.errors import Conflict
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Activity, Case
from estatecrm.dedup import merge as merge_module
from estatecrm.dedup.merge import MergeRequest, do_merge_cases, do_undo_merge
from estatecrm.dedup.models import Merge
from estatecrm.dedup.tests.factories import add_history


def run_together(monkeypatch, calls) -> tuple[list, list]:
    """Run the calls in threads (own connections) that all pass the checks before the transaction, then race for the locks."""
    barrier = threading.Barrier(len(calls), timeout=20)
    real = merge_module._merge_cases

    def after_the_check(**kwargs):
        barrier.wait()
        return real(**kwargs)

    monkeypatch.setattr(merge_module, "_merge_cases", after_the_check)
    results, errors = [], []

    def call(function):
        try:
            results.append(function())
        except Conflict as error:
            errors.append(error)
        except Exception as error:  # reported by the caller's assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(function,)) for function in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second_survivor", ["other", "reversed"])
def test_two_merges_of_overlapping_cases_at_once(company, org, company_admin, monkeypatch, second_survivor):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the race needs PostgreSQL (test_merge.py's stale merge covers SQLite)")
    # given: a <- b by one user, and c <- b (or b <- a: the same cases in the other order) by another
    a, b, c = (testing.make_case(company, org["SBY"]) for _ in range(3))
    for case in (a, b, c):
        add_history(case, activities=5)
    second = MergeRequest(c.pk, [b.pk], integrate=True) if second_survivor == "other" else MergeRequest(b.pk, [a.pk], integrate=True)
    # when
    results, errors = run_together(monkeypatch, [
        lambda: do_merge_cases(acting_user=company_admin, request=MergeRequest(a.pk, [b.pk], integrate=True)),
        lambda: do_merge_cases(acting_user=company_admin, request=second),
    ])
    # then: one merge, the other refused as a conflict with nothing written
    assert [type(error) for error in errors] == [Conflict]
    assert errors[0].code == "merge_conflict"
    [winner] = results
    with company_scope(company):
        assert Merge.objects.count() == 1
        merged = list(Case.objects.filter(merged_into__isnull=False).values_list("pk", "merged_into_id"))
        assert len(merged) == 1 and merged[0][1] == winner.survivor_id
        counts = dict(Activity.objects.filter(case__deleted_at__isnull=True).values_list("case_id").annotate(n=Count("pk")).order_by())
        assert sorted(counts.values()) == [5, 10]
        assert counts[winner.survivor_id] == 10
        do_undo_merge(acting_user=company_admin, merge_id=winner.pk)
        assert Case.objects.filter(merged_into__isnull=False).count() == 0
