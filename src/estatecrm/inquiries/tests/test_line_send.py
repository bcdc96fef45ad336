"""Sending a LINE text from the case page and the API: pushed through the SDK once per retry key."""

import datetime
import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone, translation

from estatecrm.core import testing
from estatecrm.crm.choices import ActivityDirection, ActivityKind
from estatecrm.crm.models import Activity, Case, Customer
from estatecrm.inquiries.models import LineMessage
from estatecrm.inquiries.tests.line_fake import ACCESS_TOKEN, USER_ID
from estatecrm.tenancy.tokens import do_create_api_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def line_case(company, org, agent, line_channel):
    """A case of 渋谷店 whose customer is linked to LINE."""
    case = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="山田 花子")
    Customer.objects.for_company(company).filter(pk=case.customer_id).update(line_user_id=USER_ID)
    return case


def page_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def line_activities(case):
    return list(Activity.objects.for_company(case.company_id).filter(case=case, kind=ActivityKind.LINE)
                .values_list("direction", "actor_id", "body"))


def send_form(client, case, text="土曜10時の内見、承知しました。", retry_key=None, follow=True):
    return client.post(f"/cases/{case.pk}/line/", {"text": text, "retry_key": str(retry_key or uuid.uuid4())}, follow=follow)


def test_agent_sends_a_line_text_from_the_case_page(company, agent, line_case, fake_line):
    # given
    client = page_client(agent)
    key = uuid.uuid4()
    # when
    response = send_form(client, line_case, retry_key=key)
    # then: pushed once through the SDK to the customer, with the token and the retry key
    assert response.status_code == 200 and response.redirect_chain[-1][0] == f"/cases/{line_case.pk}/#timeline"
    assert "The LINE message was sent." in response.content.decode()
    [push] = fake_line.pushes()
    assert push.body == {"to": USER_ID, "messages": [{"type": "text", "text": "土曜10時の内見、承知しました。"}], "notificationDisabled": False}
    assert (push.headers["authorization"], push.headers["x-line-retry-key"]) == (f"Bearer {ACCESS_TOKEN}", str(key))
    # an outbound LINE activity by the agent, which is the case's last contact
    assert line_activities(line_case) == [(ActivityDirection.OUTBOUND, agent.pk, "土曜10時の内見、承知しました。")]
    line_case.refresh_from_db()
    activity = Activity.objects.for_company(company).get(case=line_case, kind=ActivityKind.LINE)
    assert line_case.last_contact_at == activity.occurred_at
    assert list(LineMessage.objects.for_company(company).values_list("retry_key", "activity_id", "sent_by_id", "line_user_id")) == [
        (key, activity.pk, agent.pk, USER_ID)]


def test_the_same_form_sent_twice_is_one_message(company, agent, line_case, fake_line):
    client = page_client(agent)
    key = uuid.uuid4()
    send_form(client, line_case, retry_key=key)
    response = send_form(client, line_case, retry_key=key)
    assert "This LINE message had already been sent." in response.content.decode()
    assert len(fake_line.pushes()) == 1 and len(line_activities(line_case)) == 1


def test_a_retry_key_of_another_case_is_refused(company, org, agent, line_case, fake_line):
    other = testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="山田 花子")
    Customer.objects.for_company(company).filter(pk=other.customer_id).update(line_user_id=USER_ID[:-1] + "c")
    key = str(uuid.uuid4())
    assert api_post(agent, line_case.pk, {"text": "一通目", "retry_key": key}).status_code == 201
    reused = api_post(agent, other.pk, {"text": "別の方へ", "retry_key": key})
    assert (reused.status_code, reused.json()["error"]["code"]) == (400, "line_retry_key_used")
    assert len(fake_line.pushes()) == 1 and line_activities(other) == []


def test_a_retry_key_line_accepted_before_is_recorded_once(company, agent, line_case, fake_line):
    # given: LINE accepted the key but our answer was lost (nothing recorded here)
    key = uuid.uuid4()
    fake_line.accepted_retry_keys.add(str(key))
    # when: sent again with the same key
    send_form(page_client(agent), line_case, retry_key=key)
    # then: LINE answered 409 (not sent twice); recorded now, once
    assert len(fake_line.pushes()) == 1 and len(line_activities(line_case)) == 1


