"""The background check of an uploaded bundle: upload -> checking -> task -> ready (or failed), the status
endpoint page ① polls, starts refused until it is ready, recompute after the masters step or on request."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError
from estatecrm.legacy import actions, error_codes, selectors
from estatecrm.legacy.choices import PreflightStage, PreflightStatus
from estatecrm.legacy.tests.factories import INFO, make_stored_upload
from estatecrm.legacy.tests.test_views import client_for, make_run, upload, uploaded_files, url
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

SESSION_KEY = "legacy_upload:{}"
NOT_ELIGIBLE = {"customer_missing": 1, "main_assignee_unmapped": 7, "not_eligible_status": 12}
COLUMN_MISSING_EN = "“追客.csv” has no column “主担当”."
COLUMN_MISSING_JA = "「追客.csv」に「主担当」列がありません。"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def token_of(client, unit) -> str:
    return client.session[SESSION_KEY.format(unit.pk)]


def state_file(media, company, token) -> dict:
    return json.loads((Path(media) / selectors.upload_folder(company.pk, token) / "preflight.json").read_text(encoding="utf-8"))


def status_url(unit, token) -> str:
    return reverse("legacy:upload-status", kwargs={"unit_id": unit.pk, "upload_token": token})


def bad_bundle(tmp_path) -> Path:
    """A ZIP that passes the cheap checks at upload (a ZIP, safe, with 追客.csv) but not the full read."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("追客.csv", "追客番号,顧客番号,種別,追客ステータス\r\nT1,C1,賃貸,反響対応中\r\n".encode("cp932"))
        archive.writestr("エクスポート情報.csv", INFO)
    path = tmp_path / "bad-bundle.zip"
    path.write_bytes(buffer.getvalue())
    return path


# ---------------------------------------------------------------------------------------------
# Upload -> checking -> ready


def test_upload_only_stores_the_bundle_then_the_task_makes_the_counts_ready(sample_company, sample_admin, units, bundle_path, media,
                                                                           django_capture_on_commit_callbacks):
    # given
    client = client_for(sample_admin)
    hq = units["HQ"]
    # when: the upload request, with the task it enqueues held back
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, hq, bundle_path, check=False)
    token = token_of(client, hq)
    # then: stored and marked checking, one task waiting, the page shows the progress and polls
    assert (response.status_code, response["Location"]) == (302, url("legacy:home", hq))
    assert len(callbacks) == 1
    state = state_file(media, sample_company, token)
    assert (state["status"], state["stage"], state["reason"], state["bundle_checked"], state["preflight"]) == (
        "checking", "queued", "upload", False, None)
    page = client.get(url("legacy:home", hq))
    body = page.content.decode()
    assert page.context["preflight"] is None
    assert page.context["state"].is_checking is True
    assert f'data-status-url="{status_url(hq, token)}"' in body
    assert '<span data-stage="queued" data-testid="preflight-stage">Waiting for a background worker</span>' in body
    assert 'data-testid="eligible-counts"' not in body
    assert '<script src="/static/legacy/preflight.js" defer></script>' in body
    status = client.get(status_url(hq, token)).json()
    assert (status["status"], status["stage"], status["stage_label"], status["is_finished"]) == (
        "checking", "queued", "Waiting for a background worker", False)
    assert 0 <= status["elapsed_seconds"] < 60
    # when: the worker runs the task
    callbacks[0]()
    # then: ready, with the counts the page showed when it computed them itself
    state = state_file(media, sample_company, token)
    assert (state["status"], state["stage"], state["bundle_checked"], state["error"]) == ("ready", "done", True, None)
    assert state["quick_since"] == actions.quick_start_date().isoformat()
    assert client.get(status_url(hq, token)).json()["is_finished"] is True
    page = client.get(url("legacy:home", hq))
    preflight = page.context["preflight"]
    assert (preflight["source_cases"], preflight["eligible_total"]["full"], preflight["not_eligible"]) == (40, 20, NOT_ELIGIBLE)
    assert [(staff["code"], staff["cases"]) for staff in preflight["unmatched_staff"]] == [("S006", 7), ("S018", 7), ("S023", 5)]
    assert preflight["unregistered_ranks"] == {"見込み大": 3, "見込み小": 1}
    body = page.content.decode()
    assert '<td data-testid="eligible-full-total">20</td>' in body
    assert 'data-testid="preflight-progress"' not in body
    assert [path.name for path in uploaded_files(media, sample_company)] == ["bundle.zip", "preflight.json", "upload.json"]


