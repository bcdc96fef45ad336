"""The import pages: upload, mapping, dry run, start, progress, failed rows, revert, sample CSV, do-not-call list."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from estatecrm.audit.models import AuditEvent
from estatecrm.core.scope import company_scope
from estatecrm.crm.choices import CaseOrigin
from estatecrm.crm.models import Case, Customer, Project
from estatecrm.leads.models import DoNotCallEntry
from estatecrm.leads.views import DRAFT_SESSION_KEY
from estatecrm.pipeline.models import Run
from estatecrm.tenancy.actions import do_upsert_workgroup

pytestmark = pytest.mark.django_db

CSV = (
    "会社名,担当者,電話番号,メール,所有物件数\r\n"
    "株式会社ABC,本社,０３－１２３４－５６７８,info@abc.example.jp,3\r\n"
    "田中家,田中 一郎,090-1234-567,,\r\n"
    "髙﨑商店,髙﨑 次郎,090-2222-3333,,\r\n"
).encode("cp932")


def upload(content=CSV, name="leads.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files of each test in a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def uploaded_files(company) -> list[str]:
    folder = Path(settings.MEDIA_ROOT) / "lead-uploads" / str(company.pk)
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def post_upload(client, project=None, new_project="", content=CSV, **extra):
    data = {"file": upload(content), "project": project.pk if project else "", "new_project": new_project, **extra}
    return client.post("/imports/new/", data)


def mapping_data(**overrides):
    data = {"map_lead_name": "会社名", "map_contact_name": "担当者", "map_phone": "電話番号", "map_email": "メール",
            "map_custom:所有物件数": "所有物件数", "duplicate_keys": ["name", "phone"], "on_duplicate": "add"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def counts_of(response) -> dict:
    return response.context["dry_run"]["summary"]


# ---------------------------------------------------------------------------------------------
# Access


@pytest.mark.parametrize("url", ["/imports/", "/imports/new/", "/imports/new/mapping/", "/imports/template.csv",
                                 "/imports/mappings/", "/imports/do-not-call/", "/imports/do-not-call/export.csv"])
def test_agents_are_refused_every_import_page(client, agent, url):
    # given
    client.force_login(agent)
    # when
    response = client.get(url)
    # then
    assert response.status_code == 403


def test_visitors_are_sent_to_the_login(client, company):
    response = client.get("/imports/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/imports/")


def test_nav_link_shows_for_admins_only(client, company_admin, agent):
    client.force_login(company_admin)
    assert 'href="/imports/"' in client.get("/").content.decode()
    client.force_login(agent)
    assert 'href="/imports/"' not in client.get("/").content.decode()


def test_another_company_run_is_not_found(admin_client, other_company):
    # given: a run of the other company
    run = Run.objects.create(company=other_company["company"], kind="lead_import", status="completed", token="t", source_name="b.csv")
    # when / then
    assert admin_client.get(f"/imports/{run.pk}/").status_code == 404
    assert admin_client.get(f"/imports/{run.pk}/failed-rows/").status_code == 404
    assert admin_client.post(f"/imports/{run.pk}/revert/").status_code == 404
    assert admin_client.post(f"/imports/{run.pk}/abort/").status_code == 404
    assert "b.csv" not in admin_client.get("/imports/").content.decode()


# ---------------------------------------------------------------------------------------------
# Step 1


def test_upload_shows_detected_settings_suggested_mapping_and_normalized_preview(admin_client, company, project):
    # when
    response = admin_client.post("/imports/new/", {"file": upload(), "project": project.pk})
    # then
    assert (response.status_code, response["Location"]) == (302, "/imports/new/mapping/")
    page = admin_client.get("/imports/new/mapping/")
    assert page.context["encoding_name"] == "Shift_JIS (CP932)"
    assert page.context["delimiter_name"] == "Comma"
    assert page.context["form"].mapping() == {"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号", "email": "メール",
                                              "custom:所有物件数": "所有物件数"}
    rows = page.context["converted_rows"]
    assert [(row["row"], row["lead_name"], row["phone"]) for row in rows] == [
        (2, "株式会社ABC", "+81312345678"), (3, "田中家", "090-1234-567"), (4, "髙﨑商店", "+819022223333")]
    assert rows[0]["custom"] == {"所有物件数": 3}
    assert rows[1]["errors"] == ["Phone: The phone number is not valid."]
    assert uploaded_files(company) != []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        ("会社名,担当者,電話番号\r\n".encode("cp932"), "The file has a header row but no data rows."),
        (b"PK\x03\x04" + b"\x00" * 200, None),
    ],
)
def test_a_bad_file_is_refused_next_to_the_field_and_nothing_is_stored(admin_client, company, project, content, message):
    # when
    response = admin_client.post("/imports/new/", {"file": upload(content), "project": project.pk})
    # then
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert len(errors) == 1
    if message:
        assert errors == [message]
    assert uploaded_files(company) == []
    assert DRAFT_SESSION_KEY not in admin_client.session
    assert Run.objects.for_company(company).count() == 0


def test_upload_needs_a_project_or_a_new_project_name(admin_client, company, project):
    response = admin_client.post("/imports/new/", {"file": upload()})
    assert response.context["form"].errors == {"project": ["Choose a project or name a new one."]}
    taken = admin_client.post("/imports/new/", {"file": upload(), "new_project": "春の反響リスト"})
    assert taken.context["form"].errors == {"new_project": ["A project with this name already exists: choose it in the list."]}
    assert uploaded_files(company) == []


def test_mapping_step_without_an_upload_goes_back_to_step_one(admin_client):
    response = admin_client.get("/imports/new/mapping/")
    assert (response.status_code, response["Location"]) == (302, "/imports/new/")


def test_reading_again_with_another_header_row(admin_client, company, project):
    # given: a title line above the header
    content = ("顧客リスト 2026年4月\r\n" + CSV.decode("cp932")).encode("cp932")
    admin_client.post("/imports/new/", {"file": upload(content), "project": project.pk})
    assert admin_client.get("/imports/new/mapping/").context["info"].header_row == 2
    # when: the user says the header is on row 3 (the first data row)
    admin_client.post("/imports/new/mapping/", {"action": "reread", "encoding": "cp932", "header_row": 3})
    # then
    page = admin_client.get("/imports/new/mapping/")
    assert (page.context["info"].header_row, page.context["info"].headers[0]) == (3, "株式会社ABC")


# ---------------------------------------------------------------------------------------------
# Step 2


def test_an_incomplete_mapping_shows_the_error_next_to_the_field_and_writes_nothing(admin_client, company, project, django_capture_on_commit_callbacks):
    # given
    post_upload(admin_client, project)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/imports/new/mapping/", mapping_data(action="start", map_phone=""))
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"map_phone": ["This field is required: choose the column that holds it."]}
    with company_scope(company):
        assert (Run.objects.count(), Customer.objects.count()) == (0, 0)


def test_dry_run_shows_counts_and_row_errors_and_writes_nothing(admin_client, company, project):
    # given
    post_upload(admin_client, project)
    events = AuditEvent.objects.for_company(company).count()
    # when
    response = admin_client.post("/imports/new/mapping/", mapping_data(action="dry_run"))
    # then
    assert counts_of(response) == {"rows": 3, "leads_created": 2, "contacts_created": 2, "updated": 0, "skipped_duplicates": 0,
                                   "failed": 1, "failed_by_reason": {"phone_invalid": 1}, "duplicates_by_rule": {},
                                   "duplicate_matches": {}}
    assert response.context["dry_run"]["issues"] == [(3, "Phone", "The phone number is not valid.")]
    with company_scope(company):
        assert (Run.objects.count(), Customer.objects.count()) == (0, 0)
    assert AuditEvent.objects.for_company(company).count() == events
    assert len(uploaded_files(company)) == 1


def test_dry_run_counts_duplicates_of_existing_leads(admin_client, company, project, django_capture_on_commit_callbacks):
    # given: the same file was imported once
    post_upload(admin_client, project)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/imports/new/mapping/", mapping_data(action="start"))
    post_upload(admin_client, project)
    # when
    response = admin_client.post("/imports/new/mapping/", mapping_data(action="dry_run", on_duplicate="skip"))
    # then
    summary = counts_of(response)
    assert (summary["skipped_duplicates"], summary["leads_created"], summary["duplicates_by_rule"]) == (2, 0, {"name": 2})


def test_flagged_duplicates_can_be_decided_row_by_row(admin_client, company, project, django_capture_on_commit_callbacks):
    # given: the file was imported once, so both valid rows are duplicates by name
    post_upload(admin_client, project)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/imports/new/mapping/", mapping_data(action="start"))
    post_upload(admin_client, project)
    # when: the dry run lists them with the policy's decision
    dry = admin_client.post("/imports/new/mapping/", mapping_data(action="dry_run", on_duplicate="skip"))
    flagged = dry.context["dry_run"]["duplicates"]
    assert [(item["row"], item["rule"], item["lead_name"], item["decision"]) for item in flagged] == [
        (2, "name", "株式会社ABC", "skip"), (4, "name", "髙﨑商店", "skip")]
    assert 'name="decision_2"' in dry.content.decode()
    # and row 4 is imported as new anyway, against the policy
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/imports/new/mapping/", mapping_data(action="start", on_duplicate="skip", decision_4="add"))
    # then
    run = Run.objects.for_company(company).order_by("-pk").first()
    assert (run.params["decisions"], run.counts["skipped_duplicates"], run.counts["leads_created"]) == ({"4": "add"}, 1, 1)
    with company_scope(company):
        assert Customer.objects.filter(name="髙﨑商店").count() == 2


def test_start_runs_in_the_background_then_the_page_shows_the_result(admin_client, company, project, company_admin,
                                                                      django_capture_on_commit_callbacks):
    # given
    post_upload(admin_client, project)
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post("/imports/new/mapping/", mapping_data(action="start"))
    # then
    run = Run.objects.for_company(company).get()
    assert (response.status_code, response["Location"], len(callbacks)) == (302, f"/imports/{run.pk}/", 1)
    assert uploaded_files(company) == []
    assert DRAFT_SESSION_KEY not in admin_client.session
    page = admin_client.get(f"/imports/{run.pk}/")
    assert (page.context["run"].status, page.context["summary"]["leads_created"], page.context["percent"]) == ("completed_with_failures", 2, 100)
    assert 'http-equiv="refresh"' not in page.content.decode()
    with company_scope(company):
        cases = Case.objects.filter(origin=CaseOrigin.LEAD_IMPORT).order_by("pk")
        assert [(case.customer.name, case.project_id, case.main_assignee_id) for case in cases] == [
            ("株式会社ABC", project.pk, company_admin.pk), ("髙﨑商店", project.pk, company_admin.pk)]
    listing = admin_client.get("/imports/")
    assert [(row["run"].pk, row["project"], row["summary"]["failed"]) for row in listing.context["rows"]] == [(run.pk, "春の反響リスト", 1)]


def test_a_pending_run_page_refreshes_and_can_be_aborted(admin_client, company, project, company_admin):
    # given: a run no worker took yet
    post_upload(admin_client, project)
    admin_client.post("/imports/new/mapping/", mapping_data(action="start"))  # on-commit callbacks not run: stays pending
    run = Run.objects.for_company(company).get()
    assert 'http-equiv="refresh"' in admin_client.get(f"/imports/{run.pk}/").content.decode()
    # when
    response = admin_client.post(f"/imports/{run.pk}/abort/")
    # then
    run.refresh_from_db()
    assert (response.status_code, run.status) == (302, "aborted")


def test_a_new_project_is_created_only_when_the_import_starts(admin_client, company, django_capture_on_commit_callbacks):
    # given
    post_upload(admin_client, new_project="秋のリスト")
    data = mapping_data(**{"map_custom:所有物件数": None})
    # when: dry run
    dry = admin_client.post("/imports/new/mapping/", {**data, "action": "dry_run"})
    # then
    assert counts_of(dry)["leads_created"] == 2
    with company_scope(company):
        assert Project.objects.filter(name="秋のリスト").exists() is False
    # when: start, saving the mapping
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/imports/new/mapping/", {**data, "action": "start", "mapping_name": "標準"})
    # then
    with company_scope(company):
        created = Project.objects.get(name="秋のリスト")
        assert list(created.saved_mappings.values_list("name", "mapping")) == [
            ("標準", {"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号", "email": "メール"})]
        assert Case.objects.filter(project=created).count() == 2


def test_discarding_the_file_removes_it(admin_client, company, project):
    post_upload(admin_client, project)
    response = admin_client.post("/imports/new/mapping/", {"action": "cancel"})
    assert (response.status_code, uploaded_files(company)) == (302, [])


# ---------------------------------------------------------------------------------------------
# After the run


@pytest.fixture
def finished_run(admin_client, company, project, django_capture_on_commit_callbacks):
    post_upload(admin_client, project)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/imports/new/mapping/", mapping_data(action="start"))
    return Run.objects.for_company(company).get()


def test_failed_rows_download_in_the_file_encoding_or_utf8(admin_client, finished_run):
    # when
    original = admin_client.get(f"/imports/{finished_run.pk}/failed-rows/")
    utf8 = admin_client.get(f"/imports/{finished_run.pk}/failed-rows/?encoding=utf-8-sig")
    # then
    assert original["Content-Type"] == "text/csv; charset=shift_jis"
    assert original.content.decode("cp932").splitlines() == [
        "会社名,担当者,電話番号,メール,所有物件数,エラー内容", "田中家,田中 一郎,090-1234-567,,,電話番号: 電話番号が正しくありません。"]
    assert (utf8.content.startswith(b"\xef\xbb\xbf"), utf8.content.count(b"\xef\xbb\xbf")) == (True, 1)
    assert utf8.content.decode("utf-8-sig").splitlines()[1] == original.content.decode("cp932").splitlines()[1]


def test_revert_is_refused_with_the_edited_leads_then_forced(admin_client, company, finished_run, django_capture_on_commit_callbacks):
    # given: one imported lead edited after the import
    with company_scope(company):
        edited = Customer.objects.get(name="株式会社ABC")
        Customer.objects.filter(pk=edited.pk).update(updated_at=finished_run.finished_at + __import__("datetime").timedelta(minutes=5))
    # when
    refused = admin_client.post(f"/imports/{finished_run.pk}/revert/", {})
    # then
    assert refused.status_code == 409
    assert [lead["name"] for lead in refused.context["edited"]] == ["株式会社ABC"]
    assert refused.context["refused"].startswith("1 imported leads were edited after the import")
    finished_run.refresh_from_db()
    assert finished_run.status == "completed_with_failures"
    # when: forced (the revert runs in the background: here when the request's transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        forced = admin_client.post(f"/imports/{finished_run.pk}/revert/", {"force": "on"})
    # then
    finished_run.refresh_from_db()
    assert (forced.status_code, finished_run.status) == (302, "reverted")
    with company_scope(company):
        assert Customer.objects.filter(deleted_at__isnull=True).count() == 0


def test_revert_page_lists_nothing_when_no_lead_was_edited(admin_client, finished_run, django_capture_on_commit_callbacks):
    page = admin_client.get(f"/imports/{finished_run.pk}/revert/")
    assert (page.status_code, page.context["edited"]) == (200, [])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/imports/{finished_run.pk}/revert/", {})
    finished_run.refresh_from_db()
    assert (response.status_code, finished_run.status) == (302, "reverted")


def test_revert_runs_in_the_background_and_the_import_page_follows_it(admin_client, company, finished_run, django_capture_on_commit_callbacks):
    # when: the admin confirms the revert
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(f"/imports/{finished_run.pk}/revert/", {})
    # then: the request only started it: nothing is reverted yet, and the import's page shows it waiting
    finished_run.refresh_from_db()
    revert = Run.objects.for_company(company).get(kind="lead_import_revert")
    assert (response.status_code, response["Location"], len(callbacks)) == (302, f"/imports/{finished_run.pk}/", 1)
    assert (finished_run.status, revert.status, revert.params["run_id"]) == ("completed_with_failures", "pending", finished_run.pk)
    with company_scope(company):
        assert Customer.objects.filter(deleted_at__isnull=True).count() == 2
    waiting = admin_client.get(f"/imports/{finished_run.pk}/")
    assert (waiting.context["revert"], waiting.context["is_reverting"], waiting.context["is_revertible"]) == (revert, True, False)
    assert b'http-equiv="refresh"' in waiting.content
    # when: a worker runs it
    callbacks[0]()
    # then: the import is reverted and its page shows the revert's counts
    finished_run.refresh_from_db()
    assert finished_run.status == "reverted"
    with company_scope(company):
        assert Customer.objects.filter(deleted_at__isnull=True).count() == 0
    done = admin_client.get(f"/imports/{finished_run.pk}/")
    assert (done.context["revert"].status, done.context["revert"].counts, done.context["is_reverting"]) == ("completed", {"leads_trashed": 2}, False)
    assert b'http-equiv="refresh"' not in done.content
    assert b'data-testid="revert-counts"' in done.content


# ---------------------------------------------------------------------------------------------
# Sample CSV


def test_sample_csv_has_the_canonical_japanese_headers_and_the_project_fields(admin_client, project):
    # when
    default = admin_client.get("/imports/template.csv")
    with_project = admin_client.get(f"/imports/template.csv?project={project.pk}")
    # then
    assert default["Content-Type"] == "text/csv; charset=utf-8"
    assert default.content == ("\ufeffリード名,連絡先名,電話番号,フリガナ,郵便番号,都道府県,市区町村,番地,建物名,メールアドレス,ホームページ,担当者メール,"
                               "反響日,反響媒体,生年月日,備考,案件種別,顧客種別\r\n").encode()
    assert with_project.content.decode("utf-8-sig").strip().split(",")[-1] == "所有物件数"


def test_the_sample_csv_maps_every_field_by_itself(admin_client, project):
    # given: the template with one row filled in
    template = admin_client.get(f"/imports/template.csv?project={project.pk}").content
    content = template + "株式会社ABC,本社,03-1234-5678,,,,,,,,,,R6.4.1,SUUMO,,,売買,法人,2\r\n".encode()
    # when
    post_upload(admin_client, project, content=content)
    # then
    mapping = admin_client.get("/imports/new/mapping/").context["form"].mapping()
    assert mapping == {"lead_name": "リード名", "contact_name": "連絡先名", "phone": "電話番号", "contact_kana": "フリガナ",
                       "postal_code": "郵便番号", "prefecture": "都道府県", "city": "市区町村", "street": "番地", "building": "建物名",
                       "email": "メールアドレス", "homepage": "ホームページ", "assignee_email": "担当者メール", "first_inquiry_date": "反響日",
                       "first_inquiry_source": "反響媒体", "birth_date": "生年月日", "note": "備考", "case_kind": "案件種別",
                       "customer_kind": "顧客種別", "custom:所有物件数": "所有物件数"}


def test_sample_csv_of_another_company_project_is_not_found(admin_client, other_company):
    from estatecrm.crm.actions import do_upsert_project

    other, _ = do_upsert_project(company=other_company["company"], name="他社リスト")
    assert admin_client.get(f"/imports/template.csv?project={other.pk}").status_code == 404


# ---------------------------------------------------------------------------------------------
# Do-not-call list


DNC_CSV = "リード名,電話番号,備考\r\n株式会社禁止,03-9999-8888,本人希望\r\n,=cmd|' /C calc'!A0,\r\n".encode("cp932")


def test_dnc_import_list_export_and_remove(admin_client, company, agent, django_capture_on_commit_callbacks):
    # given
    group, _ = do_upsert_workgroup(company=company, name="新人チーム", members=[agent])
    # when: import
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/imports/do-not-call/", {"file": upload(DNC_CSV, "dnc.csv"), "workgroups": [group.pk]})
    # then
    assert (response.status_code, response["Location"]) == (302, "/imports/do-not-call/")
    page = admin_client.get("/imports/do-not-call/")
    assert [(entry.name, entry.phone, scopes) for entry, scopes in page.context["entries"]] == [("株式会社禁止", "+81399998888", ["新人チーム"])]
    assert page.context["total"] == 1
    # when: export
    exported = b"".join(admin_client.get("/imports/do-not-call/export.csv").streaming_content)
    # then
    assert exported.decode("utf-8-sig").splitlines() == ["リード名,電話番号,備考,ワークグループ", "株式会社禁止,03-9999-8888,本人希望,新人チーム"]
    # when: remove
    entry = DoNotCallEntry.objects.for_company(company).get()
    removed = admin_client.post(f"/imports/do-not-call/{entry.pk}/remove/")
    # then
    assert removed.status_code == 302
    assert DoNotCallEntry.objects.for_company(company).count() == 0


def test_dnc_search_finds_by_name_or_phone(admin_client, company):
    DoNotCallEntry.objects.create(company=company, name="株式会社禁止", name_key="禁止", phone_raw="03-9999-8888", phone="+81399998888")
    DoNotCallEntry.objects.create(company=company, name="田中家", name_key="田中家", phone_raw="", phone="")
    assert [entry.name for entry, _ in admin_client.get("/imports/do-not-call/?q=9999").context["entries"]] == ["株式会社禁止"]
    assert [entry.name for entry, _ in admin_client.get("/imports/do-not-call/?q=田中").context["entries"]] == ["田中家"]


def test_dnc_import_of_a_bad_file_is_refused_next_to_the_field(admin_client, company):
    response = admin_client.post("/imports/do-not-call/", {"file": upload(b"", "dnc.csv")})
    assert response.context["form"].errors == {"file": ["The file is empty."]}
    unmapped = admin_client.post("/imports/do-not-call/", {"file": upload("あ,い\r\n1,2\r\n".encode("cp932"), "dnc.csv")})
    assert unmapped.context["form"].errors == {"file": ["Map a column to the lead name, the phone number, or both."]}
    assert Run.objects.for_company(company).count() == 0


def test_another_company_dnc_entry_is_not_found_and_stays(admin_client, other_company):
    entry = DoNotCallEntry.objects.create(company=other_company["company"], name="他社", name_key="他社")
    assert admin_client.post(f"/imports/do-not-call/{entry.pk}/remove/").status_code == 404
    assert DoNotCallEntry.objects.for_company(other_company["company"]).count() == 1
    assert "他社" not in b"".join(admin_client.get("/imports/do-not-call/export.csv").streaming_content).decode("utf-8-sig")


def test_dnc_export_neutralizes_formula_looking_cells(admin_client, company):
    DoNotCallEntry.objects.create(company=company, name="=HYPERLINK(\"x\")", name_key="x", phone_raw="", phone="", note="@note")
    exported = b"".join(admin_client.get("/imports/do-not-call/export.csv").streaming_content).decode("utf-8-sig")
    assert exported.splitlines()[1] == "\"'=HYPERLINK(\"\"x\"\")\",,'@note,"


@pytest.mark.parametrize("url", ["/imports/{pk}/failed-rows/", "/api/v1/lead-imports/{pk}/failed-rows"])
def test_failed_rows_in_an_unknown_encoding_are_refused(admin_client, finished_run, url):
    # when
    response = admin_client.get(url.format(pk=finished_run.pk), {"encoding": "klingon"})
    # then
    assert response.status_code in (400, 422)
    assert "Choose one of: utf-8-sig, utf-8, cp932, utf-16." in response.content.decode()


@pytest.mark.parametrize("url", ["/imports/{pk}/failed-rows/", "/api/v1/lead-imports/{pk}/failed-rows"])
@pytest.mark.parametrize(("encoding", "charset", "bom"), [
    ("utf-16", "utf-16", b"\xff\xfe"), ("utf-8", "utf-8", b""), ("utf-8-sig", "utf-8", b"\xef\xbb\xbf"), ("cp932", "shift_jis", b"")])
def test_failed_rows_are_labelled_with_the_encoding_they_are_written_in(admin_client, finished_run, url, encoding, charset, bom):
    # when
    response = admin_client.get(url.format(pk=finished_run.pk), {"encoding": encoding})
    # then: one byte order mark at most, and the label says how to read the bytes
    assert response["Content-Type"] == f"text/csv; charset={charset}"
    assert (response.content.startswith(bom), response.content.count(bom) if bom else 0) == (True, 1 if bom else 0)
    assert response.content.decode(encoding).lstrip("\ufeff").splitlines()[1] == "田中家,田中 一郎,090-1234-567,,,電話番号: 電話番号が正しくありません。"
