"""Loading a template package phase by phase: what each record becomes, counts, idempotence, dry run, pre-flight."""

import copy
import datetime
from decimal import Decimal

import pytest

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import (
    Activity,
    Case,
    ContactPoint,
    Customer,
    DesiredConditions,
    Introduction,
    Listing,
    ListingStation,
)
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.engine import execute_run
from estatecrm.pipeline.models import LedgerEntry, Run
from estatecrm.tenancy.models import Membership, User
from estatecrm.vendor import actions, error_codes
from estatecrm.vendor.choices import RUN_KIND
from estatecrm.vendor.models import MoveIn, RecordOutcome
from estatecrm.vendor.tests import loading
from estatecrm.vendor.tests.packages import JAPANESE, POLISH, template_package

pytestmark = pytest.mark.django_db
jp_agents = loading.jp_agents  # a fixture


def load(user, company, path, phase="active", **options):
    started = actions.do_start_import(user, company, path, "template", phase=phase, background=False, **options)
    assert execute_run(started.run.pk) is not None
    started.run.refresh_from_db()
    return started.run


def entities(run):
    return actions.import_summary(run)["entities"]


def test_japanese_package_phase_by_phase(tmp_path, company, company_admin, jp_agents):
    path = template_package(tmp_path / "esticrm-export.zip", as_zip=True)
    with company_scope(company):
        # when: the active phase
        active = load(company_admin, company, path)
        # then: agents matched, the active listings and seekers and the link between them
        assert active.status == RunStatus.COMPLETED
        assert entities(active) == {
            "agents": {"source": 2, "loaded": 0, "skipped": {"agent_exists": 2}, "failed": 0, "failed_reasons": {}},
            "listings": {"source": 2, "loaded": 2, "skipped": {}, "failed": 0, "failed_reasons": {}},
            "seekers": {"source": 2, "loaded": 2, "skipped": {}, "failed": 0, "failed_reasons": {}},
            "activities": {"source": 0, "loaded": 0, "skipped": {}, "failed": 0, "failed_reasons": {}},
            "links": {"source": 2, "loaded": 2, "skipped": {}, "failed": 0, "failed_reasons": {}},
        }
        assert active.detected["source"]["listings"]["money"] == {"amount": "58098000"}
        assert active.detected["source"]["seekers"]["money"] == {"budget_min": "80000", "budget_max": "60110000"}
        rent = Listing.objects.get(ref="L-1001")
        assert (rent.name, rent.kind, rent.status, rent.currency, rent.amount, rent.rent, rent.price) == (
            "メゾン代々木 203", "rent", "available", "JPY", Decimal("98000.00"), Decimal("9.8"), None)
        assert (rent.layout, rent.area, rent.built_on, rent.city, rent.postal_code, rent.agent) == (
            "1LDK", Decimal("35.50"), datetime.date(2015, 1, 1), "渋谷区", "151-0053", jp_agents["sato@demo.example.jp"])
        assert rent.created_at == datetime.datetime.fromisoformat("2026-09-01T10:00:00+09:00")
        assert list(ListingStation.objects.filter(listing=rent).values_list("station", "walk_minutes")) == [("代々木", 5)]
        sale = Listing.objects.get(ref="L-1002")
        assert (sale.kind, sale.price, sale.rent, sale.amount) == ("buy", 5800, None, Decimal("58000000.00"))
        case = Case.objects.select_related("customer", "desired").get(source_id="S-1")
        assert (case.origin, case.source_system, case.kind, case.status, case.main_assignee, case.owning_org.code) == (
            "vendor_migration", "EstiCRM", "rent", "追客中", jp_agents["sato@demo.example.jp"], "SBY")
        assert case.started_on == datetime.date(2026, 10, 1)
        assert (case.customer.name, case.customer.kana, bool(case.customer.line_link_number)) == ("山田 太郎", "ヤマダ タロウ", True)
        assert sorted(ContactPoint.objects.filter(customer=case.customer).values_list("kind", "raw", "normalized")) == [
            ("email", "taro.yamada@example.com", "taro.yamada@example.com"), ("mobile", "090-1234-5678", "+819012345678")]
        desired = case.desired
        assert (desired.currency, desired.budget_min, desired.budget_max, desired.rent_min, desired.rent_max, desired.price_max) == (
            "JPY", Decimal("80000.00"), Decimal("110000.00"), Decimal("8.0"), Decimal("11.0"), None)
        assert (desired.areas, desired.layouts) == (["渋谷区", "新宿区"], ["1LDK", "2DK"])
        assert DesiredConditions.objects.get(case__source_id="S-2").price_max == 6000
        assert Case.objects.get(source_id="S-2").owning_org.code == "SJK"
        viewed = Introduction.objects.get(case=case)
        assert (viewed.listing, viewed.listing_ref, viewed.rent_or_price, viewed.introduced_on, viewed.is_migrated) == (
            rent, "L-1001", Decimal("9.8"), datetime.date(2026, 10, 5), True)
        assert list(Activity.objects.filter(case=case).values_list("kind", flat=True)) == ["showing"]
        assert RecordOutcome.objects.filter(run=active).count() == 8
        # when: the archive phase
        archive = load(company_admin, company, path, "archive")
        # then: the archived listing and seeker, all activities, the remaining link
        assert archive.status == RunStatus.COMPLETED
        summary = entities(archive)
        assert {entity: (values["source"], values["loaded"]) for entity, values in summary.items()} == {
            "agents": (0, 0), "listings": (1, 1), "seekers": (1, 1), "activities": (3, 3), "links": (1, 1)}
        assert Listing.objects.get(ref="L-0901").status == "hidden"
        closed = Case.objects.get(source_id="S-3")
        assert closed.status == "追客終了"
        assert sorted(Activity.objects.filter(case=closed).values_list("kind", "subject")) == [("note", "申込"), ("visit", "")]
        call = Activity.objects.get(case=case, kind="call")
        assert (call.body, call.actor, call.is_migrated) == ("内見希望。土曜午前。\nListing: L-1001 メゾン代々木 203", jp_agents["sato@demo.example.jp"], True)
        case.refresh_from_db()
        assert case.last_contact_at == datetime.datetime.fromisoformat("2026-10-05T11:00:00+09:00")  # the showing, after the call and mail
        move_in = MoveIn.objects.get()
        assert (move_in.active_run, move_in.archive_run, move_in.vendor, move_in.currency) == (active, archive, "EstiCRM", "JPY")