def test_page_one_reads_the_stored_result_and_never_the_bundle(sample_company, sample_admin, units, bundle_path, media, monkeypatch):
    # given a checked upload
    client = client_for(sample_admin)
    upload(client, units["HQ"], bundle_path)

    def must_not_run(**_kwargs):
        raise AssertionError("page ① computed the pre-flight")

    monkeypatch.setattr(selectors, "preflight", must_not_run)
    # when
    page = client.get(url("legacy:home", units["HQ"]))
    # then
    assert (page.status_code, page.context["preflight"]["eligible_total"]["full"]) == (200, 20)


def test_the_task_does_nothing_when_superseded_or_already_done(sample_company, sample_admin, units, bundle_path, media,
                                                              django_capture_on_commit_callbacks):
    # given a recompute requested after the upload, the upload's task not run yet
    client = client_for(sample_admin)
    hq = units["HQ"]
    with django_capture_on_commit_callbacks(execute=False):
        upload(client, hq, bundle_path, check=False)
    token = token_of(client, hq)
    first = state_file(media, sample_company, token)["requested_at"]
    with django_capture_on_commit_callbacks(execute=False):
        assert actions.do_request_legacy_preflight(actor=actor_for(sample_admin), org_unit=hq, token=token) is True
    second = state_file(media, sample_company, token)
    # when the upload's (older) task runs
    result = actions.do_compute_legacy_preflight(company_id=sample_company.pk, org_unit_id=hq.pk, token=token, requested_at=first)
    # then it leaves the newer request alone
    assert (result, state_file(media, sample_company, token)) == ("superseded", second)
    # when the newer one runs, twice
    done = actions.do_compute_legacy_preflight(company_id=sample_company.pk, org_unit_id=hq.pk, token=token,
                                               requested_at=second["requested_at"])
    after = state_file(media, sample_company, token)
    again = actions.do_compute_legacy_preflight(company_id=sample_company.pk, org_unit_id=hq.pk, token=token,
                                                requested_at=second["requested_at"])
    # then it computed once
    assert (done, after["status"], again, state_file(media, sample_company, token)) == ("ready", "ready", "superseded", after)


# ---------------------------------------------------------------------------------------------
# A bad bundle: failed, with the reason in the viewer's language, nothing startable


