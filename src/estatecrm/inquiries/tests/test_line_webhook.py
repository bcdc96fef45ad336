"""The LINE webhook: signature checked by the SDK, events stored once, processing after the answer."""

import logging

import pytest
from django.test import Client

from estatecrm.crm.models import Case, Customer
from estatecrm.inquiries.models import LineEvent
from estatecrm.inquiries.tests.line_fake import USER_ID, event, payload, sign, text_message

pytestmark = pytest.mark.django_db
URL = "/hooks/line/acme/"


def post(body: bytes, signature: str | None, url: str = URL):
    headers = {"HTTP_X_LINE_SIGNATURE": signature} if signature is not None else {}
    # enforce_csrf_checks: LINE sends no CSRF token, the webhook must not need one.
    return Client(enforce_csrf_checks=True).post(url, body, content_type="application/json", **headers)


def events_of(company):
    return list(LineEvent.objects.for_company(company).order_by("pk").values_list("webhook_event_id", "event_type", "line_user_id"))


def test_signed_events_are_stored_and_processed_after_the_answer(company, line_channel, fake_line, django_capture_on_commit_callbacks):
    # given
    fake_line.profiles[USER_ID] = "山田 花子"
    body = payload(event("follow", "01HFOLLOW", replyToken="r1"), text_message("01HTEXT", "内見できますか"))
    # when: LINE calls the webhook
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(body, sign(body))
    # then: 200 at once, the events stored, nothing processed and no call to LINE during the request
    assert response.status_code == 200
    assert events_of(company) == [("01HFOLLOW", "follow", USER_ID), ("01HTEXT", "message", USER_ID)]
    assert fake_line.requests == [] and Customer.objects.for_company(company).count() == 0
    assert len(callbacks) == 1
    # when: the transaction's commit enqueues the task (run where enqueued in tests)
    callbacks[0]()
    # then
    assert [request.path for request in fake_line.requests] == [f"/v2/bot/profile/{USER_ID}"]
    customer = Customer.objects.for_company(company).get()
    assert (customer.name, customer.line_user_id) == ("山田 花子", USER_ID)
    assert LineEvent.objects.for_company(company).filter(processed_at__isnull=True).count() == 0


def test_redelivered_event_is_stored_once_and_changes_nothing(company, line_channel, fake_line, django_capture_on_commit_callbacks):
    # given: the follow was delivered and processed
    fake_line.profiles[USER_ID] = "山田 花子"
    body = payload(event("follow", "01HFOLLOW"))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(body, sign(body)).status_code == 200
    stored = LineEvent.objects.for_company(company).get()
    # when: LINE delivers it again (redelivery), with another event beside it
    again = payload({**event("follow", "01HFOLLOW"), "deliveryContext": {"isRedelivery": True}}, text_message("01HTEXT", "こんにちは"))
    with django_capture_on_commit_callbacks(execute=True):
        assert post(again, sign(again)).status_code == 200
    # then: the follow is the one stored before; one customer and one case
    assert events_of(company) == [("01HFOLLOW", "follow", USER_ID), ("01HTEXT", "message", USER_ID)]
    assert LineEvent.objects.for_company(company).get(webhook_event_id="01HFOLLOW").processed_at == stored.processed_at
    assert Customer.objects.for_company(company).count() == 1 and Case.objects.for_company(company).count() == 1
    # when: only the redelivery again
    with django_capture_on_commit_callbacks() as callbacks:
        assert post(body, sign(body)).status_code == 200
    # then: nothing stored, nothing enqueued
    assert callbacks == [] and LineEvent.objects.for_company(company).count() == 2


def test_verify_call_with_no_events_answers_200(company, line_channel, fake_line, django_capture_on_commit_callbacks):
    body = b'{"destination":"Uc0ffee","events":[]}'
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(body, sign(body))
    assert response.status_code == 200 and callbacks == [] and LineEvent.objects.for_company(company).count() == 0


@pytest.mark.parametrize("signature", [None, "", "bm90IHRoZSBzaWduYXR1cmU=", "not base64 at all"])
def test_missing_or_wrong_signature_is_401_and_logged(company, line_channel, fake_line, caplog, signature):
    body = payload(event("follow", "01HFOLLOW"))
    with caplog.at_level(logging.WARNING, logger="estatecrm.inquiries.line_views"):
        response = post(body, signature)
    assert response.status_code == 401
    assert LineEvent.objects.for_company(company).count() == 0 and fake_line.requests == []
    assert [record.getMessage() for record in caplog.records if record.name == "estatecrm.inquiries.line_views"] == [
        f"LINE webhook of company acme refused: {'wrong' if signature else 'no'} signature (from 127.0.0.1, {len(body)} bytes)"]


def test_body_signed_with_another_secret_or_changed_after_signing_is_401(company, line_channel, fake_line):
    body = payload(event("follow", "01HFOLLOW"))
    assert post(body, sign(body, "another-channel-secret")).status_code == 401
    assert post(body.replace(b"follow", b"unfollow"), sign(body)).status_code == 401
    assert LineEvent.objects.for_company(company).count() == 0


def test_the_signature_is_checked_before_the_body_is_read(company, line_channel):
    # A body that is not JSON: unsigned, refused for the signature (401), not for the JSON (400).
    assert post(b"{not json", None).status_code == 401
    assert post(b"{not json", sign(b"{not json")).status_code == 400
    assert post(b'{"events": "x"}', sign(b'{"events": "x"}')).status_code == 400


def test_unknown_company_and_company_without_channel_get_the_same_404(company, org, agent, other_company, line_channel):
    body = payload(event("follow", "01HFOLLOW"))
    unknown = post(body, sign(body), url="/hooks/line/nosuch/")
    without_channel = post(body, sign(body), url="/hooks/line/other/")
    line_channel.is_enabled = False
    line_channel.save(update_fields=["is_enabled"])
    disabled = post(body, sign(body))
    assert [(r.status_code, r.content) for r in (unknown, without_channel, disabled)] == [(404, b"")] * 3
    assert LineEvent.objects.unscoped().count() == 0


def test_get_is_not_allowed(company, line_channel):
    assert Client().get(URL).status_code == 405


def test_events_go_to_the_company_of_the_url(company, line_channel, other_company, fake_line, django_capture_on_commit_callbacks):
    # given: company B has a LINE channel with its own secret
    from estatecrm.inquiries.models import LineChannel

    LineChannel.objects.create(company=other_company["company"], channel_secret="other-secret", channel_access_token="t",
                               org_unit=other_company["unit"])
    body = payload(event("follow", "01HFOLLOW"))
    # when: signed with company A's secret, sent to company B's webhook
    response = post(body, sign(body), url="/hooks/line/other/")
    # then: refused; signed with B's secret it is B's event only
    assert response.status_code == 401
    with django_capture_on_commit_callbacks():
        assert post(body, sign(body, "other-secret"), url="/hooks/line/other/").status_code == 200
    assert LineEvent.objects.for_company(other_company["company"]).count() == 1
    assert LineEvent.objects.for_company(company).count() == 0


def test_a_form_post_is_401_like_any_unsigned_body(company, line_channel, caplog):
    with caplog.at_level(logging.WARNING, logger="estatecrm.inquiries.line_views"):
        response = Client().post(URL, {"events": "[]"}, HTTP_X_LINE_SIGNATURE="x")
    assert response.status_code == 401 and LineEvent.objects.for_company(company).count() == 0
    assert "refused: wrong signature" in caplog.text
