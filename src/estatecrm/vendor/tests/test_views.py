"""The pages of データ移行（他社CRM）: list, move-in (phases, verdict), verification report and CSV."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from estatecrm.pipeline.choices import RunStatus
from estatecrm.vendor.models import MoveIn
from estatecrm.vendor.tests.verify_factories import make_loaded_move_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def move_in(company, company_admin, tmp_path):
    return make_loaded_move_in(company, company_admin, tmp_path)


def client_of(user, language="ja") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_the_list_and_the_settings_menu(move_in, company_admin):
    response = client_of(company_admin).get(reverse("vendor:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "データ移行（他社CRM）" in body and "EstiCRM" in body and "esticrm-export.zip" in body
    assert f'href="{reverse("vendor:move-in", args=[move_in.pk])}"' in body
    # the settings menu and the settings home name the page
    assert f'href="{reverse("vendor:home")}"' in client_of(company_admin).get(reverse("settings:units")).content.decode()
    assert 'data-testid="vendor-link"' in client_of(company_admin).get(reverse("settings:home")).content.decode()


def test_the_move_in_page_shows_both_phases_and_the_verdict_form(move_in, company_admin):
    response = client_of(company_admin, "en").get(reverse("vendor:move-in", args=[move_in.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="phase-counts-active"' in body and 'data-count="active:listings:failed">1<' in body
    assert reverse("vendor:report", args=[move_in.pk, "active"]) in body and reverse("vendor:report-csv", args=[move_in.pk, "active"]) in body
    assert "This phase has not started yet." in body  # the archive
    assert 'data-testid="verdict-form"' in body and 'data-finished="1"' in body


def test_a_running_phase_is_followed(company, company_admin, tmp_path):
    move_in = make_loaded_move_in(company, company_admin, tmp_path, status=RunStatus.RUNNING)
    client = client_of(company_admin, "en")
    body = client.get(reverse("vendor:move-in", args=[move_in.pk])).content.decode()
    assert 'data-finished="0"' in body and "<progress" in body and 'data-testid="verdict-not-yet"' in body
    state = client.get(reverse("vendor:move-in-status", args=[move_in.pk])).json()
    assert state["is_finished"] is False and state["phases"]["archive"] is None
    assert state["phases"]["active"]["rows_done"] == 3 and state["phases"]["active"]["entities"]["seekers"]["loaded"] == 2


def test_verdict_through_the_page(move_in, company_admin, django_capture_on_commit_callbacks):
    client = client_of(company_admin, "en")
    url = reverse("vendor:verdict", args=[move_in.pk])
    # problems without a comment: refused on the form, nothing written
    response = client.post(url, {"verdict": "problems", "comment": ""})
    assert response.status_code == 400 and "Describe the problems in the comment." in response.content.decode()
    assert MoveIn.objects.for_company(move_in.company_id).get(pk=move_in.pk).verdict == "pending"
    # problems with a comment
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"verdict": "problems", "comment": "S-2 の予算が違います。"})
    assert response.status_code == 302 and response.url == reverse("vendor:move-in", args=[move_in.pk])
    assert MoveIn.objects.for_company(move_in.company_id).get(pk=move_in.pk).verdict == "problems" and len(mail.outbox) == 1
    body = client.get(response.url).content.decode()
    assert 'data-testid="verdict-history"' in body and "S-2 の予算が違います。" in body


def test_the_report_page(move_in, company_admin):
    response = client_of(company_admin, "en").get(reverse("vendor:report", args=[move_in.pk, "active"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="accounted"' in body and 'data-money="listings:amount" class="mismatch"' in body
    assert '<strong data-testid="money-difference">-58,000,000</strong>' in body
    assert 'data-source-id="L-1001"' in body and "メゾン代々木 203" in body and 'data-testid="sample-seekers"' in body
    # the archive phase has not started; an unknown phase does not exist
    assert client_of(company_admin).get(reverse("vendor:report", args=[move_in.pk, "archive"])).status_code == 404
    assert client_of(company_admin).get(reverse("vendor:report", args=[move_in.pk, "other"])).status_code == 404


def test_the_report_csv(move_in, company_admin):
    response = client_of(company_admin).get(reverse("vendor:report-csv", args=[move_in.pk, "active"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'move-in-{move_in.pk}-active-verification.csv' in response["Content-Disposition"]
    assert response.content.startswith("\ufeff区分".encode())


def test_others_are_refused(move_in, agent, other_company):
    assert client_of(agent).get(reverse("vendor:move-in", args=[move_in.pk])).status_code == 403
    other = client_of(other_company["admin"])
    assert other.get(reverse("vendor:move-in", args=[move_in.pk])).status_code == 404
    assert other.get(reverse("vendor:report-csv", args=[move_in.pk, "active"])).status_code == 404
    assert other.post(reverse("vendor:verdict", args=[move_in.pk]), {"verdict": "verified"}).status_code == 404
    assert "EstiCRM" not in other.get(reverse("vendor:home")).content.decode()
