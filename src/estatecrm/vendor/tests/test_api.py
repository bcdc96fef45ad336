"""/api/v1/vendor/...: the move-ins, one move-in, a phase's verification and the verdict."""

import pytest
from django.core import mail

from estatecrm.crm.tests.test_api import Api
from estatecrm.vendor.models import MoveIn
from estatecrm.vendor.tests.verify_factories import make_loaded_move_in, make_move_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def move_in(company, company_admin, tmp_path):
    return make_loaded_move_in(company, company_admin, tmp_path)


def test_list_pages_newest_first(client, company, company_admin, move_in):
    newer = make_move_in(company, company_admin, vendor="HubSpot")
    api = Api(client, company_admin)
    first = api.get("/vendor/move-ins", {"limit": 1}).json()
    assert [item["id"] for item in first["items"]] == [newer.pk] and first["items"][0]["active"] is None
    second = api.get("/vendor/move-ins", {"limit": 1, "cursor": first["next_cursor"]}).json()
    item = second["items"][0]
    assert item["id"] == move_in.pk and item["verdict"] == "pending" and second["next_cursor"] is None
    assert item["active"]["status"] == "completed"
    assert item["active"]["entities"]["listings"] == {"source": 2, "loaded": 1, "skipped": 0, "failed": 1}


def test_detail_and_verification(client, company_admin, move_in):
    api = Api(client, company_admin)
    detail = api.get(f"/vendor/move-ins/{move_in.pk}").json()
    assert detail["vendor"] == "EstiCRM" and detail["archive"] is None and detail["verdicts"] == []
    report = api.get(f"/vendor/move-ins/{move_in.pk}/phases/active/verification").json()
    assert report["entities"]["links"]["skipped"] == {"listing_not_loaded": 1} and report["accounted"] is True
    assert {item["source_id"] for item in report["sample"]["listings"]} == {"L-1001", "L-1002"}
    # a phase not started, an unknown phase
    assert api.get(f"/vendor/move-ins/{move_in.pk}/phases/archive/verification").status_code == 404
    assert api.get(f"/vendor/move-ins/{move_in.pk}/phases/other/verification").status_code in (404, 422)


def test_verdict(client, company_admin, move_in, django_capture_on_commit_callbacks):
    api = Api(client, company_admin)
    refused = api.post(f"/vendor/move-ins/{move_in.pk}/verdict", {"verdict": "problems", "comment": " "})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "verdict_invalid"
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(f"/vendor/move-ins/{move_in.pk}/verdict", {"verdict": "verified", "comment": "OK"})
    assert answer.status_code == 200 and answer.json()["verdict"] == "verified"
    assert [item["verdict"] for item in answer.json()["verdicts"]] == ["verified"] and len(mail.outbox) == 1
    assert api.post(f"/vendor/move-ins/{move_in.pk}/verdict", {"verdict": "pending"}).status_code == 422


def test_others_are_refused(client, agent, other_company, move_in):
    assert Api(client, agent).get("/vendor/move-ins").status_code == 403
    other = Api(client, other_company["admin"])
    assert other.get("/vendor/move-ins").json()["items"] == []
    assert other.get(f"/vendor/move-ins/{move_in.pk}").status_code == 404
    assert other.post(f"/vendor/move-ins/{move_in.pk}/verdict", {"verdict": "verified"}).status_code == 404
    assert MoveIn.objects.for_company(move_in.company_id).get(pk=move_in.pk).verdict == "pending"
