"""Two deliveries of the same inquiry at once make one case: the unique (company, source, inquiry_id)
decides, and the call that loses answers 200 with the winner's case (intake.take_inquiry)."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from estatecrm.core import testing
from estatecrm.crm.models import Case, Customer
from estatecrm.inquiries import intake
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.inquiries.tests.test_api import BODY
from estatecrm.tenancy.tokens import do_create_api_token


@pytest.fixture
def website(company, org, agent):
    return InquirySource.objects.create(company=company, code="website", name="自社ホームページ", org_unit=org["SBY"], default_assignee=agent)


@pytest.fixture
def token(company, org):
    user = testing.make_user(company, org["SJK"], email="form@acme.example.jp", password=None)
    return do_create_api_token(user=user, name="form", acting_user=None)[1]


def post(client: Client, token: str):
    return client.post("/api/v1/inquiries", json.dumps(BODY), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def counts(company) -> tuple[int, int, int]:
    return (Case.objects.for_company(company).count(), Customer.objects.for_company(company).count(),
            Inquiry.objects.for_company(company).count())


@pytest.mark.django_db
def test_a_call_that_loses_the_race_answers_with_the_winners_case(client, website, token, company, monkeypatch, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    # given: the first call made the case; the second checked for a duplicate before that committed
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, token).json()
    real = intake.find_duplicate
    calls = []

    def not_yet_committed(*args, **kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(intake, "find_duplicate", not_yet_committed)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        second = post(client, token)
    # then: its insert hit the unique constraint, everything it wrote was rolled back
    assert len(calls) == 2
    assert second.status_code == 200
    assert second.json() == {**first, "created": False, "status": "duplicate"}
    assert counts(company) == (1, 1, 1)
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_calls_at_once_make_one_case(website, token, company, monkeypatch, mailoutbox):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the race needs PostgreSQL (the sequential test above covers SQLite)")
    # given: both calls pass the duplicate check before either writes
    real = intake.find_duplicate
    barrier = threading.Barrier(2, timeout=20)
    local = threading.local()
    calls = []

    def both_check_first(*args, **kwargs):
        calls.append(threading.get_ident())
        if not getattr(local, "checked", False):
            local.checked = True
            found = real(*args, **kwargs)
            barrier.wait()
            return found
        return real(*args, **kwargs)

    monkeypatch.setattr(intake, "find_duplicate", both_check_first)
    answers, errors = [], []

    def call():
        try:
            response = post(Client(), token)
            answers.append((response.status_code, response.json()))
        except Exception as error:  # reported by the assertion below
            errors.append(repr(error))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then: one made the case, the other hit the unique constraint (a third check) and answers with it
    assert errors == []
    assert len(calls) == 3
    assert sorted(status for status, _body in answers) == [200, 201]
    assert len({body["case_id"] for _status, body in answers}) == 1
    assert len({body["customer_id"] for _status, body in answers}) == 1
    assert counts(company) == (1, 1, 1)
    assert len(mailoutbox) == 1
