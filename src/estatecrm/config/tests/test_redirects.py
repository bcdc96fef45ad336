"""No page redirects to another site, whatever `next` the request carries (finding 14 of issue 9).

Every page route is walked (as in test_roles.py) with a hostile `next` in the POST body and in the
query string; a redirect must stay on this site. Log-in and log-out, which honour `next` for a
visitor, are checked with a real log-in.
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from estatecrm.config.tests.routes import fill, project_routes
from estatecrm.config.tests.test_roles import (
    NOT_OBJECT_ROUTES,
    NOT_WALKED,
    NOT_WALKED_PREFIXES,
    POST_DATA,
    kwarg_values,
    rolled_back,
)
from estatecrm.core import testing

pytestmark = pytest.mark.django_db

HOSTILE = ("//evil.example/", "https://evil.example/x", "/\\evil.example/")


def stays_here(response) -> bool:
    location = response.get("Location")
    return location is None or url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"}, require_https=False)


def test_no_page_redirects_to_another_site(roles):
    # given: a company admin, whom every page lets through to its view
    role = "company_admin"
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(roles.users[role])
    unknown: list[str] = []
    offsite: list[str] = []
    checked = 0
    # when: every page route, GET and POST, with a hostile next
    for route in project_routes():
        key = route.name or route.route
        if route.route.startswith(tuple(NOT_WALKED_PREFIXES)) or key in NOT_WALKED:
            continue
        if key in NOT_OBJECT_ROUTES:
            value_sets = [{name: "x" for name in route.kwargs}]
        else:
            value_sets = kwarg_values(key, route.kwargs, roles, role, unknown) if route.kwargs else [{}]
        for values in value_sets:
            url = fill(route.route, values)
            for target in HOSTILE:
                with rolled_back():
                    answers = [client.get(url, {"next": target}),
                               client.post(f"{url}?next={target}", {**POST_DATA.get(key, {}), "next": target})]
                checked += 1
                # then
                offsite += [f"{url} ({key}) -> {response['Location']}" for response in answers if not stays_here(response)]
    assert not unknown
    assert checked >= 250  # about 90 routes, 3 targets each
    assert not offsite, "\n".join(offsite)


def test_the_bulk_change_goes_back_to_the_list_not_to_another_site(client, company, org, company_admin):
    # given
    case = testing.make_case(company, org["SBY"])
    client.force_login(company_admin)
    # when
    response = client.post(reverse("crm:bulk"), {"operation": "set_status", "status": "保留", "case_ids": [case.pk],
                                                  "next": "//evil.example/"})
    # then
    assert (response.status_code, response["Location"]) == (302, reverse("crm:list"))


@pytest.mark.parametrize("target", HOSTILE)
def test_log_in_and_log_out_ignore_a_next_to_another_site(client, company, org, target):
    # given
    testing.make_user(company, org["SBY"], email="visitor@acme.example.jp", password="pass-Word-123")
    # when
    logged_in = client.post(reverse("login"), {"username": "visitor@acme.example.jp", "password": "pass-Word-123", "next": target})
    logged_out = client.post(reverse("logout"), {"next": target})
    # then
    assert (logged_in.status_code, logged_in["Location"]) == (302, reverse("web:dashboard"))
    assert (logged_out.status_code, logged_out["Location"]) == (302, reverse("login"))


def test_a_next_on_this_site_is_still_followed(client, company, org, company_admin):
    # given
    case = testing.make_case(company, org["SBY"])
    client.force_login(company_admin)
    back = reverse("crm:list") + "?view=mine&sort=created"
    # when
    response = client.post(reverse("crm:bulk"), {"operation": "set_status", "status": "保留", "case_ids": [case.pk], "next": back})
    # then
    assert (response.status_code, response["Location"]) == (302, back)
