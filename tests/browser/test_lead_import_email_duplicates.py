"""A lead whose e-mail address an existing customer has, in a real browser at desktop and phone widths: the
dry run flags it as a strong match by e-mail, the row is decided on the page, the import follows the decision."""

import pytest

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.models import Customer
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "氏名,電話番号,メール\r\n"
    "渡邊 髙志,090-1234-5678,takashi@example.jp\r\n"
    "佐藤 花子,080-2222-3333,Hanako@Example.JP\r\n"
).encode("cp932")


@pytest.fixture
def office(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    company = testing.make_company("eml", "メール不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@eml.example.jp", name="管理 花子", password=PASSWORD)
    project, _ = do_upsert_project(company=company, name="来店客リスト", case_kind="rent", customer_kind="person")
    # the same address as the file's 佐藤 花子, under another name and phone
    existing = testing.make_case(company, hq, customer_name="高橋 健", phones=(("mobile", "090-7777-0000"),), emails=("hanako@example.jp",))
    return {"company": company, "project": project, "existing": existing}


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dry_run_flags_the_same_email_as_a_strong_duplicate_and_the_row_decision_skips_it(page, office, tmp_path, width):
    # given
    page.set_viewport_size({"width": width, "height": 900})
    source = tmp_path / "来店客.csv"
    source.write_bytes(CSV)
    log_in(page, "admin@eml.example.jp", PASSWORD)
    page.goto("/imports/new/")
    page.set_input_files("input[name=file]", str(source))
    page.select_option("select[name=project]", str(office["project"].pk))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    # then: the e-mail address is one of the keys, checked at first
    assert page.locator("input[name=duplicate_keys][value=email]").is_checked()
    assert page.locator("select[name=map_email]").input_value() == "メール"
    # when
    with page.expect_navigation():
        page.click("[data-testid=dry-run]")
    # then: one row flagged, a strong match by e-mail, linked to the existing case
    rows = page.locator("[data-testid=duplicate-rows] tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").first.inner_text().strip() == "3"
    assert rows.first.locator("[data-match=strong]").count() == 1
    assert "hanako@example.jp" in rows.first.inner_text()
    assert rows.first.locator("[data-testid=existing-case]").get_attribute("href") == f"/cases/{office['existing'].pk}/"
    fits(page, width)
    # when: that row skipped, the import started
    page.select_option("select[name=decision_3]", "skip")
    with page.expect_navigation():
        page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=run-status][data-status=completed]", timeout=30_000)
    fits(page, width)
    # then: only 渡邊 髙志 is new
    with company_scope(office["company"]):
        assert sorted(Customer.objects.values_list("name", flat=True)) == ["渡邊 髙志", "高橋 健"]
