"""The verification report of a phase run: counts, money, the sample beside its source, and its CSV."""

import csv
import io
from decimal import Decimal

import pytest

from estatecrm.pipeline.choices import RunStatus
from estatecrm.vendor.choices import Outcome
from estatecrm.vendor.reports import SAMPLE_SIZE, verification, write_csv
from estatecrm.vendor.tests.verify_factories import make_loaded_move_in, make_move_in, make_run, outcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def move_in(company, company_admin, tmp_path):
    return make_loaded_move_in(company, company_admin, tmp_path)


def test_counts_per_entity_add_up_to_the_source(move_in):
    # when: the report of the active phase
    report = verification(move_in.active_run)
    # then: per entity, what the package held and what each record became, every record accounted for
    counts = {item.entity: item for item in report.entities}
    assert list(counts) == ["agents", "listings", "seekers", "links"]
    assert (counts["agents"].source, counts["agents"].loaded, counts["agents"].skipped, counts["agents"].failed) == (2, 1, {"agent_exists": 1}, {})
    assert (counts["listings"].loaded, counts["listings"].failed) == (1, {"invalid_value": 1})
    assert (counts["seekers"].loaded, counts["seekers"].skipped_total, counts["seekers"].failed_total) == (2, 0, 0)
    assert counts["links"].skipped == {"listing_not_loaded": 1}
    assert report.is_accounted and report.phase == "active" and report.currency == "JPY"


def test_a_record_not_accounted_for_shows(company, company_admin, move_in):
    # given: the package held 3 seekers, but only 2 outcomes were written
    run = move_in.active_run
    run.detected = {"source": {**run.detected["source"], "seekers": {"count": 3, "money": {}}}}
    run.save(update_fields=["detected"])
    # then
    report = verification(run)
    seekers = next(item for item in report.entities if item.entity == "seekers")
    assert not seekers.is_accounted and seekers.handled == 2
    assert not report.is_accounted


def test_money_totals_compare_the_package_with_the_loaded_rows(move_in):
    report = verification(move_in.active_run)
    money = {(total.entity, total.name): total for total in report.money}
    # the listing that failed (58,000,000) is the difference
    assert money["listings", "amount"].source == Decimal("58098000")
    assert money["listings", "amount"].loaded == Decimal("98000")
    assert money["listings", "amount"].difference == Decimal("-58000000")
    assert money["seekers", "budget_min"].difference == 0
    assert money["seekers", "budget_max"].loaded == Decimal("60110000") and money["seekers", "budget_max"].currency == "JPY"


def test_the_sample_shows_the_source_beside_the_target(move_in):
    report = verification(move_in.active_run)
    listings = {record.source_id: record for record in report.samples["listings"]}
    loaded = listings["L-1001"]
    # the package's cells, as the profile read them
    assert dict(loaded.source)["price"] == "98000" and dict(loaded.source)["title"] == "メゾン代々木 203"
    # the listing it became, with its page
    target = dict(loaded.target)
    assert target["Listing number"] == "L-1001" and target["Rent or price"] == "98000.00 JPY"
    assert target["Station"] == "代々木 5 min walk" and "佐藤 花子" in target["Agent"]
    assert loaded.target_url == f"/listings/{loaded_target_id(move_in, 'L-1001')}/"
    failed = listings["L-1002"]
    assert failed.outcome == Outcome.FAILED and failed.reason_label == "A value could not be read" and failed.target == []
    assert dict(failed.source)["price"] == "58000000"
    seeker = dict(next(record for record in report.samples["seekers"] if record.source_id == "S-1").target)
    assert seeker["Customer"] == "山田 太郎" and seeker["Budget"] == "80000.00 – 110000.00 JPY"
    assert seeker["Areas"] == "渋谷区; 新宿区" and seeker["Phones"] == "+819012345678"
    agent = dict(next(record for record in report.samples["agents"] if record.source_id == "sato@demo.example.jp").target)
    assert agent == {"E-mail address": "sato@demo.example.jp", "Name": "佐藤 花子", "Active": "No"}
    link = next(record for record in report.samples["links"] if record.source_id == "S-1:L-1001:viewed")
    assert dict(link.target)["Listing"] == "L-1001 メゾン代々木 203" and dict(link.source)["kind"] == "viewed"
    assert report.sample_error == ""


def loaded_target_id(move_in, source_id):
    from estatecrm.vendor.models import RecordOutcome

    return RecordOutcome.objects.for_company(move_in.company_id).get(run=move_in.active_run, source_id=source_id).target_id


