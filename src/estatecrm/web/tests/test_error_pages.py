"""403, 404 and 500 pages: the product's layout, the user's language, a way back; a 403 is one log line."""

import logging
import re
import sys

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from estatecrm.core.logging import RefusalWithoutTraceback

pytestmark = pytest.mark.django_db


def html_lang(content: str) -> str:
    return re.search(r'<html lang="([a-z-]+)">', content).group(1)


def test_404_page_has_the_layout_the_language_and_a_way_back(client, agent):
    # given
    client.force_login(agent)
    # when
    response = client.get("/cases/999999999/")
    # then
    content = response.content.decode()
    assert response.status_code == 404
    assert [template.name for template in response.templates][:2] == ["404.html", "web/error_page.html"]
    assert html_lang(content) == "ja"
    assert 'data-status="404"' in content
    assert f'href="{reverse("web:dashboard")}" data-testid="error-home"' in content
    assert 'class="mainnav"' in content  # the navigation of the layout, for a logged-in user
    assert "data-history-back" in content


def test_404_page_follows_the_chosen_language_for_an_anonymous_visitor(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    content = response.content.decode()
    assert response.status_code == 404
    assert html_lang(content) == "en"
    assert "Page not found" in content
    assert 'class="mainnav"' not in content


def test_403_page_and_one_log_line_without_traceback(client, agent, caplog):
    # given: an agent opens the settings (admins only)
    client.force_login(agent)
    # when
    with caplog.at_level(logging.INFO, logger="django.request"):
        response = client.get(reverse("settings:home"))
    # then
    assert response.status_code == 403
    assert "403.html" in [template.name for template in response.templates]
    assert 'data-status="403"' in response.content.decode()
    records = [record for record in caplog.records if record.name == "django.request"]
    assert [(record.levelname, record.status_code, record.exc_info) for record in records] == [("WARNING", 403, None)]
    assert records[0].getMessage() == "Forbidden (Permission denied): /settings/"
    assert "Traceback" not in caplog.text


def test_the_log_filter_keeps_the_traceback_of_a_500():
    # given: the filter only drops the traceback of refusals
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /", (), sys.exc_info())
    record.status_code = 500
    # when
    kept = RefusalWithoutTraceback().filter(record)
    # then
    assert kept is True
    assert record.exc_info is not None


def test_500_page_renders_without_a_database_or_a_user(django_assert_num_queries):
    # given: Django renders 500.html without a request context
    request = RequestFactory().get("/")
    # when
    with translation.override("ja"), django_assert_num_queries(0):
        response = server_error(request)
    # then
    content = response.content.decode()
    assert response.status_code == 500
    assert html_lang(content) == "ja"
    assert 'data-status="500"' in content
    assert f'href="{reverse("web:dashboard")}" data-testid="error-home"' in content


@pytest.mark.urls("estatecrm.web.tests.error_urls")
def test_500_page_for_a_failing_view(agent):
    # given
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    # when
    response = client.get("/broken/")
    # then
    assert response.status_code == 500
    content = response.content.decode()
    assert html_lang(content) == "en"
    assert "Something went wrong" in content
    assert "a bug" not in content
