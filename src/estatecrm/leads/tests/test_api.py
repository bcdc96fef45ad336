"""The lead import API: the same steps as the CLI, with the consistent error body and isolation."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Customer
from estatecrm.pipeline.models import Run

pytestmark = pytest.mark.django_db

CSV = "会社名,担当者,電話番号,メール\r\n株式会社ABC,本社,03-1234-5678,info@abc.example.jp\r\n田中家,田中 一郎,090-1234-567,\r\n".encode("cp932")


def upload(name="leads.csv", content=CSV):
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def client(client):
    """API calls in English (the default language of a request is Japanese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_messages_follow_the_request_language(client, company_admin, project):
    client.force_login(company_admin)
    response = client.post("/api/v1/lead-imports/detect", {"project_id": project.pk, "file": upload(content=b"")},
                           HTTP_ACCEPT_LANGUAGE="ja")
    assert response.json()["error"]["message"] == "ファイルが空です。"


def test_detect_reports_the_file_and_suggests_a_mapping(admin_client, project):
    response = admin_client.post("/api/v1/lead-imports/detect", {"project_id": project.pk, "file": upload()})
    assert response.status_code == 200
    body = response.json()
    assert (body["format"], body["encoding"], body["delimiter"], body["header_row"]) == ("csv", "cp932", ",", 1)
    assert body["suggested_mapping"] == {"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号", "email": "メール"}
    assert body["mapping_problems"] == {}


def test_dry_run_then_import_then_revert(admin_client, company, project, django_capture_on_commit_callbacks):
    dry = admin_client.post("/api/v1/lead-imports/dry-run", {"project_id": project.pk, "file": upload()}).json()
    assert (dry["status"], dry["leads_created"], dry["failed"], dry["failed_by_reason"]) == ("dry_run", 1, 1, {"phone_invalid": 1})
    with company_scope(company):
        assert Customer.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = admin_client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload(), "on_duplicate": "skip"})
    assert (started.status_code, started.json()["status"], len(callbacks)) == (202, "pending", 1)
    import_id = started.json()["import_id"]
    detail = admin_client.get(f"/api/v1/lead-imports/{import_id}").json()
    assert (detail["status"], detail["rows"], detail["leads_created"], detail["rows_done"]) == ("completed_with_failures", 2, 1, 2)
    assert [row["import_id"] for row in admin_client.get("/api/v1/lead-imports").json()] == [import_id]
    failed = admin_client.get(f"/api/v1/lead-imports/{import_id}/failed-rows?encoding=utf-8-sig")
    assert failed.content.decode("utf-8-sig").splitlines()[0] == "会社名,担当者,電話番号,メール,エラー内容"
    assert failed.content.count(b"\xef\xbb\xbf") == 1  # one BOM for the file, not one per line
    with django_capture_on_commit_callbacks(execute=True):
        reverted = admin_client.post(f"/api/v1/lead-imports/{import_id}/revert", json.dumps({"force": False}), content_type="application/json")
    assert (reverted.status_code, reverted.json()["revert"]["status"]) == (202, "pending")
    assert admin_client.get(f"/api/v1/lead-imports/{import_id}").json()["status"] == "reverted"


def test_revert_answers_202_at_once_and_the_import_tells_its_progress(admin_client, company, project, django_capture_on_commit_callbacks):
    # given: a finished import
    with django_capture_on_commit_callbacks(execute=True):
        import_id = admin_client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload()}).json()["import_id"]
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        started = admin_client.post(f"/api/v1/lead-imports/{import_id}/revert", json.dumps({"force": False}), content_type="application/json")
    # then: accepted, not done; the import names the revert to poll
    revert_id = Run.objects.for_company(company).get(kind="lead_import_revert").pk
    assert (started.status_code, started.json()["status"], len(callbacks)) == (202, "completed_with_failures", 1)
    assert started.json()["revert"] == {"revert_id": revert_id, "status": "pending", "rows_total": None, "rows_done": 0,
                                        "leads_trashed": 0, "leads_restored": 0, "error": ""}
    with company_scope(company):
        assert Customer.objects.filter(deleted_at__isnull=True).count() == 1
    # when: a worker runs it
    callbacks[0]()
    # then
    polled = admin_client.get(f"/api/v1/lead-imports/{import_id}").json()
    assert (polled["status"], polled["revert"]) == ("reverted", {"revert_id": revert_id, "status": "completed", "rows_total": 2,
                                                                "rows_done": 2, "leads_trashed": 1, "leads_restored": 0, "error": ""})
    assert [row["revert"]["revert_id"] for row in admin_client.get("/api/v1/lead-imports").json()] == [revert_id]
    with company_scope(company):
        assert Customer.objects.filter(deleted_at__isnull=True).count() == 0


def test_bad_file_gives_the_error_body(admin_client, project):
    response = admin_client.post("/api/v1/lead-imports/detect", {"project_id": project.pk, "file": upload(content=b"")})
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "empty_file", "message": "The file is empty.", "fields": {"file": ["The file is empty."]}}}


def test_incomplete_mapping_is_refused_with_fields(admin_client, project):
    response = admin_client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload(),
                                                         "mapping": json.dumps({"lead_name": "会社名", "contact_name": "担当者"})})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"phone": ["This field is required: choose the column that holds it."]}


def test_agent_is_refused(client, agent, project):
    client.force_login(agent)
    response = client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload()})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_anonymous_gets_401(client, project):
    assert client.get("/api/v1/lead-imports").status_code == 401


def test_other_company_ids_are_404(client, admin_client, company, project, other_company):
    started = admin_client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload()}).json()
    client.force_login(other_company["admin"])
    assert client.get(f"/api/v1/lead-imports/{started['import_id']}").status_code == 404
    assert client.post(f"/api/v1/lead-imports/{started['import_id']}/abort").status_code == 404
    assert client.post("/api/v1/lead-imports/detect", {"project_id": project.pk, "file": upload()}).status_code == 404


def test_a_mapping_that_names_a_field_twice_is_refused(admin_client, project):
    # given: JSON keeps the last of two equal keys silently
    mapping = '{"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号", "phone": "メール"}'
    # when
    response = admin_client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload(), "mapping": mapping})
    # then
    message = "The mapping names the field “phone” twice: it is ambiguous which column to use."
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"mapping": [message]})
    from estatecrm.pipeline.models import Run

    assert Run.objects.unscoped().count() == 0


@pytest.mark.parametrize("decisions", ['{"2": "skip", "2": "add"}', '{"2": "skip", "02": "add"}', '["skip"]'])
def test_decisions_that_name_a_row_twice_or_are_no_object_are_refused(admin_client, project, decisions):
    # when
    response = admin_client.post("/api/v1/lead-imports", {"project_id": project.pk, "file": upload(), "decisions": decisions})
    # then
    message = "decisions must be a JSON object of row number -> add, skip or overwrite, each row once."
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"decisions": [message]})
