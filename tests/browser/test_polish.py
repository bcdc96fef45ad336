"""Polish in a real browser: the 404 page on a phone with a way back, the status checkboxes, one bulk control at a
time, a styled flash message after an edit."""

from urllib.parse import parse_qs, urlsplit

import pytest

from estatecrm.core import testing
from estatecrm.crm.choices import CaseStatus
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("pol", "ポリッシュ不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    admin = testing.make_user(company, hq, role=Role.ADMIN, email="admin@pol.example.jp", name="管理 花子", password=PASSWORD)
    agent = testing.make_user(company, store, email="agent@pol.example.jp", name="渋谷 一郎", password=PASSWORD)
    following = testing.make_case(company, store, main_assignee=agent, customer_name="佐藤 花子", status=CaseStatus.FOLLOWING)
    new = testing.make_case(company, store, main_assignee=agent, customer_name="鈴木 一郎", status=CaseStatus.NEW,
                            phones=(("mobile", "080-2222-3333"),), emails=("ichiro@example.jp",))
    closed = testing.make_case(company, store, main_assignee=agent, customer_name="高橋 健一", status=CaseStatus.CLOSED,
                               phones=(("mobile", "080-4444-5555"),), emails=("kenichi@example.jp",))
    return {"admin": admin, "agent": agent, "following": following, "new": new, "closed": closed}


def row_names(page) -> list[str]:
    return page.locator("[data-testid=case-table] tbody tr td:nth-child(2) a:not(.duplicate-flag)").all_inner_texts()


def test_404_page_on_a_phone_is_japanese_and_leads_back(page, office):
    # given
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "agent@pol.example.jp", PASSWORD)
    page.goto("/cases/")
    # when
    response = page.goto("/cases/999999999/")
    # then
    assert response.status == 404
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("[data-testid=error-page]").get_attribute("data-status") == "404"
    assert "ダッシュボード" in page.locator(".mainnav").inner_text()  # the layout's navigation, in Japanese
    assert page.locator("[data-testid=error-home]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # when: back to the previous page
    back = page.locator("[data-history-back]")
    assert back.is_visible()
    with page.expect_navigation():
        back.click()
    assert page.url.endswith("/cases/")
    # when: or home
    page.go_forward()
    with page.expect_navigation():
        page.click("[data-testid=error-home]")
    assert page.url.endswith("/")


@pytest.mark.parametrize("width", [1280, 390])
def test_status_checkboxes_filter_the_list(page, office, width):
    # given
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "agent@pol.example.jp", PASSWORD)
    page.goto("/cases/")
    assert sorted(row_names(page)) == ["佐藤 花子", "鈴木 一郎", "高橋 健一"]
    # when: tick 新規 and 追客終了 (a phone folds the filters: open them)
    if width < 600:
        page.click(".filter-box > summary")
    page.check(f"[data-testid=status-filter] input[value={CaseStatus.NEW}]")
    page.check(f"[data-testid=status-filter] input[value={CaseStatus.CLOSED}]")
    with page.expect_navigation():
        page.click("[data-testid=case-filters] button[type=submit]")
    # then
    assert sorted(row_names(page)) == ["鈴木 一郎", "高橋 健一"]
    assert parse_qs(urlsplit(page.url).query)["status"] == [CaseStatus.NEW, CaseStatus.CLOSED]  # the parameter links and the API use
    assert page.locator(f"[data-testid=status-filter] input[value={CaseStatus.NEW}]").is_checked()
    assert not page.locator(f"[data-testid=status-filter] input[value={CaseStatus.FOLLOWING}]").is_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_bulk_bar_shows_the_control_of_the_chosen_action_only(page, office):
    # given
    log_in(page, "admin@pol.example.jp", PASSWORD)
    page.goto("/cases/")
    bar = page.locator("[data-testid=bulk-bar]")

    def visible_controls():
        return [name for name in ("main_assignee", "tag", "status") if bar.locator(f"select[name={name}]").is_visible()]

    # then: one control for each action, none for the trash
    assert visible_controls() == ["main_assignee"]
    for operation, expected in [("add_tag", ["tag"]), ("remove_tag", ["tag"]), ("set_status", ["status"]), ("trash", []),
                                ("reassign", ["main_assignee"])]:
        page.select_option("#bulk-form select[name=operation]", operation)
        assert visible_controls() == expected, operation


@pytest.mark.parametrize("width", [1280, 390])
def test_flash_message_after_an_edit_is_visible_styled_and_dismissable(page, office, width):
    # given
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "agent@pol.example.jp", PASSWORD)
    page.goto(f"/cases/{office['following'].pk}/edit/")
    # when
    with page.expect_navigation():
        page.click("form.form-grid button[type=submit]")
    # then
    message = page.locator("[data-testid=messages] .message.success")
    assert message.is_visible()
    assert message.get_attribute("role") == "status"
    assert message.evaluate("element => getComputedStyle(element).backgroundColor") == "rgb(233, 246, 240)"
    assert message.evaluate("element => getComputedStyle(element).borderLeftWidth") == "5px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # when: dismissed
    message.locator("[data-dismiss]").click()
    # then
    assert page.locator("[data-testid=messages] .message").count() == 0
