"""A list of people (氏名, フリガナ, 電話番号) imported in a real browser, at desktop and phone widths: the kinds on the
mapping step, a column sent to the note with one click, the run, and the link to the cases it created."""

import pytest

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.models import Case
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "氏名,フリガナ,電話番号,問合せ内容\r\n"
    "渡邊 髙志,ワタナベ タカシ,090-1234-5678,2LDK希望、ペット可\r\n"
    "髙﨑 花子,タカサキ ハナコ,080-2222-3333,駅から徒歩10分以内\r\n"
).encode("cp932")


@pytest.fixture
def office(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    company = testing.make_company("ppl", "ピープル不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@ppl.example.jp", name="管理 花子", password=PASSWORD)
    project, _ = do_upsert_project(company=company, name="来店客リスト", case_kind="rent", customer_kind="person")
    return {"company": company, "project": project}


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_admin_imports_a_list_of_people_keeps_a_column_as_note_and_opens_the_cases(page, office, tmp_path, width, settings):
    # given
    page.set_viewport_size({"width": width, "height": 900})
    source = tmp_path / "来店客.csv"
    source.write_bytes(CSV)
    log_in(page, "admin@ppl.example.jp", PASSWORD)
    page.goto("/imports/new/")
    page.set_input_files("input[name=file]", str(source))
    page.select_option("select[name=project]", str(office["project"].pk))
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    # then: the kinds of the project, the lead named after its contact, the column not imported
    assert page.locator("[data-testid=import-kinds] input[name=case_kind]:checked").get_attribute("value") == "rent"
    assert page.locator("[data-testid=import-kinds] input[name=customer_kind]:checked").get_attribute("value") == "person"
    assert page.locator("select[name=map_lead_name]").input_value() == ""
    assert page.locator("select[name=map_contact_name]").input_value() == "氏名"
    assert page.locator("[data-testid=unmapped-columns] li").all_inner_texts()[0].startswith("問合せ内容")
    fits(page, width)
    # when: one click keeps 問合せ内容 in the note; the import creates 売買 cases
    with page.expect_navigation():
        page.click("[data-column='問合せ内容'] [data-testid=to-note]")
    assert page.locator("select[name=map_note]").input_value() == "問合せ内容"
    page.check("[data-testid=import-kinds] input[name=case_kind][value=buy]")
    with page.expect_navigation():
        page.click("[data-testid=dry-run]")
    # then: the dry run passes every row
    assert page.locator("[data-testid=dry-run-counts] [data-count=leads_created]").inner_text() == "2"
    assert page.locator("[data-testid=dry-run-counts] [data-count=failed]").inner_text() == "0"
    fits(page, width)
    # when: started, then the link to the imported cases followed
    with page.expect_navigation():
        page.click("[data-testid=start]")
    page.wait_for_selector("[data-testid=run-status][data-status=completed]", timeout=30_000)
    fits(page, width)
    with page.expect_navigation():
        page.click("[data-testid=imported-cases]")
    # then: exactly this import's cases, with their kinds and notes
    assert page.locator("[data-testid=run-filter]").count() == 1
    names = page.locator("table a[href^='/cases/']").all_inner_texts()
    assert sorted(name.strip() for name in names if name.strip()) == ["渡邊 髙志", "髙﨑 花子"]
    fits(page, width)
    with company_scope(office["company"]):
        assert sorted(Case.objects.values_list("customer__name", "kind", "customer__kind", "other_info")) == [
            ("渡邊 髙志", "buy", "person", "問合せ内容: 2LDK希望、ペット可"), ("髙﨑 花子", "buy", "person", "問合せ内容: 駅から徒歩10分以内")]
