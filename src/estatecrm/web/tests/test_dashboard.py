"""The dashboard: new registrations exclude imports and migrations, open appointments, running jobs."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.actions import do_book_visit
from estatecrm.crm.choices import CaseOrigin
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


def test_dashboard_counts_new_registrations_apart_from_imports(client, company, org, company_admin):
    # given
    testing.make_case(company, org["SBY"], main_assignee=company_admin)
    testing.make_case(company, org["SBY"], main_assignee=company_admin, origin=CaseOrigin.INQUIRY)
    imported = testing.make_case(company, org["SBY"], main_assignee=company_admin, origin=CaseOrigin.LEAD_IMPORT)
    testing.make_case(company, org["SBY"], main_assignee=company_admin, origin=CaseOrigin.LEGACY_MIGRATION)
    visit = do_book_visit(actor=actor_for(company_admin), case=imported, visit_at=timezone.now() + datetime.timedelta(days=1))
    Run.objects.create(company=company, kind="lead_import", status=RunStatus.RUNNING, source_name="leads.csv", created_by=company_admin)
    client.force_login(company_admin)
    # when
    response = client.get(reverse("web:dashboard"))
    # then
    summary = response.context["summary"]
    assert (summary["new_registrations"], summary["brought_in"], summary["open_appointments"]) == (2, 2, 1)
    assert [activity.pk for activity in response.context["appointments"]] == [visit.pk]
    assert [run.source_name for run in response.context["runs"]] == ["leads.csv"]
    assert "leads.csv" in response.content.decode()


def test_agent_sees_only_own_jobs(client, company, org, agent, company_admin):
    Run.objects.create(company=company, kind="lead_import", status=RunStatus.RUNNING, source_name="admin.csv", created_by=company_admin)
    client.force_login(agent)
    assert client.get(reverse("web:dashboard")).context["runs"] == []
