"""Two imports of one company at once check duplicates against each other: with `skip`, each lead once."""

import os

import pytest

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, Customer
from estatecrm.leads import actions
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.pipeline.testing import start_execute_run, wait_for, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 400


def test_two_imports_of_one_file_at_once_create_each_lead_once(company, company_admin, admin_actor, project, tmp_path):
    # given: two imports of the same list into one project, duplicates skipped, throttled so that they
    # overlap (batches of 100 rows, one a second; the reading process looks a few batches ahead)
    path = tmp_path / "leads.csv"
    lines = ["会社名,担当者,電話番号"] + [f"株式会社並行{n},担当{n},03-5{n // 10000:03d}-{n % 10000:04d}" for n in range(ROWS)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp932")
    runs = [actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, on_duplicate="skip",
                                         background=False) for _ in range(2)]
    for run in runs:
        Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "rate": 100, "batch_rows": 100})
    environment = worker_environment()
    # when: two processes run them at the same time
    processes = [start_execute_run(environment, tmp_path / f"run-{run.pk}.log", run.pk) for run in runs]
    try:
        assert wait_for(lambda: all(process.poll() is not None for process in processes), timeout=120)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    # then: every lead exists once; between them, the two runs created each once and skipped each once
    finished = [Run.objects.for_company(company).get(pk=run.pk) for run in runs]
    assert [run.status for run in finished] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
    assert sum(run.counts.get("leads_created", 0) for run in finished) == ROWS
    assert sum(run.counts.get("skipped_duplicates", 0) for run in finished) == ROWS
    with company_scope(company):
        assert Customer.objects.count() == ROWS
        assert Customer.objects.values("name").distinct().count() == ROWS
        assert Case.objects.count() == ROWS
        # the company's case numbers: each once, 1 to ROWS, whichever run wrote which batch
        assert sorted(Case.objects.values_list("number", flat=True)) == list(range(1, ROWS + 1))


def test_an_import_alone_never_looks_its_duplicates_up_twice(company, company_admin, admin_actor, project, tmp_path, monkeypatch):
    # given: an import of 10 batches, its candidates looked up by the reading process (its own connection)
    from estatecrm.leads import jobs
    from estatecrm.pipeline.engine import execute_run

    looked_up_here = []
    candidate_matches = jobs.candidate_matches

    def counted(*args):
        looked_up_here.append(os.getpid())
        return candidate_matches(*args)

    monkeypatch.setattr(jobs, "candidate_matches", counted)
    path = tmp_path / "leads.csv"
    lines = ["会社名,担当者,電話番号"] + [f"株式会社単独{n},担当{n},03-6{n // 10000:03d}-{n % 10000:04d}" for n in range(1000)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp932")
    run = actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, background=False)
    Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "batch_rows": 100})
    # when
    assert execute_run(run.pk) == RunStatus.COMPLETED
    # then: the writer (this process) took every batch's lookup as current: no second lookup under the lock
    assert looked_up_here == []
    with company_scope(company):
        assert Customer.objects.count() == 1000


def test_an_import_numbers_its_cases_after_the_company_s_and_a_revert_does_not_give_them_back(
        company, org, company_admin, admin_actor, project, tmp_path):
    from estatecrm.core import testing
    from estatecrm.pipeline.engine import execute_run

    # given: one case typed on a page, then an import of 3 leads in batches of 2
    typed = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    path = tmp_path / "leads.csv"
    path.write_text("会社名,担当者,電話番号\r\n" + "".join(f"株式会社番号{n},担当{n},03-5555-000{n}\r\n" for n in range(3)), encoding="cp932")
    run = actions.do_start_lead_import(actor=admin_actor, path=path, file_name=path.name, project=project, background=False)
    Run.objects.for_company(company).filter(pk=run.pk).update(params={**run.params, "batch_rows": 2})
    # when
    assert execute_run(run.pk) == RunStatus.COMPLETED
    actions.do_revert_lead_import(actor=admin_actor, run=Run.objects.for_company(company).get(pk=run.pk), force=True)
    after_revert = testing.make_case(company, org["SBY"], main_assignee=company_admin, customer_name="後 太郎")
    # then
    with company_scope(company):
        imported = sorted(Case.objects.filter(origin="lead_import").values_list("number", flat=True))
    assert (typed.number, imported, after_revert.number) == (1, [2, 3, 4], 5)
