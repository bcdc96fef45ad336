"""Demo data and the case export: the export round-trips the demo's counts; every key exact."""

import csv
import io
import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from python_calamine import CalamineWorkbook

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_trash_case, do_upsert_tag
from estatecrm.crm.choices import ActivityKind, CaseStatus
from estatecrm.crm.demo import do_load_demo_company
from estatecrm.crm.models import Activity, Attachment, Case, ContactPoint, Customer, Introduction
from estatecrm.tenancy.models import Company, Membership, OrgUnit, User

pytestmark = pytest.mark.django_db

KEYS = {"id", "number", "source", "origin", "kind", "status", "sub_status", "rank", "tags", "org", "main_assignee", "sub_assignees", "started_on",
        "first_inquiry", "auto_intro_mail", "desired", "management_comment", "other_info", "needs_review", "customer", "activities",
        "introductions", "attachments", "created_at", "merged_into"}


def export(*args):
    out = io.StringIO()
    call_command("export", *args, stdout=out)
    return out.getvalue()


def test_demo_company_has_the_promised_shape(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    result = do_load_demo_company(customers=200)
    company = Company.objects.get(code="demo")
    assert OrgUnit.objects.for_company(company).count() == 7
    assert User.objects.filter(company=company).count() == 13
    assert Membership.objects.for_company(company).filter(org_unit__code__in=["SBY", "SJK", "YKH", "KWS"]).count() == 12
    assert (result.customers, Customer.objects.for_company(company).count()) == (200, 200)
    assert set(Case.objects.for_company(company).values_list("status", flat=True)) == set(CaseStatus.values)
    # 反響 activities come from the intake (the inquiries app's part of the demo), not from crm's demo.
    assert set(Activity.objects.for_company(company).values_list("kind", flat=True)) == set(ActivityKind.values) - {ActivityKind.INQUIRY}
    assert len({customer.line_link_number for customer in Customer.objects.for_company(company)}) == 200
    shared = Counter(ContactPoint.objects.for_company(company).exclude(normalized="").values_list("normalized", flat=True))
    assert result.planted_duplicates == 22
    assert sum(1 for count in shared.values() if count > 1) >= result.planted_duplicates
    # the planted duplicates show as 名寄せ candidates: every customer holding a (not shared) phone or e-mail of another
    holders = set(ContactPoint.objects.for_company(company).filter(normalized__in=[value for value, count in shared.items() if 1 < count < 5])
                  .values_list("customer_id", flat=True))
    flagged = set(Case.objects.for_company(company).filter(has_duplicates=True).values_list("customer_id", flat=True))
    assert len(holders) == 42 and holders <= flagged  # 22 planted, some of the same original
    assert (tmp_path / "demo-admin.txt").exists()


def test_demo_is_deterministic_and_if_empty_does_nothing_the_second_time(settings, tmp_path):
    settings.VAR_DIR = tmp_path

    def names():
        return list(Customer.objects.unscoped().order_by("pk").values_list("name", "kana", "street"))

    with pytest.raises(RollBack), transaction.atomic():
        do_load_demo_company(customers=50)
        first_load = names()
        raise RollBack
    assert not Customer.objects.unscoped().exists()
    call_command("demo", "--customers", "50", stdout=io.StringIO())
    # The command then runs a lead import and a legacy migration: their customers come after the demo's.
    assert names()[:50] == first_load
    loaded = Customer.objects.unscoped().count()
    out = io.StringIO()
    call_command("demo", "--if-empty", stdout=out)
    assert out.getvalue().splitlines()[0] == "The database already has data: no demo loaded."
    assert "admin@demo.example.jp" in out.getvalue()
    assert Customer.objects.unscoped().count() == loaded


class RollBack(Exception):
    pass


def test_export_round_trips_the_demo_counts(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    do_load_demo_company(customers=200)
    company = Company.objects.get(code="demo")
    records = [json.loads(line) for line in export("cases", "--company", "demo").splitlines()]
    assert len(records) == Case.objects.for_company(company).count()
    assert all(set(record) == KEYS for record in records)
    assert sum(record["activities"] for record in records) == Activity.objects.for_company(company).count()
    assert sum(record["introductions"] for record in records) == Introduction.objects.for_company(company).count()
    assert Counter(record["status"] for record in records) == Counter(Case.objects.for_company(company).values_list("status", flat=True))
    assert all(phone.startswith("+81") for record in records for phone in record["customer"]["phones"])


def test_every_field_of_a_case_is_exported_exactly(company, org, agent, company_admin):
    # given
    tags = [do_upsert_tag(company=company, name=name)[0] for name in ("単身", "ペット")]
    case = testing.make_case(
        company, org["SBY"], main_assignee=agent, sub_assignees=[company_admin], tags=[tags[1], tags[0]], started_on="2026-04-01",
        source_system="legacy-desktop", source_id="T0000001", other_info="=cmd|' /C calc'!A0", first_inquiry_source="SUUMO",
        first_inquiry_listing_ref="B001", first_inquiry_listing_name="パークハイツ渋谷 301",
        desired={"rent_max": 12.5, "walk_minutes": 10, "building_age": 0, "features": ["ペット相談"], "layouts": ["1LDK"],
                 "management_comment": "自動紹介メール: 移行前は配信していました"},
    )
    Case.objects.for_company(company).filter(pk=case.pk).update(first_inquiry_date="2026-03-30")
    # when
    record = json.loads(export("cases", "--company", "acme"))
    # then
    assert {key: record[key] for key in KEYS - {"created_at", "customer", "desired"}} == {
        "id": case.pk, "number": case.number, "source": {"system": "legacy-desktop", "id": "T0000001"}, "origin": "manual", "kind": "rent", "status": "追客中",
        "sub_status": None, "rank": None, "tags": ["ペット", "単身"], "org": "SBY", "main_assignee": "agent@acme.example.jp",
        "sub_assignees": ["admin@acme.example.jp"], "started_on": "2026-04-01",
        "first_inquiry": {"date": "2026-03-30", "source": "SUUMO", "listing_ref": "B001", "listing_name": "パークハイツ渋谷 301"},
        "auto_intro_mail": False, "management_comment": "自動紹介メール: 移行前は配信していました", "other_info": "=cmd|' /C calc'!A0",
        "needs_review": False, "activities": 0, "introductions": 0, "attachments": 0, "merged_into": None,
    }
    assert (record["desired"]["rent_max"], record["desired"]["walk_minutes"], record["desired"]["building_age"]) == (12.5, 10, "新築")
    assert (record["desired"]["features"], record["desired"]["layouts"]) == (["ペット相談"], ["1LDK"])
    assert record["customer"] == {
        "id": case.customer_id, "kind": "person", "name": "佐藤 花子", "kana": "サトウ ハナコ", "phones": ["+819012345678"],
        "emails": ["hanako@example.jp"], "postal_code": "", "address": "", "birth_date": None,
        "line_link_number": case.customer.line_link_number, "line_user_id": "",
        "contact_points": [{"kind": "mobile", "raw": "090-1234-5678", "e164": "+819012345678"},
                           {"kind": "email", "raw": "hanako@example.jp", "normalized": "hanako@example.jp"}]}
    assert case.number == 1
    assert record["created_at"].endswith("+09:00")


def test_csv_and_xlsx_are_excel_friendly_and_neutralize_formulas(company, org, agent, tmp_path):
    testing.make_case(company, org["SBY"], main_assignee=agent, other_info='=HYPERLINK("http://x")')
    testing.make_case(company, org["SBY"], main_assignee=agent, source_system="legacy-desktop", source_id="T2")
    csv_path, xlsx_path = tmp_path / "cases.csv", tmp_path / "cases.xlsx"
    export("cases", "--company", "acme", "--format", "csv", "--out", str(csv_path))
    export("cases", "--company", "acme", "--format", "xlsx", "--out", str(xlsx_path))
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    header, first, second = raw.decode("utf-8-sig").splitlines()[:3]
    columns = header.split(",")
    assert {"source.system", "customer.phones", "number", "customer.kind", "customer.contact_points", "customer.line_link_number",
            "customer.line_user_id"} <= set(columns)
    assert "'=HYPERLINK" in first and "legacy-desktop" in second
    rows = CalamineWorkbook.from_path(str(xlsx_path)).get_sheet_by_name("export").to_python()
    assert len(rows) == 3
    assert rows[1][rows[0].index("other_info")] == "'=HYPERLINK(\"http://x\")"


def test_trashed_cases_and_other_companies_are_not_exported(company, org, agent, other_company):
    kept = testing.make_case(company, org["SBY"], main_assignee=agent)
    gone = testing.make_case(company, org["SBY"], main_assignee=agent)
    do_trash_case(case=gone, acting_user=None)
    assert [json.loads(line)["id"] for line in export("cases", "--company", "acme").splitlines()] == [kept.pk]


def test_export_query_count_does_not_grow_per_case(company, org, agent, django_assert_max_num_queries):
    for _ in range(30):
        testing.make_case(company, org["SBY"], main_assignee=agent)
    with django_assert_max_num_queries(8):
        assert len(export("cases", "--company", "acme").splitlines()) == 30


def test_attachments_are_counted(company, org, agent):
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    from django.utils import timezone

    Attachment.objects.create(company=company, case=case, file="attachments/x.pdf", original_name="x.pdf", uploaded_at=timezone.now())
    with company_scope(company):
        assert json.loads(export("cases", "--company", "acme"))["attachments"] == 1


def test_export_has_the_company_number_and_customer_kind_in_every_format(company, org, agent, tmp_path):
    # given: company B's cases come first in the database; company A's numbers still start at 1
    other = testing.make_company("other")
    testing.make_case(other, testing.make_unit(other, "HQ"))
    first = testing.make_case(company, org["SBY"], main_assignee=agent)
    second = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="株式会社ＡＢＣ", phones=(("phone", "03-1234-5678"),))
    Customer.objects.for_company(company).filter(pk=second.customer_id).update(kind="company")
    csv_path, xlsx_path = tmp_path / "cases.csv", tmp_path / "cases.xlsx"
    # when
    records = [json.loads(line) for line in export("cases", "--company", "acme").splitlines()]
    export("cases", "--company", "acme", "--format", "csv", "--out", str(csv_path))
    export("cases", "--company", "acme", "--format", "xlsx", "--out", str(xlsx_path))
    # then
    assert [(record["id"], record["number"], record["customer"]["kind"]) for record in records] == [
        (first.pk, 1, "person"), (second.pk, 2, "company")]
    assert records[1]["customer"]["contact_points"][0] == {"kind": "phone", "raw": "03-1234-5678", "e164": "+81312345678"}
    for rows in (list(csv.reader(csv_path.read_text(encoding="utf-8-sig").splitlines())),
                 CalamineWorkbook.from_path(str(xlsx_path)).get_sheet_by_name("export").to_python()):
        header = rows[0]
        assert [(str(row[header.index("number")]).removesuffix(".0"), row[header.index("customer.kind")]) for row in rows[1:]] == [
            ("1", "person"), ("2", "company")]
