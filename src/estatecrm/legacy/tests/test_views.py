"""The data migration pages: upload, pre-flight, full and quick runs, runs list, run page, downloads, access."""

import csv
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import reverse

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, SubStatus
from estatecrm.legacy import actions
from estatecrm.legacy.choices import RUN_KIND
from estatecrm.legacy.selectors import UPLOAD_ROOT
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

GET_PAGES = ("legacy:home", "legacy:full", "legacy:quick", "legacy:runs")
RUN_GET_PAGES = ("legacy:run", "legacy:run-status", "legacy:run-report", "legacy:run-migrated-ids", "legacy:run-cases")
RUN_POST_PAGES = ("legacy:run-abort", "legacy:run-revert")
POST_PAGES = ("legacy:upload", "legacy:discard", "legacy:masters", "legacy:recompute")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def url(name: str, unit, run=None) -> str:
    kwargs = {"unit_id": unit.pk}
    if run is not None:
        kwargs["run_id"] = run.pk
    return reverse(name, kwargs=kwargs)


def upload(client, unit, path: Path, name: str = "sample-bundle.zip", staff_map: bytes | None = None, *, check: bool = True):
    """Upload through the page; `check`: also run the background check it enqueues on commit (in tests the
    task runs where it is enqueued)."""
    data = {"bundle": SimpleUploadedFile(name, path.read_bytes(), content_type="application/zip")}
    if staff_map is not None:
        data["staff_map"] = SimpleUploadedFile("staff.csv", staff_map, content_type="text/csv")
    with TestCase.captureOnCommitCallbacks(execute=check):
        return client.post(url("legacy:upload", unit), data)


def uploaded_files(media, company) -> list[Path]:
    folder = Path(media) / UPLOAD_ROOT / str(company.pk)
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def start_full(client, unit, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("legacy:full", unit), data)
    return response


def make_run(company, unit, admin, status=RunStatus.COMPLETED, **fields) -> Run:
    return Run.objects.create(company=company, kind=RUN_KIND, status=status, token="t", created_by=admin, source_name="x.zip",
                              params={"org_unit_id": unit.pk, "mode": "full"}, **fields)


# ---------------------------------------------------------------------------------------------
# The journey: upload -> pre-flight -> full run -> run page -> migrated data


def test_full_migration_from_upload_to_the_migrated_cases_list(sample_company, sample_admin, units, bundle_path, media,
                                                               django_capture_on_commit_callbacks):
    # given
    client = client_for(sample_admin)
    hq = units["HQ"]
    # when: the admin uploads the sample bundle
    response = upload(client, hq, bundle_path)
    # then: it is stored, checked in the background, and the pre-flight shows the counts
    assert (response.status_code, response["Location"]) == (302, url("legacy:home", hq))
    assert [path.name for path in uploaded_files(media, sample_company)] == ["bundle.zip", "preflight.json", "upload.json"]
    page = client.get(url("legacy:home", hq))
    assert page.status_code == 200
    preflight = page.context["preflight"]
    assert preflight["source_cases"] == 40
    assert preflight["eligible_total"]["full"] == 20
    assert preflight["not_eligible"] == {"customer_missing": 1, "main_assignee_unmapped": 7, "not_eligible_status": 12}
    assert '<td data-testid="eligible-full-total">20</td>' in page.content.decode()
    assert [(staff["code"], staff["cases"]) for staff in preflight["unmatched_staff"]] == [("S006", 7), ("S018", 7), ("S023", 5)]
    assert preflight["unregistered_ranks"] == {"見込み大": 3, "見込み小": 1}
    # when: the admin starts a full migration (the task runs where it is enqueued in tests)
    response = start_full(client, hq, django_capture_on_commit_callbacks)
    # then: the run page shows the finished run
    run = Run.objects.for_company(sample_company).get(kind=RUN_KIND)
    assert (response.status_code, response["Location"]) == (302, url("legacy:run", hq, run))
    assert (run.status, run.params["mode"], run.params["since"], run.source_name) == (RunStatus.COMPLETED, "full", None, "sample-bundle.zip")
    page = client.get(url("legacy:run", hq, run))
    assert page.status_code == 200
    assert page.context["summary"]["migrated"] == 20
    assert page.context["can_abort"] is False and page.context["can_revert"] is True
    status = client.get(url("legacy:run-status", hq, run)).json()
    assert (status["status"], status["is_finished"], status["migrated"], status["skipped"]) == (
        "completed", True, 20, {"customer_missing": 1, "main_assignee_unmapped": 7, "not_eligible_status": 12})
    # when: ④ migrated data, and the list behind the migrated count
    runs = client.get(url("legacy:runs", hq))
    cases = client.get(url("legacy:run-cases", hq, run), {"outcome": "migrated"})
    # then: each count links to its list, each customer to the case it became
    assert [row["run"].pk for row in runs.context["rows"]] == [run.pk]
    assert f'href="{url("legacy:run-cases", hq, run)}?outcome=migrated" data-testid="migrated-link">20</a>' in runs.content.decode()
    with company_scope(sample_company):
        migrated = {case.pk: case.customer.name for case in Case.objects.for_company(sample_company).select_related("customer")}
    assert len(migrated) == 20
    assert {row["outcome"].case_id: row["customer_name"] for row in cases.context["rows"]} == migrated
    body = cases.content.decode()
    for case_id, name in migrated.items():
        assert f'<a href="/cases/{case_id}/">{name}</a>' in body
    skipped = client.get(url("legacy:run-cases", hq, run), {"outcome": "skipped", "reason": "main_assignee_unmapped"})
    assert len(skipped.context["rows"]) == 7