def test_the_sample_is_20_random_records_the_same_every_time(company, company_admin):
    # given: a run of 45 listings, all failed
    move_in = make_move_in(company, company_admin)
    run = make_run(company, company_admin, move_in=move_in, source={"listings": {"count": 45, "money": {}}}, counts={})
    for position in range(45):
        outcome(run, "listings", position, f"L-{position}", Outcome.FAILED, reason="missing_value")
    # when: the report twice
    first = [record.source_id for record in verification(run).samples["listings"]]
    second = [record.source_id for record in verification(run).samples["listings"]]
    # then: 20 records, not simply the first ones, the same both times
    assert len(first) == SAMPLE_SIZE and first == second
    assert first != [f"L-{position}" for position in range(SAMPLE_SIZE)]
    # and: without the package, the sample says so and still shows the outcomes
    assert verification(run).sample_error


def test_a_reverted_target_shows_as_missing(move_in):
    from estatecrm.crm.models import Introduction

    Introduction.objects.for_company(move_in.company_id).all().delete()
    record = next(item for item in verification(move_in.active_run).samples["links"] if item.source_id == "S-1:L-1001:viewed")
    assert record.target_missing and record.target == []


def test_queries_do_not_grow_with_the_records(company, company_admin, django_assert_max_num_queries):
    move_in = make_move_in(company, company_admin)
    run = make_run(company, company_admin, move_in=move_in, source={"seekers": {"count": 60, "money": {}}}, counts={},
                   status=RunStatus.RUNNING)
    for position in range(60):
        outcome(run, "seekers", position, f"S-{position}", Outcome.SKIPPED, reason="already_loaded")
    with django_assert_max_num_queries(12):
        report = verification(run)
    assert report.entities[0].skipped == {"already_loaded": 60} and not report.is_finished


def test_the_csv_holds_counts_money_and_sample(move_in):
    buffer = io.BytesIO()
    write_csv(verification(move_in.active_run), buffer, language="en")
    data = buffer.getvalue()
    # UTF-8 with BOM, CRLF: Excel opens it
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["区分", "エンティティ", "元データ件数", "取込", "スキップ", "失敗", "一致", "理由コード", "理由"]
    assert ["件数", "listings", "2", "1", "0", "1", "OK", "", ""] in rows
    assert ["失敗", "listings", "", "", "", "1", "", "invalid_value", "A value could not be read"] in rows
    assert ["金額", "listings", "amount", "JPY", "58098000", "98000", "-58000000"] in rows
    sample = [row for row in rows if row and row[0] == "抽出"]
    price = next(row for row in sample if row[2] == "L-1001" and row[6] == "price")
    assert price[7] == "98000" and price[4] == "Loaded" and price[9].endswith(f"/listings/{loaded_target_id(move_in, 'L-1001')}/")
    assert any(row[2] == "L-1002" and row[5].startswith("A value could not be read") for row in sample)


def test_the_package_is_read_once_for_the_same_sample(move_in):
    from django.core.files.storage import default_storage

    first = verification(move_in.active_run)
    # the package goes: the sample's cells were kept
    default_storage.delete(move_in.active_run.source_file.name)
    again = verification(move_in.active_run)
    assert [record.source for record in again.samples["listings"]] == [record.source for record in first.samples["listings"]]
    assert again.sample_error == ""


def test_a_damaged_package_leaves_the_counts_standing(move_in):
    from django.core.files.storage import default_storage

    with open(default_storage.path(move_in.active_run.source_file.name), "wb") as handle:
        handle.write(b"not a zip")
    report = verification(move_in.active_run)
    assert report.sample_error.startswith("The package of this run could not be read again")
    assert report.is_accounted and all(record.source == [] for record in report.samples["listings"])
    assert dict(next(record for record in report.samples["listings"] if record.source_id == "L-1001").target)["Listing number"] == "L-1001"


def test_a_target_is_shown_by_its_type(move_in, company, company_admin):
    # given: a link (viewed) that became an activity of the case, not an introduction
    from estatecrm.crm.models import Activity, Case
    from estatecrm.vendor.models import RecordOutcome

    case = Case.objects.for_company(company).get(pk=loaded_target_id(move_in, "S-1"))
    activity = Activity.objects.create(company=company, case=case, kind="showing", occurred_at=case.created_at, subject="内見", body="L-1001")
    RecordOutcome.objects.for_company(company).filter(run=move_in.active_run, source_id="S-1:L-1001:viewed").update(
        target_type="crm.activity", target_id=activity.pk)
    # then: the sample shows the activity, linked to its case
    record = next(item for item in verification(move_in.active_run).samples["links"] if item.source_id == "S-1:L-1001:viewed")
    assert dict(record.target)["Subject"] == "内見" and record.target_url == f"/cases/{case.pk}/"