def test_a_bad_bundle_fails_the_check_with_the_reason_and_nothing_can_start(sample_company, sample_admin, units, bundle_path, media,
                                                                           tmp_path, django_capture_on_commit_callbacks):
    # given
    client = client_for(sample_admin)
    hq = units["HQ"]
    # when: it passes the cheap checks of the upload, then the task reads it
    response = upload(client, hq, bad_bundle(tmp_path), name="bad-bundle.zip")
    token = token_of(client, hq)
    # then: failed, the bundle removed, the reason kept in every language
    assert (response.status_code, response["Location"]) == (302, url("legacy:home", hq))
    state = state_file(media, sample_company, token)
    assert (state["status"], state["stage"], state["preflight"]) == ("failed", "done", None)
    assert state["error"] == {"code": "column_missing", "messages": {"ja": COLUMN_MISSING_JA, "en": COLUMN_MISSING_EN}}
    assert [path.name for path in uploaded_files(media, sample_company)] == ["preflight.json", "upload.json"]
    event = AuditEvent.objects.for_company(sample_company).get(verb="reject_migration_bundle")
    assert (event.object_id, event.after) == (token, {"code": "column_missing", "message": COLUMN_MISSING_JA})
    # and the page shows the reason in the viewer's language
    page = client.get(url("legacy:home", hq))
    assert f'<p class="errors" role="alert" data-testid="bundle-error">{COLUMN_MISSING_EN}</p>' in page.content.decode()
    assert page.context["preflight"] is None
    client.cookies["django_language"] = "ja"
    japanese = client.get(url("legacy:home", hq), HTTP_ACCEPT_LANGUAGE="ja")
    assert f'data-testid="bundle-error">{COLUMN_MISSING_JA}</p>' in japanese.content.decode()
    status = client.get(status_url(hq, token)).json()
    assert (status["status"], status["is_finished"]) == ("failed", True)
    # when: the admin tries to start, list, register masters or recompute
    full = client.post(url("legacy:full", hq), {})
    quick = client.get(url("legacy:quick", hq))
    with django_capture_on_commit_callbacks(execute=True):
        masters = client.post(url("legacy:masters", hq))
        recompute = client.post(url("legacy:recompute", hq))
    # then: all refused, nothing written
    assert [full.status_code, quick.status_code, masters.status_code, recompute.status_code] == [302, 302, 302, 302]
    with pytest.raises(ApplicationError) as refused:
        actions.do_start_legacy_migration_from_upload(actor=actor_for(sample_admin), org_unit=hq, token=token)
    assert refused.value.code == error_codes.BUNDLE_CHECK_FAILED
    assert Run.objects.for_company(sample_company).count() == 0
    assert state_file(media, sample_company, token)["status"] == "failed"
    # when: a corrected bundle is uploaded, the failed one goes
    upload(client, hq, bundle_path)
    assert {path.parent.name for path in uploaded_files(media, sample_company)} == {token_of(client, hq)}


def test_a_file_that_is_not_a_zip_is_still_refused_in_the_request(sample_company, sample_admin, units, media, tmp_path,
                                                                  django_capture_on_commit_callbacks):
    # given
    not_a_zip = tmp_path / "export.zip"
    not_a_zip.write_bytes(b"not a zip")
    client = client_for(sample_admin)
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, units["HQ"], not_a_zip, name="export.zip", check=False)
    # then: refused at once, nothing kept, no task
    assert response.status_code == 400
    assert "The file is not a complete ZIP file" in response.content.decode()
    assert (uploaded_files(media, sample_company), callbacks) == ([], [])


# ---------------------------------------------------------------------------------------------
# Starts refused while checking


def test_start_is_refused_while_the_bundle_is_being_checked(sample_company, sample_admin, units, bundle_path, media,
                                                            django_capture_on_commit_callbacks):
    # given an upload whose check has not run
    client = client_for(sample_admin)
    hq = units["HQ"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upload(client, hq, bundle_path, check=False)
    message = "The uploaded bundle is still being checked: wait until ① shows the estimated counts, then start."
    # when: the admin opens ② and ③, or posts a start or the masters step
    full_page = client.get(url("legacy:full", hq), follow=True)
    quick_page = client.get(url("legacy:quick", hq))
    full_start = client.post(url("legacy:full", hq), {})
    quick_start = client.post(url("legacy:quick", hq), {"confirm": "on"})
    masters = client.post(url("legacy:masters", hq), follow=True)
    # then: sent back to ① with the reason, nothing started or registered
    assert full_page.redirect_chain == [(url("legacy:home", hq), 302)]
    assert message in full_page.content.decode()
    assert (quick_page.status_code, quick_page["Location"]) == (302, url("legacy:home", hq))
    assert (full_start.status_code, quick_start.status_code) == (302, 302)
    assert message in masters.content.decode()
    with pytest.raises(ApplicationError) as refused:
        actions.do_start_legacy_migration_from_upload(actor=actor_for(sample_admin), org_unit=hq, token=token_of(client, hq))
    assert refused.value.code == error_codes.BUNDLE_CHECKING
    assert Run.objects.for_company(sample_company).count() == 0
    # when the check has run, the full migration starts
    callbacks[0]()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("legacy:full", hq), {})
    run = Run.objects.for_company(sample_company).get()
    assert (response["Location"], run.status) == (url("legacy:run", hq, run), RunStatus.COMPLETED)


