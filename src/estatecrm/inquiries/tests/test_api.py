"""`POST /api/v1/inquiries`: an inquiry sent by a program becomes a case of the source's unit and assignee,
once per (source, inquiry_id), with the assignee mailed; refusals write nothing."""

import json

import pytest
from django.conf import settings
from django.utils import translation

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.choices import ActivityKind, CaseOrigin, CaseStatus
from estatecrm.crm.models import Activity, Case, Customer, DesiredConditions, Listing
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.tenancy.models import User
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db

BODY = {
    "source": "website",
    "inquiry_id": "WEB-0001",
    "received_at": "2026-12-06T10:15:00+09:00",
    "inquiry_type": "内見希望",
    "customer": {"name": "山田 花子", "kana": "ヤマダ ハナコ", "phone": "090-1234-5678", "email": "Hanako@Example.jp"},
    "message": "今週末に内見できますか。",
    "listing": {"ref": "W-302", "name": "パークハイツ渋谷 302", "price": "8.5万円", "address": "東京都渋谷区道玄坂1-2-3",
                "layout": "1LDK", "area": "35.2m2", "station": "JR山手線「渋谷」駅 徒歩7分"},
    "desired_move_in": "1ヶ月以内",
}


@pytest.fixture
def website(company, org, agent):
    """The office's own form: API only (no mail recognition), to 渋谷店 and its agent."""
    return InquirySource.objects.create(company=company, code="website", name="自社ホームページ", org_unit=org["SBY"], default_assignee=agent)


@pytest.fixture
def integration(company, org):
    """An integration user of 新宿店: it sees none of 渋谷店's cases, yet may send to every source."""
    return testing.make_user(company, org["SJK"], email="form@acme.example.jp", name="問い合わせフォーム", password=None)


@pytest.fixture
def send(client, integration):
    _token, clear = do_create_api_token(user=integration, name="website form", acting_user=None)

    def post(body, **headers):
        return client.post("/api/v1/inquiries", json.dumps(body), content_type="application/json",
                           **{"HTTP_ACCEPT_LANGUAGE": "en", "HTTP_AUTHORIZATION": f"Bearer {clear}", **headers})

    return post


def written(company) -> dict:
    with company_scope(company):
        return {"cases": Case.objects.for_company(company).count(), "customers": Customer.objects.for_company(company).count(),
                "inquiries": Inquiry.objects.for_company(company).count(), "activities": Activity.objects.for_company(company).count(),
                "listings": Listing.objects.for_company(company).count()}