def test_a_second_load_adds_nothing(tmp_path, company, company_admin, jp_agents):
    path = template_package(tmp_path / "package")
    with company_scope(company):
        load(company_admin, company, path)
        load(company_admin, company, path, "archive")
        rows = (Listing.objects.count(), Case.objects.count(), Customer.objects.count(), Activity.objects.count(), Introduction.objects.count())
        # when: both phases once more
        again = [load(company_admin, company, path), load(company_admin, company, path, "archive")]
        # then: every record skipped as already loaded, nothing written
        assert (Listing.objects.count(), Case.objects.count(), Customer.objects.count(), Activity.objects.count(),
                Introduction.objects.count()) == rows
        for run in again:
            for values in entities(run).values():
                assert values["loaded"] == 0 and values["failed"] == 0
                assert values["skipped"] == ({"already_loaded": values["source"]} if values["source"] else {})


def test_polish_package_all_phases_through_the_cli_json(tmp_path, company, company_admin):
    from estatecrm.core import testing

    testing.make_user(company, None, email="agnieszka.wojcik@biuro.example.pl", name="Agnieszka Wójcik")
    path = template_package(tmp_path / "polish.zip", POLISH, as_zip=True)
    with company_scope(company):
        summary = actions.run_phases(company_admin, company, path, "template", phase="all")
        assert summary["phase"] == "all" and summary["status"] == "completed"
        assert [run["phase"] for run in summary["runs"]] == ["active", "archive"]
        assert {entity: (values["source"], values["loaded"], values["failed"]) for entity, values in summary["entities"].items()} == {
            "agents": (1, 0, 0), "listings": (2, 2, 0), "seekers": (2, 2, 0), "activities": (1, 1, 0), "links": (1, 1, 0)}
        flat = Listing.objects.get(ref="OF-17")
        assert (flat.currency, flat.amount, flat.rent, flat.price, flat.city) == ("PLN", Decimal("489000.50"), None, None, "Łódź")
        seeker = Case.objects.select_related("customer", "desired").get(source_id="P-1")
        assert seeker.customer.name == "Łukasz Żółkiewski"
        assert ContactPoint.objects.get(customer=seeker.customer, kind="phone").normalized == "+48601234567"
        assert (seeker.desired.currency, seeker.desired.budget_max, seeker.desired.price_max) == ("PLN", Decimal("520000.75"), None)
        assert seeker.owning_org.parent is None  # the agent has no unit: the root unit
        warsaw = Case.objects.select_related("customer").get(source_id="P-2").customer
        assert ContactPoint.objects.get(customer=warsaw).normalized == "+48226281234"


