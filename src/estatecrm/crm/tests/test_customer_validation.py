"""A customer does not differ by the door it came in: the page and the API store the same or refuse the same
(issue 9, finding 20). The rules live in crm.actions.check_customer_fields."""

import datetime
import json

import pytest
from django.test import Client
from django.utils import timezone

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Customer
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db

TOMORROW = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
# field, value sent, stored value (None: refused with `message`)
CASES = [
    ("postal_code", "〒１５０ー０００２", "150-0002", None),
    ("postal_code", "0800", None, "Enter a postal code like 150-0002."),
    ("prefecture", "東京", "東京都", None),
    ("prefecture", " 大阪府 ", "大阪府", None),
    ("prefecture", "nsw", None, "Enter one of the 47 prefectures, e.g. 東京都."),
    ("birth_date", "1985-04-01", datetime.date(1985, 4, 1), None),
    ("birth_date", TOMORROW, None, "Enter a birth date between 1900-01-01 and today."),
    ("birth_date", "1899-12-31", None, "Enter a birth date between 1900-01-01 and today."),
    ("household_size", 0, None, "Enter a household size from 1 to 99."),
    ("household_size", 4, 4, None),
    ("annual_income", 5_000_000_000, None, "Enter an annual income from 0 to 2147483647."),
    ("annual_income", -1, None, "Enter an annual income from 0 to 2147483647."),
    ("household_size", 100, None, "Enter a household size from 1 to 99."),
]


@pytest.fixture
def case(company, org, agent):
    return testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")


def customer_events(case) -> int:
    return AuditEvent.objects.for_company(case.company_id).filter(object_type="crm.customer").count()


def stored(case, field):
    with company_scope(case.company_id):
        return getattr(Customer.objects.get(pk=case.customer_id), field)


def through_page(agent, case, field, value):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    url = f"/cases/{case.pk}/customer/"
    version = client.get(url).context["form"].initial["version"]
    response = client.post(url, {"kind": "person", "name": "佐藤 花子", "kana": "サトウ ハナコ", field: value, "version": version})
    errors = response.context["form"].errors.get(field, []) if response.status_code != 302 else []
    return response.status_code, errors


def through_api_patch(agent, case, field, value):
    _token, clear = do_create_api_token(user=agent, name="t", acting_user=agent)
    response = Client().patch(f"/api/v1/customers/{case.customer_id}", json.dumps({field: value}), content_type="application/json",
                              HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_MATCH="*")
    return response.status_code, response.json()["error"]["fields"].get(field, []) if response.status_code >= 400 else []


@pytest.mark.parametrize(("field", "value", "expected", "message"), CASES)
@pytest.mark.parametrize("door", [through_page, through_api_patch])
def test_customer_detail_is_stored_or_refused_the_same_through_page_and_api(case, agent, door, field, value, expected, message):
    # given
    before = stored(case, field)
    events = customer_events(case)
    # when
    status, errors = door(agent, case, field, value)
    # then
    if message is None:
        assert (status in (200, 302), errors, stored(case, field)) == (True, [], expected)
    else:
        assert (status, errors, stored(case, field)) == (400, [message], before)
        assert customer_events(case) == events


@pytest.mark.parametrize(("field", "value", "expected", "message"), CASES)
def test_api_created_customer_is_stored_or_refused_the_same(client, company, company_admin, field, value, expected, message):
    # given
    _token, clear = do_create_api_token(user=company_admin, name="t", acting_user=company_admin)
    # when
    response = client.post("/api/v1/customers", json.dumps({"name": "佐藤 花子", field: value}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en")
    # then
    with company_scope(company):
        customers = list(Customer.objects.all())
    if message is None:
        assert (response.status_code, [getattr(customer, field) for customer in customers]) == (201, [expected])
    else:
        assert (response.status_code, response.json()["error"]["fields"], customers) == (400, {field: [message]}, [])
