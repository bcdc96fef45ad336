"""The worker fetches the inquiry mailboxes every INQUIRY_FETCH_SECONDS: each company with a mailbox,
at most once in that time whichever worker runs it."""

import datetime
import json
import signal
import subprocess
import sys

import pytest
from django.utils import timezone

from estatecrm.core import periodic
from estatecrm.inquiries import imap
from estatecrm.inquiries.choices import ImapSecurity
from estatecrm.inquiries.models import Inquiry, InquirySource, MailFetch
from estatecrm.inquiries.tests.test_imap import SEEN, suumo_mail
from estatecrm.pipeline.testing import start_worker, wait_for, worker_environment


def use_mailbox(source: InquirySource, dovecot, account) -> None:
    source.imap_host, source.imap_port, source.imap_security = "127.0.0.1", dovecot.port, ImapSecurity.NONE
    source.imap_user, source.imap_password = account.user, account.password
    source.save()


def test_the_fetch_is_registered_with_its_setting(settings):
    settings.INQUIRY_FETCH_SECONDS = 120
    job = periodic.JOBS["inquiries.fetch"]
    assert (job.function, job.seconds()) == (imap.fetch_due_mailboxes, 120)
    settings.INQUIRY_FETCH_SECONDS = 0
    assert job.seconds() == 0


@pytest.mark.django_db
def test_the_job_fetches_companies_with_a_mailbox_when_due(suumo, dovecot, other_company, settings):
    # given: acme's SUUMO source has a mailbox with a mail; the other company has no mailbox
    settings.INQUIRY_FETCH_SECONDS = 300
    account = dovecot.add_account()
    use_mailbox(suumo, dovecot, account)
    dovecot.append(account, suumo_mail(1))
    # when
    results = imap.fetch_due_mailboxes()
    # then: only acme was fetched
    assert list(results) == [suumo.company_id]
    assert results[suumo.company_id].counts["created"] == 1
    assert MailFetch.objects.unscoped().filter(company=other_company["company"]).count() == 0
    # when: a new mail, but the last fetch began a minute ago
    dovecot.append(account, suumo_mail(2))
    MailFetch.objects.for_company(suumo.company_id).update(started_at=timezone.now() - datetime.timedelta(seconds=60))
    # then: not due yet
    assert imap.fetch_due_mailboxes() == {}
    assert Inquiry.objects.for_company(suumo.company_id).count() == 1
    # when: five minutes after the last fetch began
    MailFetch.objects.for_company(suumo.company_id).update(started_at=timezone.now() - datetime.timedelta(seconds=300))
    results = imap.fetch_due_mailboxes()
    # then
    assert results[suumo.company_id].counts["created"] == 1
    assert Inquiry.objects.for_company(suumo.company_id).count() == 2


@pytest.mark.django_db
def test_the_job_is_off_at_zero(suumo, dovecot, settings):
    settings.INQUIRY_FETCH_SECONDS = 0
    account = dovecot.add_account()
    use_mailbox(suumo, dovecot, account)
    dovecot.append(account, suumo_mail(1))
    assert imap.fetch_due_mailboxes() == {}
    assert Inquiry.objects.for_company(suumo.company_id).count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_fetches_new_mail_every_few_seconds(suumo, dovecot, tmp_path):
    # given: a worker that fetches every second
    account = dovecot.add_account()
    use_mailbox(suumo, dovecot, account)
    first = dovecot.append(account, suumo_mail(1))
    environment = dict(worker_environment(), INQUIRY_FETCH_SECONDS="1")
    worker = start_worker(environment, tmp_path / "worker.log")
    try:
        # then: the mail waiting becomes an inquiry and is marked seen
        assert wait_for(lambda: Inquiry.objects.for_company(suumo.company_id).count() == 1, timeout=60), (tmp_path / "worker.log").read_text()
        assert wait_for(lambda: SEEN in dovecot.flags(account)[first], timeout=10)
        # when: another mail arrives while it runs
        second = dovecot.append(account, suumo_mail(2))
        # then: a later turn takes it
        assert wait_for(lambda: Inquiry.objects.for_company(suumo.company_id).count() == 2, timeout=60), (tmp_path / "worker.log").read_text()
        assert wait_for(lambda: SEEN in dovecot.flags(account)[second], timeout=10)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    suumo.refresh_from_db()
    assert suumo.last_fetch_error == ""
    lease = MailFetch.objects.for_company(suumo.company_id).get()
    assert lease.holder == ""


@pytest.mark.django_db(transaction=True)
def test_two_fetches_at_once_take_each_mail_once(suumo, dovecot, tmp_path):
    # given: 60 mails, and two `inquiries fetch` processes started together (a cron job and a worker, say)
    account = dovecot.add_account()
    use_mailbox(suumo, dovecot, account)
    dovecot.append_many(account, [suumo_mail(number, name=f"顧客 {number}") for number in range(1, 61)])
    environment = worker_environment()
    command = [sys.executable, "-m", "estatecrm", "inquiries", "fetch", "--company", "acme", "--json"]
    processes = [subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [process.communicate(timeout=180) for process in processes]
    # then: both succeed; together they created each case once, and nobody met a mail twice
    assert [process.returncode for process in processes] == [0, 0], outputs
    results = [json.loads(stdout) for stdout, _stderr in outputs]
    assert sum(result["created"] for result in results) == 60
    assert [result["duplicates"] for result in results] == [0, 0]
    assert Inquiry.objects.for_company(suumo.company_id).count() == 60
    assert all(SEEN in flags for flags in dovecot.flags(account).values())