def test_failed_and_skipped_records_are_accounted_for(tmp_path, company, company_admin, jp_agents):
    data = copy.deepcopy(JAPANESE)
    data["listings.csv"].append({**data["listings.csv"][0], "price": "98,000 yen"})  # same id twice; bad price
    data["listings.csv"].append({**data["listings.csv"][0], "id": "L-2000", "price": "12x"})
    data["seekers.csv"].append({**data["seekers.csv"][0], "id": "S-9", "name": ""})
    data["links.csv"].append({"seeker_id": "S-9", "listing_id": "L-1001", "kind": "introduced", "at": ""})
    data["links.csv"].append({"seeker_id": "S-1", "listing_id": "L-2000", "kind": "introduced", "at": ""})
    data["activities.csv"].append({"id": "A-9", "seeker_id": "S-404", "listing_id": "", "kind": "call", "at": "2026-10-02T10:00:00+09:00",
                                   "text": "", "agent_email": ""})
    path = template_package(tmp_path / "package", data)
    with company_scope(company):
        Listing.objects.create(company=company, ref="L-1002", name="自社の物件")  # the office's own listing has this number
        run = load(company_admin, company, path)
        assert run.status == RunStatus.COMPLETED_WITH_FAILURES
        summary = entities(run)
        assert summary["listings"] == {"source": 4, "loaded": 1, "skipped": {"duplicate_in_package": 1}, "failed": 2,
                                       "failed_reasons": {"listing_number_taken": 1, "invalid_value": 1}}
        assert summary["seekers"] == {"source": 3, "loaded": 2, "skipped": {}, "failed": 1, "failed_reasons": {"missing_value": 1}}
        # S-2 -> L-1002 (taken), S-9 (no name) -> L-1001, S-1 -> L-2000 (bad price)
        assert summary["links"] == {"source": 4, "loaded": 1, "skipped": {"seeker_not_loaded": 1, "listing_not_loaded": 2}, "failed": 0,
                                    "failed_reasons": {}}
        assert run.counts["failed"] == 3
        taken = RecordOutcome.objects.get(run=run, reason="listing_number_taken")
        assert (taken.source_id, taken.row_number, taken.detail) == ("L-1002", 3, "id=L-1002")
        assert RecordOutcome.objects.get(run=run, reason="invalid_value").detail == "amount=12x"
        assert RecordOutcome.objects.filter(run=run).count() == run.rows_total == 2 + 4 + 3 + 4
        archive = load(company_admin, company, path, "archive")
        assert entities(archive)["activities"] == {"source": 4, "loaded": 3, "skipped": {}, "failed": 1, "failed_reasons": {"unknown_seeker": 1}}


def test_dry_run_writes_nothing(tmp_path, company, company_admin, jp_agents):
    path = template_package(tmp_path / "package.zip", as_zip=True)
    with company_scope(company):
        summary = actions.run_phases(company_admin, company, path, "template", phase="all", dry_run=True)
        assert (summary["status"], summary["run_id"], summary["would_end_as"]) == ("dry_run", None, "completed")
        assert summary["entities"]["seekers"]["loaded"] == 3 and summary["entities"]["activities"]["loaded"] == 3
        assert (Run.objects.count(), MoveIn.objects.count(), Listing.objects.count(), Case.objects.count(), LedgerEntry.objects.count(),
                RecordOutcome.objects.count()) == (0, 0, 0, 0, 0, 0)


def test_unknown_agents_are_refused_with_the_list_and_nothing_is_written(tmp_path, company, company_admin):
    path = template_package(tmp_path / "package")
    with company_scope(company), pytest.raises(ApplicationError) as refused:
        actions.do_start_import(company_admin, company, path, "template", background=False)
    assert refused.value.code == error_codes.AGENTS_UNKNOWN
    assert "sato@demo.example.jp" in refused.value.message and "suzuki@demo.example.jp" in refused.value.message
    assert (Run.objects.unscoped().count(), MoveIn.objects.unscoped().count()) == (0, 0)


def test_agents_mapped_to_users_and_created_inactive(tmp_path, company, org, company_admin):
    from estatecrm.core import testing

    mapped = testing.make_user(company, org["SJK"], email="ichiro.suzuki@acme.example.jp")
    data = copy.deepcopy(JAPANESE)
    data["agents.csv"][0]["unit"] = "TKY"
    path = template_package(tmp_path / "package", data)
    with company_scope(company):
        run = load(company_admin, company, path, agent_map={"suzuki@demo.example.jp": "ichiro.suzuki@acme.example.jp"}, create_agents=True)
        assert entities(run)["agents"] == {"source": 2, "loaded": 1, "skipped": {"agent_exists": 1}, "failed": 0, "failed_reasons": {}}
        sato = User.objects.get(email="sato@demo.example.jp")
        assert (sato.is_active, sato.has_usable_password(), sato.name) == (False, False, "佐藤 花子")
        assert Membership.objects.get(user=sato).org_unit.code == "TKY"
        assert Listing.objects.get(ref="L-1002").agent == mapped
        assert Case.objects.get(source_id="S-1").owning_org.code == "TKY"


