"""End to end, through the commands: check-profile, import in phases, verify; the three built-in profiles with
Japanese and Polish data. What the verification says is checked against the database, not against itself."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Activity, Case, ContactPoint, Listing
from estatecrm.vendor.tests.packages import (
    HUBSPOT_POLISH,
    JAPANESE,
    SALESFORCE_JAPANESE,
    hubspot_package,
    salesforce_package,
    template_package,
)

pytestmark = pytest.mark.django_db


def command_json(*args) -> dict:
    out = io.StringIO()
    try:
        call_command("vendor", *args, "--json", stdout=out, stderr=io.StringIO())
    except SystemExit:
        pass
    return json.loads(out.getvalue())


def import_all(path, company, admin, profile, *extra) -> dict:
    return command_json("import", str(path), "--company", company.code, "--profile", profile, "--as", admin.email, "--phase", "all", *extra)


def verify(run_id) -> dict:
    return command_json("verify", str(run_id))


def test_template_package_imported_and_verified(tmp_path, company, org, company_admin):
    testing.make_user(company, org["SBY"], email="sato@demo.example.jp", name="佐藤 花子")
    testing.make_user(company, org["SJK"], email="suzuki@demo.example.jp", name="鈴木 一郎")
    path = template_package(tmp_path / "esticrm.zip", JAPANESE, as_zip=True)
    checked = command_json("check-profile", "template", str(path))
    assert checked["loadable"] and checked["counts"] == {"agents": 2, "listings": 3, "seekers": 3, "activities": 3, "links": 3}

    summary = import_all(path, company, company_admin, "template")

    assert summary["status"] == "completed" and [run["phase"] for run in summary["runs"]] == ["active", "archive"]
    active, archive = (verify(run["run_id"]) for run in summary["runs"])
    for report in (active, archive):
        assert report["accounted"] and report["finished"]
        for total in report["money"]:  # every yen that the package holds for the phase is in the database
            assert Decimal(total["difference"]) == 0, total
    assert {entity: values["loaded"] for entity, values in active["entities"].items()} == {
        "agents": 0, "listings": 2, "seekers": 2, "activities": 0, "links": 2}
    assert active["entities"]["agents"]["skipped"] == {"agent_exists": 2}  # matched to the company's users: nothing created
    assert {entity: values["loaded"] for entity, values in archive["entities"].items()} == {
        "agents": 0, "listings": 1, "seekers": 1, "activities": 3, "links": 1}
    with company_scope(company):
        loaded_amounts = sum(Listing.objects.filter(ref__in=["L-1001", "L-1002"]).values_list("amount", flat=True))
    assert {total["field"]: Decimal(total["loaded"]) for total in active["money"] if total["entity"] == "listings"} == {
        "amount": loaded_amounts}
    # The sample shows the package's own cells beside what they became.
    seeker = next(record for record in active["sample"]["seekers"] if record["source_id"] == "S-1")
    assert seeker["source"]["name"] == "山田 太郎" and "山田 太郎" in seeker["target"].values()
    # The CSV of a phase opens in Excel (BOM) and names every entity.
    out = tmp_path / "active.csv"
    call_command("vendor", "verify", str(summary["runs"][0]["run_id"]), "--out", str(out), stdout=io.StringIO())
    text = out.read_text(encoding="utf-8-sig")
    assert all(entity in text for entity in ("agents", "listings", "seekers", "links"))
    assert list(csv.reader(io.StringIO(text)))

    # A second load of the same package adds nothing; the export shows where each case came from.
    again = import_all(path, company, company_admin, "template")
    assert sum(values["loaded"] for values in again["entities"].values()) == 0
    export = io.StringIO()
    call_command("export", "cases", "--company", company.code, stdout=export)
    exported = [json.loads(line) for line in export.getvalue().splitlines() if line.strip()]
    assert {(case["origin"], case["source"]["id"]) for case in exported if case["source"]} >= {
        ("vendor_migration", "S-1"), ("vendor_migration", "S-2"), ("vendor_migration", "S-3")}


def test_hubspot_export_of_a_polish_office(tmp_path, company, company_admin):
    testing.make_user(company, None, email="agnieszka.wojcik@biuro.example.pl", name="Agnieszka Wójcik")
    path = hubspot_package(tmp_path / "hubspot-pl.zip", HUBSPOT_POLISH, as_zip=True)

    summary = import_all(path, company, company_admin, "hubspot", "--region", "PL", "--currency", "PLN")

    assert summary["status"] == "completed", summary
    assert {entity: (values["source"], values["loaded"]) for entity, values in summary["entities"].items()} == {
        "agents": (1, 0), "listings": (0, 0), "seekers": (2, 2), "activities": (2, 2), "links": (0, 0)}
    with company_scope(company):
        lukasz = Case.objects.select_related("customer").get(source_id="9001")
        assert (lukasz.origin, lukasz.source_system, lukasz.status) == ("vendor_migration", "HubSpot", "追客中")
        assert lukasz.customer.name.replace(" ", "") in ("ŁukaszŻółkiewski", "ŻółkiewskiŁukasz")
        assert ContactPoint.objects.get(customer=lukasz.customer, raw__contains="601").normalized == "+48601234567"
        malgorzata = Case.objects.select_related("customer").get(source_id="9002")
        assert malgorzata.status == "追客終了"  # lifecycle stage "other": the archive
        assert (malgorzata.customer.city, malgorzata.customer.prefecture) == ("Kraków, małopolskie", "")
        deal = Activity.objects.get(case=lukasz, subject__contains="Sprzedaż mieszkania")
        assert "1 250 000,50" in deal.body
    for run in summary["runs"]:
        assert verify(run["run_id"])["accounted"]


def test_salesforce_export_of_a_japanese_office(tmp_path, company, org, company_admin):
    testing.make_user(company, org["SBY"], email="sato@demo.example.jp", name="佐藤 花子")
    testing.make_user(company, org["SJK"], email="suzuki@demo.example.jp", name="鈴木 一郎")
    path = salesforce_package(tmp_path / "salesforce", SALESFORCE_JAPANESE)

    summary = import_all(path, company, company_admin, "salesforce", "--region", "JP", "--currency", "JPY")

    assert summary["status"] == "completed", summary
    assert {entity: (values["source"], values["loaded"]) for entity, values in summary["entities"].items()} == {
        "agents": (2, 0), "listings": (0, 0), "seekers": (2, 2), "activities": (3, 3), "links": (0, 0)}
    with company_scope(company):
        taro = Case.objects.select_related("customer", "main_assignee").get(source_id="0035g00000C1defAAA")
        assert taro.main_assignee.email == "sato@demo.example.jp" and taro.status == "追客中"
        assert taro.customer.employer == "株式会社サンプル商事"
        assert Case.objects.get(source_id="0035g00000C2defAAA").status == "追客終了"  # IsDeleted: the archive
        assert set(Activity.objects.filter(case=taro, is_migrated=True).values_list("kind", flat=True)) >= {"call", "email_out"}
    for run in summary["runs"]:
        assert verify(run["run_id"])["accounted"]


def test_the_documented_sample_package_loads_whole_with_its_agents_created_inactive(company, org, company_admin):
    from pathlib import Path

    from estatecrm.tenancy.models import User

    sample = Path(__file__).resolve().parents[4] / "docs" / "vendor-sample"

    summary = import_all(sample, company, company_admin, "template", "--create-agents")

    assert summary["status"] == "completed", summary
    for entity, values in summary["entities"].items():
        assert values["failed"] == 0 and values["loaded"] + sum(values["skipped"].values()) == values["source"], entity
    created = User.objects.filter(company=company, email__endswith="@sakura-fudosan.example.jp")
    assert created.exists() and not created.filter(is_active=True).exists()
    with company_scope(company):
        assert {membership.org_unit.name for user in created for membership in user.memberships.all()} <= {"渋谷店", "新宿店", "本社"}
    for run in summary["runs"]:
        report = verify(run["run_id"])
        assert report["accounted"] and all(Decimal(total["difference"]) == 0 for total in report["money"])
