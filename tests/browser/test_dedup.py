"""名寄せ in a real browser: on a PC (1366 px) the candidate list -> the case to keep -> the confirmation ->
名寄せを実行する -> the kept case's page shows the merged history; on a phone (390 px) a case with candidates
warns 「重複するお客様がいます」 with a link to its group. (Texts are checked by their test ids: the new msgids' Japanese
comes with the merge of the i18n fragments.)"""

import pytest

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_log_activity
from estatecrm.crm.models import Case
from estatecrm.dedup.models import Merge
from estatecrm.tenancy.selectors import actor_for

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def office(transactional_db):
    company = testing.make_company("ddp", "名寄せ不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    store = testing.make_unit(company, "SBY", parent=hq, name="渋谷店")
    agent = testing.make_user(company, store, email="agent@ddp.example.jp", name="渋谷 一郎", password=PASSWORD)
    # The same person asked twice: by phone (typed with dashes) and through a portal (the same number, full-width).
    older = testing.make_case(company, store, main_assignee=agent, customer_name="高橋 美咲", phones=(("mobile", "090-2468-1357"),),
                              emails=("misaki@example.jp",))
    newer = testing.make_case(company, store, main_assignee=agent, customer_name="髙橋 美咲", phones=(("mobile", "０９０２４６８１３５７"),),
                              emails=())
    with company_scope(company):
        do_log_activity(actor=actor_for(agent), case=newer, kind="call", subject="ポータル経由で内見希望の電話")
    return {"company": company, "older": older, "newer": newer}


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_agent_merges_a_candidate_group_on_a_pc(page, office):
    older, newer = office["older"], office["newer"]
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "agent@ddp.example.jp", PASSWORD)
    # given: the list's red 「!」 leads to the case's group, with its reason and the number in national format
    page.goto("/cases/")
    with page.expect_navigation():
        page.click(f"tr[data-case-id='{newer.pk}'] [data-testid=duplicate-flag]")
    group = page.locator("[data-testid=candidate-group]")
    assert group.count() == 1
    pair = group.locator("[data-testid=candidate-pair]")
    assert pair.locator("[data-rule=phone]").count() == 1
    assert "090-2468-1357" in pair.inner_text()
    # when: 名寄せする -> the older case is proposed to keep; 活動履歴を統合する
    with page.expect_navigation():
        group.locator("[data-testid=merge-group]").click()
    assert page.locator(f"[data-testid=survivor-{older.pk}]").is_checked()
    page.check("input[name=mode][value=integrate]")
    with page.expect_navigation():
        page.click("[data-testid=merge-next]")
    # then: the confirmation shows the result; nothing is written yet
    assert page.locator("[data-testid=merge-result]").is_visible()
    assert Merge.objects.unscoped().count() == 0
    fits(page, 1366)
    # when: 名寄せを実行する
    with page.expect_navigation():
        page.click("[data-testid=merge-run]")
    # then: the kept case's page, with the merged call in its history and the undo link
    assert page.url.endswith(f"/cases/{older.pk}/")
    assert "ポータル経由で内見希望の電話" in page.content()
    assert page.locator("[data-testid=merge-undo-link]").is_visible()
    assert Case.objects.unscoped().get(pk=newer.pk).merged_into_id == older.pk
    assert page.locator("[data-testid=duplicate-warning]").count() == 0


def test_phone_shows_the_duplicate_warning_on_the_case_page(page, office):
    older, newer = office["older"], office["newer"]
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "agent@ddp.example.jp", PASSWORD)
    # when
    page.goto(f"/cases/{newer.pk}/")
    # then
    warning = page.locator("[data-testid=duplicate-warning]")
    assert warning.is_visible()
    assert f"#{older.number}" in warning.inner_text()
    fits(page, 390)
    with page.expect_navigation():
        warning.locator("[data-testid=duplicate-candidates-link]").click()
    assert page.locator("[data-testid=candidate-group]").count() == 1
    fits(page, 390)
