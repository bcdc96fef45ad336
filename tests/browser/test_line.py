"""LINE in a real browser: a friend writes through the webhook, the agent finds the new case and answers on LINE."""

import re
import urllib.request

import pytest

from estatecrm.core import testing
from estatecrm.crm.models import Activity, Case
from estatecrm.inquiries.models import LineChannel
from estatecrm.inquiries.tests import line_fake

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def line_api(settings):
    with line_fake.running_fake_line(settings) as fake:
        yield fake


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("lin", "ライン不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    agent = testing.make_user(company, store, email="agent@lin.example.jp", name="渋谷 一郎", password=PASSWORD)
    LineChannel.objects.create(company=company, channel_secret=line_fake.CHANNEL_SECRET, channel_access_token=line_fake.ACCESS_TOKEN,
                               org_unit=store, default_assignee=agent)
    return {"company": company, "agent": agent}


def webhook(live_server, *events) -> int:
    body = line_fake.payload(*events)
    request = urllib.request.Request(f"{live_server.url}/hooks/line/lin/", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Line-Signature": line_fake.sign(body)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


@pytest.mark.parametrize("width", [1280, 390])
def test_a_line_friend_writes_and_the_agent_answers_on_line(page, live_server, office, line_api, width):
    # given: a new friend adds the account and writes (processed after the webhook's commit)
    line_api.profiles[line_fake.USER_ID] = "山田 花子"
    assert webhook(live_server, line_fake.event("follow", "01BFOLLOW"), line_fake.text_message("01BTEXT", "今週末に内見できますか？")) == 200
    case = Case.objects.for_company(office["company"]).get()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "agent@lin.example.jp", PASSWORD)
    # when: the agent finds it among the new, not yet contacted cases
    page.goto("/cases/?follow_up=new_uncontacted")
    page.get_by_role("link", name="山田 花子").first.click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    # then: 基本情報 shows the LINE link number and the link; the timeline the message
    customer = page.locator("[data-testid=customer]")
    assert customer.locator("[data-testid=line-link-number]").inner_text() == case.customer.line_link_number
    assert line_fake.USER_ID in customer.locator("[data-testid=line-state]").inner_text()
    assert "今週末に内見できますか？" in page.locator("[data-testid=timeline]").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # when: the agent answers on LINE
    form = page.locator("[data-testid=line-send-form]")
    form.locator("textarea[name=text]").fill("土曜10時はいかがですか。")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    # then: pushed once to the customer; an outbound LINE activity of the agent; the case has its last contact
    [push] = line_api.pushes()
    assert push.body["to"] == line_fake.USER_ID and push.body["messages"][0]["text"] == "土曜10時はいかがですか。"
    entries = page.locator("[data-testid=timeline] .activity.kind-line")
    assert entries.count() == 2 and "土曜10時はいかがですか。" in entries.first.inner_text() and "渋谷 一郎" in entries.first.inner_text()
    assert Activity.objects.for_company(office["company"]).filter(case=case, kind="line", direction="outbound",
                                                                  actor=office["agent"]).count() == 1
    case.refresh_from_db()
    assert case.last_contact_at is not None
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page.locator("[data-testid=last-contact]").inner_text().strip())
