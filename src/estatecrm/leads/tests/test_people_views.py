"""The mapping step of a list of people: the kinds, 「取り込まれない列」 and its one-click targets, duplicates that
link to their case, the result's link to the cases the import created."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from estatecrm.core.scope import company_scope
from estatecrm.core.testing import make_case
from estatecrm.crm.actions import do_upsert_project
from estatecrm.crm.models import Case, CustomField
from estatecrm.pipeline.models import Run

pytestmark = pytest.mark.django_db

CSV = (
    "氏名,フリガナ,電話番号,問合せ内容,職業,反響日\r\n"
    "渡邊 髙志,ワタナベ タカシ,090-1234-5678,2LDK希望,会社員,R6.4.1\r\n"
    "佐藤 花子,サトウ ハナコ,080-2222-3333,,公務員,2024/5/10\r\n"
).encode("cp932")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project(company):
    project, _ = do_upsert_project(company=company, name="売買の来店客", case_kind="buy", customer_kind="person")
    return project


def uploaded(client, project):
    client.post("/imports/new/", {"file": SimpleUploadedFile("people.csv", CSV, content_type="text/csv"), "project": project.pk})
    return client.get("/imports/new/mapping/")


def posted_form(page, **changes) -> dict:
    """The mapping form as the page would post it (its bound or initial values), with `changes`."""
    form = page.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value in (None, "", []):
            continue
        data[name] = value
    data.update(changes)
    return data


def test_the_mapping_step_shows_the_projects_kinds_and_the_columns_not_imported(admin_client, project):
    # when
    page = uploaded(admin_client, project)
    # then: the kinds come from the project; the lead is named after the contact; two columns are left
    form = page.context["form"]
    assert (form["case_kind"].value(), form["customer_kind"].value()) == ("buy", "person")
    assert form.mapping() == {"contact_name": "氏名", "contact_kana": "フリガナ", "phone": "電話番号", "first_inquiry_date": "反響日"}
    assert page.context["unmapped"] == [("問合せ内容", "2LDK希望"), ("職業", "会社員")]
    assert [key for key, _label in page.context["one_click_fields"]] == ["first_inquiry_source", "birth_date"]
    assert page.context["can_create_fields"] is True
    html = page.content.decode()
    assert 'name="assign_note" value="問合せ内容"' in html and 'name="assign_new_custom" value="職業"' in html
    assert [row["errors"] for row in page.context["converted_rows"]] == [[], []]


def test_one_click_sends_a_column_to_the_note_a_default_field_or_a_new_custom_field_and_back(admin_client, project):
    page = uploaded(admin_client, project)
    # when: 問合せ内容 to the note, 職業 to a new custom field
    page = admin_client.post("/imports/new/mapping/", posted_form(page, assign_note="問合せ内容"))
    assert page.context["form"].mapping()["note"] == "問合せ内容"
    page = admin_client.post("/imports/new/mapping/", posted_form(page, assign_new_custom="職業"))
    # then
    assert page.context["form"].mapping() == {"contact_name": "氏名", "contact_kana": "フリガナ", "phone": "電話番号",
                                              "first_inquiry_date": "反響日", "note": "問合せ内容", "new_custom:職業": "職業"}
    assert page.context["unmapped"] == []
    assert page.context["kept_columns"] == [("new_custom:職業", "職業", False)]
    # when: taken back, then sent to a default field
    page = admin_client.post("/imports/new/mapping/", posted_form(page, unassign="new_custom:職業"))
    assert page.context["unmapped"] == [("職業", "会社員")]
    page = admin_client.post("/imports/new/mapping/", posted_form(page, assign_first_inquiry_source="職業"))
    assert page.context["form"].mapping()["first_inquiry_source"] == "職業"
    assert Run.objects.for_company(project.company_id).count() == 0


def test_a_second_column_to_the_note_is_kept_beside_the_first(admin_client, company, project, django_capture_on_commit_callbacks):
    page = uploaded(admin_client, project)
    page = admin_client.post("/imports/new/mapping/", posted_form(page, assign_note="問合せ内容"))
    page = admin_client.post("/imports/new/mapping/", posted_form(page, assign_note="職業"))
    assert page.context["form"].mapping()["note:職業"] == "職業"
    # when: started
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/imports/new/mapping/", posted_form(page, action="start"))
    run = Run.objects.for_company(company).get()
    # then
    assert response["Location"] == f"/imports/{run.pk}/"
    with company_scope(company):
        notes = dict(Case.objects.values_list("customer__name", "other_info"))
    assert notes == {"渡邊 髙志": "問合せ内容: 2LDK希望\n職業: 会社員", "佐藤 花子": "職業: 公務員"}


def test_the_import_started_from_the_page_creates_the_kinds_chosen_and_its_result_links_to_its_cases(
        admin_client, company, project, django_capture_on_commit_callbacks):
    page = uploaded(admin_client, project)
    page = admin_client.post("/imports/new/mapping/", posted_form(page, assign_new_custom="職業"))
    # when: 賃貸 法人 chosen instead of the project's 売買 個人
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/imports/new/mapping/", posted_form(page, action="start", case_kind="rent", customer_kind="company"))
    run = Run.objects.for_company(company).get()
    # then
    with company_scope(company):
        assert set(Case.objects.values_list("kind", "customer__kind")) == {("rent", "company")}
        assert CustomField.objects.filter(name="職業").count() == 1
    detail = admin_client.get(f"/imports/{run.pk}/")
    assert f'href="/cases/?run={run.pk}"' in detail.content.decode()
    cases = admin_client.get(f"/cases/?run={run.pk}")
    assert sorted(case.customer.name for case in cases.context["page"].items) == ["佐藤 花子", "渡邊 髙志"]
    assert f"lead import #{run.pk}" in cases.content.decode()


def test_the_dry_run_shows_weak_and_strong_matches_with_links_to_their_cases(admin_client, company, org, project):
    # given: 渡辺 高志 with another phone, 佐藤 花子 with the same one
    weak = make_case(company, org["HQ"], customer_name="渡辺 高志", phones=(("mobile", "090-9999-0000"),))
    strong = make_case(company, org["HQ"], customer_name="佐藤 花子", phones=(("mobile", "080-2222-3333"),))
    page = uploaded(admin_client, project)
    # when
    page = admin_client.post("/imports/new/mapping/", posted_form(page, action="dry_run"))
    # then
    duplicates = [(item["row"], item["match"], item["case_id"]) for item in page.context["dry_run"]["duplicates"]]
    assert duplicates == [(2, "weak", weak.pk), (3, "strong", strong.pk)]
    html = page.content.decode()
    assert f'href="/cases/{weak.pk}/"' in html and f'href="/cases/{strong.pk}/"' in html
    assert page.context["dry_run"]["summary"]["duplicate_matches"] == {"strong": 1, "weak": 1}