def test_archive_before_active_and_a_running_phase_are_refused(tmp_path, company, company_admin, jp_agents):
    path = template_package(tmp_path / "package")
    with company_scope(company):
        with pytest.raises(ApplicationError) as refused:
            actions.do_start_import(company_admin, company, path, "template", phase="archive", background=False)
        assert refused.value.code == error_codes.PHASE_ORDER
        actions.do_start_import(company_admin, company, path, "template", background=False)  # pending: nobody ran it yet
        with pytest.raises(ApplicationError) as refused:
            actions.do_start_import(company_admin, company, path, "template", background=False)
        assert refused.value.code == error_codes.MOVE_IN_RUNNING
        assert Run.objects.filter(kind=RUN_KIND).count() == 1


def test_an_agent_cannot_start_a_move_in(tmp_path, company, agent, jp_agents):
    from estatecrm.core.errors import PermissionDenied

    with company_scope(company), pytest.raises(PermissionDenied):
        actions.do_start_import(agent, company, template_package(tmp_path / "package"), "template", background=False)


def test_all_in_the_background_starts_the_archive_phase_once_the_active_phase_loaded(tmp_path, company, company_admin, jp_agents,
                                                                                        django_capture_on_commit_callbacks):
    path = template_package(tmp_path / "package")  # a folder: the runs keep it zipped, the caller's folder may go
    with company_scope(company):
        with django_capture_on_commit_callbacks(execute=True):
            started = actions.do_start_import(company_admin, company, path, "template", phase="all")
        move_in = MoveIn.objects.get(pk=started.move_in.pk)
        assert move_in.active_run.status == RunStatus.COMPLETED
        assert move_in.archive_run is not None and move_in.archive_run.status == RunStatus.COMPLETED
        assert move_in.archive_run.params["phase"] == "archive"
        assert (Case.objects.count(), Activity.objects.count()) == (3, 5)


def test_times_without_an_offset_are_in_the_project_time_zone(tmp_path, company, company_admin, jp_agents):
    data = copy.deepcopy(JAPANESE)
    data["seekers.csv"][0]["created_at"] = "2026-10-01T00:30:00"  # no offset: 東京 time, not UTC
    data["links.csv"][0]["at"] = "2026-10-05T08:00:00"
    path = template_package(tmp_path / "package", data)
    with company_scope(company):
        load(company_admin, company, path)
        case = Case.objects.get(source_id="S-1")
        assert case.started_on == datetime.date(2026, 10, 1)
        showing = Activity.objects.get(case=case, kind="showing")
        assert showing.occurred_at == datetime.datetime.fromisoformat("2026-10-05T08:00:00+09:00")
        assert showing.actor == jp_agents["sato@demo.example.jp"]  # the seeker's agent


def test_a_nul_character_refuses_the_package_naming_its_place(tmp_path, company, company_admin, jp_agents):
    """A NUL byte is no text (the readers refuse such a file, as the lead import does): the start is refused with
    the member and line, and nothing is written."""
    data = copy.deepcopy(JAPANESE)
    data["listings.csv"][1]["id"] = "L-10\x0002"
    path = template_package(tmp_path / "package", data)
    with company_scope(company), pytest.raises(ApplicationError) as refused:
        load(company_admin, company, path)
    assert refused.value.code == error_codes.PACKAGE_UNREADABLE
    assert refused.value.message.startswith("listings.csv: ") and "3" in refused.value.message
    assert not MoveIn.objects.for_company(company).exists() and not Run.objects.for_company(company).exists()


def test_the_run_reads_its_own_copy_of_the_package(tmp_path, company, company_admin, jp_agents):
    import shutil

    path = template_package(tmp_path / "package")
    with company_scope(company):
        started = actions.do_start_import(company_admin, company, path, "template", background=False)
        shutil.rmtree(path)  # the operator's folder is gone before a worker takes the run
        from estatecrm.vendor.jobs import READ_AT_START

        READ_AT_START.clear()  # (a worker process: nothing handed over)
        assert execute_run(started.run.pk) == RunStatus.COMPLETED
        assert Case.objects.count() == 2
        # a run whose copy is damaged fails with the reader's code
        second = template_package(tmp_path / "second", {**JAPANESE, "manifest": {**JAPANESE["manifest"], "vendor": "Other"}})
        run = actions.do_start_import(company_admin, company, second, "template", background=False).run
        READ_AT_START.clear()
        with open(run.source_file.path, "wb") as damaged:
            damaged.write(b"not a zip")
        assert execute_run(run.pk) == RunStatus.FAILED
        run.refresh_from_db()
        assert run.error_code == error_codes.PACKAGE_UNREADABLE
