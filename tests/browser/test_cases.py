"""Case journeys in a real browser: filter the list, open a case, log activity, visits, desired conditions, bulk actions."""

import datetime

import pytest
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.choices import CaseStatus
from estatecrm.crm.models import Activity, Case, DesiredConditions
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("brw", "ブラウザ不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    admin = testing.make_user(company, hq, role=Role.ADMIN, email="admin@brw.example.jp", name="管理 花子", password=PASSWORD)
    agent = testing.make_user(company, store, email="agent@brw.example.jp", name="渋谷 一郎", password=PASSWORD)
    other = testing.make_user(company, store, email="other@brw.example.jp", name="新宿 二郎", password=PASSWORD)
    following = testing.make_case(company, store, main_assignee=agent, customer_name="佐藤 花子", status=CaseStatus.FOLLOWING)
    new = testing.make_case(company, store, main_assignee=agent, customer_name="鈴木 一郎", status=CaseStatus.NEW,
                            phones=(("mobile", "080-2222-3333"),), emails=("ichiro@example.jp",))
    return {"company": company, "admin": admin, "agent": agent, "other": other, "following": following, "new": new}


def row_names(page) -> list[str]:
    return page.locator("[data-testid=case-table] tbody tr td:nth-child(2) a:not(.duplicate-flag)").all_inner_texts()


def test_agent_filters_the_list_opens_a_case_logs_a_call_and_books_and_completes_a_visit(page, office):
    # given
    log_in(page, "agent@brw.example.jp", PASSWORD)
    page.goto("/cases/")
    assert sorted(row_names(page)) == ["佐藤 花子", "鈴木 一郎"]
    # when: filter by a phone number typed with full-width digits
    page.fill("input[name=q]", "０８０－２２２２－３３３３")
    with page.expect_navigation():
        page.click("[data-testid=case-filters] button[type=submit]")
    # then
    assert row_names(page) == ["鈴木 一郎"]
    # when: open it and log a call
    with page.expect_navigation():
        page.click("text=鈴木 一郎")
    page.select_option("[data-testid=activity-form] select[name=kind]", "call")
    page.fill("[data-testid=activity-form] input[name=subject]", "折り返し電話")
    with page.expect_navigation():
        page.click("[data-testid=activity-form] button[type=submit]")
    assert "折り返し電話" in page.locator("[data-testid=timeline]").inner_text()
    # when: book a visit two days ahead, then complete it
    visit_at = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page.fill("[data-testid=visit-form] input[name=visit_at]", visit_at)
    with page.expect_navigation():
        page.click("[data-testid=visit-form] button[type=submit]")
    open_visit = page.locator(".activity.kind-visit_appointment.open")
    assert open_visit.count() == 1
    with page.expect_navigation():
        open_visit.locator("button[type=submit]").click()
    # then
    assert page.locator(".activity.kind-visit_appointment.open").count() == 0
    kinds = list(Activity.objects.unscoped().filter(case=office["new"]).order_by("pk").values_list("kind", "is_done"))
    assert kinds == [("call", True), ("visit_appointment", True)]


def test_desired_conditions_show_the_error_next_to_the_field_then_save_when_fixed(page, office):
    # given
    log_in(page, "agent@brw.example.jp", PASSWORD)
    page.goto(f"/cases/{office['following'].pk}/")
    with page.expect_navigation():
        page.click("[data-testid=edit-desired]")
    # when: the upper rent limit is below the lower one
    page.fill("input[name=rent_min]", "12")
    page.fill("input[name=rent_max]", "8")
    page.check("input[name=layouts][value='1LDK']")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    # then
    error = page.locator("[data-field=rent_max] .errors")
    assert error.is_visible()
    assert DesiredConditions.objects.unscoped().get(case=office["following"]).rent_max is None
    # when fixed
    page.fill("input[name=rent_max]", "15")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    # then
    assert "/edit" not in page.url and page.url.endswith(f"/cases/{office['following'].pk}/")
    assert "12.0 – 15.0" in page.locator("[data-testid=rent]").inner_text()
    assert DesiredConditions.objects.unscoped().get(case=office["following"]).layouts == ["1LDK"]


def test_admin_bulk_reassigns_selected_cases(page, office):
    # given
    log_in(page, "admin@brw.example.jp", PASSWORD)
    page.goto("/cases/?sort=created")
    # when
    page.check(f"input[name=case_ids][value='{office['following'].pk}']")
    page.select_option("#bulk-form select[name=operation]", "reassign")
    page.select_option("#bulk-form select[name=main_assignee]", str(office["other"].pk))
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("[data-testid=bulk-bar] button[type=submit]")
    # then
    assert page.locator(".messages .success").is_visible()
    assert Case.objects.unscoped().get(pk=office["following"].pk).main_assignee_id == office["other"].pk
    assert Case.objects.unscoped().get(pk=office["new"].pk).main_assignee_id == office["agent"].pk


def test_agent_has_no_bulk_actions_and_a_forged_bulk_request_is_refused(page, office):
    # given
    log_in(page, "agent@brw.example.jp", PASSWORD)
    page.goto("/cases/")
    # then
    assert page.locator("[data-testid=bulk-bar]").count() == 0
    status = page.evaluate("""async (caseId) => {
        const data = new FormData(document.getElementById("bulk-form"));
        data.append("operation", "trash");
        data.append("case_ids", caseId);
        const response = await fetch("/cases/bulk/", {method: "POST", body: data, credentials: "same-origin"});
        return response.status;
    }""", str(office["following"].pk))
    assert status == 403
    assert Case.objects.unscoped().get(pk=office["following"].pk).deleted_at is None


def test_case_list_fits_a_phone_screen(page, office):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "agent@brw.example.jp", PASSWORD)
    page.goto("/cases/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.locator("[data-testid=case-table]").is_visible()
