"""One validation of the CRM masters for every door: the settings pages, the API and the actions that
`tenant apply` calls refuse the same things (issue 9, finding 17)."""

import json

import pytest
from django.db import transaction
from django.test import Client

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import ApplicationError
from estatecrm.crm import actions
from estatecrm.crm.choices import CustomFieldType
from estatecrm.crm.models import CustomField, Project, Rank, SubStatus, Tag
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db

ONLY_CHOICE_TYPES = "Only the choice types have choices."
AT_LEAST_ONE = "Enter at least one choice."
# field_type, choices, the refusal on `choices`
BAD_DEFINITIONS = [
    (CustomFieldType.TEXT, ["A", "B"], ONLY_CHOICE_TYPES),
    (CustomFieldType.NUMBER, ["1"], ONLY_CHOICE_TYPES),
    (CustomFieldType.CHOICE, [], AT_LEAST_ONE),
    (CustomFieldType.MULTI_CHOICE, [" ", ""], AT_LEAST_ONE),
    (CustomFieldType.CHOICE, ["x" * 101], "A choice has at most 100 characters."),
]


@pytest.fixture
def api(company_admin):
    _token, clear = do_create_api_token(user=company_admin, name="t", acting_user=company_admin)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en")

    def post(path, body):
        return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")

    return post


@pytest.fixture
def page(company_admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(company_admin)
    return client


def master_events(company) -> int:
    return AuditEvent.objects.for_company(company).filter(object_type__in=[
        "crm.customfield", "crm.rank", "crm.tag", "crm.substatus", "crm.project"]).count()


@pytest.mark.parametrize(("field_type", "choices", "message"), BAD_DEFINITIONS)
def test_custom_field_definition_is_refused_the_same_by_api_page_and_action(company, company_admin, api, page, field_type, choices,
                                                                           message):
    # given
    events = master_events(company)
    # when
    through_api = api("/custom-fields", {"name": "希望駅", "field_type": field_type, "choices": choices})
    through_page = page.post("/settings/masters/fields/", {"name": "希望駅", "field_type": field_type, "choices": "\n".join(choices)})
    with pytest.raises(ApplicationError) as through_action, transaction.atomic():
        actions.do_upsert_custom_field(company=company, name="希望駅", field_type=field_type, choices=choices, acting_user=company_admin)
    # then
    assert (through_api.status_code, through_api.json()["error"]["fields"]) == (400, {"choices": [message]})
    assert (through_page.status_code, through_page.context["form"].errors) == (200, {"choices": [message]})
    assert through_action.value.fields == {"choices": [message]}
    assert (CustomField.objects.for_company(company).count(), master_events(company)) == (0, events)


def test_existing_text_field_cannot_gain_choices_through_the_api(company, company_admin, api):
    # given
    field, _ = actions.do_upsert_custom_field(company=company, name="希望駅", field_type=CustomFieldType.TEXT)
    # when
    response = api("/custom-fields", {"name": "希望駅", "field_type": "text", "choices": ["渋谷"]})
    # then
    field.refresh_from_db()
    assert (response.status_code, field.choices) == (400, [])


def test_api_stores_choices_as_the_page_does(company, api):
    # when
    response = api("/custom-fields", {"name": "希望駅", "field_type": "choice", "choices": [" 渋谷 ", "渋谷", "新宿", ""]})
    # then
    assert (response.status_code, response.json()["choices"]) == (201, ["渋谷", "新宿"])


@pytest.mark.parametrize(("path", "body", "field", "model"), [
    ("/ranks", {"name": "   "}, "name", Rank),
    ("/tags", {"name": " \u3000 "}, "name", Tag),
    ("/sub-statuses", {"status": "追客中", "name": "  "}, "name", SubStatus),
    ("/custom-fields", {"name": "  ", "field_type": "text"}, "name", CustomField),
    ("/projects", {"name": "  "}, "name", Project),
    ("/ranks", {"name": "A", "position": 10**12}, "position", Rank),
    ("/tags", {"name": "A", "position": 100001}, "position", Tag),
    ("/sub-statuses", {"status": "追客中", "name": "A", "position": 10**12}, "position", SubStatus),
    ("/custom-fields", {"name": "A", "field_type": "text", "position": 10**12}, "position", CustomField),
])
def test_master_api_refuses_blank_names_and_positions_beyond_the_page_bounds(company, api, path, body, field, model):
    # when
    response = api(path, body)
    # then
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert model.objects.for_company(company).count() == 0
