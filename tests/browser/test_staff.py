"""異動 in a real browser: the administrator picks the target unit and 「エージェントと担当顧客どちらも」; the transfer is
blocked while the agent is a source's default assignee, the successor is set right there, then the confirmation
shows the counts (unsubscribed customers' included) before anything happens; confirm -> the history entry.
(Texts are checked by their test ids: the new msgids' Japanese comes with the merge of the i18n fragments.)"""

import pytest
from django.urls import reverse

from estatecrm.core import testing
from estatecrm.crm.models import Case, Customer, Reassignment
from estatecrm.inquiries.models import InquirySource
from estatecrm.staff.selectors import primary_membership
from estatecrm.tenancy.choices import Role

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("stf", "異動不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    shibuya = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    shinjuku = testing.make_unit(company, "SJK", parent=hq, name="新宿店")
    testing.make_user(company, hq, role=Role.ADMIN, email="admin@stf.example.jp", name="管理 太郎", password=PASSWORD)
    agent = testing.make_user(company, shibuya, email="agent@stf.example.jp", name="渋谷 一郎", password=PASSWORD)
    successor = testing.make_user(company, shibuya, email="next@stf.example.jp", name="渋谷 二郎", password=PASSWORD)
    cases = [testing.make_case(company, shibuya, main_assignee=agent, customer_name=name) for name in ("佐藤 花子", "鈴木 一郎")]
    Customer.objects.for_company(company).filter(pk=cases[1].customer_id).update(is_unsubscribed=True)
    source = InquirySource.objects.create(company=company, code="web", name="自社HP", org_unit=shibuya, default_assignee=agent)
    return {"agent": agent, "successor": successor, "cases": cases, "source": source, "shinjuku": shinjuku}


def test_admin_transfers_an_agent_with_their_customers(page, office):
    agent, shinjuku = office["agent"], office["shinjuku"]
    log_in(page, "admin@stf.example.jp", PASSWORD)
    # given: 異動 -> 新宿店, the agent and their customers
    page.goto(f"/staff/{agent.pk}/transfer/")
    page.select_option("select[name=to_unit]", str(shinjuku.pk))
    page.check("input[name=mode][value=with_cases]")
    with page.expect_navigation():
        page.click("[data-testid=transfer-next]")
    # then: refused while default assignee, naming the source and linking to its settings
    block = page.locator("[data-testid=default-assignee-block]")
    assert "自社HP" in block.inner_text()
    assert block.locator(f"a[href='{reverse('inquiry_settings:source_edit', args=[office['source'].pk])}']").count() == 1
    assert page.locator("[data-testid=transfer-confirmation]").count() == 0
    # when: the successor is set right there
    page.select_option("[data-testid=successor-select]", str(office["successor"].pk))
    with page.expect_navigation():
        page.click("[data-testid=set-successor]")
    # then: the confirmation, with the counts, and nothing has moved yet
    counts = page.locator("[data-testid=transfer-counts]").inner_text()
    assert "2" in counts and "1" in counts
    assert primary_membership(agent).org_unit.code == "SBY"
    assert Reassignment.objects.unscoped().count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # when: confirm, with a handover note
    page.fill("textarea[name=handover_note]", "来週の内見は新宿店で対応します")
    with page.expect_navigation():
        page.click("[data-testid=transfer-submit]")
    # then: the history entry of the transfer; the agent and their cases are in 新宿店
    record = Reassignment.objects.unscoped().get()
    assert page.url.endswith(f"/staff/history/{record.pk}/")
    assert "来週の内見は新宿店で対応します" in page.locator("[data-testid=reassignment-summary]").inner_text()
    assert page.locator("[data-testid=reassignment-items] tbody tr").count() == 2
    assert primary_membership(agent).org_unit_id == shinjuku.pk
    assert {Case.objects.unscoped().get(pk=case.pk).owning_org_id for case in office["cases"]} == {shinjuku.pk}