def test_downloads_are_the_reconciliation_report_and_the_migrated_ids(sample_company, sample_admin, units, bundle_path,
                                                                      django_capture_on_commit_callbacks):
    # given a finished run
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    start_full(client, units["HQ"], django_capture_on_commit_callbacks)
    run = Run.objects.for_company(sample_company).get(kind=RUN_KIND)
    # when
    report = client.get(url("legacy:run-report", units["HQ"], run))
    ids = client.get(url("legacy:run-migrated-ids", units["HQ"], run))
    # then
    assert report["Content-Disposition"] == f'attachment; filename="migration-{run.pk}-report.csv"'
    report_rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert report_rows[0] == ["追客番号", "顧客番号", "行", "結果", "理由コード", "理由", "案件ID", "顧客ID", "要確認"]
    assert report_rows[-1] == ["40", "20", "20", "0"]
    id_rows = list(csv.reader(io.StringIO(ids.content.decode("utf-8-sig"))))
    with company_scope(sample_company):
        expected = sorted((case.source_id, str(case.pk)) for case in Case.objects.for_company(sample_company))
    assert (id_rows[0], sorted(tuple(row) for row in id_rows[1:])) == (["追客番号", "案件ID"], expected)


def test_full_migration_with_a_start_date_and_a_fallback_assignee(sample_company, sample_admin, units, bundle_path,
                                                                 django_capture_on_commit_callbacks):
    # given
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    # when
    start_full(client, units["HQ"], django_capture_on_commit_callbacks, since="2024-01-01", fallback_assignee=sample_admin.pk)
    # then
    run = Run.objects.for_company(sample_company).get(kind=RUN_KIND)
    assert (run.params["since"], run.params["fallback_user_id"]) == ("2024-01-01", sample_admin.pk)
    assert run.counts["skipped:before_start_date"] == 12


def test_a_second_run_is_refused_while_one_is_waiting(sample_company, sample_admin, units, bundle_path):
    # given an upload and a run that has not ended
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    waiting = make_run(sample_company, units["HQ"], sample_admin, status=RunStatus.PENDING)
    # when
    response = client.post(url("legacy:full", units["HQ"]), {})
    # then
    assert response.status_code == 400
    assert f"Migration #{waiting.pk} has not ended yet" in response.content.decode()
    assert Run.objects.for_company(sample_company).count() == 1


def test_start_pages_send_to_the_upload_when_nothing_was_uploaded(sample_company, sample_admin, units):
    client = client_for(sample_admin)
    for name in ("legacy:full", "legacy:quick"):
        response = client.get(url(name, units["HQ"]))
        assert (response.status_code, response["Location"]) == (302, url("legacy:home", units["HQ"]))
    assert Run.objects.for_company(sample_company).count() == 0


