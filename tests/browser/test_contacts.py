"""Contacts and 要確認 in a real browser, at desktop and phone widths: edit a phone (national format after
saving, duplicate warning for another case's phone), add an e-mail, remove a phone, mark a case 確認済み."""

import pytest

from estatecrm.core import testing
from estatecrm.crm.models import Activity, Case, ContactPoint
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("cnt", "連絡先不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@cnt.example.jp", name="管理 花子", password=PASSWORD)
    agent = testing.make_user(company, store, email="agent@cnt.example.jp", name="渋谷 一郎", password=PASSWORD)
    case = testing.make_case(company, store, main_assignee=agent, customer_name="佐藤 花子",
                             phones=(("mobile", "09012345678"), ("phone", "0312345678")), emails=())
    other = testing.make_case(company, store, main_assignee=agent, customer_name="鈴木 一郎", phones=(("mobile", "080-2222-3333"),), emails=())
    return {"company": company, "case": case, "other": other}


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_agent_edits_phones_and_emails_of_a_contact(page, office, width):
    page.set_viewport_size({"width": width, "height": 900})
    case, other = office["case"], office["other"]
    log_in(page, "agent@cnt.example.jp", PASSWORD)
    page.goto(f"/cases/{case.pk}/")
    # the phones as typed without dashes are shown in national format
    points = page.locator("[data-testid=contact-point]").all_inner_texts()
    assert any("090-1234-5678" in text for text in points) and any("03-1234-5678" in text for text in points)
    assert page.locator("[data-testid=duplicate-warning]").count() == 0
    fits(page, width)
    # when: the mobile becomes the other customer's number (typed full-width), the landline is removed, an e-mail added
    with page.expect_navigation():
        page.click("[data-testid=edit-contact]")
    fits(page, width)
    rows = page.locator("[data-testid=point-row]")
    rows.nth(0).locator("input[name$=-raw]").fill("０８０２２２２３３３３")
    rows.nth(1).locator("input[name$=-DELETE]").check()
    rows.nth(2).locator("select[name$=-kind]").select_option("email")
    rows.nth(2).locator("input[name$=-raw]").fill("Hanako@Example.JP")
    with page.expect_navigation():
        page.click("[data-testid=contact-form] button[type=submit]")
    # then: national format, the e-mail, the landline gone, and the warning names the other case by its number
    points = page.locator("[data-testid=contact-point]").all_inner_texts()
    assert len(points) == 2
    assert "080-2222-3333" in points[0] and "Hanako@Example.JP" in points[1]
    warning = page.locator("[data-testid=duplicate-warning]")
    assert f"#{other.number} 鈴木 一郎" in warning.inner_text()
    fits(page, width)
    stored = list(ContactPoint.objects.unscoped().filter(customer_id=case.customer_id).order_by("position").values_list("kind", "normalized"))
    assert stored == [("mobile", "+818022223333"), ("email", "hanako@example.jp")]
    # when: an invalid phone is typed, the page refuses it next to the row
    with page.expect_navigation():
        page.click("[data-testid=edit-contact]")
    page.locator("[data-testid=point-row]").nth(0).locator("input[name$=-raw]").fill("090-1234-567")
    with page.expect_navigation():
        page.click("[data-testid=contact-form] button[type=submit]")
    assert page.locator("[data-testid=point-row] .errors").count() == 1
    fits(page, width)
    assert ContactPoint.objects.unscoped().filter(customer_id=case.customer_id, normalized="+818022223333").exists()


@pytest.mark.parametrize("width", [1280, 390])
def test_agent_marks_a_case_needing_review_as_reviewed_with_a_note(page, office, width):
    page.set_viewport_size({"width": width, "height": 900})
    case = office["case"]
    Case.objects.unscoped().filter(pk=case.pk).update(needs_review=True, review_messages=["生年月日が読めませんでした"])
    log_in(page, "agent@cnt.example.jp", PASSWORD)
    page.goto("/cases/?needs_review=1")
    assert page.locator("[data-testid=case-table] tbody tr[data-case-id]").count() == 1
    fits(page, width)
    page.goto(f"/cases/{case.pk}/")
    fits(page, width)
    # when
    page.fill("[data-testid=review-form] textarea[name=note]", "本人に確認しました")
    with page.expect_navigation():
        page.click("[data-testid=review-form] button[type=submit]")
    # then: the flag is gone, the messages, who and the note stay readable, the timeline has the entry
    assert page.locator("[data-testid=review-form]").count() == 0
    done = page.locator("[data-testid=review-done]")
    assert "渋谷 一郎" in done.inner_text() and "本人に確認しました" in done.inner_text()
    done.locator("summary").click()
    assert "生年月日が読めませんでした" in done.inner_text()
    assert "本人に確認しました" in page.locator("[data-testid=timeline]").inner_text()
    fits(page, width)
    page.goto("/cases/?needs_review=1")
    assert page.locator("[data-testid=case-table] tbody tr[data-case-id]").count() == 0
    assert Activity.objects.unscoped().filter(case=case, kind="system").count() == 1
