"""The heart of the migration: the sample bundle into the sample tenant, every case against expected.json."""

import datetime

import pytest

from estatecrm.core.scope import company_scope
from estatecrm.crm.choices import ActivityKind, CaseOrigin, ContactPointKind
from estatecrm.crm.models import Activity, Attachment, Case, ContactPoint, Customer
from estatecrm.legacy import actions
from estatecrm.legacy.choices import Outcome
from estatecrm.legacy.converter import auto_mail_line
from estatecrm.legacy.models import CaseOutcome
from estatecrm.legacy.selectors import run_summary
from estatecrm.pipeline.engine import execute_run

pytestmark = pytest.mark.django_db(transaction=False)


def migrate(actor, bundle_path, unit, **options):
    run = actions.do_start_legacy_migration(actor=actor, path=bundle_path, file_name="sample-bundle.zip", org_unit=unit,
                                            background=False, **options)
    execute_run(run.pk)
    run.refresh_from_db()
    return run


def expected_outcome(case: dict) -> tuple[str, str]:
    if not case["eligible"]:
        return Outcome.SKIPPED, "not_eligible_status"
    if case["dangling_customer"]:
        return Outcome.SKIPPED, "customer_missing"
    if not case["main_mapped"]:
        return Outcome.SKIPPED, "main_assignee_unmapped"
    return Outcome.MIGRATED, ""


def check_case(case_row: Case, source_id: str, want: dict, expected: dict, *, fallback_email: str | None = None) -> None:
    assert (case_row.origin, case_row.source_system, case_row.source_id) == (CaseOrigin.LEGACY_MIGRATION, "legacy-desktop", source_id)
    assert case_row.status == want["category"]
    assert case_row.kind == {"賃貸": "rent", "売買": "buy"}[want["kind"]]
    assert case_row.started_on == datetime.date.fromisoformat(want["start"])
    assert (case_row.sub_status.name if case_row.sub_status else None) == want["sub_status"]
    assert (want["source_status"] in case_row.other_info) == want["status_to_other_info"] or not want["status_to_other_info"]
    if want["status_to_other_info"]:
        assert f"Status in the desktop app (not a registered sub-status): {want['source_status']}" in case_row.other_info
    assert (case_row.rank.name if case_row.rank else None) == want["rank"]
    assert ("Rank (not registered): " + want["source_rank"] in case_row.other_info) == want["rank_to_other_info"]
    assert [link.tag.name for link in case_row.tag_links.order_by("position")] == want["tags"]
    if want["tags_to_other_info"]:
        assert "Tags (not registered): " + ", ".join(want["tags_to_other_info"]) in case_row.other_info
    else:
        assert "Tags (not registered)" not in case_row.other_info
    assert case_row.auto_intro_mail is False
    assert (auto_mail_line() in case_row.desired.management_comment) == want["auto_mail_was_on"]
    main_email = want["main_email"] if want["main_mapped"] else fallback_email
    assert case_row.main_assignee.email == main_email
    if want["main_mapped"]:
        assert case_row.owning_org.code == want["owning_org"]
    assert case_row.assignee_links.count() == want["sub_count_kept"]
    assert case_row.first_inquiry_date == datetime.date.fromisoformat(want["first_inquiry_date"])
    assert case_row.desired.walk_minutes == want["walk_expected"]
    assert case_row.desired.building_age == (0 if want["age_expected"] == "新築" else want["age_expected"])
    if want["walk_source"] is not None and want["walk_source"] != want["walk_expected"]:
        assert f"Walk to station in the desktop app: {want['walk_source']}分以内" in case_row.other_info
    assert case_row.desired.features == want["supported_flags"]
    if want["legacy_only_flags"]:
        assert "Feature flags (not available here): " + ", ".join(want["legacy_only_flags"]) in case_row.other_info
    else:
        assert "Feature flags (not available here)" not in case_row.other_info
    assert f"First inquiry listing: {case_row.first_inquiry_listing_ref} {case_row.first_inquiry_listing_name}" in case_row.other_info
    history = Activity.objects.for_company(case_row.company_id).filter(case=case_row, is_migrated=True)
    memo_notes = history.filter(subject="Follow-up memo (desktop app)").count()
    assert history.count() - memo_notes == want["activities"]
    open_visits = history.filter(kind=ActivityKind.VISIT_APPOINTMENT, is_done=False)
    assert open_visits.exists() == want["pending_visit"]
    assert all(visit.org_unit_id == case_row.owning_org_id for visit in open_visits)
    assert ("Visit appointment: " in case_row.other_info) == want["pending_visit"]
    assert Attachment.objects.for_company(case_row.company_id).filter(case=case_row, is_migrated=True).count() == want["attachments"]
    customer = expected["customers"][want["customer"]]
    points = ContactPoint.objects.for_company(case_row.company_id).filter(customer=case_row.customer).order_by("position")
    assert [point.normalized for point in points if point.kind != ContactPointKind.EMAIL] == customer["phones_e164"]
    emails = [point.normalized for point in points if point.kind == ContactPointKind.EMAIL]
    assert emails == ([customer["email"]] if customer["email"] else [])


