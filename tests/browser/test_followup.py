"""追客 in a real browser: log a call with 次回対応 set, then find the case under 今日の対応 and 対応漏れ."""

import pytest
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.choices import CaseStatus
from estatecrm.crm.models import Activity, Case

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("fol", "追客不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    agent = testing.make_user(company, store, email="agent@fol.example.jp", name="渋谷 一郎", password=PASSWORD)
    quiet = testing.make_case(company, store, main_assignee=agent, customer_name="佐藤 花子", status=CaseStatus.FOLLOWING)
    new = testing.make_case(company, store, main_assignee=agent, customer_name="鈴木 一郎", status=CaseStatus.NEW,
                            phones=(("mobile", "080-2222-3333"),))
    return {"agent": agent, "quiet": quiet, "new": new}


def row_names(page) -> list[str]:
    return page.locator("[data-testid=case-table] tbody tr td:nth-child(2) a:not(.duplicate-flag)").all_inner_texts()


def assert_no_page_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_agent_logs_a_call_with_a_next_action_and_finds_it_under_today_and_overdue(page, office, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "agent@fol.example.jp", PASSWORD)
    # given: the new inquiry is listed as not contacted yet
    page.goto("/cases/?follow_up=new_uncontacted")
    assert row_names(page) == ["鈴木 一郎"]
    # when: the agent calls and plans the next call for today at midnight (today's first minute: due today, and overdue already)
    page.goto(f"/cases/{office['new'].pk}/")
    assert_no_page_scroll(page, width)
    form = page.locator("[data-testid=activity-form]")
    form.locator("select[name=kind]").select_option("call")
    form.locator("input[name=direction][value=outbound]").check()
    form.locator("textarea[name=body]").fill("不在。留守電に伝言。")
    midnight = timezone.localtime().strftime("%Y-%m-%dT00:00")
    form.locator("[data-testid=set-next-action] input[name=next_action_at]").fill(midnight)
    form.locator("[data-testid=set-next-action] input[name=next_action]").fill("再架電して内見日程を確認")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    # then: the timeline shows the call with its text and direction, the case its next action and last contact
    entry = page.locator("[data-testid=timeline] .activity.kind-call")
    assert entry.count() == 1
    assert "不在。留守電に伝言。" in entry.inner_text() and "渋谷 一郎" in entry.inner_text()
    assert entry.locator("[data-testid=activity-direction]").count() == 1
    assert "再架電して内見日程を確認" in page.locator("[data-testid=next-action-current]").inner_text()
    assert_no_page_scroll(page, width)
    call = Activity.objects.unscoped().get(case=office["new"])
    case = Case.objects.unscoped().get(pk=office["new"].pk)
    assert (call.direction, case.last_contact_at, case.next_action) == ("outbound", call.occurred_at, "再架電して内見日程を確認")
    # when: the list's 今日の対応 and 対応漏れ
    page.goto("/cases/")
    for follow_up in ("today", "overdue"):
        link = page.locator(f"[data-follow-up={follow_up}]")
        link.locator(".count").filter(has_text="1").wait_for()
        with page.expect_navigation():
            link.click()
        # then
        assert row_names(page) == ["鈴木 一郎"]
        row = page.locator(f"tr[data-case-id='{office['new'].pk}']")
        assert "再架電して内見日程を確認" in row.locator("[data-testid=next-action]").inner_text()
        assert row.locator("[data-testid=phone]").inner_text() == "080-2222-3333"
        assert row.locator("[data-testid=next-action].overdue").count() == 1
        assert_no_page_scroll(page, width)
    # and: it is no longer a new inquiry nobody contacted
    page.goto("/cases/?follow_up=new_uncontacted")
    assert row_names(page) == []
