"""NUL characters (U+0000) are refused at the edge with a 400, the same on SQLite and PostgreSQL.

PostgreSQL cannot take a NUL in any text (psycopg raises: a 500, also on read-only searches), SQLite
stores it and the export then fails its re-import. The walks below use the routes of the URL resolver
and of the OpenAPI schema (the helpers of test_isolation.py), so a route added later is covered.
"""

import json
import re

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from estatecrm.config.tests import test_isolation
from estatecrm.config.tests.test_isolation import (
    NON_TENANT_KWARG_ROUTES,
    NOT_TENANT_ROUTES,
    api_operations,
    content_of,
    fill,
    kwarg_sets,
    project_routes,
)
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db

# One object of every kind a route can name (the isolation test's fixture).
company_a = test_isolation.company_a

NUL_MESSAGE = "The request contains a NUL character (U+0000), which no text may contain."


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


def with_nul(value):
    """The same JSON value with a NUL in every string; a dict without strings gets one more key."""
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, list):
        return [with_nul(item) for item in value]
    if isinstance(value, dict):
        changed = {key: with_nul(item) for key, item in value.items()}
        if changed == value or not any(isinstance(item, (str, dict)) for item in value.values()):
            changed["note"] = "a\x00b"
        return changed
    if hasattr(value, "read"):  # an uploaded file: a NUL in its name
        return SimpleUploadedFile("leads\x00.csv", b"a\r\n1\r\n", content_type="text/csv")
    return value


def assert_refused(label: str, response, *, api: bool) -> None:
    assert response.status_code == 400, f"{label}: {response.status_code} {content_of(response)[:300]}"
    if api:
        body = response.json()
        assert (body["error"]["code"], body["error"]["message"]) == ("nul_character", NUL_MESSAGE), label
    else:
        assert NUL_MESSAGE in content_of(response), label


@pytest.fixture
def admin_token(company_admin):
    _token, clear = do_create_api_token(user=company_admin, name="nul", acting_user=company_admin)
    return clear


def test_every_api_route_refuses_nul_in_query_path_and_body(company_a, company_admin, admin_token):
    # given: company A's administrator by token, and every object a route can name
    client = Client()
    headers = {"HTTP_ACCEPT_LANGUAGE": "en", "HTTP_IF_MATCH": "*", "HTTP_AUTHORIZATION": f"Bearer {admin_token}"}
    test_isolation.reassignment_of(company_a)  # made on first use: before the counts
    test_isolation.move_in_of(company_a)
    counts_before = row_counts()
    unknown: list[str] = []
    checked = 0
    # when / then
    for path, method, body, content_type in api_operations():
        names = re.findall(r"{(\w+)}", path)
        for values in kwarg_sets(f"{method.upper()} {path}", names, company_a, unknown) if names else [{}]:
            url = path
            for name, value in values.items():
                url = url.replace("{" + name + "}", str(value))
            call = getattr(client, method)
            label = f"{method.upper()} {url}"
            if method == "get":
                assert_refused(f"{label}?q=a%00b", call(url, {"q": "a\x00b", "limit": "1\x00"}, **headers), api=True)
            elif content_type:
                assert_refused(f"{label} ?q", call(f"{url}?q=%00", body, content_type=content_type, **headers), api=True)
                nul_body = json.dumps(with_nul(json.loads(body)))
                assert "\\u0000" in nul_body
                assert_refused(f"{label} body", call(url, nul_body, content_type=content_type, **headers), api=True)
            elif body:
                assert_refused(f"{label} ?q", call(f"{url}?q=%00", body, **headers), api=True)
                assert_refused(f"{label} form", call(url, with_nul(body), **headers), api=True)
            else:
                assert_refused(f"{label} ?q", call(f"{url}?q=%00", **headers), api=True)
            if names:
                nul_url = path
                for name, value in values.items():
                    nul_url = nul_url.replace("{" + name + "}", f"{value}%00")
                assert_refused(f"{label} path", call(nul_url, **headers), api=True)
            checked += 1
    assert unknown == []
    assert checked >= 40
    assert row_counts() == counts_before


