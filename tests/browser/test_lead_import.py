"""The lead import journey in a real browser: upload a CP932 CSV, fix the mapping, dry run, start,
watch it finish, download the failed rows, revert."""

import pytest

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.models import Customer
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "会社名,担当者,電話番号,携帯,メール\r\n"
    "株式会社ABC,本社,03-1234-5678,090-1111-2222,info@abc.example.jp\r\n"
    "田中家,田中 一郎,03-0000,090-3333-4444,\r\n"
    "髙﨑商店,髙﨑 次郎,03-5555-6666,123,\r\n"
).encode("cp932")


@pytest.fixture
def office(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    company = testing.make_company("brw", "ブラウザ不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    admin = testing.make_user(company, hq, role=Role.ADMIN, email="admin@brw.example.jp", name="管理 花子", password=PASSWORD)
    project, _ = do_upsert_project(company=company, name="春の反響リスト")
    return {"company": company, "admin": admin, "project": project}


def count(page, key: str, testid: str) -> str:
    return page.locator(f"[data-testid={testid}] [data-count={key}]").inner_text()


def test_admin_imports_a_cp932_list_fixes_the_mapping_dry_runs_starts_downloads_failures_and_reverts(page, office, tmp_path):
    # given
    source = tmp_path / "見込み客.csv"
    source.write_bytes(CSV)
    log_in(page, "admin@brw.example.jp", PASSWORD)
    with page.expect_navigation():
        page.click("nav.mainnav a[href='/imports/']")
    with page.expect_navigation():
        page.click(".page-head a[href='/imports/new/']")
    # when: step 1, the file and the project
    page.set_input_files("input[name=file]", str(source))
    page.select_option("select[name=project]", str(office["project"].pk))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    # then: the detected encoding and the suggested mapping
    assert page.locator("[data-testid=detected-encoding]").inner_text() == "Shift_JIS (CP932)"
    assert page.locator("select[name=map_phone]").input_value() == "電話番号"
    assert page.locator("select[name=map_lead_name]").input_value() == "会社名"
    # when: the mobile column is the phone to import; dry run
    page.select_option("select[name=map_phone]", "携帯")
    with page.expect_navigation():
        page.click("[data-testid=dry-run]")
    # then: counts and the row error, nothing written
    assert count(page, "leads_created", "dry-run-counts") == "2"
    assert count(page, "failed", "dry-run-counts") == "1"
    issues = page.locator("[data-testid=dry-run-issues] tbody tr").all_inner_texts()
    assert len(issues) == 1 and issues[0].startswith("4") and "電話番号が正しくありません" in issues[0]
    assert page.locator("select[name=map_phone]").input_value() == "携帯"
    assert Run.objects.unscoped().count() == 0
    # when: start
    with page.expect_navigation():
        page.click("[data-testid=start]")
    # then: the progress page ends with the result
    page.wait_for_selector("[data-testid=run-status][data-status=completed_with_failures]")
    assert count(page, "leads_created", "counts") == "2"
    with company_scope(office["company"]):
        assert sorted(Customer.objects.values_list("name", flat=True)) == ["株式会社ABC", "田中家"]
    # when: download the failed rows
    with page.expect_download() as download:
        page.click("[data-testid=failed-rows]")
    path = tmp_path / "failed.csv"
    download.value.save_as(path)
    # then: the original cells and the reason, in the file's encoding
    assert path.read_bytes().decode("cp932").splitlines() == [
        "会社名,担当者,電話番号,携帯,メール,エラー内容", "髙﨑商店,髙﨑 次郎,03-5555-6666,123,,携帯: 電話番号が正しくありません。"]
    # when: revert
    with page.expect_navigation():
        page.click("[data-testid=revert]")
    with page.expect_navigation():
        page.click("[data-testid=confirm-revert]")
    # then
    assert page.locator("[data-testid=run-status]").get_attribute("data-status") == "reverted"
    with company_scope(office["company"]):
        assert Customer.objects.filter(deleted_at__isnull=True).count() == 0


def test_the_import_pages_fit_a_phone_screen(page, office):
    # given
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, "admin@brw.example.jp", PASSWORD)
    # when
    page.goto("/imports/new/")
    # then: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.goto("/imports/do-not-call/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
