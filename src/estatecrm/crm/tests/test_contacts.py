"""Contacts edited on the case page and through the API; 要確認 marked 確認済み; phones shown in national format."""

import html
import re

import pytest
from django.db import transaction
from django.test import Client

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError, Conflict
from estatecrm.core.scope import company_scope
from estatecrm.core.versions import ReadVersion
from estatecrm.crm import actions
from estatecrm.crm.filtersets import CaseFilters, filter_cases
from estatecrm.crm.models import Activity, Case, Contact, ContactPoint, Customer
from estatecrm.crm.tests.test_api import Api
from estatecrm.normalize import format_national
from estatecrm.tenancy.selectors import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(company, org, agent):
    return testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")


def session(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def version_on(page) -> str:
    assert page.status_code == 200
    return html.unescape(re.search(r'name="version" value="([^"]*)"', page.content.decode()).group(1))


def points_of(case) -> list[tuple]:
    return list(ContactPoint.objects.for_company(case.company_id).filter(customer_id=case.customer_id)
                .order_by("contact__position", "position").values_list("kind", "raw", "normalized"))


def contact_form(version, name, rows, *, initial_forms=0) -> dict:
    data = {"version": version, "name": name, "kana": "", "points-TOTAL_FORMS": str(len(rows)),
            "points-INITIAL_FORMS": str(initial_forms), "points-MIN_NUM_FORMS": "0", "points-MAX_NUM_FORMS": "20"}
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"points-{index}-{key}"] = value
    return data


@pytest.mark.parametrize(("value", "shown"), [
    ("+819012345678", "090-1234-5678"), ("+81312345678", "03-1234-5678"), ("09012345678", "090-1234-5678"),
    ("+48601234567", "+48 601 234 567"), ("123", "123"), ("", ""),
])
def test_format_national(value, shown):
    assert format_national(value) == shown


def test_the_case_page_shows_phones_in_national_format(case, agent):
    page = session(agent).get(f"/cases/{case.pk}/")
    text = page.content.decode()
    assert "090-1234-5678" in text and "+819012345678" not in text.replace('href="tel:+819012345678"', "")
    assert f"#{case.number}" in text


def test_editing_a_phone_on_the_page_normalizes_it_audits_it_and_warns_of_another_case_with_it(company, org, case, agent):
    # given: another customer's case with the phone about to be typed
    other = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="鈴木 一郎", phones=(("phone", "03-1234-5678"),),
                              emails=())
    client = session(agent)
    contact = Contact.objects.for_company(company).get(customer_id=case.customer_id)
    mobile, email = ContactPoint.objects.for_company(company).filter(contact=contact).order_by("position")
    page = client.get(f"/cases/{case.pk}/contacts/{contact.pk}/")
    # when: the mobile becomes the shared landline (typed full-width), the e-mail is removed, one is added
    response = client.post(f"/cases/{case.pk}/contacts/{contact.pk}/", contact_form(version_on(page), "佐藤　花子", [
        {"point_id": mobile.pk, "kind": "phone", "raw": "０３（１２３４）５６７８"},
        {"point_id": email.pk, "kind": "email", "raw": email.raw, "DELETE": "on"},
        {"kind": "email", "raw": "Hanako.New＠Example.JP"},
    ], initial_forms=2))
    # then
    assert response.status_code == 302
    assert points_of(case) == [("phone", "０３（１２３４）５６７８", "+81312345678"), ("email", "Hanako.New＠Example.JP", "hanako.new@example.jp")]
    assert ContactPoint.objects.for_company(company).filter(pk=mobile.pk).exists()  # kept, changed in place
    event = AuditEvent.objects.for_company(company).filter(object_type="crm.customer", object_id=str(case.customer_id)).latest("pk")
    assert (event.verb, event.actor_id) == ("update", agent.pk)
    assert [(p["id"], p["raw"]) for p in event.before["contacts"][0]["points"]] == [(mobile.pk, "090-1234-5678"), (email.pk, "hanako@example.jp")]
    assert [p["raw"] for p in event.after["contacts"][0]["points"]] == ["０３（１２３４）５６７８", "Hanako.New＠Example.JP"]
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    assert "03-1234-5678" in detail
    warning = re.search(r'data-testid="duplicate-warning".*?</div>', detail, re.S).group(0)
    assert f"#{other.number} 鈴木 一郎" in warning