def test_every_page_route_refuses_nul_in_query_and_form(company_a, company_admin):
    # given: company A's administrator, logged in
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(company_admin)
    test_isolation.reassignment_of(company_a)  # made on first use: before the counts
    test_isolation.move_in_of(company_a)
    counts_before = row_counts()
    unknown: list[str] = []
    checked = 0
    # when / then
    for route in project_routes():
        if route.route.startswith(tuple(NOT_TENANT_ROUTES)) or route.name == "logout":
            continue
        key = route.name or route.route
        if not route.kwargs:
            kwarg_values = [{}]
        elif key in NON_TENANT_KWARG_ROUTES:
            kwarg_values = NON_TENANT_KWARG_ROUTES[key](company_a)
        else:
            kwarg_values = kwarg_sets(key, route.kwargs, company_a, unknown)
        for values in kwarg_values:
            url = fill(route.route, values)
            assert_refused(f"GET {url}?q=%00", client.get(url, {"q": "\x00", "page": "1"}), api=False)
            form = {"name": "a\x00b", "q": "x", "next": "/"}
            assert_refused(f"POST {url}", client.post(url, form), api=False)
            # Django itself drops unprintable characters from uploaded file names (MultiPartParser); the
            # other fields of a multipart form are checked like any form.
            upload = SimpleUploadedFile("a\x00.csv", b"a\r\n1\r\n", content_type="text/csv")
            assert_refused(f"POST {url} multipart", client.post(url, {"file": upload, "name": "\x00"}), api=False)
            checked += 1
    assert unknown == []
    assert checked >= 40
    assert row_counts() == counts_before


def test_a_search_with_nul_answers_400_naming_the_parameter(company_a, admin_token):
    # given
    client = Client()
    # when
    response = client.get("/api/v1/cases?q=a%00b", HTTP_AUTHORIZATION=f"Bearer {admin_token}", HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "nul_character", "message": NUL_MESSAGE, "fields": {"q": [NUL_MESSAGE]}}}


def test_an_uploaded_file_name_with_nul_arrives_without_it(company_a, admin_token):
    # given: Django drops unprintable characters from multipart file names before any view sees them
    upload = SimpleUploadedFile("le\x00ads.csv", "氏名,電話\r\n山田 太郎,090-1111-2222\r\n".encode(), content_type="text/csv")
    # when
    response = Client().post("/api/v1/lead-imports/detect", {"file": upload}, HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    # then
    assert response.status_code < 500
    assert "\x00" not in response.content.decode()


def test_a_nul_in_the_login_form_the_session_cookie_or_the_token_is_refused(company_a, company_admin, admin_token):
    # given
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    test_isolation.reassignment_of(company_a)  # made on first use: before the counts
    test_isolation.move_in_of(company_a)
    counts_before = row_counts()
    # when
    login = client.post("/login/", {"username": "admin@acme.example.jp\x00", "password": "x"})
    client.cookies["sessionid"] = "abcdefgh12345678\x00"
    with_cookie = client.get("/cases/")
    token = Client().get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {admin_token}\x00", HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert_refused("login", login, api=False)
    assert_refused("cookie", with_cookie, api=False)
    assert_refused("token", token, api=True)
    assert token.json()["error"]["fields"] == {"header:Authorization": [NUL_MESSAGE]}
    assert row_counts() == counts_before


def test_an_escaped_backslash_u0000_is_text_not_a_nul(company_a, admin_token):
    # given: the six characters \u0000 (an escaped backslash in JSON), not a NUL
    client = Client()
    # when
    response = client.post("/api/v1/tags", '{"name": "a\\\\u0000b"}', content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    # then
    assert (response.status_code, response.json()["name"]) == (201, "a\\u0000b")