# ---------------------------------------------------------------------------------------------
# Recompute: after the masters step, and on request


def test_the_masters_step_computes_the_counts_again(sample_company, sample_admin, units, bundle_path, media,
                                                    django_capture_on_commit_callbacks):
    # given a checked upload that names unregistered masters
    client = client_for(sample_admin)
    hq = units["HQ"]
    upload(client, hq, bundle_path)
    token = token_of(client, hq)
    before = state_file(media, sample_company, token)
    assert client.get(url("legacy:home", hq)).context["preflight"]["needs_masters"] is True
    # when: the masters step, its task held back
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url("legacy:masters", hq))
    # then: checking again (the bundle check is not repeated), audited, one task waiting
    assert response.status_code == 302
    state = state_file(media, sample_company, token)
    assert (state["status"], state["stage"], state["reason"], state["bundle_checked"]) == ("checking", "queued", "masters", True)
    assert state["requested_at"] > before["requested_at"]
    event = AuditEvent.objects.for_company(sample_company).get(verb="recompute_migration_preflight")
    assert (event.object_id, event.after) == (token, {"org": "HQ", "reason": "masters"})
    assert len(callbacks) == 1
    # when the task runs
    callbacks[0]()
    # then: the counts no longer name the masters
    preflight = client.get(url("legacy:home", hq)).context["preflight"]
    assert (preflight["needs_masters"], preflight["unregistered_ranks"], preflight["eligible_total"]["full"]) == (False, {}, 20)
    assert state_file(media, sample_company, token)["stage"] == PreflightStage.DONE


def test_recompute_button_computes_the_counts_again_and_flags_outdated_counts(sample_company, sample_admin, units, bundle_path, media,
                                                                             django_capture_on_commit_callbacks):
    # given checked counts, then a migration that ended after them
    client = client_for(sample_admin)
    hq = units["HQ"]
    upload(client, hq, bundle_path)
    token = token_of(client, hq)
    computed = state_file(media, sample_company, token)["computed_at"]
    make_run(sample_company, hq, sample_admin, finished_at=timezone.now() + timezone.timedelta(seconds=1))
    page = client.get(url("legacy:home", hq))
    assert page.context["is_outdated"] is True
    assert 'data-testid="preflight-outdated"' in page.content.decode()
    assert f'action="{url("legacy:recompute", hq)}"' in page.content.decode()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("legacy:recompute", hq))
    # then
    assert (response.status_code, response["Location"]) == (302, url("legacy:home", hq))
    state = state_file(media, sample_company, token)
    assert (state["status"], state["reason"]) == ("ready", "recompute")
    assert state["computed_at"] > computed
    assert AuditEvent.objects.for_company(sample_company).filter(verb="recompute_migration_preflight", object_id=token).count() == 1


def test_recompute_without_an_upload_changes_nothing(sample_company, sample_admin, units):
    client = client_for(sample_admin)
    response = client.post(url("legacy:recompute", units["HQ"]), follow=True)
    assert "Upload the bundle first" in response.content.decode()
    assert AuditEvent.objects.for_company(sample_company).filter(verb="recompute_migration_preflight").count() == 0


# ---------------------------------------------------------------------------------------------
# The status endpoint: the unit's own uploads only


def test_status_endpoint_answers_404_for_another_units_or_companys_token(company, org, company_admin, other_company, media):
    # given an upload of SBY in company A, and one of company B
    token = make_stored_upload(company, org["SBY"])
    other_token = make_stored_upload(other_company["company"], other_company["unit"])
    client = client_for(company_admin)
    # then: SBY's own token answers
    status = client.get(status_url(org["SBY"], token))
    assert (status.status_code, status.json()["status"]) == (200, PreflightStatus.CHECKING)
    # another unit of the same company, company B's token, an unknown or malformed token: 404
    assert client.get(status_url(org["HQ"], token)).status_code == 404
    assert client.get(status_url(org["SBY"], other_token)).status_code == 404
    assert client.get(status_url(org["SBY"], "0" * 32)).status_code == 404
    assert client.get(status_url(org["SBY"], "..%2F..%2Fsecret")).status_code == 404
    # company B's admin, with company A's token under company B's own unit: 404
    other_client = client_for(other_company["admin"])
    assert other_client.get(status_url(other_company["unit"], token)).status_code == 404
    assert other_client.get(status_url(org["SBY"], token)).status_code == 404
    assert other_client.get(status_url(other_company["unit"], other_token)).status_code == 200


