"""Intake settings pages (/settings/inquiries/): sources with label rows and a write-only mailbox password,
the try-the-labels panel, on/off, the optimistic lock, the LINE channel with its webhook URL."""

import pytest
from django.test import Client

from estatecrm.audit.models import AuditEvent
from estatecrm.core import testing
from estatecrm.core.errors import ApplicationError, PermissionDenied
from estatecrm.inquiries import actions
from estatecrm.inquiries.models import Inquiry, InquirySource, LineChannel
from estatecrm.tenancy.choices import Role

pytestmark = pytest.mark.django_db

SUUMO_BODY = """■お問合せ番号
R-000123
■物件名
パークハイツ渋谷 203
■名前(漢字)：佐藤 花子
■TEL：090-1234-5678
■ご希望の内見日：11月20日
■お問合せ内容
駐車場はありますか。
よろしくお願いします。
------------------------------
"""


@pytest.fixture
def client(company_admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(company_admin)
    return client


def source_post(org, agent, **overrides) -> dict:
    data = {
        "code": "homes", "name": "LIFULL HOME'S", "preset": "", "is_enabled": "on", "position": "1", "org_unit": str(org["SBY"].pk),
        "default_assignee": str(agent.pk), "case_kind": "rent", "from_contains": "homes.co.jp", "subject_contains": "お問合せ",
        "imap_host": "", "imap_port": "", "imap_security": "ssl", "imap_user": "", "imap_password": "", "imap_folder": "INBOX",
        "label_0": "お名前", "field_0": "customer_name", "label_1": "ご質問", "field_1": "message", "label_2": "", "field_2": "",
        "sample_body": "",
    }
    data.update(overrides)
    return data


def edit_post(client, source, **overrides) -> dict:
    """The edit form as the page renders it (with its version), changed by `overrides`."""
    page = client.get(f"/settings/inquiries/sources/{source.pk}/")
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields if name not in ("code",)}
    data = {name: ("on" if value is True else "" if value is None or value is False else str(value)) for name, value in data.items()}
    data.update(overrides)
    return data


def test_admin_adds_a_source_with_label_rows(client, company, org, agent):
    # when
    response = client.post("/settings/inquiries/sources/new/", source_post(org, agent))
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    source = InquirySource.objects.for_company(company).get(code="homes")
    assert (source.name, source.org_unit, source.default_assignee, source.is_enabled) == ("LIFULL HOME'S", org["SBY"], agent, True)
    assert source.labels == {"お名前": "customer_name", "ご質問": "message"}
    assert AuditEvent.objects.for_company(company).filter(object_type="inquiries.inquirysource", verb="create").count() == 1
    listing = client.get("/settings/inquiries/").content.decode()
    assert "LIFULL HOME&#x27;S" in listing and "homes.co.jp" in listing and "渋谷 一郎" in listing


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"field_1": ""}, "field_1", "Choose the field that “ご質問” fills."),
    ({"label_1": "お名前"}, "label_1", "“お名前” is listed twice."),
    ({"code": "ho mes"}, "code", "A code is 1 to 32 letters"),
    ({"imap_host": "imap.example.jp"}, "imap_user", "Enter the user name of the mailbox."),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(client, company, org, agent, overrides, field, message):
    response = client.post("/settings/inquiries/sources/new/", source_post(org, agent, **overrides))
    assert response.status_code == 200
    errors = " ".join(str(error) for error in response.context["form"].errors.get(field, []))
    assert message in errors, response.context["form"].errors
    assert not InquirySource.objects.for_company(company).exists()


def test_the_code_is_unique_in_the_company(client, company, org, agent, suumo):
    response = client.post("/settings/inquiries/sources/new/", source_post(org, agent, code="suumo"))
    assert "suumo" in " ".join(response.context["form"].errors["code"])
    assert InquirySource.objects.for_company(company).count() == 1


def test_the_default_assignee_must_see_the_units_cases(client, company, org, agent):
    # given: the agent is a member of 渋谷店 only; 新宿店 is a sibling
    response = client.post("/settings/inquiries/sources/new/", source_post(org, agent, org_unit=str(org["SJK"].pk)))
    assert "新宿店" in " ".join(response.context["form"].errors["default_assignee"])
    assert not InquirySource.objects.for_company(company).exists()
    # a deactivated user is not offered, and refused by the action too
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    with pytest.raises(ApplicationError) as refused:
        actions.do_create_source(company=company, acting_user=None, data=actions.SourceInput(
            code="x", name="X", org_unit=org["SBY"], default_assignee=agent))
    assert "default_assignee" in refused.value.fields


def test_the_action_refuses_unknown_fields_and_empty_labels(company, org, agent, company_admin):
    with pytest.raises(ApplicationError) as refused:
        actions.do_create_source(company=company, acting_user=company_admin, data=actions.SourceInput(
            code="x", name="X", org_unit=org["SBY"], labels={"お名前": "name", " ": "phone"}))
    assert set(refused.value.fields) == {"labels.お名前", "labels"}
    assert not InquirySource.objects.for_company(company).exists()


