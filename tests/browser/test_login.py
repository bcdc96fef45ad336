"""User journeys in a real browser: log in, dashboard, language, lock-out, phone-sized screen."""

import re

import pytest

from estatecrm.core import testing
from estatecrm.tenancy.choices import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Browser-Test-Pass-2026"


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("brw", "ブラウザ不動産株式会社")
    unit = testing.make_unit(company, "HQ", name="本社")
    admin = testing.make_user(company, unit, role=Role.ADMIN, email="admin@brw.example.jp", name="管理 花子", password=PASSWORD)
    testing.make_case(company, unit, main_assignee=admin)
    return company, admin


def log_in(page, email, password):
    page.goto("/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def test_log_in_see_the_dashboard_and_log_out(page, office):
    # when
    log_in(page, "admin@brw.example.jp", PASSWORD)
    # then
    assert page.locator("h1").inner_text() == "ブラウザ不動産株式会社"
    assert "ステータス別の追客案件" in page.content()
    assert "追客中" in page.locator("[data-testid=cases-by-status]").inner_text()
    with page.expect_navigation():
        page.click("text=ログアウト")
    assert page.url.endswith("/login/")


def test_switch_language_to_english(page, office):
    log_in(page, "admin@brw.example.jp", PASSWORD)
    with page.expect_navigation():
        page.select_option("#language-select", "en")
    assert page.locator("text=Cases by status").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"


def test_wrong_password_is_refused_and_repeated_failures_pause_the_account(page, office):
    log_in(page, "admin@brw.example.jp", "wrong-password")
    assert page.url.endswith("/login/")
    for _ in range(5):
        log_in(page, "admin@brw.example.jp", "wrong-password")
    # The right password at once: the account waits (2 s after the fifth failure, doubling with each
    # further counted one), and the page says how many seconds (core/login_throttle.py).
    log_in(page, "admin@brw.example.jp", PASSWORD)
    assert "/login/" in page.url
    alert = page.locator("main section[role=alert]")
    assert alert.locator("h1").count() == 1
    seconds = int(re.search(r"[0-9]+", alert.locator("p").first.inner_text()).group())
    assert 1 <= seconds <= 8


def test_dashboard_fits_a_phone_screen(page, office):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "admin@brw.example.jp", PASSWORD)
    assert page.locator("h1").inner_text() == "ブラウザ不動産株式会社"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
