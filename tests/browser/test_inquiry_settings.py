"""Intake settings in a real browser, at 1280 and 390 px: an admin finds 反響取り込み in the settings, adds a source
with a label row (added by the page's button), tries the labels on a pasted mail body, saves, edits it (a second
label row, the mailbox with a write-only password), turns it off, and sees the LINE page with its webhook URL."""

import pytest

from estatecrm.core import testing
from estatecrm.inquiries.models import InquirySource, LineChannel
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOMES_BODY = """LIFULL HOME'S をご利用いただきありがとうございます。
【お客様情報】
お名前：中村 優奈
電話番号：090-3381-2207
【ご質問・ご要望】
ペット（小型犬1匹）の飼育は可能ですか。
=========================
"""


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("brs", "設定不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "YKH", parent=hq, name="横浜店")
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@brs.example.jp", name="管理 花子", password=PASSWORD)
    agent = testing.make_user(company, store, email="agent@brs.example.jp", name="横浜 一郎", password=PASSWORD)
    return {"company": company, "store": store, "agent": agent}


def body_fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_admin_adds_tries_and_edits_a_source_and_sees_the_line_page(page, office, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "admin@brs.example.jp", PASSWORD)
    # given: the settings page links to the intake settings
    page.goto("/settings/")
    with page.expect_navigation():
        page.click("[data-testid=inquiry-settings-link]")
    assert page.url.endswith("/settings/inquiries/")
    assert body_fits(page, width)
    with page.expect_navigation():
        page.click("[data-testid=add-source]")
    # when: a source is filled in, with a label row added by the button
    page.fill("input[name=code]", "homes")
    page.fill("input[name=name]", "LIFULL HOME'S")
    page.select_option("select[name=org_unit]", str(office["store"].pk))
    page.select_option("select[name=default_assignee]", str(office["agent"].pk))
    page.fill("input[name=from_contains]", "homes.co.jp")
    page.fill("input[name=label_0]", "お名前")
    page.select_option("select[name=field_0]", "customer_name")
    page.fill("input[name=label_1]", "電話番号")
    page.select_option("select[name=field_1]", "phone")
    page.click("[data-testid=add-label-row]")
    page.fill("input[name=label_2]", "ご質問・ご要望")
    page.select_option("select[name=field_2]", "message")
    assert body_fits(page, width)
    # and the labels are tried on a pasted body
    page.fill("textarea[name=sample_body]", HOMES_BODY)
    with page.expect_navigation():
        page.click("[data-testid=try-labels]")
    result = page.locator("[data-testid=try-result]")
    assert result.locator("tr[data-field=customer_name] .read-value").inner_text() == "中村 優奈"
    assert result.locator("tr[data-field=phone] .read-value").inner_text() == "090-3381-2207"
    assert result.locator("tr[data-field=message] .read-value").inner_text() == "ペット（小型犬1匹）の飼育は可能ですか。"
    assert not InquirySource.objects.unscoped().exists()
    # the form kept what was typed: saving it adds the source
    assert page.input_value("input[name=label_2]") == "ご質問・ご要望"
    with page.expect_navigation():
        page.click("[data-testid=save-source]")
    source = InquirySource.objects.unscoped().get(code="homes")
    assert source.labels == {"お名前": "customer_name", "電話番号": "phone", "ご質問・ご要望": "message"}
    assert (source.org_unit_id, source.default_assignee_id) == (office["store"].pk, office["agent"].pk)
    row = page.locator("[data-testid=source-homes]")
    assert "homes.co.jp" in row.inner_text()
    assert body_fits(page, width)
    # when: it is edited: one label row removed, the mailbox set
    with page.expect_navigation():
        row.locator("a").first.click()
    page.locator("[data-label-row]").nth(1).locator("[data-remove-row]").click()
    page.fill("input[name=imap_host]", "imap.brs.example.jp")
    page.fill("input[name=imap_user]", "homes@brs.example.jp")
    page.fill("input[name=imap_password]", "Imap-Secret-9")
    with page.expect_navigation():
        page.click("[data-testid=save-source]")
    source.refresh_from_db()
    assert source.labels == {"お名前": "customer_name", "ご質問・ご要望": "message"}
    assert (source.imap_host, source.imap_password) == ("imap.brs.example.jp", "Imap-Secret-9")
    page.goto(f"/settings/inquiries/sources/{source.pk}/")
    assert page.input_value("input[name=imap_password]") == ""
    assert "Imap-Secret-9" not in page.content()
    # when: it is turned off from the list
    page.goto("/settings/inquiries/")
    with page.expect_navigation():
        page.locator("[data-testid=source-homes] button[type=submit]").click()
    source.refresh_from_db()
    assert not source.is_enabled
    # then: the LINE page shows the webhook URL to paste into the LINE Developers console
    page.goto("/settings/inquiries/line/")
    assert page.input_value("[data-testid=webhook-url]").endswith("/hooks/line/brs/")
    assert page.input_value("[data-testid=webhook-url]").startswith("http")
    page.select_option("select[name=org_unit]", str(office["store"].pk))
    page.select_option("select[name=default_assignee]", str(office["agent"].pk))
    page.fill("input[name=channel_secret]", "0123456789abcdef0123456789abcdef")
    page.fill("input[name=channel_access_token]", "token-abc")
    with page.expect_navigation():
        page.click("[data-testid=line-form] button[type=submit]")
    assert LineChannel.objects.unscoped().get().default_assignee_id == office["agent"].pk
    assert "0123456789abcdef" not in page.content()
    assert body_fits(page, width)