def test_an_agent_may_not_change_settings(company, org, agent):
    with pytest.raises(PermissionDenied):
        actions.do_create_source(company=company, acting_user=agent, data=actions.SourceInput(code="x", name="X", org_unit=org["SBY"]))
    assert not InquirySource.objects.for_company(company).exists()


def test_the_mailbox_password_is_write_only(client, company, org, agent, suumo):
    # given: a source with a mailbox
    data = edit_post(client, suumo, imap_host="imap.example.jp", imap_port="993", imap_user="inquiry@acme.example.jp",
                     imap_password="s3cret-Pass")
    assert client.post(f"/settings/inquiries/sources/{suumo.pk}/", data).status_code == 302
    suumo.refresh_from_db()
    assert suumo.imap_password == "s3cret-Pass"
    # then: never rendered back, not in the audit
    page = client.get(f"/settings/inquiries/sources/{suumo.pk}/").content.decode()
    assert "s3cret-Pass" not in page and "A password is saved. Leave this empty to keep it." in page
    assert not [event for event in AuditEvent.objects.for_company(company) if "s3cret" in str(event.before) + str(event.after)]
    # when: saved again with the password left empty, it is kept
    assert client.post(f"/settings/inquiries/sources/{suumo.pk}/", edit_post(client, suumo, imap_folder="反響")).status_code == 302
    suumo.refresh_from_db()
    assert (suumo.imap_password, suumo.imap_folder) == ("s3cret-Pass", "反響")
    # and a new one replaces it
    client.post(f"/settings/inquiries/sources/{suumo.pk}/", edit_post(client, suumo, imap_password="other-Pass"))
    suumo.refresh_from_db()
    assert suumo.imap_password == "other-Pass"


def test_the_code_stays_when_editing(client, company, suumo):
    data = edit_post(client, suumo, code="changed", name="SUUMO 賃貸")
    assert client.post(f"/settings/inquiries/sources/{suumo.pk}/", data).status_code == 302
    suumo.refresh_from_db()
    assert (suumo.code, suumo.name) == ("suumo", "SUUMO 賃貸")
    with pytest.raises(ApplicationError):
        actions.do_update_source(source=suumo, acting_user=None, data=actions.SourceInput(code="other", name="X", org_unit=suumo.org_unit))


def test_a_stale_edit_is_refused_and_says_who_changed_what(client, company, company_admin, suumo):
    data = edit_post(client, suumo, name="SUUMO 売買")
    other = testing.make_user(company, suumo.org_unit.parent.parent, role=Role.ADMIN, email="admin2@acme.example.jp", name="管理 次郎")
    other_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    other_client.force_login(other)
    assert other_client.post(f"/settings/inquiries/sources/{suumo.pk}/", edit_post(other_client, suumo, subject_contains="反響通知")).status_code == 302
    # when: the first admin saves the form they opened before
    response = client.post(f"/settings/inquiries/sources/{suumo.pk}/", data)
    # then
    assert response.status_code == 409
    assert "管理 次郎" in response.content.decode()
    suumo.refresh_from_db()
    assert (suumo.name, suumo.subject_contains) == ("SUUMO", "反響通知")


def test_trying_the_labels_shows_what_they_read_and_writes_nothing(client, company, org, agent):
    events = AuditEvent.objects.for_company(company).count()
    response = client.post("/settings/inquiries/sources/new/", source_post(
        org, agent, code="suumo2", preset="suumo", label_0="ご希望の内見日", field_0="desired_move_in", label_1="", field_1="",
        sample_body=SUUMO_BODY, **{"try": "1"}))
    assert response.status_code == 200
    rows = {name: value for _label, name, value in response.context["tried"]["rows"]}
    assert rows == {"inquiry_id": "R-000123", "listing_name": "パークハイツ渋谷 203", "customer_name": "佐藤 花子", "phone": "090-1234-5678",
                    "desired_move_in": "11月20日", "message": "駐車場はありますか。\nよろしくお願いします。"}
    assert response.context["tried"]["readable"]
    page = response.content.decode()
    assert "パークハイツ渋谷 203" in page and "This mail can be taken" in page
    assert not InquirySource.objects.for_company(company).exists()
    assert AuditEvent.objects.for_company(company).count() == events


def test_a_whole_mail_pasted_as_source_is_decoded_before_reading(client, company, suumo):
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "info@jds.suumo.jp"
    message["Subject"] = "反響お知らせ"
    message.set_content(SUUMO_BODY, charset="iso-2022-jp")
    raw = bytes(message).decode("ascii")
    assert "佐藤" not in raw
    response = client.post(f"/settings/inquiries/sources/{suumo.pk}/", edit_post(client, suumo, sample_body=raw, **{"try": "1"}))
    rows = {name: value for _label, name, value in response.context["tried"]["rows"]}
    assert (rows["customer_name"], rows["phone"]) == ("佐藤 花子", "090-1234-5678")


