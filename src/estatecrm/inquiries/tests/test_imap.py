"""`estatecrm inquiries fetch` against a real IMAP server (dovecot, started by the tests): each new mail
becomes a case once and is marked seen only after it is stored."""

import datetime
import imaplib
import io
import json
import socket
from email.message import EmailMessage

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Case, Customer
from estatecrm.inquiries import imap, intake
from estatecrm.inquiries.choices import Channel, ImapSecurity, InquiryStatus, Preset
from estatecrm.inquiries.models import Inquiry, InquirySource, MailFetch

SEEN = "\\Seen"


def suumo_mail(number: int, *, message_id: str | None = None, name: str = "山田 花子") -> bytes:
    message = EmailMessage()
    message["From"] = "SUUMO <info@jds.suumo.jp>"
    message["To"] = "shibuya@acme.example.jp"
    message["Subject"] = "[リクルートJDS]反響お知らせメール"
    message["Message-ID"] = message_id or f"<imap-{number}@jds.suumo.jp>"
    message["Date"] = "Sun, 06 Dec 2026 10:15:00 +0900"
    message.set_content(f"""\
■問合せ物件
物件名：パークハイツ渋谷 {300 + number}
■お客様プロフィール
名前(漢字)：{name}
メールアドレス：customer{number}@example.jp
TEL：090-1234-{number:04d}
お問合せ内容：
内見できますか。
""", charset="iso-2022-jp")
    return message.as_bytes()


