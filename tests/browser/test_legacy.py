"""Data migration journey in a real browser: upload the sample bundle, check the counts, run a full
migration, follow it to its end, open the migrated cases."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from estatecrm.crm.models import Case
from estatecrm.crm.tenant_file import parse_tenant_file
from estatecrm.crm.tenant_setup import do_apply_tenant_spec
from estatecrm.tenancy.models import Company, OrgUnit

from .test_login import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# `../shared/legacy-export/sample/` relative to the project root.
SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "legacy-export" / "sample"
ADMIN_EMAIL = "admin@example-fudosan.jp"
ADMIN_PASSWORD = "Adm1n-pass-4-eval"  # tenant.yaml


@pytest.fixture
def sample_office(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    parsed = parse_tenant_file((SAMPLE / "tenant.yaml").read_bytes())
    assert parsed.is_valid, parsed.errors
    company = Company.objects.get(code=do_apply_tenant_spec(parsed.spec).company_code)
    return {"company": company, "hq": OrgUnit.objects.for_company(company).get(code="HQ")}


def test_admin_uploads_the_bundle_runs_a_full_migration_and_opens_the_migrated_cases(page, sample_office):
    # given
    company, hq = sample_office["company"], sample_office["hq"]
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/settings/units/{hq.pk}/")
    # when: Settings > org unit > onboarding: data migration, upload the bundle
    with page.expect_navigation():
        page.click("[data-testid=migration-link]")
    page.set_input_files("[data-testid=upload-form] input[name=bundle]", str(SAMPLE / "sample-bundle.zip"))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    # then: the pre-flight counts
    assert page.locator("[data-testid=stored-bundle] strong").inner_text() == "sample-bundle.zip"
    assert page.locator("[data-testid=eligible-full-total]").inner_text() == "20"
    assert page.locator("[data-testid=unmatched-staff] tbody tr").count() == 3
    # when: ② full migration, no start date
    with page.expect_navigation():
        page.click("[data-testid=preflight] a.button.primary")
    with page.expect_navigation():
        page.click("[data-testid=full-form] button[type=submit]")
    # then: the run page shows the finished run (the task ran where it was enqueued)
    assert "/runs/" in page.url
    assert page.locator("[data-testid=run-progress]").count() == 0
    assert page.locator("[data-testid=run-counts] [data-count=source_cases]").inner_text() == "40"
    assert page.locator("[data-testid=run-counts] [data-count=migrated]").inner_text() == "20"
    assert page.locator("[data-testid=report-link]").is_visible()
    assert page.locator("[data-testid=abort]").count() == 0
    # when: ④ migrated data, then the migrated count
    with page.expect_navigation():
        page.click("[data-testid=migration-steps] a:nth-child(4)")
    assert page.locator("[data-testid=run-list] tbody tr").count() == 1
    with page.expect_navigation():
        page.click("[data-testid=migrated-link]")
    # then: the migrated customers, each linking to its case
    rows = page.locator("[data-testid=run-cases] tbody tr")
    assert rows.count() == 20
    first_link = rows.first.locator("td:nth-child(2) a:not(.duplicate-flag)")
    href = first_link.get_attribute("href")
    case = Case.objects.for_company(company).get(pk=int(href.strip("/").rsplit("/", 1)[1]))
    assert first_link.inner_text() == case.customer.name
    with page.expect_navigation():
        first_link.click()
    assert page.url.endswith(f"/cases/{case.pk}/")


def test_the_run_page_follows_a_running_migration_until_it_ends(page, sample_office):
    # given a run that a worker is still on
    from estatecrm.legacy.choices import RUN_KIND
    from estatecrm.pipeline.choices import RunStatus
    from estatecrm.pipeline.models import Run
    from estatecrm.tenancy.models import User

    company, hq = sample_office["company"], sample_office["hq"]
    admin = User.objects.get(email=ADMIN_EMAIL)
    run = Run.objects.create(company=company, kind=RUN_KIND, status=RunStatus.RUNNING, token="browser", created_by=admin,
                             source_name="sample-bundle.zip", params={"org_unit_id": hq.pk, "mode": "full"}, rows_total=40, rows_done=10)
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/settings/units/{hq.pk}/onboarding/migration/runs/{run.pk}/")
    assert page.locator("[data-progress-text]").inner_text() == "10 / 40"
    assert page.locator("[data-testid=abort]").is_visible()
    # when the worker advances, then finishes
    Run.objects.for_company(company).filter(pk=run.pk).update(rows_done=30, counts={"migrated": 25, "source_cases": 30})
    expect(page.locator("[data-progress-text]")).to_have_text("30 / 40")
    expect(page.locator("[data-testid=run-counts] [data-count=migrated]")).to_have_text("25")
    Run.objects.for_company(company).filter(pk=run.pk).update(status=RunStatus.COMPLETED, rows_done=40, finished_at=run.created_at)
    # then the page reloads once with the final state
    page.wait_for_selector("[data-testid=run-progress]", state="detached")
    assert page.locator("[data-testid=abort]").count() == 0
    assert page.locator("[data-testid=revert]").is_visible()


def test_page_one_shows_the_check_in_progress_then_the_counts_when_a_worker_has_done_it(page, sample_office, settings):
    # given: tasks wait in the database for a worker (instead of running where they are enqueued)
    from django.core.management import call_command

    settings.TASKS = {**settings.TASKS, "default": settings.TASKS["database"]}
    hq = sample_office["hq"]
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(f"/settings/units/{hq.pk}/onboarding/migration/")
    # when: the admin uploads the bundle
    page.set_input_files("[data-testid=upload-form] input[name=bundle]", str(SAMPLE / "sample-bundle.zip"))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    # then: page ① shows the check waiting for a worker, no counts, no way to start
    expect(page.locator("[data-testid=preflight-stage]")).to_have_attribute("data-stage", "queued")
    assert page.locator("[data-testid=preflight]").count() == 0
    assert page.locator("[data-testid=preflight-elapsed]").inner_text().startswith("0:")
    # when: a worker runs the task
    call_command("db_worker", "--batch", "--no-startup-delay", "--backend", "default", "--interval", "0.1")
    # then: the page notices by itself and shows the counts
    expect(page.locator("[data-testid=eligible-full-total]")).to_have_text("20", timeout=15000)
    assert page.locator("[data-testid=preflight-progress]").count() == 0
    assert page.locator("[data-testid=preflight] a.button.primary").is_visible()