# ---------------------------------------------------------------------------------------------
# Quick migration: list, confirm, start


def test_quick_migration_lists_the_cases_then_starts_after_confirmation(sample_company, sample_admin, units, bundle_path, monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    # given: "today" is the bundle's export day, so its recent cases are in the quick window
    import datetime

    monkeypatch.setattr(actions, "quick_start_date", lambda today=None: actions.months_before(datetime.date(2026, 11, 20), 3))
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    # when
    page = client.get(url("legacy:quick", units["HQ"]))
    # then: newest first, all started within the window
    cases = page.context["candidates"]["cases"]
    assert page.status_code == 200
    assert [(case.source_id, case.started_on) for case in cases] == [
        ("T0000006", datetime.date(2026, 11, 13)), ("T0000026", datetime.date(2026, 10, 20)), ("T0000031", datetime.date(2026, 10, 9)),
        ("T0000011", datetime.date(2026, 10, 8)), ("T0000032", datetime.date(2026, 9, 6)), ("T0000024", datetime.date(2026, 8, 29))]
    assert page.context["candidates"]["over_cap"] == 0
    assert client.get(url("legacy:home", units["HQ"])).context["preflight"]["eligible_total"]["quick"] == 6
    assert '<td>T0000006</td><td>佐々木\u3000結衣</td><td>2026-11-13</td>' in page.content.decode()
    # when: started without confirming
    refused = client.post(url("legacy:quick", units["HQ"]), {})
    # then
    assert refused.status_code == 400
    assert Run.objects.for_company(sample_company).count() == 0
    # when confirmed
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("legacy:quick", units["HQ"]), {"confirm": "on"})
    # then: the run migrated exactly the listed cases
    run = Run.objects.for_company(sample_company).get(kind=RUN_KIND)
    assert response["Location"] == url("legacy:run", units["HQ"], run)
    with company_scope(sample_company):
        migrated = set(Case.objects.for_company(sample_company).values_list("source_id", flat=True))
    assert (run.params["mode"], migrated) == ("quick", {case.source_id for case in cases})


# ---------------------------------------------------------------------------------------------
# Bad uploads: a clear message, nothing kept


def test_upload_of_a_file_that_is_not_a_zip_shows_the_error_and_writes_nothing(sample_company, sample_admin, units, media, tmp_path):
    # given
    client = client_for(sample_admin)
    not_a_zip = tmp_path / "export.zip"
    not_a_zip.write_bytes("追客番号,顧客番号\nT1,C1\n".encode("cp932"))
    events = AuditEvent.objects.for_company(sample_company).count()
    # when
    response = upload(client, units["HQ"], not_a_zip, name="export.zip")
    # then
    assert response.status_code == 400
    assert ("The file is not a complete ZIP file: choose the bundle that the desktop app exported, and upload it again if the upload "
            "was interrupted.") in response.content.decode()
    assert uploaded_files(media, sample_company) == []
    assert list((Path(media) / UPLOAD_ROOT / str(sample_company.pk)).iterdir()) == []
    assert AuditEvent.objects.for_company(sample_company).count() == events
    assert f"legacy_upload:{units['HQ'].pk}" not in client.session
    assert Run.objects.for_company(sample_company).count() == 0


def test_upload_with_an_invalid_staff_map_is_refused_before_anything_is_stored(sample_company, sample_admin, units, bundle_path, media):
    client = client_for(sample_admin)
    response = upload(client, units["HQ"], bundle_path, staff_map=b"S001,not-an-address\nS002,also-not\n")
    assert response.status_code == 400
    assert "Line 2 of the staff map has no valid e-mail address." in response.content.decode()
    assert uploaded_files(media, sample_company) == []


def test_a_new_upload_replaces_the_previous_one_and_discard_removes_it(sample_company, sample_admin, units, bundle_path, media):
    # given
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    first = client.session[f"legacy_upload:{units['HQ'].pk}"]
    # when
    upload(client, units["HQ"], bundle_path, staff_map=b"S999,admin@example-fudosan.jp\n")
    # then
    second = client.session[f"legacy_upload:{units['HQ'].pk}"]
    assert first != second
    assert [path.parent.name for path in uploaded_files(media, sample_company)] == [second, second, second]
    # when
    response = client.post(url("legacy:discard", units["HQ"]))
    # then
    assert response.status_code == 302
    assert uploaded_files(media, sample_company) == []