@pytest.mark.parametrize(("kind", "raw", "message"), [
    ("mobile", "090-1234-567", "The phone number is too short."),
    ("phone", "abc-defg", "This is not a phone number."),
    ("email", "hanako@", "This is not a valid e-mail address."),
])
def test_an_invalid_phone_or_email_is_refused_on_the_page_with_nothing_written(case, agent, kind, raw, message):
    client = session(agent)
    page = client.get(f"/cases/{case.pk}/contacts/new/")
    before = points_of(case)
    response = client.post(f"/cases/{case.pk}/contacts/new/", contact_form(version_on(page), "佐藤 太郎", [{"kind": kind, "raw": raw}]))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert points_of(case) == before
    assert Contact.objects.for_company(case.company_id).filter(customer_id=case.customer_id).count() == 1


def test_a_stale_contact_edit_is_refused(case, agent, company_admin):
    client = session(agent)
    contact = Contact.objects.for_company(case.company_id).get(customer_id=case.customer_id)
    version = version_on(client.get(f"/cases/{case.pk}/contacts/{contact.pk}/"))
    actions.do_update_customer(customer=case.customer, changes={"city": "渋谷区"}, acting_user=company_admin)
    response = client.post(f"/cases/{case.pk}/contacts/{contact.pk}/", contact_form(version, "佐藤 花子", [{"kind": "mobile", "raw": "080-1111-2222"}]))
    assert response.status_code == 409
    assert ("mobile", "090-1234-5678", "+819012345678") in points_of(case)


def test_adding_and_removing_a_contact_on_the_page_and_the_last_one_stays(case, agent):
    client = session(agent)
    page = client.get(f"/cases/{case.pk}/contacts/new/")
    response = client.post(f"/cases/{case.pk}/contacts/new/", contact_form(version_on(page), "佐藤 太郎", [{"kind": "fax", "raw": "03-9999-8888"}]))
    assert response.status_code == 302
    added = Contact.objects.for_company(case.company_id).get(customer_id=case.customer_id, name="佐藤 太郎")
    assert points_of(case)[-1] == ("fax", "03-9999-8888", "+81399998888")
    detail = client.get(f"/cases/{case.pk}/")
    version = re.search(rf'contacts/{added.pk}/remove/.*?name="version" value="([^"]*)"', detail.content.decode(), re.S).group(1)
    assert client.post(f"/cases/{case.pk}/contacts/{added.pk}/remove/", {"version": html.unescape(version)}).status_code == 302
    assert not Contact.objects.for_company(case.company_id).filter(pk=added.pk).exists()
    # the last contact is refused
    last = Contact.objects.for_company(case.company_id).get(customer_id=case.customer_id)
    with pytest.raises(ApplicationError) as refused, transaction.atomic():
        actions.do_remove_contact(customer=case.customer, contact=last, acting_user=agent)
    assert refused.value.code == "last_contact"


def test_a_contact_of_another_customer_is_not_found(company, org, case, agent, other_company):
    other = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="別 顧客")
    foreign = Contact.objects.for_company(company).get(customer_id=other.customer_id)
    assert session(agent).get(f"/cases/{case.pk}/contacts/{foreign.pk}/").status_code == 404


def test_the_api_edits_contacts_refusing_invalid_values_and_stale_versions(client, case, agent):
    api = Api(client, agent)
    customer = api.get(f"/customers/{case.customer_id}").json()
    contact = customer["contacts"][0]
    mobile = contact["points"][0]
    assert (mobile["raw"], mobile["e164"], mobile["normalized"]) == ("090-1234-5678", "+819012345678", "+819012345678")
    assert contact["points"][1]["e164"] == ""
    # without a version: 428; invalid: 400 naming the point; stale: 409
    body = {"name": "佐藤 花子", "points": [{"id": mobile["id"], "kind": "mobile", "raw": "080-2222-3333"}]}
    assert api.put(f"/customers/{case.customer_id}/contacts/{contact['id']}", body).status_code == 428
    bad = api.put(f"/customers/{case.customer_id}/contacts/{contact['id']}",
                  {**body, "updated_at": customer["updated_at"], "points": [{"kind": "phone", "raw": "123"}]})
    assert (bad.status_code, bad.json()["error"]["code"], list(bad.json()["error"]["fields"])) == (400, "contact_point_invalid", ["points-0"])
    ok = api.put(f"/customers/{case.customer_id}/contacts/{contact['id']}", {**body, "updated_at": customer["updated_at"]})
    assert ok.status_code == 200
    assert [(p["id"], p["raw"], p["e164"]) for p in ok.json()["points"]] == [(mobile["id"], "080-2222-3333", "+818022223333")]
    stale = api.put(f"/customers/{case.customer_id}/contacts/{contact['id']}", {**body, "updated_at": customer["updated_at"]})
    assert stale.status_code == 409
    added = api.post(f"/customers/{case.customer_id}/contacts", {"name": "佐藤 次郎", "points": [{"kind": "email", "raw": "Jiro@Example.jp"}]})
    assert added.status_code == 201
    assert added.json()["points"][0]["normalized"] == "jiro@example.jp"
    fresh = api.get(f"/customers/{case.customer_id}").json()
    removed = api.client.delete(f"/api/v1/customers/{case.customer_id}/contacts/{added.json()['id']}?updated_at={fresh['updated_at']}",
                                **api.headers)
    assert removed.status_code == 204
    assert [c["name"] for c in api.get(f"/customers/{case.customer_id}").json()["contacts"]] == ["佐藤 花子"]


