"""データ移行（他社CRM） in a real browser: the company admin follows the running active phase (the page refreshes
itself when it ends), opens its verification report, is refused problems without a comment, then reports them;
the verdict shows in the history, and at 390 px nothing overflows.
(Texts are checked by their test ids: the new msgids' Japanese comes with the merge of the i18n fragments.)"""

import pytest
from django.core import mail
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.choices import Role
from estatecrm.vendor.models import MoveIn
from estatecrm.vendor.tests.verify_factories import make_loaded_move_in

from .test_login import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_follows_a_phase_and_reports_problems(page, transactional_db, tmp_path):
    company = testing.make_company("vnd", "移行不動産株式会社")
    hq = testing.make_unit(company, "HQ", name="本社")
    admin = testing.make_user(company, hq, role=Role.ADMIN, email="admin@vnd.example.jp", name="管理 太郎", password=PASSWORD)
    move_in = make_loaded_move_in(company, admin, tmp_path, status=RunStatus.RUNNING)
    log_in(page, "admin@vnd.example.jp", PASSWORD)
    # given: the move-in page while phase 1 runs
    page.goto("/settings/move-ins/")
    page.click(f"[data-move-in='{move_in.pk}'] a")
    assert page.locator("[data-testid=phases][data-finished='0']").count() == 1
    assert page.locator("[data-testid=verdict-not-yet]").count() == 1
    # when: the phase ends, the page reloads itself with the verdict form
    Run.objects.unscoped().filter(pk=move_in.active_run_id).update(status=RunStatus.COMPLETED, rows_done=8, finished_at=timezone.now())
    page.locator("[data-testid=verdict-form]").wait_for()
    # then: the verification report, source beside target
    page.click("[data-testid=report-link-active]")
    assert page.locator("[data-testid=money-difference]").first.inner_text() == "-58,000,000"
    assert "メゾン代々木 203" in page.locator("[data-source-id='L-1001']").inner_text()
    page.go_back()
    # when: problems without a comment -> refused, nothing recorded
    page.check("input[name=verdict][value=problems]")
    with page.expect_navigation():
        page.click("[data-testid=verdict-submit]")
    assert page.locator("[data-testid=verdict-error]").count() == 1
    assert MoveIn.objects.unscoped().get(pk=move_in.pk).verdict == "pending"
    # when: with a comment
    page.check("input[name=verdict][value=problems]")
    page.fill("textarea[name=comment]", "L-1002 の価格が取り込まれていません。")
    with page.expect_navigation():
        page.click("[data-testid=verdict-submit]")
    # then: the verdict, its history, the mail to the onboarding staff
    assert "L-1002 の価格が取り込まれていません。" in page.locator("[data-testid=verdict-history]").inner_text()
    assert MoveIn.objects.unscoped().get(pk=move_in.pk).verdict == "problems" and len(mail.outbox) == 1
    # and: on a phone, the page fits
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