def test_masters_button_registers_the_missing_sub_statuses_ranks_and_tags(sample_company, sample_admin, units, bundle_path,
                                                                          django_capture_on_commit_callbacks):
    # given
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    assert client.get(url("legacy:home", units["HQ"])).context["preflight"]["needs_masters"] is True
    before = SubStatus.objects.for_company(sample_company).count()
    # when (the pre-flight it enqueues runs at once)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("legacy:masters", units["HQ"]))
    # then
    assert response.status_code == 302
    assert SubStatus.objects.for_company(sample_company).count() > before
    assert client.get(url("legacy:home", units["HQ"])).context["preflight"]["needs_masters"] is False


# ---------------------------------------------------------------------------------------------
# Abort and revert


def test_abort_of_a_waiting_run_ends_it(sample_company, sample_admin, units):
    run = make_run(sample_company, units["HQ"], sample_admin, status=RunStatus.PENDING)
    client = client_for(sample_admin)
    page = client.get(url("legacy:run", units["HQ"], run))
    assert (page.context["can_abort"], page.context["can_revert"]) == (True, False)
    response = client.post(url("legacy:run-abort", units["HQ"], run))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.ABORTED


def test_revert_is_refused_with_the_edited_cases_then_forced(sample_company, sample_admin, units, bundle_path,
                                                            django_capture_on_commit_callbacks):
    # given a finished run and one of its cases edited since
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    start_full(client, units["HQ"], django_capture_on_commit_callbacks)
    run = Run.objects.for_company(sample_company).get(kind=RUN_KIND)
    from django.utils import timezone

    edited = Case.objects.for_company(sample_company).order_by("pk").first()
    Case.objects.for_company(sample_company).filter(pk=edited.pk).update(updated_at=timezone.now() + timezone.timedelta(minutes=5))
    # when
    refused = client.post(url("legacy:run-revert", units["HQ"], run))
    # then: refused, with the list of edited cases, nothing trashed
    assert refused.status_code == 409
    assert refused.context["edited"] == [(edited.source_id, edited.pk, edited.number)]
    assert f'<a href="/cases/{edited.pk}/">#{edited.number}</a>' in refused.content.decode()
    assert Case.objects.for_company(sample_company).filter(deleted_at__isnull=False).count() == 0
    # when forced (the revert runs in the background: here when the request's transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("legacy:run-revert", units["HQ"], run), {"force": "on"})
    # then
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.REVERTED
    assert Case.objects.for_company(sample_company).filter(deleted_at__isnull=True).count() == 0


def test_revert_runs_in_the_background_and_the_run_page_follows_it(sample_company, sample_admin, units, bundle_path,
                                                                    django_capture_on_commit_callbacks):
    # given a finished run
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    start_full(client, units["HQ"], django_capture_on_commit_callbacks)
    run = Run.objects.for_company(sample_company).get(kind=RUN_KIND)
    # when the admin reverts it
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(url("legacy:run-revert", units["HQ"], run))
    # then the request only started it: nothing is trashed yet, and the run's page and status follow the revert
    revert = Run.objects.for_company(sample_company).get(kind="legacy_migration_revert")
    run.refresh_from_db()
    assert (response.status_code, len(callbacks), run.status, revert.status) == (302, 1, RunStatus.COMPLETED, RunStatus.PENDING)
    assert Case.objects.for_company(sample_company).filter(deleted_at__isnull=True).count() == 20
    page = client.get(url("legacy:run", units["HQ"], run))
    assert (page.context["revert"], page.context["is_reverting"], page.context["can_revert"]) == (revert, True, False)
    assert 'data-finished="0"' in page.content.decode()
    status = client.get(url("legacy:run-status", units["HQ"], run)).json()
    assert (status["is_finished"], status["is_reverting"], status["revert"]["revert_id"], status["revert"]["status"]) == (
        True, True, revert.pk, "pending")
    # when a worker runs it
    callbacks[0]()
    # then
    run.refresh_from_db()
    assert run.status == RunStatus.REVERTED
    assert Case.objects.for_company(sample_company).filter(deleted_at__isnull=True).count() == 0
    status = client.get(url("legacy:run-status", units["HQ"], run)).json()
    assert (status["is_reverting"], status["revert"]["status"], status["revert"]["cases_trashed"], status["revert"]["customers_trashed"]) == (
        False, "completed", 20, 19)
    page = client.get(url("legacy:run", units["HQ"], run))
    assert 'data-testid="revert-counts"' in page.content.decode()
    assert 'data-finished="1"' in page.content.decode()


