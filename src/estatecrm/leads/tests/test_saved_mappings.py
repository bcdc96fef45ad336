"""Saved column mappings: save by name per project, apply to a new file by header names, list, delete."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.crm.actions import do_upsert_project
from estatecrm.leads import actions
from estatecrm.leads.fields import lead_fields
from estatecrm.leads.models import SavedMapping
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db

CSV = "会社名,担当者,電話番号,メール\r\n株式会社ABC,本社,03-1234-5678,info@abc.example.jp\r\n".encode("cp932")
# The same columns in another order, one header in full-width letters and with a space.
OTHER_LAYOUT = "ＴＥＬ,電話番号 ,担当者,会社名\r\n03-1111-2222,03-1234-5678,本社,株式会社ABC\r\n".encode("cp932")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_mapping_for_headers_keeps_the_fields_whose_column_the_file_has():
    # given
    saved = {"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号", "email": "メール", "custom:ない": "ない", "bogus": "会社名"}
    # when
    applied = actions.mapping_for_headers(saved, ["TEL", "電話 番号", "担当者", "会社名"], lead_fields())
    # then
    assert applied == {"lead_name": "会社名", "contact_name": "担当者", "phone": "電話 番号"}


def test_save_a_mapping_on_the_page_then_apply_it_to_a_file_of_another_layout(admin_client, company, project):
    # given: a file uploaded and its mapping saved under a name
    admin_client.post("/imports/new/", {"file": SimpleUploadedFile("a.csv", CSV), "project": project.pk})
    saved_response = admin_client.post("/imports/new/mapping/", {
        "action": "save_mapping", "mapping_name": " 反響 標準 ", "map_lead_name": "会社名", "map_contact_name": "担当者",
        "map_phone": "電話番号", "map_email": "メール", "duplicate_keys": ["name"], "on_duplicate": "skip"})
    assert saved_response.status_code == 200
    saved = SavedMapping.objects.for_company(company).get()
    assert (saved.project_id, saved.name, saved.mapping) == (
        project.pk, "反響 標準", {"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号", "email": "メール"})
    assert AuditEvent.objects.for_company(company).filter(object_type="leads.savedmapping", verb="create").count() == 1
    # when: a file with the columns in another order is uploaded and the saved mapping applied
    admin_client.post("/imports/new/", {"file": SimpleUploadedFile("b.csv", OTHER_LAYOUT), "project": project.pk})
    page = admin_client.get(f"/imports/new/mapping/?saved={saved.pk}")
    # then
    assert page.context["form"].mapping() == {"lead_name": "会社名", "contact_name": "担当者", "phone": "電話番号"}
    assert [mapping.pk for mapping in page.context["saved_mappings"]] == [saved.pk]


def test_saving_under_the_same_name_replaces_the_mapping(company, company_admin, project):
    actor = actor_for(company_admin)
    first = actions.do_save_lead_mapping(actor=actor, project=project, name="標準", mapping={"lead_name": "会社名"})
    second = actions.do_save_lead_mapping(actor=actor, project=project, name="標準", mapping={"lead_name": "社名", "phone": "TEL"})
    assert (second.pk, SavedMapping.objects.for_company(company).get().mapping) == (first.pk, {"lead_name": "社名", "phone": "TEL"})


@pytest.mark.parametrize(
    ("name", "mapping", "message"),
    [
        ("", {"lead_name": "会社名"}, "Name the mapping to save it."),
        ("標準", {"unknown": "会社名"}, "Map at least one column before saving the mapping."),
    ],
)
def test_a_mapping_without_name_or_columns_is_refused(company, company_admin, project, name, mapping, message):
    with pytest.raises(ApplicationError) as refused:
        actions.do_save_lead_mapping(actor=actor_for(company_admin), project=project, name=name, mapping=mapping)
    assert refused.value.fields == {"mapping_name": [message]}
    assert SavedMapping.objects.for_company(company).count() == 0


def test_agents_cannot_save_or_delete_mappings(company, company_admin, agent, project):
    saved = actions.do_save_lead_mapping(actor=actor_for(company_admin), project=project, name="標準", mapping={"lead_name": "会社名"})
    with pytest.raises(PermissionDenied):
        actions.do_save_lead_mapping(actor=actor_for(agent), project=project, name="別", mapping={"lead_name": "会社名"})
    with pytest.raises(PermissionDenied):
        actions.do_delete_saved_mapping(actor=actor_for(agent), saved_mapping=saved)
    assert list(SavedMapping.objects.for_company(company).values_list("name", flat=True)) == ["標準"]


def test_saving_for_a_new_project_waits_for_the_import(admin_client, company):
    admin_client.post("/imports/new/", {"file": SimpleUploadedFile("a.csv", CSV), "new_project": "新リスト"})
    response = admin_client.post("/imports/new/mapping/", {"action": "save_mapping", "mapping_name": "標準", "map_lead_name": "会社名",
                                                          "duplicate_keys": ["name"], "on_duplicate": "add"})
    assert response.context["form"].errors == {"mapping_name": ["The project is created when the import starts; the mapping is saved then."]}
    assert SavedMapping.objects.for_company(company).count() == 0


def test_list_and_delete_saved_mappings(admin_client, company, company_admin, project):
    # given
    saved = actions.do_save_lead_mapping(actor=actor_for(company_admin), project=project, name="標準", mapping={"lead_name": "会社名"})
    # when
    page = admin_client.get("/imports/mappings/")
    deleted = admin_client.post(f"/imports/mappings/{saved.pk}/delete/")
    # then
    assert [row["columns"] for row in page.context["rows"]] == [[("Lead name", "会社名")]]
    assert (deleted.status_code, SavedMapping.objects.for_company(company).count()) == (302, 0)
    assert AuditEvent.objects.for_company(company).filter(object_type="leads.savedmapping", verb="delete").count() == 1


def test_another_company_mapping_is_not_found(admin_client, other_company):
    other_project, _ = do_upsert_project(company=other_company["company"], name="他社")
    other = actions.do_save_lead_mapping(actor=actor_for(other_company["admin"]), project=other_project, name="他社の", mapping={"lead_name": "会社名"})
    assert admin_client.post(f"/imports/mappings/{other.pk}/delete/").status_code == 404
    assert "他社の" not in admin_client.get("/imports/mappings/").content.decode()
    assert SavedMapping.objects.for_company(other_company["company"]).count() == 1