def test_the_api_refuses_an_invalid_phone_when_creating_a_customer(client, company_admin):
    response = Api(client, company_admin).post("/customers", {"name": "山田 太郎", "contacts": [{"name": "山田 太郎", "phones": ["abc"]}]})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "contact_point_invalid")
    assert Customer.objects.unscoped().count() == 0


def test_marking_a_case_reviewed_keeps_the_messages_and_who_cleared_it(company, case, agent):
    # given: a migrated case waiting for review
    Case.objects.for_company(company).filter(pk=case.pk).update(needs_review=True, review_messages=["電話番号を確認してください"])
    client = session(agent)
    actor = actor_for(agent)
    assert [c.pk for c in filter_cases(actor=actor, filters=CaseFilters.from_query({"needs_review": "1"}))] == [case.pk]
    page = client.get(f"/cases/{case.pk}/")
    version = re.search(r'data-testid="review-form".*?name="version" value="([^"]*)"', page.content.decode(), re.S).group(1)
    # when
    response = client.post(f"/cases/{case.pk}/review/", {"version": html.unescape(version), "note": "本人に電話して確認済み"})
    # then
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.needs_review, case.reviewed_by_id, case.review_note, case.review_messages) == (
        False, agent.pk, "本人に電話して確認済み", ["電話番号を確認してください"])
    assert list(filter_cases(actor=actor, filters=CaseFilters.from_query({"needs_review": "1"}))) == []
    entry = Activity.objects.for_company(company).get(case=case)
    assert (entry.kind, entry.actor_id, entry.body) == ("system", agent.pk, "本人に電話して確認済み")
    event = AuditEvent.objects.for_company(company).filter(object_type="crm.case", object_id=str(case.pk)).latest("pk")
    assert (event.before["needs_review"], event.after["needs_review"], event.after["reviewed_by_id"]) == (True, False, agent.pk)
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-testid="review-done"' in detail and "電話番号を確認してください" in detail and "本人に電話して確認済み" in detail
    # a second clearing is refused
    with pytest.raises(ApplicationError), transaction.atomic():
        actions.do_mark_case_reviewed(case=case, note="", acting_user=agent)


def test_the_api_marks_a_case_reviewed_and_refuses_a_stale_or_unflagged_one(client, company, case, agent):
    Case.objects.for_company(company).filter(pk=case.pk).update(needs_review=True, review_messages=["住所不明"])
    api = Api(client, agent)
    read = api.get(f"/cases/{case.pk}").json()
    assert read["number"] == case.number
    api.patch(f"/cases/{case.pk}", {"other_info": "x"}, HTTP_IF_MATCH="*")
    assert api.post(f"/cases/{case.pk}/review", {"note": "確認", "updated_at": read["updated_at"]}).status_code == 409
    done = api.post(f"/cases/{case.pk}/review", {"note": "確認"})
    assert done.status_code == 200
    assert (done.json()["needs_review"], done.json()["review_note"], done.json()["reviewed_by_id"]) == (False, "確認", agent.pk)
    again = api.post(f"/cases/{case.pk}/review", {"note": "確認"})
    assert (again.status_code, again.json()["error"]["code"]) == (400, "not_waiting_for_review")


def test_a_stale_review_is_refused_by_the_action(company, case, agent, company_admin):
    Case.objects.for_company(company).filter(pk=case.pk).update(needs_review=True)
    case.refresh_from_db()
    read = ReadVersion.of(case)
    actions.do_update_case(case=case, changes={"other_info": "changed"}, acting_user=company_admin)
    with pytest.raises(Conflict), transaction.atomic():
        actions.do_mark_case_reviewed(case=case, note="", acting_user=agent, read_version=read)
    with company_scope(company):
        assert Case.objects.get(pk=case.pk).needs_review is True