def test_trying_a_body_the_labels_cannot_read_says_so(client, company, suumo):
    response = client.post(f"/settings/inquiries/sources/{suumo.pk}/", edit_post(client, suumo, preset="", sample_body="こんにちは\n本文のみ", **{"try": "1"}))
    assert response.context["tried"]["rows"] == []
    assert not response.context["tried"]["readable"]
    assert "This mail could not be taken" in response.content.decode()


def test_turning_a_source_off_and_on(client, company, suumo):
    assert client.post(f"/settings/inquiries/sources/{suumo.pk}/enabled/", {"enabled": "0"}).status_code == 302
    suumo.refresh_from_db()
    assert not suumo.is_enabled
    page = client.get("/settings/inquiries/").content.decode()
    assert ">Off<" in page
    client.post(f"/settings/inquiries/sources/{suumo.pk}/enabled/", {"enabled": "1"})
    suumo.refresh_from_db()
    assert suumo.is_enabled
    assert AuditEvent.objects.for_company(company).filter(object_type="inquiries.inquirysource", verb="update").count() == 2


def test_the_list_counts_inquiries_received_and_shows_fetch_errors(client, company, suumo):
    from django.utils import timezone

    for number in range(3):
        Inquiry.objects.create(company=company, channel="eml", status="created", source=suumo, inquiry_id=f"R-{number}", received_at=timezone.now())
    InquirySource.objects.for_company(company).filter(pk=suumo.pk).update(imap_host="imap.example.jp", imap_user="in@acme.example.jp",
                                                                         last_fetch_error="LOGIN failed")
    response = client.get("/settings/inquiries/")
    Inquiry.objects.create(company=company, channel="eml", status="failed", source=suumo, message_id="x@y", received_at=timezone.now())
    response = client.get("/settings/inquiries/")
    assert (response.context["sources"][0].received_count, response.context["sources"][0].failed_count) == (4, 1)
    assert "1 not taken" in response.content.decode()
    assert "LOGIN failed" in response.content.decode()


def test_another_companys_source_is_404(client, other_company):
    source = InquirySource.objects.create(company=other_company["company"], code="x", name="他社ソース", org_unit=other_company["unit"])
    assert client.get(f"/settings/inquiries/sources/{source.pk}/").status_code == 404
    assert client.post(f"/settings/inquiries/sources/{source.pk}/enabled/", {"enabled": "0"}).status_code == 404


# ---------------------------------------------------------------------------------------------
# LINE


def test_line_channel_page_sets_secrets_write_only_and_shows_the_webhook_url(client, company, org, agent):
    page = client.get("/settings/inquiries/line/")
    assert "http://testserver/hooks/line/acme/" in page.content.decode()
    # when: saved without secrets
    response = client.post("/settings/inquiries/line/", {"is_enabled": "on", "org_unit": org["SBY"].pk, "default_assignee": agent.pk})
    assert "LINE Developers" in " ".join(response.context["form"].errors["channel_secret"])
    assert not LineChannel.objects.for_company(company).exists()
    # when: with them
    response = client.post("/settings/inquiries/line/", {"is_enabled": "on", "org_unit": org["SBY"].pk, "default_assignee": agent.pk,
                                                         "channel_secret": "0123456789abcdef0123456789abcdef",
                                                         "channel_access_token": "TOKEN+abc/def="})
    assert response.status_code == 302
    channel = LineChannel.objects.for_company(company).get()
    assert (channel.channel_secret, channel.channel_access_token, channel.default_assignee) == (
        "0123456789abcdef0123456789abcdef", "TOKEN+abc/def=", agent)
    page = client.get("/settings/inquiries/line/").content.decode()
    assert "0123456789abcdef" not in page and "TOKEN+abc" not in page
    # when: saved again with the secrets empty, they are kept
    version = client.get("/settings/inquiries/line/").context["form"]["version"].value()
    client.post("/settings/inquiries/line/", {"org_unit": org["SBY"].pk, "default_assignee": agent.pk, "version": version})
    channel.refresh_from_db()
    assert (channel.is_enabled, channel.channel_secret) == (False, "0123456789abcdef0123456789abcdef")
    assert not [event for event in AuditEvent.objects.for_company(company) if "0123456789" in str(event.before) + str(event.after)]


def test_line_default_assignee_must_see_the_unit(client, company, org, agent):
    response = client.post("/settings/inquiries/line/", {"org_unit": org["HQ"].pk, "default_assignee": agent.pk,
                                                         "channel_secret": "abc", "channel_access_token": "def"})
    assert "default_assignee" in response.context["form"].errors
    assert not LineChannel.objects.for_company(company).exists()
