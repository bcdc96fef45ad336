"""The exact CLI of the migration: options, JSON keys, runs, report, migrated ids, abort, revert."""

import csv
import io
import json

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, Customer, Rank, SubStatus, Tag
from estatecrm.pipeline.models import Run

pytestmark = pytest.mark.django_db

RUN_KEYS = {"run_id", "status", "mode", "source_cases", "migrated", "skipped", "failed", "needs_review", "activities_migrated",
            "attachments_migrated"}


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("legacy-migrate", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_json(bundle_path, *extra):
    out, _err = cli("run", str(bundle_path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp", "--json", *extra)
    return json.loads(out)


def test_run_json_has_exactly_the_documented_keys_and_mails_the_admin(sample_company, bundle_path, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = run_json(bundle_path)
    # then
    assert set(result) == RUN_KEYS
    assert {key: value for key, value in result.items() if key != "run_id"} == {
        "status": "completed", "mode": "full", "source_cases": 40, "migrated": 20,
        "skipped": {"customer_missing": 1, "main_assignee_unmapped": 7, "not_eligible_status": 12}, "failed": 0,
        "needs_review": result["needs_review"], "activities_migrated": 50, "attachments_migrated": 1}
    assert [message.to for message in mail.outbox] == [["admin@example-fudosan.jp"]]
    assert mail.outbox[0].subject == f"Data migration #{result['run_id']} ended: Completed"
    assert "Migrated: 20" in mail.outbox[0].body


def test_dry_run_writes_nothing(sample_company, bundle_path):
    result = run_json(bundle_path, "--dry-run")
    assert (result["status"], result["run_id"], result["migrated"]) == ("dry_run", None, 20)
    assert (Run.objects.unscoped().count(), Case.objects.unscoped().count(), Customer.objects.unscoped().count()) == (0, 0, 0)


def test_org_outside_and_fallback_and_since(sample_company, bundle_path):
    # SBY's subtree only, the admin as fallback (owning unit HQ: outside SBY), cases since 2024-01-01
    result = run_json(bundle_path, "--org", "SBY", "--fallback-assignee", "admin@example-fudosan.jp", "--since", "2024-01-01")
    assert result["skipped"] == {"before_start_date": 12, "customer_missing": 1, "not_eligible_status": 12, "outside_org": 13}
    assert result["migrated"] == 2
    with company_scope(sample_company):
        assert set(Case.objects.values_list("owning_org__code", flat=True)) == {"SBY"}


def test_quick_mode_takes_the_newest_within_three_months_up_to_the_cap(sample_company, sample_actor, units, bundle_path, monkeypatch):
    import datetime

    from estatecrm.legacy import actions
    from estatecrm.pipeline.engine import execute_run

    monkeypatch.setattr("estatecrm.legacy.jobs.QUICK_CAP", 3)
    run = actions.do_start_legacy_migration(actor=sample_actor, path=bundle_path, file_name="b.zip", org_unit=units["HQ"], mode="quick",
                                            fallback_email="admin@example-fudosan.jp", today=datetime.date(2026, 11, 20), background=False)
    execute_run(run.pk)
    run.refresh_from_db()
    assert run.params["since"] == "2026-08-20"
    with company_scope(sample_company):
        # the three newest eligible cases: T0000010 (11-15), T0000006 (11-13), T0000026 (10-20)
        assert sorted(Case.objects.values_list("source_id", flat=True)) == ["T0000006", "T0000010", "T0000026"]
    assert run.counts["skipped:over_quick_cap"] == 5


def test_runs_report_and_migrated_ids(sample_company, bundle_path, tmp_path):
    result = run_json(bundle_path)
    out, _ = cli("runs", "--company", "k0001", "--json")
    assert [(row["run_id"], row["status"], row["migrated"]) for row in json.loads(out)] == [(result["run_id"], "completed", 20)]
    report = tmp_path / "report.csv"
    out, _ = cli("report", str(result["run_id"]), "--out", str(report))
    assert out.strip() == f"report of run {result['run_id']} written to {report}: 40 cases = 20 migrated + 20 skipped + 0 failed"
    rows = list(csv.reader(io.StringIO(report.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["追客番号", "顧客番号", "行", "結果", "理由コード", "理由", "案件ID", "顧客ID", "要確認"]
    assert len([row for row in rows[1:41] if row]) == 40
    files = {row[0]: row[1:] for row in rows[42:52]}
    assert files["活動履歴.csv"][:3] == ["109", "109", "OK"]
    assert files["追客.csv"] == ["40", "40", "OK", "20", "20", "0"]
    used, not_used, orphaned = (int(value) for value in files["活動履歴.csv"][3:])
    assert (used, used + not_used + orphaned) == (50, 109)
    ids = tmp_path / "ids.csv"
    cli("migrated-ids", str(result["run_id"]), "--out", str(ids))
    id_rows = list(csv.reader(io.StringIO(ids.read_bytes().decode("utf-8-sig"))))
    with company_scope(sample_company):
        assert id_rows[1:] == [[case.source_id, str(case.pk)] for case in Case.objects.order_by("pk")]


def test_abort_keeps_what_was_written_and_the_next_run_continues(sample_company, sample_actor, units, bundle_path, monkeypatch):
    from estatecrm.legacy import actions
    from estatecrm.pipeline.engine import execute_run

    monkeypatch.setattr("estatecrm.legacy.jobs.BATCH_CASES", 10)
    run = actions.do_start_legacy_migration(actor=sample_actor, path=bundle_path, file_name="b.zip", org_unit=units["HQ"], background=False)

    def abort_after_first_batch(current):
        cli("abort", str(current.pk))

    execute_run(run.pk, progress=abort_after_first_batch)
    run.refresh_from_db()
    assert (run.status, run.counts["source_cases"]) == ("aborted", 10)
    with company_scope(sample_company):
        first = Case.objects.count()
    assert first == run.counts["migrated"] > 0
    second = run_json(bundle_path)
    assert (second["migrated"] + first, second["skipped"]["already_migrated"]) == (20, first)


def test_revert_trashes_cases_refuses_edited_and_allows_rerun(sample_company, bundle_path):
    result = run_json(bundle_path)
    with company_scope(sample_company):
        edited = Case.objects.get(source_id="T0000001")
        Case.objects.filter(pk=edited.pk).update(updated_at=edited.updated_at + __import__("datetime").timedelta(minutes=5))
    with pytest.raises(CommandError) as raised:
        cli("revert", str(result["run_id"]))
    assert str(raised.value) == (f"1 migrated cases were edited after the run (追客番号 and case id: T0000001={edited.pk}). "
                                 "Revert with force to undo anyway.")
    with company_scope(sample_company):
        assert Case.objects.filter(deleted_at__isnull=True).count() == 20
    out, _ = cli("revert", str(result["run_id"]), "--force")
    assert out.strip() == f'run {result["run_id"]} reverted: {{"cases_trashed": 20, "customers_trashed": 19}}'
    with company_scope(sample_company):
        assert (Case.objects.filter(deleted_at__isnull=True).count(), Customer.objects.filter(deleted_at__isnull=True).count()) == (0, 0)
    assert run_json(bundle_path)["migrated"] == 20


def test_nothing_to_migrate_ends_at_once(sample_company, bundle_path):
    run_json(bundle_path)
    out, err = cli("run", str(bundle_path), "--company", "k0001", "--org", "HQ", "--as", "admin@example-fudosan.jp")
    assert "status: nothing_to_migrate" in out
    assert err.strip() == "Nothing to migrate: no case of the bundle is eligible for this unit and these options."


def test_preflight_lists_unmatched_staff_and_unregistered_masters(sample_company, bundle_path):
    out, _ = cli("preflight", str(bundle_path), "--company", "k0001", "--org", "HQ", "--json")
    result = json.loads(out)
    assert result["eligible"]["full"] == {"追客中": 16, "申込中": 4}
    assert [row["code"] for row in result["unmatched_staff"]] == ["S006", "S018", "S023"]
    assert result["unregistered_ranks"] == {"見込み大": 3, "見込み小": 1}
    assert result["unregistered_tags"]["リピーター"] >= 1


def test_masters_creates_what_the_bundle_needs_and_can_be_reverted(sample_company, bundle_path):
    out, _ = cli("masters", str(bundle_path), "--company", "k0001", "--ranks", "--json")
    result = json.loads(out)
    assert result["created"] == {"sub_statuses": [], "ranks": ["見込み大", "見込み小"], "tags": []}
    with company_scope(sample_company):
        assert list(Rank.objects.values_list("name", flat=True)) == ["A", "B", "C", "S", "見込み大", "見込み小"]
    out, _ = cli("masters", str(bundle_path), "--company", "k0001", "--json")
    assert json.loads(out)["created"]["sub_statuses"] == ["追客中/条件ヒアリング中", "追客中/長期追客", "契約済/契約完了", "追客終了/他決",
                                                         "追客終了/連絡不通", "保留/一時保留"]
    cli("revert", str(result["run_id"]))
    with company_scope(sample_company):
        assert list(Rank.objects.values_list("name", flat=True)) == ["A", "B", "C", "S"]
        assert SubStatus.objects.count() == 10 and Tag.objects.count() > 12


def test_cannot_run_exits_with_one_line(sample_company, bundle_path):
    with pytest.raises(CommandError) as raised:
        cli("run", str(bundle_path), "--company", "k0001", "--org", "XXX", "--as", "admin@example-fudosan.jp")
    assert str(raised.value) == "Unknown org unit: XXX"
    with pytest.raises(CommandError) as raised:
        cli("run", str(bundle_path), "--company", "k0001", "--org", "SBY", "--as", "staff001@example-fudosan.jp")
    assert str(raised.value) == "Only a company administrator or an administrator of this unit can migrate its data."
    assert Run.objects.unscoped().count() == 0