def test_an_inquiry_becomes_a_case_of_the_sources_unit_and_assignee(send, website, agent, org, company, mailoutbox,
                                                                    django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = send(BODY)
    # then
    assert response.status_code == 201
    body = response.json()
    case = Case.objects.for_company(company).get()
    assert body == {"created": True, "status": "created", "case_id": case.pk, "case_number": case.number, "customer_id": case.customer_id}
    assert (case.origin, case.status, case.owning_org_id, case.main_assignee_id) == (CaseOrigin.INQUIRY, CaseStatus.NEW, org["SBY"].pk, agent.pk)
    assert (case.first_inquiry_source, case.first_inquiry_listing_name, str(case.first_inquiry_date)) == (
        "自社ホームページ", "パークハイツ渋谷 302", "2026-12-06")
    with company_scope(company):
        assert (case.source_id, DesiredConditions.objects.for_company(company).get(case=case).move_in) == ("WEB-0001", "1ヶ月以内")
    assert (case.customer.name, case.customer.kana) == ("山田 花子", "ヤマダ ハナコ")
    with company_scope(company):
        inquiry = Inquiry.objects.for_company(company).get()
        activity = Activity.objects.for_company(company).get(case=case)
        listing = Listing.objects.for_company(company).get()
    assert (inquiry.channel, inquiry.status, inquiry.source_id, inquiry.inquiry_id, inquiry.case_id) == (
        Channel.API, InquiryStatus.CREATED, website.pk, "WEB-0001", case.pk)
    assert inquiry.received_at.isoformat() == "2026-12-06T01:15:00+00:00"
    assert (activity.kind, activity.subject) == (ActivityKind.INQUIRY, "自社ホームページ 内見希望")
    assert activity.body.startswith("今週末に内見できますか。\n\n") and "Station: JR山手線「渋谷」駅 徒歩7分" in activity.body
    assert (listing.ref, listing.layout, float(listing.rent), float(listing.area)) == ("W-302", "1LDK", 8.5, 35.2)
    [mail] = mailoutbox
    assert mail.to == [agent.email]
    assert f"{settings.SITE_URL}/cases/{case.pk}/" in mail.body


def test_the_same_source_and_inquiry_id_again_answers_200_with_the_same_case(send, website, company, mailoutbox,
                                                                           django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        first = send(BODY).json()
    before = written(company)
    # when: the same inquiry id again, even with other details
    with django_capture_on_commit_callbacks(execute=True):
        again = send({**BODY, "message": "再送です", "customer": {"name": "別人", "phone": "03-0000-0000"}})
    # then
    assert again.status_code == 200
    assert again.json() == {**first, "created": False, "status": "duplicate"}
    assert written(company) == before
    assert len(mailoutbox) == 1


def test_without_an_inquiry_id_each_call_is_a_new_inquiry_linked_to_the_known_customer(send, website, company):
    # given
    first = send({**BODY, "inquiry_id": None}).json()
    # when: the same customer (same e-mail, written otherwise) about another listing
    response = send({"source": "website", "customer": {"name": "山田 花子", "email": "hanako@example.jp"}, "listing": {"name": "メゾン恵比寿"}})
    # then
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["created"], body["customer_id"]) == ("linked_existing", True, first["customer_id"])
    assert body["case_id"] != first["case_id"]
    case = Case.objects.for_company(company).get(pk=body["case_id"])
    assert case.needs_review is True
    assert written(company)["customers"] == 1


def test_the_minimal_body_takes_a_phone_number_alone(send, website, company):
    response = send({"source": "website", "customer": {"phone": "03-1234-5678"}})
    assert response.status_code == 201
    customer = Customer.objects.for_company(company).get(pk=response.json()["customer_id"])
    assert customer.name == "03-1234-5678"


def test_numbers_are_taken_as_numbers_too(send, website, company):
    response = send({**BODY, "listing": {"ref": "W-1", "name": "コーポ代々木", "price": 85000, "area": 20.5}})
    assert response.status_code == 201
    listing = Listing.objects.for_company(company).get()
    assert (float(listing.rent), float(listing.area)) == (8.5, 20.5)


def test_an_unknown_source_is_a_400_and_writes_nothing(send, website, company, other_company):
    # given: a source of another company with the code sent
    InquirySource.objects.create(company=other_company["company"], code="suumo", name="SUUMO", org_unit=other_company["unit"])
    # when
    response = send({**BODY, "source": "suumo"})
    # then
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_source"
    assert error["fields"] == {"source": [error["message"]]}
    assert "suumo" in error["message"]
    assert set(written(company).values()) == {0}


def test_the_unknown_source_message_is_translated(send, website):
    response = send({**BODY, "source": "homes"}, HTTP_ACCEPT_LANGUAGE="ja")
    with translation.override("ja"):
        from django.utils.translation import gettext

        expected = gettext("There is no inquiry source with the code “%(code)s”. Check the code in the inquiry intake settings.") % {
            "code": "homes"}
    assert response.json()["error"]["message"] == expected


def test_a_disabled_source_is_refused_and_writes_nothing(send, website, company):
    # given
    InquirySource.objects.for_company(company).filter(pk=website.pk).update(is_enabled=False)
    # when
    response = send(BODY)
    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "source_disabled"
    assert "source" in response.json()["error"]["fields"]
    assert set(written(company).values()) == {0}


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    ({"customer": {"kana": "ヤマダ"}}, 422, "inquiry_invalid", "customer"),
    ({"customer": None}, 422, "inquiry_invalid", "customer"),
    ({"customer": {"name": "山田", "phone": "12"}}, 422, "inquiry_invalid", "customer.phone"),
    ({"customer": {"name": "山田", "email": "hanako@"}}, 422, "inquiry_invalid", "customer.email"),
    ({"received_at": "yesterday evening"}, 422, "inquiry_invalid", "received_at"),
    ({"customer": {"name": "ア" * 201}}, 422, "invalid", "customer.name"),
    ({"customer": {"name": "山田", "phone": "0" * 301}}, 422, "invalid", "customer.phone"),
    ({"message": "あ" * 10001}, 422, "invalid", "message"),
    ({"inquiry_id": "x" * 101}, 422, "invalid", "inquiry_id"),
    ({"listing": {"ref": "x" * 65}}, 422, "invalid", "listing.ref"),
    ({"listing": {"price": "円" * 51}}, 422, "invalid", "listing.price"),
    ({"source": ""}, 422, "invalid", "source"),
    ({"source": None}, 422, "invalid", "source"),
    ({"customer": "山田"}, 422, "inquiry_invalid", "customer"),  # not an object: no name, phone or e-mail
])
def test_invalid_data_is_refused_with_the_field_and_writes_nothing(send, website, company, mailoutbox, django_capture_on_commit_callbacks,
                                                                   change, status, code, field):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = send({**BODY, **change})
    # then
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["fields"], error
    assert set(written(company).values()) == {0}
    assert mailoutbox == []