@pytest.mark.parametrize(("status", "says"), [
    (400, "LINE refused the message (400 The request body has 1 error(s))."),
    (429, "LINE refused the message: too many messages"),
    (500, "LINE refused the message (500 Internal server error)."),
])
def test_line_refusal_shows_a_clear_message_and_records_nothing(company, agent, line_case, fake_line, status, says):
    # given
    fake_line.push_status = status
    key = uuid.uuid4()
    # when
    response = send_form(page_client(agent), line_case, text="こんにちは", retry_key=key, follow=False)
    # then: the form again with the text, the same retry key and LINE's reason; nothing recorded
    page = response.content.decode()
    assert response.status_code == 502 and says in page and "こんにちは" in page and str(key) in page
    assert line_activities(line_case) == [] and LineMessage.objects.for_company(company).count() == 0
    line_case.refresh_from_db()
    assert line_case.last_contact_at is None


def test_line_unreachable_says_so_and_records_nothing(company, agent, line_case, settings):
    settings.LINE_API_BASE_URL = "http://127.0.0.1:9"
    response = send_form(page_client(agent), line_case, follow=False)
    assert response.status_code == 502 and "LINE could not be reached." in response.content.decode()
    assert line_activities(line_case) == []


def test_wrong_access_token_says_an_admin_must_check_the_settings(company, agent, line_case, line_channel, fake_line):
    line_channel.channel_access_token = "revoked"
    line_channel.save(update_fields=["channel_access_token"])
    response = send_form(page_client(agent), line_case, follow=False)
    assert response.status_code == 502 and "LINE refused the channel access token" in response.content.decode()


def test_not_linked_or_blocked_customers_are_refused_without_a_push(company, org, agent, line_case, fake_line):
    # given: a customer without LINE, and the LINE customer who blocked the account
    plain = testing.make_case(company, org["SBY"], main_assignee=agent)
    Customer.objects.for_company(company).filter(pk=line_case.customer_id).update(line_blocked_at=timezone.now())
    client = page_client(agent)
    # when / then
    not_linked = send_form(client, plain, follow=False)
    assert not_linked.status_code == 400 and "This customer is not linked to LINE" in not_linked.content.decode()
    blocked = send_form(client, line_case, follow=False)
    assert blocked.status_code == 400 and "This customer has blocked the LINE account" in blocked.content.decode()
    assert fake_line.requests == [] and Activity.objects.for_company(company).filter(kind=ActivityKind.LINE).count() == 0


def test_empty_text_is_refused(company, agent, line_case, fake_line):
    response = send_form(page_client(agent), line_case, text="   ", follow=False)
    assert response.status_code == 400 and fake_line.requests == []


def test_a_case_the_actor_does_not_see_is_404(company, org, line_case, fake_line):
    # 新宿店's agent does not see 渋谷店's case
    stranger = testing.make_user(company, org["SJK"], email="sjk@acme.example.jp")
    assert send_form(page_client(stranger), line_case, follow=False).status_code == 404
    assert page_client(stranger).get(f"/cases/{line_case.pk}/line/").status_code == 404
    assert fake_line.requests == []


def test_a_trashed_case_is_404(company, agent, line_case, fake_line):
    from estatecrm.crm.actions import do_trash_case

    do_trash_case(case=line_case, acting_user=None)
    assert send_form(page_client(agent), line_case, follow=False).status_code == 404
    assert fake_line.requests == []


