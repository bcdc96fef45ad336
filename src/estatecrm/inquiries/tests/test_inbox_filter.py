"""The case list's 「未対応の新規反響」 (follow_up=new_inquiries): new inquiry and LINE cases nobody on the staff acted on
yet, on the page, its side menu count, the export and the API (one filterset), read from the partial index."""

import csv
import io
import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from estatecrm.core import testing
from estatecrm.crm.choices import CaseOrigin, CaseStatus
from estatecrm.crm.filtersets import CaseFilters, FollowUp, filter_cases, follow_up_q
from estatecrm.crm.filtersets import _live_cases as live_cases
from estatecrm.crm.models import Case
from estatecrm.crm.tests.test_api import Api
from estatecrm.inquiries.mail import take_mail
from estatecrm.inquiries.tests.test_intake import SUUMO_BODY, suumo_mail
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(company, org, suumo, agent):
    """Two new inquiries nobody contacted (portal mail, LINE) and four cases that are not: a new case entered by
    hand, an inquiry already called, an inquiry being followed, an inquiry in the trash."""
    mail_case = take_mail(company.pk, suumo_mail()).case
    line_case = testing.make_case(company, org["SBY"], main_assignee=agent, status=CaseStatus.NEW, origin=CaseOrigin.LINE,
                                  customer_name="LINE 友だち", phones=(), emails=())
    manual = testing.make_case(company, org["SBY"], main_assignee=agent, status=CaseStatus.NEW, customer_name="手入力 太郎", phones=(), emails=())
    called = take_mail(company.pk, suumo_mail(SUUMO_BODY.replace("山田 花子", "電話済 一郎").replace("hanako@", "called@")
                                              .replace("090-1234-5678", "090-2222-0001"), message_id="<c@jds.suumo.jp>")).case
    following = take_mail(company.pk, suumo_mail(SUUMO_BODY.replace("山田 花子", "追客中 次郎").replace("hanako@", "following@")
                                                 .replace("090-1234-5678", "090-2222-0002"), message_id="<f@jds.suumo.jp>")).case
    trashed = take_mail(company.pk, suumo_mail(SUUMO_BODY.replace("山田 花子", "削除 三郎").replace("hanako@", "trashed@")
                                               .replace("090-1234-5678", "090-2222-0003"), message_id="<t@jds.suumo.jp>")).case
    Case.objects.for_company(company).filter(pk=called.pk).update(last_contact_at=timezone.now())
    Case.objects.for_company(company).filter(pk=following.pk).update(status=CaseStatus.FOLLOWING)
    Case.objects.for_company(company).filter(pk=trashed.pk).update(deleted_at=timezone.now())
    return {"mail": mail_case, "line": line_case, "manual": manual}


def listed_ids(response) -> list[int]:
    return [int(value) for value in re.findall(r'data-case-id="(\d+)"', response.content.decode())]


def test_new_inquiries_on_the_page_with_its_count(cases, company_admin, agent):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    # when
    response = client.get(reverse("crm:list"), {"follow_up": "new_inquiries"})
    # then: the two new inquiries, most recently updated first; the side menu names and counts them
    assert response.status_code == 200
    assert listed_ids(response) == [cases["line"].pk, cases["mail"].pk]
    assert 'data-follow-up="new_inquiries"' in response.content.decode() and "New inquiries, not contacted yet" in response.content.decode()
    counts = json.loads(client.get(reverse("crm:counts")).content)
    assert (counts["new_inquiries"], counts["new_uncontacted"]) == (2, 3)


def test_new_inquiries_in_the_export_and_the_api(client, cases, company_admin):
    admin = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(company_admin)
    # when
    exported = admin.get(reverse("crm:export"), {"follow_up": "new_inquiries", "format": "csv"})
    api = Api(client, company_admin)
    listed = api.get("/cases", {"follow_up": "new_inquiries"})
    # then
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert sorted(row["customer.name"] for row in rows) == ["LINE 友だち", "山田 花子"]
    assert listed.status_code == 200 and [item["id"] for item in listed.json()["items"]] == [cases["line"].pk, cases["mail"].pk]
    assert api.get("/cases", {"follow_up": "new_inquiry"}).status_code == 422


def test_new_inquiries_are_read_from_the_partial_indexes(cases, company_admin, agent):
    # given: the filter as the page and the count run it
    cases_query = filter_cases(actor=actor_for(company_admin), filters=CaseFilters.from_query({"follow_up": FollowUp.NEW_INQUIRIES}))
    # when: with planner statistics, as production keeps them (`estatecrm worker` runs PRAGMA optimize; PostgreSQL autovacuum),
    # and a table scan priced out (six rows are cheaper to scan than any index)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
    plan = cases_query.values("pk")[:51].explain()
    count_plan = explain_count(live_cases(actor_for(company_admin)).filter(follow_up_q(FollowUp.NEW_INQUIRIES)))
    agent_count_plan = explain_count(live_cases(actor_for(agent)).filter(follow_up_q(FollowUp.NEW_INQUIRIES)))
    # then: one of the two partial indexes of exactly these cases (on a few rows PostgreSQL may take either and sort)
    assert "case_new_inquiry_" in plan, plan
    assert "case_new_inquiry_" in count_plan, count_plan
    assert "case_new_inquiry_" in agent_count_plan, agent_count_plan
    if connection.vendor == "sqlite":
        # SQLite: the page in the index's order, the unit's count from the unit index (bench/case_list.py at 1,000,000 cases)
        assert "case_new_inquiry_idx" in plan and "case_new_inquiry_unit_idx" in agent_count_plan, (plan, agent_count_plan)


def explain_count(queryset) -> str:
    """The plan of `queryset.count()` as the side menu runs it (the statement captured, then explained)."""
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        queryset.count()
    sql, params = statements[-1]
    with connection.cursor() as cursor:
        cursor.execute(("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql, params)
        return "\n".join(" ".join(str(value) for value in row) for row in cursor.fetchall())
