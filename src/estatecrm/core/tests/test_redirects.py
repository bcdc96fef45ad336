"""safe_next_url: a `next` from the request is followed only to this site."""

import pytest
from django.test import RequestFactory

from estatecrm.core.redirects import safe_next_url

HOSTILE = ["//evil.example/", "https://evil.example/", "http://evil.example", "/\\evil.example/", "\\\\evil.example",
           "javascript:alert(1)", "https:evil.example", " //evil.example/", "/\t/evil.example/", "http://testserver.evil.example/"]


@pytest.mark.parametrize("target", HOSTILE)
def test_a_next_to_another_site_falls_back(target):
    request = RequestFactory().post("/cases/bulk/", {"next": target})
    assert safe_next_url(request, "/cases/") == "/cases/"


@pytest.mark.parametrize("target", ["/cases/?status=新規&cursor=abc", "/cases/12/", "http://testserver/cases/"])
def test_a_next_on_this_site_is_followed(target):
    request = RequestFactory().post("/cases/bulk/", {"next": target})
    assert safe_next_url(request, "/cases/") == target


def test_an_https_request_does_not_go_back_to_plain_http():
    request = RequestFactory().post("/cases/bulk/", {"next": "http://testserver/cases/"}, secure=True)
    assert safe_next_url(request, "/cases/") == "/cases/"


def test_the_query_string_next_is_checked_alike():
    request = RequestFactory().get("/x/", {"next": "//evil.example/"})
    assert safe_next_url(request, "/") == "/"