def test_a_requester_who_lost_the_right_fails_the_check_but_keeps_the_bundle_for_a_recompute(
        sample_company, sample_admin, units, bundle_path, media, django_capture_on_commit_callbacks):
    # given an upload whose check has not run, and another admin of HQ
    from estatecrm.core import testing
    from estatecrm.tenancy.choices import Role

    hq = units["HQ"]
    other_admin = testing.make_user(sample_company, hq, role=Role.ADMIN, email="other-admin@example-fudosan.jp")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upload(client_for(sample_admin), hq, bundle_path, check=False)
    token = selectors.access_upload(actor_for(other_admin), AuditEvent.objects.for_company(sample_company)
                                    .get(verb="upload_migration_bundle").object_id, org_unit=hq).token
    # when the uploader is deactivated before the worker runs the task
    type(sample_admin).objects.filter(pk=sample_admin.pk).update(is_active=False)
    callbacks[0]()
    # then: failed with a reason rendered at display time, the bundle kept
    state = state_file(media, sample_company, token)
    assert (state["status"], state["error"]) == ("failed", {"code": "requester_not_admin", "messages": {}})
    assert [path.name for path in uploaded_files(media, sample_company)] == ["bundle.zip", "preflight.json", "upload.json"]
    stored = selectors.access_upload(actor_for(other_admin), token, org_unit=hq)
    assert selectors.preflight_state(stored).error_message("en") == (
        "The admin who asked for the check can no longer migrate this unit's data: recompute the counts.")
    # when the other admin recomputes
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.do_request_legacy_preflight(actor=actor_for(other_admin), org_unit=hq, token=token) is True
    # then
    state = state_file(media, sample_company, token)
    assert (state["status"], state["requested_by_id"], state["preflight"]["eligible"]["full"]) == (
        "ready", other_admin.pk, {"追客中": 16, "申込中": 4})


def test_a_run_started_from_an_upload_links_the_bundle_and_keeps_it_when_the_upload_goes(sample_company, sample_admin, units, bundle_path,
                                                                                         media):
    # given: a checked upload
    client = client_for(sample_admin)
    hq = units["HQ"]
    upload(client, hq, bundle_path)
    token = token_of(client, hq)
    stored = selectors.access_stored_bundle(actor_for(sample_admin), token, org_unit=hq)
    # when: a run starts from it (no copy of hundreds of MB in the request), then the upload is discarded
    run = actions.do_start_legacy_migration_from_upload(actor=actor_for(sample_admin), org_unit=hq, token=token)
    run_file = Path(run.source_file.path)
    assert run_file.stat().st_ino == stored.path.stat().st_ino
    assert actions.do_discard_legacy_bundle(actor=actor_for(sample_admin), org_unit=hq, token=token) is True
    # then: the run still has its bundle, byte for byte
    assert not stored.path.exists()
    assert run_file.read_bytes() == bundle_path.read_bytes()


def test_a_run_of_a_users_own_file_gets_a_copy_never_a_link(sample_company, sample_admin, units, bundle_path, tmp_path):
    # given: the CLI's case, a file the user may still edit in place
    own = tmp_path / "mine.zip"
    own.write_bytes(bundle_path.read_bytes())
    # when
    run = actions.do_start_legacy_migration(actor=actor_for(sample_admin), path=own, file_name="mine.zip", org_unit=units["HQ"],
                                            background=False)
    # then
    assert Path(run.source_file.path).stat().st_ino != own.stat().st_ino
    assert Path(run.source_file.path).read_bytes() == own.read_bytes()