def test_sample_bundle_migrates_every_case_as_expected(sample_company, sample_actor, units, bundle_path, expected):
    # given the sample tenant, and a first run without a fallback assignee
    first = migrate(sample_actor, bundle_path, units["HQ"])
    # when a second run gives the cases whose main assignee is unknown to the company admin
    second = migrate(sample_actor, bundle_path, units["HQ"], fallback_email="admin@example-fudosan.jp")
    # then every case of the bundle has the outcome and the content that expected.json says
    with company_scope(sample_company):
        first_outcomes = {o.source_id: o for o in CaseOutcome.objects.for_company(sample_company).filter(run=first)}
        second_outcomes = {o.source_id: o for o in CaseOutcome.objects.for_company(sample_company).filter(run=second)}
        assert set(first_outcomes) == set(second_outcomes) == set(expected["cases"])
        for source_id, want in expected["cases"].items():
            outcome, reason = expected_outcome(want)
            assert (first_outcomes[source_id].outcome, first_outcomes[source_id].reason) == (outcome, reason), source_id
            if outcome == Outcome.MIGRATED:
                assert (second_outcomes[source_id].outcome, second_outcomes[source_id].reason) == (Outcome.SKIPPED, "already_migrated")
                case_row = Case.objects.for_company(sample_company).get(pk=first_outcomes[source_id].case_id)
                check_case(case_row, source_id, want, expected)
            elif reason == "main_assignee_unmapped":
                assert second_outcomes[source_id].outcome == Outcome.MIGRATED, source_id
                case_row = Case.objects.for_company(sample_company).get(pk=second_outcomes[source_id].case_id)
                check_case(case_row, source_id, want, expected, fallback_email="admin@example-fudosan.jp")
            else:
                assert (second_outcomes[source_id].outcome, second_outcomes[source_id].reason) == (outcome, reason)
        # one customer per 顧客番号: C000007 has T0000007 (first run) and T0000033 (second run)
        assert Case.objects.for_company(sample_company).filter(source_id__in=["T0000007", "T0000033"]).values("customer_id").distinct().count() == 1
        assert Customer.objects.for_company(sample_company).count() == len(
            {want["customer"] for want in expected["cases"].values() if want["eligible"] and not want["dangling_customer"]})
    first_summary, second_summary = run_summary(first), run_summary(second)
    assert {key: first_summary[key] for key in ("status", "mode", "source_cases", "migrated", "skipped", "failed")} == {
        "status": "completed", "mode": "full", "source_cases": 40, "migrated": 20,
        "skipped": {"customer_missing": 1, "main_assignee_unmapped": 7, "not_eligible_status": 12}, "failed": 0}
    assert {key: second_summary[key] for key in ("status", "migrated", "skipped", "failed")} == {
        "status": "completed", "migrated": 7, "skipped": {"already_migrated": 20, "customer_missing": 1, "not_eligible_status": 12},
        "failed": 0}
