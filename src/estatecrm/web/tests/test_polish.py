"""Small things people notice: progress in words, the status checkboxes, flash messages, the unit tree, the
settings home's ways to bring data in, the duplicate warning's place, count columns with their own word."""

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext, override

from estatecrm.core import testing
from estatecrm.crm.choices import CaseStatus
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_pages(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.mark.parametrize(("status", "rows_total", "expected"), [
    (RunStatus.PENDING, None, "Waiting to start"),
    (RunStatus.RUNNING, None, "Checking the rows"),
    (RunStatus.RUNNING, 120, "45 / 120"),
])
def test_run_progress_says_in_words_what_an_unknown_total_means(status, rows_total, expected):
    run = Run(status=status, rows_total=rows_total, rows_done=45)
    with override("ja"):
        html = render_to_string("web/partials/run_progress.html", {"run": run}).strip()
        assert html == (gettext(expected) if rows_total is None else expected)
    assert "?" not in html


def test_dashboard_says_in_words_what_a_run_without_total_is_doing(client, company, company_admin):
    # given: one run waiting for a worker (its status says so), one counting its rows, one halfway
    Run.objects.create(company=company, kind="lead_import", status=RunStatus.PENDING, source_name="waiting.csv", created_by=company_admin)
    Run.objects.create(company=company, kind="lead_import", status=RunStatus.RUNNING, source_name="counting.csv", created_by=company_admin)
    Run.objects.create(company=company, kind="lead_import", status=RunStatus.RUNNING, source_name="half.csv", created_by=company_admin,
                       rows_total=200, rows_done=100)
    client.force_login(company_admin)
    # when
    content = client.get(reverse("web:dashboard")).content.decode()
    # then
    assert re.search(r"waiting\.csv — Waiting</li>", content)
    assert re.search(r"counting\.csv — Running \(Checking the rows\)</li>", content)
    assert re.search(r"half\.csv — Running \(100 / 200\)</li>", content)


def test_status_filter_is_checkboxes_and_filters_on_several_statuses(client, company, org, company_admin):
    # given
    new = testing.make_case(company, org["SBY"], main_assignee=company_admin, status=CaseStatus.NEW, customer_name="新規 太郎")
    following = testing.make_case(company, org["SBY"], main_assignee=company_admin, status=CaseStatus.FOLLOWING, customer_name="追客 花子")
    testing.make_case(company, org["SBY"], main_assignee=company_admin, status=CaseStatus.CONTRACTED, customer_name="契約 次郎")
    client.force_login(company_admin)
    # when
    response = client.get(reverse("crm:list"), {"status": [CaseStatus.NEW, CaseStatus.FOLLOWING]})
    # then
    content = response.content.decode()
    assert sorted(case.pk for case in response.context["page"].items) == sorted([new.pk, following.pk])
    boxes = re.findall(r'<input type="checkbox" name="status" value="([^"]+)"( checked)?>', content)
    assert boxes == [(value, " checked" if value in (CaseStatus.NEW, CaseStatus.FOLLOWING) else "") for value in CaseStatus.values]
    assert '<select name="status" multiple' not in content


def test_flash_message_has_its_level_a_role_and_a_dismiss_button(client, company, org, company_admin):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=company_admin)
    client.force_login(company_admin)
    # when: a bulk change with no case selected, then a successful one
    refused = client.post(reverse("crm:bulk"), {"operation": "set_status", "status": CaseStatus.NEW, "next": reverse("crm:list")}, follow=True)
    done = client.post(reverse("crm:bulk"), {"operation": "set_status", "status": CaseStatus.NEW, "case_ids": [case.pk],
                                             "next": reverse("crm:list")}, follow=True)
    # then
    assert re.search(r'<li class="message error" role="alert"><span>[^<]+</span>\s*<button type="button" class="message-dismiss small" data-dismiss hidden',
                     refused.content.decode())
    assert '<li class="message success" role="status"><span>1 cases changed.</span>' in done.content.decode()


def test_unit_tree_nests_each_unit_under_its_parent(client, org, company_admin):
    client.force_login(company_admin)
    response = client.get(reverse("settings:units"))
    [root] = response.context["units"]
    assert (root.code, [unit.code for unit in root.subunits]) == ("HQ", ["TKY"])
    assert [unit.code for unit in root.subunits[0].subunits] == ["SBY", "SJK"]
    content = response.content.decode()
    # The TKY item holds a nested list with SBY and SJK, inside the HQ item's nested list.
    tky = content[content.index('data-unit="TKY"'):]
    assert tky.index('class="unit-tree unit-subtree"') < tky.index('data-unit="SBY"') < tky.index('data-unit="SJK"')
    assert content.count('class="unit-tree unit-subtree"') == 2


def test_settings_home_links_imports_and_the_migration_of_each_administered_unit(client, org, company, agent):
    # given: an admin of 東京エリア (not of 本社)
    org_admin = testing.make_user(company, org["TKY"], role="admin", email="tky-admin@acme.example.jp")
    client.force_login(org_admin)
    # when
    content = client.get(reverse("settings:home")).content.decode()
    # then
    assert f'href="{reverse("leads:list")}" data-testid="imports-link"' in content
    links = re.findall(r'href="(/settings/units/\d+/onboarding/migration/)"', content)
    assert links == [reverse("legacy:home", args=[unit.pk]) for unit in (org["TKY"], org["SBY"], org["SJK"])]


def test_duplicate_warning_sits_right_after_the_phone_field(client, company_admin):
    client.force_login(company_admin)
    content = client.get(reverse("crm:new")).content.decode()
    phone, warning, email = (content.index(marker) for marker in ('data-field="phone"', 'id="duplicate-warning"', 'data-field="email"'))
    assert phone < warning < email


def test_count_columns_do_not_reuse_the_list_title(client, company_admin):
    client.force_login(company_admin)
    content = client.get(reverse("masters:projects")).content.decode()
    assert "<th>Number of cases</th>" in content


def test_dashboard_names_the_kind_of_each_background_run(client, company, company_admin):
    # given: a lead import waiting and a migration's revert running
    waiting = Run.objects.create(company=company, kind="lead_import", status=RunStatus.PENDING, source_name="leads.csv", created_by=company_admin)
    revert = Run.objects.create(company=company, kind="legacy_migration_revert", status=RunStatus.RUNNING, source_name="bundle.zip",
                                created_by=company_admin)
    client.force_login(company_admin)
    # when
    content = client.get(reverse("web:dashboard"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    # then: what people call them, not the kind's code
    assert f"#{waiting.pk} リードインポート leads.csv" in content
    assert f"#{revert.pk} データ移行の取り消し bundle.zip" in content
    assert "lead_import" not in content