def website_mail(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = "form@acme.example.jp"
    message["To"] = "shibuya@acme.example.jp"
    message["Subject"] = "ホームページからのお問い合わせ"
    message["Message-ID"] = f"<web-{number}@acme.example.jp>"
    message.set_content(f"お名前：佐藤 次郎\nメールアドレス：web{number}@example.jp\nお問い合わせ内容：\n資料をください。\n", charset="utf-8")
    return message.as_bytes()


def stray_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "newsletter@shop.example.com"
    message["Subject"] = "今週のセール"
    message["Message-ID"] = "<sale-1@shop.example.com>"
    message.set_content("セールのお知らせです。", charset="utf-8")
    return message.as_bytes()


def use_mailbox(source: InquirySource, dovecot, account, *, security=ImapSecurity.NONE, port=None, folder="INBOX", password=None) -> None:
    source.imap_host, source.imap_port, source.imap_security = "127.0.0.1", port or dovecot.port, security
    source.imap_user, source.imap_password, source.imap_folder = account.user, password or account.password, folder
    source.save()


def fetch(*arguments) -> dict:
    out = io.StringIO()
    call_command("inquiries", "fetch", "--company", "acme", "--json", *arguments, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def counts(created=0, linked_existing=0, duplicates=0, unmatched=0, failed=0, errors=()) -> dict:
    return {"created": created, "linked_existing": linked_existing, "duplicates": duplicates, "unmatched": unmatched, "failed": failed,
            "errors": list(errors)}


@pytest.fixture
def account(dovecot):
    return dovecot.add_account()


@pytest.fixture
def suumo_box(suumo, dovecot, account):
    use_mailbox(suumo, dovecot, account)
    return suumo


def test_new_mails_become_cases_and_are_seen_afterwards(suumo_box, dovecot, account, agent):
    # given: two SUUMO mails delivered to the source's mailbox
    first = dovecot.append(account, suumo_mail(1))
    second = dovecot.append(account, suumo_mail(2, name="鈴木 一郎"))
    assert dovecot.flags(account) == {first: {"\\Recent"}, second: {"\\Recent"}}
    # when
    result = fetch()
    # then: two cases in the source's unit, for its assignee, and both mails marked seen
    assert result == counts(created=2)
    inquiries = Inquiry.objects.for_company(suumo_box.company_id).order_by("pk")
    assert [(inquiry.channel, inquiry.status, inquiry.message_id) for inquiry in inquiries] == [
        (Channel.IMAP, InquiryStatus.CREATED, "imap-1@jds.suumo.jp"), (Channel.IMAP, InquiryStatus.CREATED, "imap-2@jds.suumo.jp")]
    cases = Case.objects.for_company(suumo_box.company_id).filter(inquiries__in=inquiries).order_by("pk")
    assert [(case.customer.name, case.owning_org_id, case.main_assignee_id) for case in cases] == [
        ("山田 花子", suumo_box.org_unit_id, agent.pk), ("鈴木 一郎", suumo_box.org_unit_id, agent.pk)]
    assert all(SEEN in flags for flags in dovecot.flags(account).values())
    suumo_box.refresh_from_db()
    assert suumo_box.last_fetch_error == ""
    assert timezone.now() - suumo_box.last_fetched_at < datetime.timedelta(minutes=1)


def test_a_second_fetch_takes_nothing(suumo_box, dovecot, account):
    # given: a mail already fetched
    dovecot.append(account, suumo_mail(1))
    assert fetch() == counts(created=1)
    # when
    result = fetch()
    # then
    assert result == counts()
    assert Inquiry.objects.for_company(suumo_box.company_id).count() == 1


def test_a_mail_delivered_again_with_the_same_message_id_is_a_duplicate(suumo_box, dovecot, account):
    # given: a fetched mail, then the same mail delivered again (a new, unseen copy)
    dovecot.append(account, suumo_mail(1))
    assert fetch() == counts(created=1)
    again = dovecot.append(account, suumo_mail(1))
    # when
    result = fetch()
    # then: nothing new, and the copy is marked seen too
    assert result == counts(duplicates=1)
    assert Inquiry.objects.for_company(suumo_box.company_id).count() == 1
    assert Case.objects.for_company(suumo_box.company_id).count() == 1
    assert SEEN in dovecot.flags(account)[again]


def test_a_mail_no_source_recognizes_goes_to_the_inbox_and_is_seen(suumo_box, dovecot, account):
    # given
    uid = dovecot.append(account, stray_mail())
    # when
    result = fetch()
    # then: kept for 「取り込めなかった反響」 with its raw mail; it is stored, so it is marked seen
    assert result == counts(unmatched=1)
    inquiry = Inquiry.objects.for_company(suumo_box.company_id).get()
    assert (inquiry.status, inquiry.channel, inquiry.subject, inquiry.case_id) == (InquiryStatus.UNMATCHED, Channel.IMAP, "今週のセール", None)
    assert bytes(inquiry.raw) == stray_mail().replace(b"\n", b"\r\n")
    assert SEEN in dovecot.flags(account)[uid]


def test_a_wrong_password_is_recorded_on_the_source_and_nothing_is_marked(suumo, dovecot, account):
    # given: the source's password is wrong
    use_mailbox(suumo, dovecot, account, password="not-the-password")
    uid = dovecot.append(account, suumo_mail(1))
    # when
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="No mailbox could be read"):
        call_command("inquiries", "fetch", "--company", "acme", stdout=out, stderr=err)
    # then
    suumo.refresh_from_db()
    assert suumo.last_fetch_error == (f"The IMAP server refused the login of {account.user}: [AUTHENTICATIONFAILED] Authentication failed.")
    assert suumo.last_fetched_at is not None
    assert err.getvalue() == f"{account.user}@127.0.0.1:{dovecot.port}/INBOX: {suumo.last_fetch_error}\n"
    assert out.getvalue() == "created: 0, linked_existing: 0, duplicates: 0, unmatched: 0, failed: 0\n"
    assert Inquiry.objects.for_company(suumo.company_id).count() == 0
    assert dovecot.flags(account) == {uid: {"\\Recent"}}


def test_a_mail_that_cannot_be_stored_stays_unseen_and_the_next_fetch_takes_it(suumo_box, dovecot, account, monkeypatch):
    # given: three mails, and the database fails while the second one's case is written
    uids = [dovecot.append(account, suumo_mail(number)) for number in (1, 2, 3)]
    real = intake.record_inquiry_activity
    calls = []

    def failing_once(case, **kwargs):
        calls.append(case.pk)
        if len(calls) == 2:
            raise OperationalError("database is locked")
        return real(case, **kwargs)

    monkeypatch.setattr(intake, "record_inquiry_activity", failing_once)
    # when
    result = fetch()
    # then: the second mail wrote nothing (its customer and case rolled back) and stays unseen
    assert result == counts(created=2, failed=1, errors=[
        f"{account.user}@127.0.0.1:{dovecot.port}/INBOX: mail {uids[1]} could not be stored and stays unread for the next fetch: "
        "database is locked"])
    assert sorted(Inquiry.objects.for_company(suumo_box.company_id).values_list("message_id", flat=True)) == [
        "imap-1@jds.suumo.jp", "imap-3@jds.suumo.jp"]
    with company_scope(suumo_box.company_id):
        assert Customer.objects.count() == 2
        assert Case.objects.count() == 2
    flags = dovecot.flags(account)
    assert [SEEN in flags[uid] for uid in uids] == [True, False, True]
    suumo_box.refresh_from_db()
    assert suumo_box.last_fetch_error == "1 mail could not be stored; it stays unread and the next fetch takes it."
    # when: the next fetch, the database well again
    monkeypatch.setattr(intake, "record_inquiry_activity", real)
    assert fetch() == counts(created=1)
    # then
    assert all(SEEN in flags for flags in dovecot.flags(account).values())
    assert Inquiry.objects.for_company(suumo_box.company_id).count() == 3
    suumo_box.refresh_from_db()
    assert suumo_box.last_fetch_error == ""


def test_sources_sharing_a_mailbox_read_it_once(suumo_box, company, org, dovecot, account, monkeypatch):
    # given: the website's mail arrives in the same mailbox as SUUMO's
    website = InquirySource.objects.create(company=company, code="web", name="ホームページ", preset=Preset.WEBSITE, org_unit=org["HQ"],
                                           position=1, subject_contains="ホームページ")
    use_mailbox(website, dovecot, account)
    dovecot.append(account, suumo_mail(1))
    dovecot.append(account, website_mail(1))
    connections = []
    real_connect = imap.connect
    monkeypatch.setattr(imap, "connect", lambda mailbox: connections.append(mailbox.name) or real_connect(mailbox))
    # when
    result = fetch()
    # then: one connection; each mail went to the source recognizing it; both sources note the fetch
    assert result == counts(created=2)
    assert connections == [f"{account.user}@127.0.0.1:{dovecot.port}/INBOX"]
    by_source = dict(Inquiry.objects.for_company(company).values_list("message_id", "source__code"))
    assert by_source == {"imap-1@jds.suumo.jp": "suumo", "web-1@acme.example.jp": "web"}
    assert all(source.last_fetched_at is not None for source in InquirySource.objects.for_company(company))


def test_a_missing_folder_fails_that_mailbox_only(suumo_box, company, org, dovecot, account):
    # given: a second source whose folder does not exist
    other = dovecot.add_account()
    website = InquirySource.objects.create(company=company, code="web", name="ホームページ", preset=Preset.WEBSITE, org_unit=org["HQ"],
                                           position=1, subject_contains="ホームページ")
    use_mailbox(website, dovecot, other, folder="反響メール")
    dovecot.append(account, suumo_mail(1))
    # when
    result = fetch()
    # then: SUUMO's mailbox was read; the website's error is recorded, and the command succeeds
    website.refresh_from_db()
    assert website.last_fetch_error == "The folder 反響メール cannot be opened: Mailbox doesn't exist: 反響メール."
    assert result == counts(created=1, errors=[f"{other.user}@127.0.0.1:{dovecot.port}/反響メール: {website.last_fetch_error}"])
    suumo_box.refresh_from_db()
    assert suumo_box.last_fetch_error == ""


def test_a_folder_with_a_japanese_name_is_read(suumo, dovecot, account):
    # given: the mail is filed in the folder 反響 (modified UTF-7 on the wire)
    client = dovecot.client(account)
    assert client.create(imap.folder_argument("反響"))[0] == "OK"
    client.logout()
    dovecot.append(account, suumo_mail(1), folder=imap.folder_argument("反響"))
    use_mailbox(suumo, dovecot, account, folder="反響")
    # when / then
    assert fetch() == counts(created=1)


def test_folder_names_are_modified_utf7_and_quoted():
    # The example of RFC 3501 5.1.3, then 反響, "&" and a quote
    assert imap.folder_argument("~peter/mail/台北/日本語") == '"~peter/mail/&U,BTFw-/&ZeVnLIqe-"'
    assert imap.folder_argument("反響") == '"&U82X,w-"'
    assert imap.folder_argument('A&B "x"') == r'"A&-B \"x\""'


@pytest.mark.parametrize("security", [ImapSecurity.SSL, ImapSecurity.STARTTLS])
def test_tls_connections_verify_the_certificate(suumo, dovecot, account, settings, security):
    # given: the server's certificate is self-signed
    port = dovecot.ssl_port if security == ImapSecurity.SSL else dovecot.port
    use_mailbox(suumo, dovecot, account, security=security, port=port)
    dovecot.append(account, suumo_mail(1))
    # when: its certificate is not trusted
    with pytest.raises(CommandError):
        fetch()
    suumo.refresh_from_db()
    assert "CERTIFICATE_VERIFY_FAILED" in suumo.last_fetch_error
    # when: it is (INQUIRY_IMAP_CA_FILE)
    settings.INQUIRY_IMAP_CA_FILE = str(dovecot.certificate)
    assert fetch() == counts(created=1)
    suumo.refresh_from_db()
    assert suumo.last_fetch_error == ""


def test_a_server_that_does_not_answer_is_an_error(suumo, dovecot, account):
    # given: nothing listens on the port
    port = imap_free_port()
    use_mailbox(suumo, dovecot, account, port=port)
    # when
    with pytest.raises(CommandError):
        fetch()
    # then
    suumo.refresh_from_db()
    assert suumo.last_fetch_error.startswith(f"Could not connect to 127.0.0.1:{port}: ")


def imap_free_port() -> int:
    from estatecrm.inquiries.tests.dovecot import free_ports

    return free_ports(1)[0]


def test_a_large_mailbox_is_read_in_chunks(suumo_box, dovecot, account, monkeypatch):
    # given: 7 mails read 3 at a time
    monkeypatch.setattr(imap, "CHUNK", 3)
    for number in range(1, 8):
        dovecot.append(account, suumo_mail(number, name=f"顧客 {number}"))
    fetched = []
    real_fetch_chunk = imap.fetch_chunk
    monkeypatch.setattr(imap, "fetch_chunk", lambda client, mailbox, uids: fetched.append(len(uids)) or real_fetch_chunk(client, mailbox, uids))
    # when
    result = fetch()
    # then
    assert result == counts(created=7)
    assert fetched == [3, 3, 1]
    assert all(SEEN in flags for flags in dovecot.flags(account).values())


def test_only_one_fetch_per_company_at_a_time(suumo_box, dovecot, account):
    # given: another fetch holds the company's lease
    uid = dovecot.append(account, suumo_mail(1))
    other = imap.Lease.take(suumo_box.company_id)
    assert other is not None
    # when
    out, err = io.StringIO(), io.StringIO()
    call_command("inquiries", "fetch", "--company", "acme", stdout=out, stderr=err)
    # then: this one read nothing and says why (not an error: the other fetch takes the mail)
    assert err.getvalue() == "Another fetch of acme's mailboxes is under way; it takes the new mail.\n"
    assert Inquiry.objects.for_company(suumo_box.company_id).count() == 0
    assert dovecot.flags(account) == {uid: {"\\Recent"}}
    assert imap.Lease.take(suumo_box.company_id) is None
    # when: the other fetch ends
    other.release()
    assert fetch() == counts(created=1)


def test_the_lease_of_a_fetch_that_died_expires(suumo_box, dovecot, account):
    # given: a lease left by a process that died, past its time
    imap.Lease.take(suumo_box.company_id)
    MailFetch.objects.for_company(suumo_box.company_id).update(held_until=timezone.now() - datetime.timedelta(seconds=1))
    dovecot.append(account, suumo_mail(1))
    # when / then
    assert fetch() == counts(created=1)
    lease = MailFetch.objects.for_company(suumo_box.company_id).get()
    assert (lease.holder, lease.held_until) == ("", None)


def test_a_company_without_a_mailbox_is_told_so(suumo):
    with pytest.raises(CommandError, match="No enabled inquiry source of acme has an IMAP host"):
        fetch()


def test_a_fetch_reads_only_its_company(suumo_box, dovecot, account, other_company):
    # given: the other company's source reads another mailbox
    other_account = dovecot.add_account()
    other_source = InquirySource.objects.create(company=other_company["company"], code="suumo", name="SUUMO", preset=Preset.SUUMO,
                                                org_unit=other_company["unit"], from_contains="jds.suumo.jp")
    use_mailbox(other_source, dovecot, other_account)
    other_uid = dovecot.append(other_account, suumo_mail(9))
    dovecot.append(account, suumo_mail(1))
    # when
    assert fetch() == counts(created=1)
    # then
    assert Inquiry.objects.for_company(other_company["company"]).count() == 0
    assert dovecot.flags(other_account) == {other_uid: {"\\Recent"}}


def test_a_mail_stored_but_not_marked_is_a_duplicate_next_time_and_marked_then(suumo_box, dovecot, account, monkeypatch):
    # given: the connection breaks after the mail was stored, before it was marked seen
    uid = dovecot.append(account, suumo_mail(1))

    def broken(client, mailbox, uids):
        raise imap.MailboxError("The connection to the server failed: EOF")

    monkeypatch.setattr(imap, "mark_seen", broken)
    with pytest.raises(CommandError):
        fetch()
    assert Inquiry.objects.for_company(suumo_box.company_id).count() == 1
    assert SEEN not in dovecot.flags(account)[uid]
    # when: the next fetch
    monkeypatch.undo()
    result = fetch()
    # then: taken once, and now marked
    assert result == counts(duplicates=1)
    assert Inquiry.objects.for_company(suumo_box.company_id).count() == 1
    assert SEEN in dovecot.flags(account)[uid]


def test_a_server_that_never_answers_times_out(suumo, dovecot, account, monkeypatch):
    # given: a port that accepts connections and never says a word
    monkeypatch.setattr(imap, "TIMEOUT_SECONDS", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        use_mailbox(suumo, dovecot, account, port=silent.getsockname()[1])
        # when
        with pytest.raises(CommandError):
            fetch()
    # then
    suumo.refresh_from_db()
    assert suumo.last_fetch_error == f"Could not connect to 127.0.0.1:{suumo.imap_port}: timed out"


def test_server_answers_are_read_without_dovecots_timings():
    assert imap.describe([b"Mailbox doesn't exist: Nope (0.001 + 0.000 secs)."]) == "Mailbox doesn't exist: Nope."
    assert imap.describe(imaplib.IMAP4.error(b"[AUTHENTICATIONFAILED] Authentication failed.")) == (
        "[AUTHENTICATIONFAILED] Authentication failed.")
    assert imap.describe(TimeoutError()) == "TimeoutError"
