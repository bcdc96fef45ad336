"""Visit journeys in a real browser: book a visit from the calendar, move it, complete it (1280 and 390 px);
the dashboard at 390 px."""

import datetime

import pytest
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.models import Activity, Case
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("brv", "ブラウザ不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    admin = testing.make_user(company, hq, role=Role.ADMIN, email="admin@brv.example.jp", name="管理 花子", password=PASSWORD)
    agent = testing.make_user(company, store, email="agent@brv.example.jp", name="渋谷 一郎", password=PASSWORD)
    case = testing.make_case(company, store, main_assignee=agent, customer_name="佐藤 花子", phones=(("mobile", "090-1111-2222"),))
    testing.make_case(company, store, main_assignee=agent, customer_name="鈴木 一郎", phones=(("mobile", "080-3333-4444"),))
    return {"company": company, "admin": admin, "agent": agent, "case": case}


def no_horizontal_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_agent_books_moves_and_completes_a_visit_from_the_calendar(page, office, width):
    # given: the agent on their calendar
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "agent@brv.example.jp", PASSWORD)
    page.goto("/visits/")
    no_horizontal_scroll(page, width)
    first_day = timezone.localdate() + datetime.timedelta(days=1)
    second_day = timezone.localdate() + datetime.timedelta(days=2)
    # when: book a visit, finding the case by its phone number
    with page.expect_navigation():
        page.click("[data-testid=new-visit]")
    page.fill("input[name=q]", "090-1111-2222")
    with page.expect_navigation():
        page.click("[data-testid=case-search] button[type=submit]")
    no_horizontal_scroll(page, width)
    page.check(f"input[name=case][value='{office['case'].pk}']")
    page.fill("[data-testid=visit-new-form] input[name=visit_at]", f"{first_day.isoformat()}T10:30")
    page.fill("[data-testid=visit-new-form] input[name=subject]", "内見前の打合せ")
    with page.expect_navigation():
        page.click("[data-testid=visit-new-form] button[type=submit]")
    # then: it shows on its day of the week
    booked = page.locator(f"[data-date='{first_day.isoformat()}'] .visit")
    assert booked.count() == 1
    assert "佐藤 花子" in booked.inner_text() and "10:30" in booked.inner_text()
    no_horizontal_scroll(page, width)
    # when: move it to the next day at 15:00
    with page.expect_navigation():
        booked.locator("a").click()
    page.fill("[data-testid=visit-move-form] input[name=visit_at]", f"{second_day.isoformat()}T15:00")
    with page.expect_navigation():
        page.click("[data-testid=visit-move-form] button[type=submit]")
    # then
    moved = page.locator(f"[data-date='{second_day.isoformat()}'] .visit")
    assert "15:00" in moved.inner_text()
    assert page.locator(f"[data-date='{first_day.isoformat()}'] .visit").count() == 0
    # when: complete it with its result
    with page.expect_navigation():
        moved.locator("a").click()
    no_horizontal_scroll(page, width)
    page.fill("[data-testid=visit-complete-form] textarea[name=result]", "2件内見、申込検討")
    with page.expect_navigation():
        page.click("[data-testid=visit-complete-form] button[type=submit]")
    # then: shown done; the visit holds its result and the case its last contact
    assert page.locator(f"[data-date='{second_day.isoformat()}'] .visit.done").count() == 1
    visit = Activity.objects.unscoped().get(case_id=office["case"].pk, kind="visit_appointment")
    assert (visit.is_done, visit.body, timezone.localtime(visit.occurred_at).strftime("%Y-%m-%d %H:%M")) == (
        True, "2件内見、申込検討", f"{second_day.isoformat()} 15:00")
    # Completed ahead of its time: the last contact is now, not the future visit time.
    assert Case.objects.unscoped().get(pk=office["case"].pk).last_contact_at <= timezone.now()


def test_dashboard_at_390_px_shows_the_day_and_the_admin_tables(page, office):
    # given: a next action due later today and an overdue one
    today = timezone.localdate()
    end_of_today = timezone.make_aware(datetime.datetime.combine(today, datetime.time(23, 59)))
    Case.objects.unscoped().filter(pk=office["case"].pk).update(next_action_at=end_of_today, next_action="内見日程の確認")
    page.set_viewport_size({"width": 390, "height": 900})
    # when: the agent
    log_in(page, "agent@brv.example.jp", PASSWORD)
    page.goto("/")
    # then
    assert page.locator("[data-testid=next-today] .figure").inner_text() == "1"
    assert "内見日程の確認" in page.locator("[data-testid=next-actions]").inner_text()
    assert "090-1111-2222" in page.locator("[data-testid=next-actions]").inner_text()
    no_horizontal_scroll(page, 390)
    # when: the admin
    page.context.clear_cookies()
    log_in(page, "admin@brv.example.jp", PASSWORD)
    page.goto("/")
    # then: the tables scroll inside their card, the page does not
    agent_row = page.locator(f"[data-testid=agents-table] tr[data-agent-id='{office['agent'].pk}'] td")
    assert agent_row.first.inner_text() == "1"
    no_horizontal_scroll(page, 390)
