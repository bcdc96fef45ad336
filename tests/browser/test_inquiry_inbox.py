"""「取り込めなかった反響」 in a real browser: an admin finds the waiting mail from the case list's side menu, reads
it, assigns it by hand (the form prefilled by the chosen source's labels) and lands on the new case."""

import pytest

from estatecrm.core import testing
from estatecrm.crm.choices import CaseOrigin
from estatecrm.crm.models import Case
from estatecrm.inquiries.choices import InquiryStatus
from estatecrm.inquiries.mail import take_mail
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.inquiries.tests.inbox_mails import HOMES_LABELS, advertising_mail, homes_mail
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("inb", "反響不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@inb.example.jp", name="管理 花子", password=PASSWORD)
    agent = testing.make_user(company, store, email="agent@inb.example.jp", name="渋谷 一郎")
    # The office's HOME'S source knows the labels but not yet the sender: its mail waits in the inbox.
    homes = InquirySource.objects.create(company=company, code="homes", name="LIFULL HOME'S", org_unit=store, default_assignee=agent,
                                         labels=HOMES_LABELS)
    waiting = take_mail(company.pk, homes_mail()).inquiry
    advertisement = take_mail(company.pk, advertising_mail()).inquiry
    return {"company": company, "homes": homes, "waiting": waiting, "advertisement": advertisement, "agent": agent}


@pytest.mark.parametrize("width", [1280, 390])
def test_admin_assigns_a_waiting_mail_by_hand_and_sees_the_case(page, office, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "admin@inb.example.jp", PASSWORD)
    # given: the case list's side menu counts the two waiting mails
    page.goto("/cases/")
    entry = page.locator("[data-menu-entry=inquiry_inbox]")
    entry.locator(".count").filter(has_text="2").wait_for()
    # when: the admin opens the inbox and the HOME'S mail
    with page.expect_navigation():
        entry.click()
    rows = page.locator("[data-testid=inbox-table] tbody tr")
    assert rows.count() == 2
    with page.expect_navigation():
        page.locator(f"tr[data-inquiry-id='{office['waiting'].pk}'] a").click()
    # then: the mail is shown as text
    body = page.locator("[data-testid=mail-body]").inner_text()
    assert "【お名前】 高橋 美咲" in body and "12月中旬に内見を希望します。" in body
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # when: they assign it by hand to the HOME'S source
    page.locator("#assign-source").select_option(str(office["homes"].pk))
    with page.expect_navigation():
        page.locator("[data-testid=assign-start] button[type=submit]").click()
    form = page.locator("[data-testid=assign-form]")
    # then: the form holds what the source's labels read; the admin completes the kana and submits
    assert form.locator("input[name=customer_name]").input_value() == "高橋 美咲"
    assert form.locator("input[name=phone]").input_value() == "080-4321-8765"
    assert form.locator("input[name=inquiry_id]").input_value() == "H-2026-120601"
    form.locator("input[name=listing_name]").fill("ルミエール代々木 201")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    with page.expect_navigation():
        form.locator("[data-testid=assign-submit]").click()
    # then: the new case's page, the customer and the inquiry activity on it
    case = Case.objects.unscoped().get(company=office["company"])
    assert page.url.endswith(f"/cases/{case.pk}/")
    assert "高橋 美咲" in page.locator("h1").inner_text()
    assert "12月中旬に内見を希望します。" in page.locator("[data-testid=timeline]").inner_text()
    assert (case.origin, case.main_assignee_id, case.first_inquiry_listing_name) == (CaseOrigin.INQUIRY, office["agent"].pk, "ルミエール代々木 201")
    inquiry = Inquiry.objects.unscoped().get(pk=office["waiting"].pk)
    assert (inquiry.status, inquiry.case_id) == (InquiryStatus.CREATED, case.pk)
    # and: the inbox holds only the advertisement now
    page.goto("/inquiries/inbox/")
    assert page.locator("[data-testid=inbox-table] tbody tr").count() == 1
    assert page.locator(f"tr[data-inquiry-id='{office['advertisement'].pk}']").count() == 1