def test_the_case_page_shows_line_data_and_the_send_form(company, org, agent, line_case):
    # given
    customer = Customer.objects.for_company(company).get(pk=line_case.customer_id)
    client = page_client(agent)
    # when
    page = client.get(f"/cases/{line_case.pk}/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    # then: 基本情報 has the link number and the LINE user; the form posts to the LINE view
    with translation.override("ja"):
        link_label, linked = translation.gettext("LINE link number"), translation.gettext("Linked")
    assert f'<dt>{link_label}</dt><dd data-testid="line-link-number">{customer.line_link_number}</dd>' in page
    assert linked in page and USER_ID in page
    assert f'action="/cases/{line_case.pk}/line/"' in page and 'data-testid="line-send-form"' in page
    assert 'data-testid="line-blocked"' not in page and f'href="/cases/{line_case.pk}/line/" data-testid="line-send-link"' in page
    # when: the customer blocked the account
    Customer.objects.for_company(company).filter(pk=customer.pk).update(line_blocked_at=timezone.now())
    page = client.get(f"/cases/{line_case.pk}/").content.decode()
    assert 'data-testid="line-blocked"' in page and "Blocked on LINE" in page
    assert 'data-testid="line-send-form"' not in page and 'data-testid="line-send-blocked"' in page
    assert 'data-testid="line-send-link"' not in page


def test_the_case_page_of_a_customer_without_line_shows_the_link_number_only(company, org, agent, line_channel):
    case = testing.make_case(company, org["SBY"], main_assignee=agent)
    page = page_client(agent).get(f"/cases/{case.pk}/").content.decode()
    number = Customer.objects.for_company(company).get(pk=case.customer_id).line_link_number
    assert f'data-testid="line-link-number">{number}</dd>' in page and "Not linked" in page
    assert 'data-testid="line-send-form"' not in page


def test_no_send_form_without_a_line_channel(company, org, agent, line_case, line_channel):
    line_channel.delete()
    page = page_client(agent).get(f"/cases/{line_case.pk}/").content.decode()
    assert USER_ID in page and 'data-testid="line-send-form"' not in page


def test_the_send_page_shows_the_latest_line_messages_above_the_form(company, agent, line_case):
    # given: what the customer wrote (by the intake) and a note that is not LINE
    for minutes, kind, body in ((10, ActivityKind.LINE, "内見できますか"), (5, ActivityKind.NOTE, "社内メモ")):
        Activity.objects.create(company=company, case=line_case, kind=kind, direction=ActivityDirection.INBOUND if kind == "line" else "",
                                occurred_at=timezone.now() - datetime.timedelta(minutes=minutes), body=body)
    # when
    response = page_client(agent).get(f"/cases/{line_case.pk}/line/")
    # then
    page = response.content.decode()
    assert response.status_code == 200 and 'name="retry_key"' in page
    assert "内見できますか" in page and "社内メモ" not in page
    assert page.index('data-testid="line-conversation"') < page.index('data-testid="line-send-form"')


# ---------------------------------------------------------------------------------------------
# The API


def api_post(user, case_id, body: dict):
    _token, clear = do_create_api_token(user=user, name="line", acting_user=user)
    return Client().post(f"/api/v1/cases/{case_id}/line-messages", json.dumps(body), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {clear}", HTTP_ACCEPT_LANGUAGE="en")


def test_api_sends_a_line_text_once_per_retry_key(company, agent, line_case, fake_line):
    key = str(uuid.uuid4())
    # when
    first = api_post(agent, line_case.pk, {"text": "資料をお送りします。", "retry_key": key})
    again = api_post(agent, line_case.pk, {"text": "資料をお送りします。", "retry_key": key})
    # then
    assert (first.status_code, again.status_code) == (201, 200)
    body = first.json()
    assert (body["kind"], body["direction"], body["actor_id"], body["body"], body["case_id"]) == (
        "line", "outbound", agent.pk, "資料をお送りします。", line_case.pk)
    assert again.json()["id"] == body["id"]
    assert len(fake_line.pushes()) == 1 and fake_line.pushes()[0].headers["x-line-retry-key"] == key


def test_api_without_retry_key_sends_each_call(company, agent, line_case, fake_line):
    assert api_post(agent, line_case.pk, {"text": "一通目"}).status_code == 201
    assert api_post(agent, line_case.pk, {"text": "二通目"}).status_code == 201
    keys = {push.headers["x-line-retry-key"] for push in fake_line.pushes()}
    assert len(keys) == 2 and all(uuid.UUID(key) for key in keys)


def test_api_refusals(company, org, agent, line_case, fake_line, other_company):
    plain = testing.make_case(company, org["SBY"], main_assignee=agent)
    not_linked = api_post(agent, plain.pk, {"text": "こんにちは"})
    assert (not_linked.status_code, not_linked.json()["error"]["code"]) == (400, "line_not_linked")
    empty = api_post(agent, line_case.pk, {"text": " "})
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "line_text_invalid")
    too_long = api_post(agent, line_case.pk, {"text": "あ" * 5001})
    assert too_long.status_code == 422
    foreign = api_post(agent, other_company["case"].pk, {"text": "こんにちは"})
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "not_found")
    fake_line.push_status = 500
    failed = api_post(agent, line_case.pk, {"text": "こんにちは"})
    assert (failed.status_code, failed.json()["error"]["code"]) == (502, "line_send_failed")
    assert len(fake_line.pushes()) == 1 and Activity.objects.for_company(company).filter(kind=ActivityKind.LINE).count() == 0


def test_export_has_the_line_link_number_and_user_id(company, line_case):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("export", "cases", "--company", "acme", stdout=out)
    customer = json.loads(out.getvalue().splitlines()[0])["customer"]
    number = Customer.objects.for_company(company).get(pk=line_case.customer_id).line_link_number
    assert (customer["line_link_number"], customer["line_user_id"]) == (number, USER_ID)
    assert Case.objects.for_company(company).count() == 1
