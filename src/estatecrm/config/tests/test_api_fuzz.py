"""API fuzzing with schemathesis: every operation of /api/v1/openapi.json, on a seeded company.

The app runs in-process through its WSGI handler (same thread, same test transaction). Examples are
generated from the schema (derandomized, a fixed number per operation, so CI is reproducible and
bounded); path ids are the seeded objects' so the handlers run past their lookups. Every response must
be a non-5xx whose status code, content type and body the schema documents.
"""

import re
import warnings

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from estatecrm.config.tests import test_isolation
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

# One object of every kind a path can name (the isolation test's fixture and factories).
company_a = test_isolation.company_a


# 5xx found by this suite whose fix belongs to another finding of issue 9 (remove the line when it lands):
# such an answer is reported as a warning with this reason, and the operation's other answers are checked.
KNOWN_SERVER_ERRORS = {
    "GET /api/v1/lead-imports/{import_id}/failed-rows": "issue 9 finding 13: an unknown encoding=",
}
OUT_OF_RANGE_REASON = ("issue 9 findings 7/13: an integer beyond the column's range (32-bit columns on PostgreSQL, 64-bit ids) "
                       "is a 500, not a 422")
TIME_ZONE_REASON = "a time-zone offset beyond PostgreSQL's +-15:59 is a 500, not a 422 (pydantic accepts up to 24 h)"
INT32 = 2**31 - 1
FAR_OFFSET = re.compile(r"T[0-9:.]+[+-](1[6-9]|2[0-9]):?[0-9]{2}$")


def values_of(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from values_of(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from values_of(item)
    else:
        yield value


def has_integer_beyond_32_bits(value) -> bool:
    for item in values_of(value):
        if isinstance(item, int | float) and not isinstance(item, bool) and abs(item) > INT32:
            return True
        if isinstance(item, str) and item.lstrip("-").isdigit() and abs(int(item)) > INT32:
            return True
    return False


def has_far_time_zone_offset(value) -> bool:
    return any(isinstance(item, str) and FAR_OFFSET.search(item) for item in values_of(value))


def known_server_error(case) -> str | None:
    sent = [case.path_parameters, case.query, case.body]
    if case.operation.label in KNOWN_SERVER_ERRORS:
        return KNOWN_SERVER_ERRORS[case.operation.label]
    if has_integer_beyond_32_bits(sent):
        return OUT_OF_RANGE_REASON
    if has_far_time_zone_offset(sent):
        return TIME_ZONE_REASON
    return None


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """A raw WSGI call closes the database connection at request end, as in production; the test's
    transaction lives on it, so keep it open as Django's test client does."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(company_a, company_admin):
    """Company A with an object of every kind, ids for every path parameter, and its administrator's token."""
    _token, clear = do_create_api_token(user=company_admin, name="fuzz", acting_user=company_admin)
    ids = {name: factory(company_a) for name, factory in test_isolation.KWARG_FACTORIES.items() if name != "upload_token"}
    return {"ids": ids, "headers": {"Authorization": f"Bearer {clear}", "Accept-Language": "en"}}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_api_operation_answers_as_documented_without_server_errors(case, seeded):
    # given: the seeded objects' ids in the path
    for name in case.path_parameters or {}:
        if name in seeded["ids"]:
            case.path_parameters[name] = seeded["ids"][name]
    # when
    response = case.call(headers=seeded["headers"])
    # then
    known = known_server_error(case) if response.status_code >= 500 else None
    if known:
        # Reported (pytest's warnings summary), not failed: another finding fixes it; the next examples go on.
        warnings.warn(f"{case.operation.label}: {response.status_code}: {known}", stacklevel=1)
        return
    case.validate_response(response, checks=CHECKS, headers=seeded["headers"])