def test_a_missing_source_key_is_a_422(send, website):
    body = {key: value for key, value in BODY.items() if key != "source"}
    response = send(body)
    assert (response.status_code, list(response.json()["error"]["fields"])) == (422, ["source"])


def test_values_at_their_limits_are_stored_whole(send, website, company):
    # given
    name = "ア" * 200
    phone = "090" + "-" * 289 + "12345678"
    # when
    response = send({"source": "website", "inquiry_id": "i" * 100, "customer": {"name": name, "kana": "ア" * 200, "phone": phone},
                     "listing": {"ref": "r" * 64, "name": "ア" * 200, "address": "東" * 300, "station": "駅" * 200, "layout": "L" * 50},
                     "message": "あ" * 10000, "inquiry_type": "t" * 100, "desired_move_in": "m" * 50})
    # then
    assert response.status_code == 201, response.content
    inquiry = Inquiry.objects.for_company(company).get()
    assert (inquiry.inquiry_id, inquiry.customer.name) == ("i" * 100, name)
    assert Listing.objects.for_company(company).get().ref == "r" * 64


def test_no_token_is_a_401(client, website):
    response = client.post("/api/v1/inquiries", json.dumps(BODY), content_type="application/json")
    assert response.status_code == 401
    assert set(written(website.company).values()) == {0}


