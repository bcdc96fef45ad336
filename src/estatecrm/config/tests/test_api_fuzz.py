"""API fuzzing with schemathesis: every operation of /api/v1/openapi.json, on a seeded company.

The app runs in-process through its WSGI handler (same thread, same test transaction). Examples are
generated from the schema (derandomized, a fixed number per operation, so CI is reproducible and
bounded); path ids are the seeded objects' so the handlers run past their lookups. Every response must
be a non-5xx whose status code, content type and body the schema documents.
"""

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
    case.validate_response(response, checks=CHECKS, headers=seeded["headers"])
