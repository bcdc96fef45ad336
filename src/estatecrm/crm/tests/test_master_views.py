"""Settings pages of the CRM masters through the Django test client: ranks, statuses and
sub-statuses, tags, custom fields, projects; deleting a master in use is refused with the count."""

import pytest
from django.urls import reverse

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.crm.actions import (
    do_upsert_custom_field,
    do_upsert_project,
    do_upsert_rank,
    do_upsert_sub_status,
    do_upsert_tag,
)
from estatecrm.crm.choices import CaseStatus, CustomFieldType
from estatecrm.crm.models import Case, CustomField, Project, ProjectField, Rank, SubStatus, Tag
from estatecrm.tenancy.choices import Role

pytestmark = pytest.mark.django_db


def version_read(client, url: str) -> str:
    """The version an edit page hands out (its hidden field), to post back like a browser does."""
    return client.get(url).context["form"].initial["version"]


@pytest.fixture(autouse=True)
def english_pages(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def admin_client(client, company_admin):
    client.force_login(company_admin)
    return client


@pytest.fixture
def masters(company):
    rank, _ = do_upsert_rank(company=company, name="A", position=1)
    tag, _ = do_upsert_tag(company=company, name="ペット可希望", position=1)
    sub_status, _ = do_upsert_sub_status(company=company, status=CaseStatus.FOLLOWING, name="内見調整中", position=1)
    field, _ = do_upsert_custom_field(company=company, name="希望駅", field_type=CustomFieldType.TEXT)
    project, _ = do_upsert_project(company=company, name="春の反響", custom_fields=[field])
    return {"rank": rank, "tag": tag, "sub_status": sub_status, "field": field, "project": project}


def events(company, object_type: str, verb: str):
    return list(AuditEvent.objects.for_company(company).filter(object_type=object_type, verb=verb))


def page_urls(masters):
    return [
        reverse("masters:ranks"), reverse("masters:rank_edit", args=[masters["rank"].pk]),
        reverse("masters:tags"), reverse("masters:tag_edit", args=[masters["tag"].pk]),
        reverse("masters:statuses"), reverse("masters:sub_status_edit", args=[masters["sub_status"].pk]),
        reverse("masters:fields"), reverse("masters:field_edit", args=[masters["field"].pk]),
        reverse("masters:projects"), reverse("masters:project_edit", args=[masters["project"].pk]),
    ]


def test_every_master_page_renders_for_a_company_admin(admin_client, masters):
    for url in page_urls(masters):
        response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
        assert response.status_code == 200, url
        assert 'lang="ja"' in response.content.decode()


def test_master_pages_are_forbidden_to_agents_and_org_admins(client, company, org, agent, masters):
    org_admin = testing.make_user(company, org["TKY"], role=Role.ADMIN, email="tky-admin@acme.example.jp")
    for user in [agent, org_admin]:
        client.force_login(user)
        for url in page_urls(masters):
            assert client.get(url).status_code == 403, url
        assert client.post(reverse("masters:delete", args=["ranks", masters["rank"].pk])).status_code == 403
    assert Rank.objects.for_company(company).filter(pk=masters["rank"].pk).exists()


def test_masters_of_another_company_are_not_found(admin_client, other_company):
    b = other_company["company"]
    rank, _ = do_upsert_rank(company=b, name="B")
    tag, _ = do_upsert_tag(company=b, name="B")
    sub_status, _ = do_upsert_sub_status(company=b, status=CaseStatus.NEW, name="B")
    field, _ = do_upsert_custom_field(company=b, name="B", field_type=CustomFieldType.TEXT)
    project, _ = do_upsert_project(company=b, name="B")
    for name, instance in [("rank_edit", rank), ("tag_edit", tag), ("sub_status_edit", sub_status), ("field_edit", field),
                           ("project_edit", project)]:
        assert admin_client.get(reverse(f"masters:{name}", args=[instance.pk])).status_code == 404
    for kind, instance in [("ranks", rank), ("tags", tag), ("sub-statuses", sub_status), ("fields", field), ("projects", project)]:
        assert admin_client.post(reverse("masters:delete", args=[kind, instance.pk])).status_code == 404
    assert [Rank.objects.for_company(b).count(), Tag.objects.for_company(b).count(), SubStatus.objects.for_company(b).count(),
            CustomField.objects.for_company(b).count(), Project.objects.for_company(b).count()] == [1, 1, 1, 1, 1]


def test_unknown_master_kind_is_not_found(admin_client, masters):
    assert admin_client.post(reverse("masters:delete", args=["users", masters["rank"].pk])).status_code == 404


# ---------------------------------------------------------------------------------------------
# Create and edit


def test_create_rank_is_audited(admin_client, company, company_admin):
    response = admin_client.post(reverse("masters:ranks"), {"name": "S", "position": "3"})
    assert response["Location"] == reverse("masters:ranks")
    rank = Rank.objects.for_company(company).get(name="S")
    assert rank.position == 3
    [event] = events(company, "crm.rank", "create")
    assert (event.actor_id, event.after["name"]) == (company_admin.pk, "S")


def test_create_a_tag_with_a_taken_name_shows_the_error_next_to_the_field(admin_client, company, masters):
    response = admin_client.post(reverse("masters:tags"), {"name": "ペット可希望"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["“ペット可希望” already exists."]}
    assert Tag.objects.for_company(company).count() == 1


def test_rename_a_tag_is_audited(admin_client, company, masters):
    url = reverse("masters:tag_edit", args=[masters["tag"].pk])
    response = admin_client.post(url, {"name": "ペット相談", "position": "1", "version": version_read(admin_client, url)})
    assert response["Location"] == reverse("masters:tags")
    assert Tag.objects.for_company(company).get(pk=masters["tag"].pk).name == "ペット相談"
    [event] = events(company, "crm.tag", "update")
    assert (event.before, event.after) == ({"name": "ペット可希望"}, {"name": "ペット相談"})


def test_create_and_rename_a_sub_status(admin_client, company, masters):
    admin_client.post(reverse("masters:statuses"), {"status": CaseStatus.APPLYING, "name": "審査中", "position": ""})
    sub_status = SubStatus.objects.for_company(company).get(name="審査中")
    assert (sub_status.status, sub_status.position) == (CaseStatus.APPLYING, 1)
    # the same name under another status is allowed; under the same status it is refused
    response = admin_client.post(reverse("masters:statuses"), {"status": CaseStatus.APPLYING, "name": "審査中"})
    assert response.context["form"].errors == {"name": ["“審査中” already exists."]}
    url = reverse("masters:sub_status_edit", args=[sub_status.pk])
    admin_client.post(url, {"name": "入居審査中", "position": "2", "version": version_read(admin_client, url)})
    sub_status.refresh_from_db()
    assert (sub_status.status, sub_status.name, sub_status.position) == (CaseStatus.APPLYING, "入居審査中", 2)


def test_statuses_page_lists_the_fixed_statuses_with_their_sub_statuses(admin_client, masters):
    response = admin_client.get(reverse("masters:statuses"))
    assert [status["value"] for status in response.context["statuses"]] == list(CaseStatus.values)
    following = next(status for status in response.context["statuses"] if status["value"] == CaseStatus.FOLLOWING)
    assert [item.name for item in following["sub_statuses"]] == ["内見調整中"]


def test_create_a_choice_field_needs_choices(admin_client, company):
    response = admin_client.post(reverse("masters:fields"), {"name": "媒体", "field_type": CustomFieldType.CHOICE, "choices": ""})
    assert response.context["form"].errors == {"choices": ["Enter at least one choice."]}
    response = admin_client.post(reverse("masters:fields"), {
        "name": "媒体", "field_type": CustomFieldType.CHOICE, "choices": "SUUMO\n\nHOME'S\nSUUMO\n", "is_required": "on",
    })
    assert response["Location"] == reverse("masters:fields")
    field = CustomField.objects.for_company(company).get(name="媒体")
    assert (field.field_type, field.choices, field.is_required) == (CustomFieldType.CHOICE, ["SUUMO", "HOME'S"], True)
    assert len(events(company, "crm.customfield", "create")) == 1


def test_edit_a_custom_field_keeps_its_name(admin_client, company, masters):
    url = reverse("masters:field_edit", args=[masters["field"].pk])
    response = admin_client.post(url, {"version": version_read(admin_client, url),
        "name": "別名", "field_type": CustomFieldType.MULTI_CHOICE, "choices": "渋谷\n新宿",
    })
    assert response["Location"] == reverse("masters:fields")
    field = CustomField.objects.for_company(company).get(pk=masters["field"].pk)
    assert (field.name, field.field_type, field.choices) == ("希望駅", CustomFieldType.MULTI_CHOICE, ["渋谷", "新宿"])


def test_create_a_project_with_its_fields_and_change_them(admin_client, company, masters):
    other_field, _ = do_upsert_custom_field(company=company, name="予算メモ", field_type=CustomFieldType.TEXT, position=5)
    response = admin_client.post(reverse("masters:projects"), {"name": "秋の反響", "custom_fields": [other_field.pk, masters["field"].pk]})
    assert response["Location"] == reverse("masters:projects")
    project = Project.objects.for_company(company).get(name="秋の反響")
    linked = ProjectField.objects.for_company(company).filter(project=project).order_by("position")
    assert list(linked.values_list("custom_field__name", flat=True)) == ["希望駅", "予算メモ"]
    # when: renamed and left with one field
    url = reverse("masters:project_edit", args=[project.pk])
    admin_client.post(url, {"name": "秋の反響2026", "custom_fields": [other_field.pk], "version": version_read(admin_client, url)})
    project.refresh_from_db()
    assert project.name == "秋の反響2026"
    assert list(linked.values_list("custom_field__name", flat=True)) == ["予算メモ"]
    assert (project.default_case_kind, project.default_customer_kind) == ("rent", "person")


def test_a_project_says_which_kinds_its_imports_create(admin_client, company):
    # given
    admin_client.post(reverse("masters:projects"), {"name": "売買反響", "default_case_kind": "buy", "default_customer_kind": "company"})
    project = Project.objects.for_company(company).get(name="売買反響")
    assert (project.default_case_kind, project.default_customer_kind) == ("buy", "company")
    url = reverse("masters:project_edit", args=[project.pk])
    page = admin_client.get(url)
    assert (page.context["form"].initial["default_case_kind"], page.context["form"].initial["default_customer_kind"]) == ("buy", "company")
    # when
    admin_client.post(url, {"name": "売買反響", "default_case_kind": "rent", "default_customer_kind": "person",
                            "version": version_read(admin_client, url)})
    # then: changed and audited with what it was
    project.refresh_from_db()
    assert (project.default_case_kind, project.default_customer_kind) == ("rent", "person")
    [event] = events(company, "crm.project", "update")
    assert (event.before["default_case_kind"], event.after["default_customer_kind"]) == ("buy", "person")


# ---------------------------------------------------------------------------------------------
# Delete


def test_delete_an_unused_master_is_audited(admin_client, company, company_admin):
    rank, _ = do_upsert_rank(company=company, name="C")
    response = admin_client.post(reverse("masters:delete", args=["ranks", rank.pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Deleted “C”."]
    assert not Rank.objects.for_company(company).filter(pk=rank.pk).exists()
    [event] = events(company, "crm.rank", "delete")
    assert (event.actor_id, event.object_id, event.before["name"]) == (company_admin.pk, str(rank.pk), "C")


def test_delete_an_unused_project_removes_its_field_links_but_not_the_fields(admin_client, company, masters):
    admin_client.post(reverse("masters:delete", args=["projects", masters["project"].pk]))
    assert not Project.objects.for_company(company).exists()
    assert ProjectField.objects.for_company(company).count() == 0
    assert CustomField.objects.for_company(company).filter(pk=masters["field"].pk).exists()


def test_deleting_masters_in_use_is_refused_with_the_count_and_nothing_is_deleted(admin_client, company, org, masters):
    # given: two cases (one in the trash) use the rank, tag, sub-status, project and custom field
    for _ in range(2):
        testing.make_case(company, org["SBY"], rank=masters["rank"], tags=[masters["tag"]], sub_status=masters["sub_status"],
                          project=masters["project"], custom_values={"希望駅": "渋谷"})
    Case.objects.for_company(company).filter(pk=Case.objects.for_company(company).first().pk).update(deleted_at="2026-01-01T00:00:00Z")
    expected = {
        "ranks": (masters["rank"], "“A” is in use by 2 records and cannot be deleted."),
        "tags": (masters["tag"], "“ペット可希望” is in use by 2 records and cannot be deleted."),
        "sub-statuses": (masters["sub_status"], "“内見調整中” is in use by 2 records and cannot be deleted."),
        "projects": (masters["project"], "“春の反響” is in use by 2 records and cannot be deleted."),
        # one project link and two cases
        "fields": (masters["field"], "“希望駅” is in use by 3 records and cannot be deleted."),
    }
    for kind, (instance, message) in expected.items():
        # when
        response = admin_client.post(reverse("masters:delete", args=[kind, instance.pk]), follow=True)
        # then
        assert [str(m) for m in response.context["messages"]] == [message], kind
        assert type(instance).objects.for_company(company).filter(pk=instance.pk).exists(), kind
    assert AuditEvent.objects.for_company(company).filter(verb="delete").count() == 0


def test_a_master_used_once_says_record(admin_client, company, org, masters):
    testing.make_case(company, org["SBY"], rank=masters["rank"])
    response = admin_client.post(reverse("masters:delete", args=["ranks", masters["rank"].pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["“A” is in use by 1 record and cannot be deleted."]


def test_the_list_shows_how_often_each_master_is_used(admin_client, company, org, masters):
    testing.make_case(company, org["SBY"], rank=masters["rank"])
    response = admin_client.get(reverse("masters:ranks"))
    assert [(item.name, item.use_count) for item in response.context["items"]] == [("A", 1)]
