"""The lead import and do-not-call API answer agents as the pages do: 403, and nothing of the data."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from estatecrm.leads.models import DoNotCallEntry
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import RowIssue, Run
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db

SECRET = "秘密 太郎"


@pytest.fixture
def finished_import(company, company_admin, project):
    run = Run.objects.create(company=company, kind="lead_import", status=RunStatus.COMPLETED_WITH_FAILURES, token="t",
                             created_by=company_admin, source_name="leads.csv", params={"project_id": project.pk},
                             detected={"encoding": "utf-8", "headers": ["会社名", "電話番号"]}, finished_at=timezone.now())
    RowIssue.objects.create(company=company, run=run, row_number=2, field="phone", code="phone_invalid", cells=[SECRET, "090-0"])
    return run


def test_an_agent_reads_no_import_or_do_not_call_data_through_the_api(client, company, agent, project, finished_import):
    # given: an agent's token, an import with a failed row and a do-not-call entry the pages refuse to show them
    DoNotCallEntry.objects.create(company=company, name=SECRET, phone="+819011112222", phone_raw="090-1111-2222")
    _token, clear = do_create_api_token(user=agent, name="script", acting_user=agent)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {clear}", "HTTP_ACCEPT_LANGUAGE": "en"}
    upload = SimpleUploadedFile("leads.csv", f"会社名,電話番号\r\n{SECRET},090-1111-2222\r\n".encode(), content_type="text/csv")
    # when
    answers = {
        "detect": client.post("/api/v1/lead-imports/detect", {"project_id": project.pk, "file": upload}, **headers),
        "list": client.get("/api/v1/lead-imports", **headers),
        "detail": client.get(f"/api/v1/lead-imports/{finished_import.pk}", **headers),
        "failed rows": client.get(f"/api/v1/lead-imports/{finished_import.pk}/failed-rows", **headers),
        "do-not-call": client.get("/api/v1/do-not-call", **headers),
    }
    client.force_login(agent)
    pages = {"list": client.get(reverse("leads:list")), "failed rows": client.get(reverse("leads:failed-rows", args=[finished_import.pk])),
             "do-not-call": client.get(reverse("leads:dnc"))}
    # then: 403 with the error body, as the pages
    assert {name: response.status_code for name, response in answers.items()} == dict.fromkeys(answers, 403)
    assert {name: response.json()["error"]["code"] for name, response in answers.items()} == dict.fromkeys(answers, "permission_denied")
    assert all(SECRET not in response.content.decode() for response in answers.values())
    assert {name: response.status_code for name, response in pages.items()} == dict.fromkeys(pages, 403)


def test_an_import_into_a_unit_is_read_by_the_admins_of_that_unit_on_the_page_and_through_the_api(client, company, org, finished_import):
    # given: the import's leads go to 渋谷店 (SBY); an admin of SBY and an admin of the sibling 新宿店 (SJK)
    from estatecrm.core import testing
    from estatecrm.tenancy.choices import Role

    Run.objects.for_company(company).filter(pk=finished_import.pk).update(params={"org_unit_id": org["SBY"].pk})
    answers = {}
    for name, unit in {"sjk admin": org["SJK"], "sby admin": org["SBY"]}.items():
        user = testing.make_user(company, unit, role=Role.ADMIN, email=f"{unit.code.lower()}-admin@acme.example.jp")
        _token, clear = do_create_api_token(user=user, name="script", acting_user=user)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {clear}"}
        # when
        client.force_login(user)
        answers[name] = (
            [row["import_id"] for row in client.get("/api/v1/lead-imports", **headers).json()],
            client.get(f"/api/v1/lead-imports/{finished_import.pk}/failed-rows", **headers).status_code,
            client.get(reverse("leads:failed-rows", args=[finished_import.pk])).status_code,
            SECRET in client.get(reverse("leads:list")).content.decode() or "leads.csv" in client.get(reverse("leads:list")).content.decode(),
        )
    # then: the sibling unit's admin sees nothing of it, by either door
    assert answers == {"sjk admin": ([], 404, 404, False), "sby admin": ([finished_import.pk], 200, 200, True)}


def test_an_org_admin_cannot_import_leads_into_a_unit_they_do_not_administer(company, org, project, write_csv):
    # given: a plain member of SBY (their primary unit, where imported leads go) who administers SJK
    from estatecrm.core import testing
    from estatecrm.core.errors import PermissionDenied
    from estatecrm.leads.actions import do_start_lead_import
    from estatecrm.tenancy.actions import do_add_membership
    from estatecrm.tenancy.choices import Role
    from estatecrm.tenancy.selectors import actor_for

    user = testing.make_user(company, org["SBY"], email="sjk-admin@acme.example.jp")
    do_add_membership(user=user, org_unit=org["SJK"], role=Role.ADMIN)
    path = write_csv([("株式会社ABC", "本社", "03-1234-5678", "info@abc.example.jp", "1")])
    # when / then
    with pytest.raises(PermissionDenied):
        do_start_lead_import(actor=actor_for(user), path=path, file_name="leads.csv", project=project)
    assert not Run.objects.for_company(company).exists()