# ---------------------------------------------------------------------------------------------
# Access: admins of the unit only; another company's ids are 404


def all_urls(unit, run) -> list[tuple[str, str]]:
    return ([("get", url(name, unit)) for name in GET_PAGES] + [("post", url(name, unit)) for name in POST_PAGES]
            + [("get", url(name, unit, run)) for name in RUN_GET_PAGES] + [("post", url(name, unit, run)) for name in RUN_POST_PAGES])


def test_every_page_renders_for_a_company_admin(company, org, company_admin):
    run = make_run(company, org["SBY"], company_admin)
    client = client_for(company_admin)
    for name in GET_PAGES[:1] + GET_PAGES[3:]:
        assert client.get(url(name, org["SBY"])).status_code == 200, name
    for name in RUN_GET_PAGES:
        assert client.get(url(name, org["SBY"], run)).status_code == 200, name


def test_an_org_admin_manages_the_units_below_but_not_above(company, org, company_admin):
    # given an admin of TKY
    tky_admin = testing.make_user(company, org["TKY"], role=Role.ADMIN, email="tky-admin@acme.example.jp")
    run = make_run(company, org["SBY"], company_admin)
    client = client_for(tky_admin)
    # then
    assert client.get(url("legacy:home", org["SBY"])).status_code == 200
    assert client.get(url("legacy:run", org["SBY"], run)).status_code == 200
    assert client.get(url("legacy:home", org["HQ"])).status_code == 403
    # a run of another unit is not found under this unit
    assert client.get(url("legacy:run", org["TKY"], run)).status_code == 404


def test_agents_get_403_everywhere(company, org, company_admin, agent):
    run = make_run(company, org["SBY"], company_admin, status=RunStatus.PENDING)
    client = client_for(agent)
    for method, address in all_urls(org["SBY"], run):
        assert getattr(client, method)(address).status_code == 403, address
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING


def test_another_company_gets_404_for_the_units_and_runs(company, org, company_admin, other_company):
    run = make_run(company, org["SBY"], company_admin, status=RunStatus.PENDING)
    client = client_for(other_company["admin"])
    for method, address in all_urls(org["SBY"], run):
        assert getattr(client, method)(address).status_code == 404, address
    # its own unit with company A's run id
    for method, address in all_urls(other_company["unit"], run)[len(GET_PAGES) + len(POST_PAGES):]:
        assert getattr(client, method)(address).status_code == 404, address
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING


def test_the_unit_settings_page_links_to_the_migration(company, org, company_admin):
    response = client_for(company_admin).get(reverse("settings:unit_edit", kwargs={"pk": org["SBY"].pk}))
    assert f'<a href="{url("legacy:home", org["SBY"])}" data-testid="migration-link">Onboarding: data migration</a>' in response.content.decode()


def test_an_uploaded_token_of_another_unit_is_not_used(sample_company, sample_admin, units, bundle_path):
    # given a bundle uploaded for HQ
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)
    token = client.session[f"legacy_upload:{units['HQ'].pk}"]
    # when the session names it for SBY
    session = client.session
    session[f"legacy_upload:{units['SBY'].pk}"] = token
    session.save()
    # then SBY has no upload
    assert client.get(url("legacy:full", units["SBY"])).status_code == 302
    with pytest.raises(Exception) as refused:
        actions.do_start_legacy_migration_from_upload(actor=actor_for(sample_admin), org_unit=units["SBY"], token=token)
    assert refused.value.code == "bundle_not_uploaded"
