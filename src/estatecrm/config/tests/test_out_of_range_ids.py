"""Ids and integer filters beyond what the database holds are a 404 or a refusal, never a 500 (issue 9, finding 13).

PostgreSQL raises on an integer beyond 64 bits where SQLite does not, so these run on both databases.
Every page route and every API route with an id in its path is walked, like the isolation test.
"""

import json
import re

import pytest
from django.test import Client

from estatecrm.config.tests.test_isolation import NOT_TENANT_ROUTES, fill, project_routes
from estatecrm.core import testing
from estatecrm.core.ids import MAX_ID, parse_id
from estatecrm.crm.filtersets import FILTER_LABELS
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db

BEYOND_64_BITS = "99999999999999999999"
JUST_BEYOND = str(MAX_ID + 1)
INTEGER_FILTERS = ("org", "assignee", "rank", "tag", "sub_status")


@pytest.fixture
def admin_client(company_admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(company_admin)
    return client


@pytest.fixture
def token_headers(company_admin):
    _token, clear = do_create_api_token(user=company_admin, name="tests", acting_user=company_admin)
    return {"HTTP_AUTHORIZATION": f"Bearer {clear}", "HTTP_ACCEPT_LANGUAGE": "en"}


def test_parse_id_takes_ascii_digits_within_64_bits_only():
    # given / when / then
    assert [parse_id(text) for text in ("1", " 42 ", str(MAX_ID), JUST_BEYOND, "0", "-1", "abc", "", "²", "١٢", "1e3", "+5")] == [
        1, 42, MAX_ID, None, None, None, None, None, None, None, None, None]


def test_token_with_a_company_id_beyond_64_bits_is_401(client):
    # given
    headers = {"HTTP_AUTHORIZATION": f"Bearer ecrm_{BEYOND_64_BITS}_{'x' * 43}", "HTTP_ACCEPT_LANGUAGE": "en"}
    # when
    response = client.get("/api/v1/cases", **headers)
    # then
    assert response.status_code == 401


@pytest.mark.parametrize("name", INTEGER_FILTERS)
@pytest.mark.parametrize("value", [BEYOND_64_BITS, JUST_BEYOND, "abc", "²"])
def test_api_case_list_refuses_an_invalid_integer_filter_with_422(client, token_headers, company, org, agent, name, value):
    # given
    testing.make_case(company, org["SBY"], main_assignee=agent)
    # when
    response = client.get("/api/v1/cases", {name: value}, **token_headers)
    # then
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {name: ["Choose a valid option."]}


@pytest.mark.parametrize("name", INTEGER_FILTERS)
def test_case_list_page_shows_the_invalid_filter_and_lists_nothing(admin_client, company, org, agent, name):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")
    # when
    response = admin_client.get("/cases/", {name: BEYOND_64_BITS})
    # then: the error is shown, and the list does not pretend that every case matches the filter
    assert response.status_code == 400
    body = response.content.decode()
    assert f"{FILTER_LABELS[name]}: Choose a valid option." in body  # named as the form labels it
    assert f"/cases/{case.pk}/" not in body


@pytest.mark.parametrize("value", ["abc", BEYOND_64_BITS])
def test_export_with_an_invalid_filter_is_refused_instead_of_exporting_everything(admin_client, company, org, agent, value):
    # given
    testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")
    # when
    responses = [admin_client.get("/cases/export/", {"org": value, **extra}) for extra in ({}, {"format": "xlsx"})]
    # then
    assert [response.status_code for response in responses] == [400, 400]
    assert all(response["Content-Type"].startswith("text/plain") for response in responses)
    assert "Owning unit: Choose a valid option." in responses[0].content.decode()


def test_every_page_route_answers_404_for_ids_beyond_64_bits(admin_client, company, org):
    # given: every route with an integer kwarg
    checked = []
    # when / then
    for route in project_routes():
        if route.route.startswith(tuple(NOT_TENANT_ROUTES)) or not route.kwargs:
            continue
        converters = {name: converter for converter, name in re.findall(r"<(\w+):(\w+)>", route.route)}
        if not converters or any(converters.get(name) not in ("int", "id") for name in route.kwargs):
            continue
        for value in (BEYOND_64_BITS, JUST_BEYOND):
            url = fill(route.route, {name: value for name in route.kwargs})
            statuses = {method: getattr(admin_client, method)(url).status_code for method in ("get", "post")}
            assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), f"{url} answered {statuses}"
        checked.append(route.route)
    assert len(checked) >= 30


def test_every_api_route_answers_404_for_path_ids_beyond_64_bits(client, token_headers, company, org):
    # given
    from estatecrm.config.api import api

    checked = []
    # when / then
    for path, operations in api.get_openapi_schema()["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        if not names:
            continue
        for method in operations:
            for value in (BEYOND_64_BITS, JUST_BEYOND):
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", value)
                if method == "get":
                    response = client.get(url, **token_headers)
                else:
                    response = getattr(client, method)(url, json.dumps({}), content_type="application/json", **token_headers)
                assert (method, url, response.status_code) == (method, url, 404), response.content
            checked.append((method, path))
    assert len(checked) >= 20


@pytest.mark.parametrize("field", ["customer_id", "owning_org_id", "rank_id", "sub_status_id", "main_assignee_id", "project_id",
                                   "tag_ids", "sub_assignee_ids"])
def test_api_body_ids_beyond_64_bits_are_422(client, token_headers, company, org, agent, field):
    # given
    value = [int(BEYOND_64_BITS)] if field.endswith("_ids") else int(BEYOND_64_BITS)
    body = {"kind": "rent", "customer": {"name": "佐藤 花子"}, field: value}
    if field == "customer_id":
        body.pop("customer")
    # when
    response = client.post("/api/v1/cases", json.dumps(body), content_type="application/json", **token_headers)
    # then
    assert response.status_code == 422
    assert field in json.dumps(response.json()["error"]["fields"])


def test_api_project_with_custom_field_ids_beyond_64_bits_is_422(client, token_headers, company):
    # when
    response = client.post("/api/v1/projects", json.dumps({"name": "春", "custom_field_ids": [int(BEYOND_64_BITS)]}),
                           content_type="application/json", **token_headers)
    # then
    assert response.status_code == 422
    assert "custom_field_ids" in json.dumps(response.json()["error"]["fields"])


def test_lead_import_project_id_beyond_64_bits_is_refused(client, token_headers, company):
    # given
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("leads.csv", "会社名,電話番号\r\nA,090-1234-5678\r\n".encode("cp932"), content_type="text/csv")
    # when
    response = client.post("/api/v1/lead-imports/detect", {"project_id": BEYOND_64_BITS, "file": upload}, **token_headers)
    # then
    assert response.status_code in (404, 422)


@pytest.mark.parametrize("field", ["tags", "sub_assignees", "rank", "sub_status", "owning_org", "main_assignee"])
def test_page_form_choices_beyond_64_bits_are_a_form_error(admin_client, company, org, agent, field):
    # given
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    url = f"/cases/{case.pk}/edit/"
    version = admin_client.get(url).context["form"].initial["version"]
    data = {"kind": case.kind, "status": case.status, "owning_org": org["SBY"].pk, "version": version, field: BEYOND_64_BITS}
    # when
    response = admin_client.post(url, data)
    # then
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]


def test_no_page_route_takes_an_unbounded_int():
    # given / when
    unbounded = [route.route for route in project_routes() if "<int:" in route.route]
    # then: `<id:...>` (core/ids.py) bounds ids to 64 bits; `<int:...>` passes any number to the database
    assert unbounded == []