def test_a_revoked_token_is_a_401(client, website, integration):
    from estatecrm.tenancy.tokens import do_revoke_api_token

    token, clear = do_create_api_token(user=integration, name="old", acting_user=None)
    do_revoke_api_token(token=token, acting_user=None)
    response = client.post("/api/v1/inquiries", json.dumps(BODY), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {clear}")
    assert response.status_code == 401


def test_the_integration_user_does_not_see_the_case_it_made(send, website, integration, client):
    # given
    case_id = send(BODY).json()["case_id"]
    # when: the same token reads the case
    _token, clear = do_create_api_token(user=integration, name="reader", acting_user=None)
    response = client.get(f"/api/v1/cases/{case_id}", HTTP_AUTHORIZATION=f"Bearer {clear}")
    # then: 新宿店's user does not see 渋谷店's case
    assert response.status_code == 404


def test_a_token_of_another_company_cannot_reach_this_companys_sources(client, website, company, other_company):
    # given
    _token, clear = do_create_api_token(user=other_company["admin"], name="x", acting_user=None)
    # when
    response = client.post("/api/v1/inquiries", json.dumps(BODY), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {clear}")
    # then
    assert (response.status_code, response.json()["error"]["code"]) == (400, "unknown_source")
    assert set(written(company).values()) == {0}


# --- the notification mail, through the API ------------------------------------------------------


def test_the_assignee_gets_a_japanese_mail_with_the_case_link(send, website, agent, company, mailoutbox, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        case_id = send(BODY).json()["case_id"]
    # then: in the site's language (Japanese), whatever the caller's Accept-Language
    case = Case.objects.for_company(company).get(pk=case_id)
    [mail] = mailoutbox
    assert settings.LANGUAGE_CODE == "ja"
    with translation.override("ja"):
        from django.utils.translation import gettext

        subject = gettext("[New inquiry] %(source)s: %(name)s (case #%(number)s)") % {
            "source": "自社ホームページ", "name": "山田 花子", "number": case.number}
        lines = [gettext("Dear %(name)s,") % {"name": "渋谷 一郎"},
                 gettext("A new inquiry from %(source)s was assigned to you. Please contact the customer soon.") % {"source": "自社ホームページ"},
                 f"{gettext('Customer')}: 山田 花子", f"{gettext('Case')}: #{case.number}", f"{gettext('Received at')}: 2026-12-06 10:15",
                 f"{gettext('Inquiry type')}: 内見希望", f"{gettext('Listing')}: パークハイツ渋谷 302",
                 f"{settings.SITE_URL}/cases/{case.pk}/", f"{settings.SITE_URL}/account/#notifications"]
    assert (mail.to, mail.subject) == ([agent.email], subject)
    for line in lines:
        assert line in mail.body.splitlines(), (line, mail.body)
    # nothing HTML-escaped in a text mail
    assert "&" not in mail.body


def test_a_name_with_markup_characters_is_mailed_as_written(send, website, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send({**BODY, "customer": {"name": "O'Brien & <Co>", "phone": "090-1111-2222"}})
    [mail] = mailoutbox
    assert "O'Brien & <Co>" in mail.subject and "O'Brien & <Co>" in mail.body


def test_no_mail_when_the_assignee_turned_it_off(send, website, agent, mailoutbox, django_capture_on_commit_callbacks):
    # given
    User.objects.filter(pk=agent.pk).update(inquiry_mail=False)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = send(BODY)
    # then
    assert response.status_code == 201
    assert mailoutbox == []


def test_no_mail_when_the_assignee_is_inactive(send, website, agent, mailoutbox, django_capture_on_commit_callbacks):
    # given
    User.objects.filter(pk=agent.pk).update(is_active=False)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = send(BODY)
    # then
    assert response.status_code == 201
    assert mailoutbox == []


def test_no_mail_when_the_source_has_no_default_assignee(send, website, company, mailoutbox, django_capture_on_commit_callbacks):
    InquirySource.objects.for_company(company).filter(pk=website.pk).update(default_assignee=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(BODY)
    assert response.status_code == 201
    assert Case.objects.for_company(company).get().main_assignee_id is None
    assert mailoutbox == []


def test_the_assignee_turning_mail_off_on_the_account_page_stops_the_next_mail(client, send, website, agent, mailoutbox,
                                                                             django_capture_on_commit_callbacks):
    # given: the agent turns it off on their account page (the checkbox left unticked)
    page = client.__class__()
    page.force_login(agent)
    assert page.post("/account/notifications/", {}).status_code == 302
    # when
    with django_capture_on_commit_callbacks(execute=True):
        send(BODY)
    # then
    assert mailoutbox == []


def test_the_openapi_document_describes_the_operation_with_examples(client):
    # when
    document = client.get("/api/v1/openapi.json").json()
    # then
    operation = document["paths"]["/api/v1/inquiries"]["post"]
    body = operation["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/InquiryIn"}
    assert body["examples"]["full"]["value"]["customer"]["name"] == "山田 花子"
    assert set(operation["responses"]) >= {"200", "201", "400", "401", "403", "422"}
    assert operation["responses"]["201"]["content"]["application/json"]["example"]["created"] is True
    assert "unknown_source" in operation["responses"]["400"]["description"]
    schemas = document["components"]["schemas"]
    assert schemas["InquiryIn"]["required"] == ["source"]
    assert set(schemas["InquiryIn"]["properties"]) == {"source", "inquiry_id", "received_at", "inquiry_type", "customer", "message",
                                                       "listing", "desired_move_in"}
    assert set(schemas["InquiryCustomerIn"]["properties"]) == {"name", "kana", "phone", "email"}
    assert set(schemas["InquiryListingIn"]["properties"]) == {"ref", "name", "price", "address", "layout", "area", "station"}
    assert set(schemas["InquiryOut"]["required"]) == {"created", "status", "case_id", "case_number", "customer_id"}
