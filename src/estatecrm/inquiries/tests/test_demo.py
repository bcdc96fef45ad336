"""The demo's intake: sources in the demo stores, a LINE channel, inquiry mails taken (反響 activities on new
cases, known customers linked, the inbox with two unmatched mails and one that could not be read)."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from estatecrm.crm.choices import ActivityKind, CaseOrigin
from estatecrm.crm.models import Activity, Case
from estatecrm.inquiries.choices import InquiryStatus
from estatecrm.inquiries.models import Inquiry, InquirySource, LineChannel
from estatecrm.tenancy.models import Company

pytestmark = pytest.mark.django_db


def test_the_demo_command_loads_sources_and_takes_realistic_inquiry_mails(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("demo", "--customers", "120", stdout=out)
    company = Company.objects.get(code="demo")
    sources = {source.code: source for source in InquirySource.objects.for_company(company).select_related("org_unit", "default_assignee")}
    assert {code: (source.is_enabled, source.org_unit.code, source.default_assignee.email) for code, source in sources.items()} == {
        "suumo": (True, "SBY", "agent01@demo.example.jp"), "homes": (True, "YKH", "agent03@demo.example.jp"),
        "website": (True, "SJK", "agent02@demo.example.jp"), "athome": (False, "KWS", "agent04@demo.example.jp"),
    }
    assert (sources["suumo"].preset, sources["website"].preset, sources["homes"].preset) == ("suumo", "website", "")
    assert not LineChannel.objects.for_company(company).get().is_enabled
    statuses = dict(Inquiry.objects.for_company(company).values_list("status").annotate(Count("pk")))
    assert statuses == {InquiryStatus.CREATED: 14, InquiryStatus.LINKED_EXISTING: 3, InquiryStatus.UNMATCHED: 2, InquiryStatus.FAILED: 1}
    assert "inquiry mails taken: created 14, failed 1, linked_existing 3, unmatched 2." in out.getvalue()
    cases = Case.objects.for_company(company).filter(pk__in=Inquiry.objects.for_company(company).values("case_id"))
    assert cases.count() == 17
    assert set(cases.values_list("origin", flat=True)) == {CaseOrigin.INQUIRY}
    assert Activity.objects.for_company(company).filter(kind=ActivityKind.INQUIRY, case__in=cases).count() == 17
    # every case went to its source's unit and assignee; SUUMO's to the listings it names (by SUUMO id)
    suumo_cases = cases.filter(first_inquiry_source="SUUMO")
    assert suumo_cases.count() == 8
    assert set(suumo_cases.values_list("owning_org__code", "main_assignee__email")) == {("SBY", "agent01@demo.example.jp")}
    taken = Inquiry.objects.for_company(company).filter(source__code="suumo", status__in=["created", "linked_existing"])
    assert all(inquiry.fields.get("customer_name") and inquiry.fields.get("listing_name") for inquiry in taken)
