"""Inquiry mail from the sources' IMAP mailboxes: `estatecrm inquiries fetch --company CODE`, and every
worker every INQUIRY_FETCH_SECONDS (a periodic job, core/periodic.py, registered in apps.py).

A fetch reads each mailbox of the company's enabled sources that have an IMAP host; sources with the
same host, port, user and folder share one mailbox, read once. It connects (TLS per `imap_security`,
with a timeout), logs in, selects the folder, searches UNSEEN and fetches those mails in chunks with
BODY.PEEK[] (reading marks nothing). Each mail is taken by `mail.take_mail`, which commits it and is
idempotent by Message-ID (by the SHA-256 of a mail without one); only then is it marked \\Seen. So a
mail that could not be stored stays unseen and the next fetch takes it, and a mail stored but not
marked (the connection lost in between) is a duplicate next time, and marked then.

A mailbox that fails (connection, TLS, login, a folder that does not exist) is recorded on its
sources (`last_fetch_error`, `last_fetched_at`) and reported; the other mailboxes are still read.
One fetch per company at a time, whoever starts it (workers, cron): the `MailFetch` lease.
"""

import base64
import datetime
import imaplib
import logging
import re
import secrets
import ssl
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from estatecrm.core.scope import company_scope
from estatecrm.inquiries.choices import Channel, ImapSecurity
from estatecrm.inquiries.mail import mail_sources, take_mail
from estatecrm.inquiries.models import InquirySource, MailFetch

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 60
# Mails fetched per IMAP command: a large mailbox is read a few mails at a time, each committed.
CHUNK = 20
# A fetch renews its lease after every chunk; a fetch whose process died blocks the next one this long.
LEASE_SECONDS = 300
DEFAULT_PORTS = {ImapSecurity.SSL: 993, ImapSecurity.STARTTLS: 143, ImapSecurity.NONE: 143}
# The counts of `inquiries fetch`, as import-eml's: created, linked_existing, duplicates, unmatched, failed.
COUNT_KEYS = ("created", "linked_existing", "duplicates", "unmatched", "failed")
UID = re.compile(rb"\bUID (\d+)")
SERVER_TIMING = re.compile(r"\s*\([\d.]+ \+ [\d.]+(?: \+ [\d.]+)* secs\)(?=\.?$)")


class MailboxError(Exception):
    """A mailbox could not be read (the message is translated, for the source's last fetch error)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LeaseLost(Exception):
    """Another fetch took the company's lease over (this one was too slow to renew it): stop."""


@dataclass
class Mailbox:
    """One IMAP folder, and the sources whose mail arrives there."""

    host: str
    port: int
    security: str
    user: str
    password: str
    folder: str
    sources: list[InquirySource] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


@dataclass
class FetchResult:
    counts: Counter
    errors: list[str]
    mailboxes: int = 0
    failed_mailboxes: int = 0
    # Another fetch of the company was under way (or, for the worker, one began within the period): nothing read.
    busy: bool = False

    @property
    def every_mailbox_failed(self) -> bool:
        return self.mailboxes > 0 and self.failed_mailboxes == self.mailboxes


def mailboxes_of(sources: list[InquirySource]) -> list[Mailbox]:
    """The mailboxes of the enabled sources that have an IMAP host (one per host, port, user and folder)."""
    found: dict[tuple, Mailbox] = {}
    for source in sources:
        host = source.imap_host.strip()
        if not source.is_enabled or not host:
            continue
        port = source.imap_port or DEFAULT_PORTS.get(source.imap_security, 993)
        folder = source.imap_folder.strip() or "INBOX"
        key = (host.lower(), port, source.imap_user, folder)
        if key not in found:
            found[key] = Mailbox(host=host, port=port, security=source.imap_security, user=source.imap_user,
                                 password=source.imap_password, folder=folder)
        found[key].sources.append(source)
    return list(found.values())


# ---------------------------------------------------------------------------------------------
# The lease: one fetch per company at a time


class Lease:
    def __init__(self, company_id: int, holder: str):
        self.company_id, self.holder = company_id, holder

    @classmethod
    def take(cls, company_id: int, *, not_since: datetime.datetime | None = None) -> "Lease | None":
        """The company's lease, or None when another fetch holds it (or, with `not_since`, when a fetch
        started after that time: the worker's schedule). A compare-and-set update: of two at once, one wins."""
        rows = MailFetch.objects.for_company(company_id)
        if not rows.exists():
            MailFetch.objects.bulk_create([MailFetch(company_id=company_id)], ignore_conflicts=True)
        now = timezone.now()
        free = Q(held_until__isnull=True) | Q(held_until__lt=now)
        if not_since is not None:
            free &= Q(started_at__isnull=True) | Q(started_at__lte=not_since)
        holder = secrets.token_hex(16)
        if rows.filter(free).update(holder=holder, held_until=now + datetime.timedelta(seconds=LEASE_SECONDS), started_at=now):
            return cls(company_id, holder)
        return None

    def _rows(self):
        return MailFetch.objects.for_company(self.company_id).filter(holder=self.holder)

    def renew(self) -> None:
        if not self._rows().update(held_until=timezone.now() + datetime.timedelta(seconds=LEASE_SECONDS)):
            raise LeaseLost(self.holder)

    def release(self) -> None:
        self._rows().update(holder="", held_until=None, finished_at=timezone.now())


# ---------------------------------------------------------------------------------------------
# Fetching


def fetch_company(company_id: int) -> tuple[Counter, list[str]]:
    """Fetch the company's mailboxes now (`inquiries fetch`): (counts, errors)."""
    result = fetch_mailboxes(company_id)
    return result.counts, result.errors


def fetch_mailboxes(company_id: int, *, not_since: datetime.datetime | None = None) -> FetchResult:
    """Read new mail from every mailbox of the company (see the module). Nothing happens when another
    fetch of the company holds the lease (`busy`), or, with `not_since`, when one started after it."""
    result = FetchResult(counts=Counter(dict.fromkeys(COUNT_KEYS, 0)), errors=[])
    with company_scope(company_id):
        lease = Lease.take(company_id, not_since=not_since)
        if lease is None:
            result.busy = True
            return result
        try:
            sources = mail_sources(company_id)
            mailboxes = mailboxes_of(sources)
            result.mailboxes = len(mailboxes)
            for mailbox in mailboxes:
                error, lease_lost, unstored = "", False, 0
                try:
                    unstored = read_mailbox(company_id, mailbox, sources, result, lease)
                    if unstored:
                        error = ngettext("%(count)d mail could not be stored; it stays unread and the next fetch takes it.",
                                         "%(count)d mails could not be stored; they stay unread and the next fetch takes them.",
                                         unstored) % {"count": unstored}
                except MailboxError as failure:
                    error = failure.message
                except LeaseLost:
                    lease_lost = True
                    error = _("Another fetch took over this company's mailboxes; this one stopped.")
                except Exception as failure:
                    logger.exception("company %s: reading mailbox %s failed", company_id, mailbox.name)
                    error = _("The mailbox could not be read: %(error)s") % {"error": str(failure)[:300]}
                if error and not unstored:
                    result.failed_mailboxes += 1
                    result.errors.append(f"{mailbox.name}: {error}")
                record_fetch(company_id, mailbox, error)
                if lease_lost:
                    break
        finally:
            lease.release()
    return result


def record_fetch(company_id: int, mailbox: Mailbox, error: str) -> None:
    """Note on the mailbox's sources when it was read last, and how that went (empty: fine)."""
    InquirySource.objects.for_company(company_id).filter(pk__in=[source.pk for source in mailbox.sources]).update(
        last_fetched_at=timezone.now(), last_fetch_error=error[:2000])


def read_mailbox(company_id: int, mailbox: Mailbox, sources: list[InquirySource], result: FetchResult, lease: Lease) -> int:
    """Take the mailbox's unseen mails into `result`; return how many could not be stored (left unseen)."""
    client = connect(mailbox)
    unstored = 0
    try:
        uids = unseen(client, mailbox)
        for start in range(0, len(uids), CHUNK):
            lease.renew()
            stored = []
            for uid, raw in fetch_chunk(client, mailbox, uids[start:start + CHUNK]):
                try:
                    outcome = take_mail(company_id, raw, channel=Channel.IMAP, sources=sources)
                except Exception as failure:
                    # Not stored (a database failure): the mail stays unseen, and the next fetch takes it.
                    logger.exception("company %s: mail %s of %s could not be stored", company_id, uid.decode(), mailbox.name)
                    result.counts["failed"] += 1
                    unstored += 1
                    result.errors.append(_("%(mailbox)s: mail %(uid)s could not be stored and stays unread for the next fetch: %(error)s")
                                         % {"mailbox": mailbox.name, "uid": uid.decode(), "error": str(failure)[:300]})
                    continue
                result.counts["duplicates" if outcome.status == "duplicate" else outcome.status] += 1
                stored.append(uid)
            if stored:
                mark_seen(client, mailbox, stored)
    finally:
        disconnect(client)
    return unstored


def tls_context() -> ssl.SSLContext:
    """Certificates are verified (the system's authorities, and INQUIRY_IMAP_CA_FILE's when set)."""
    context = ssl.create_default_context()
    if settings.INQUIRY_IMAP_CA_FILE:
        context.load_verify_locations(cafile=settings.INQUIRY_IMAP_CA_FILE)
    return context


def connect(mailbox: Mailbox) -> imaplib.IMAP4:
    """A logged-in connection with the mailbox's folder selected; MailboxError when that fails."""
    server = f"{mailbox.host}:{mailbox.port}"
    try:
        if mailbox.security == ImapSecurity.SSL:
            client = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=tls_context(), timeout=TIMEOUT_SECONDS)
        else:
            client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(_("Could not connect to %(server)s: %(error)s") % {"server": server, "error": describe(error)}) from error
    try:
        if mailbox.security == ImapSecurity.STARTTLS:
            try:
                client.starttls(tls_context())
            except (OSError, imaplib.IMAP4.error) as error:
                raise MailboxError(_("Could not start TLS (STARTTLS) with %(server)s: %(error)s")
                                   % {"server": server, "error": describe(error)}) from error
        try:
            client.login(mailbox.user, mailbox.password)
        except (imaplib.IMAP4.error, UnicodeError) as error:
            raise MailboxError(_("The IMAP server refused the login of %(user)s: %(error)s")
                               % {"user": mailbox.user, "error": describe(error)}) from error
        status, data = client.select(folder_argument(mailbox.folder))
        if status != "OK":
            raise MailboxError(_("The folder %(folder)s cannot be opened: %(error)s") % {"folder": mailbox.folder, "error": describe(data)})
    except MailboxError:
        disconnect(client)
        raise
    except (OSError, imaplib.IMAP4.error) as error:
        disconnect(client)
        raise MailboxError(_("The connection to %(server)s failed: %(error)s") % {"server": server, "error": describe(error)}) from error
    return client


def disconnect(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        try:
            client.shutdown()
        except OSError:
            pass


def _checked(mailbox: Mailbox, call, *args):
    """An IMAP command that must answer OK; a refusal or a broken connection is a MailboxError."""
    try:
        status, data = call(*args)
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(_("The connection to %(server)s failed: %(error)s") % {"server": f"{mailbox.host}:{mailbox.port}",
                                                                                 "error": describe(error)}) from error
    if status != "OK":
        raise MailboxError(_("The IMAP server refused %(command)s: %(error)s") % {"command": " ".join(map(str, args[:1])), "error": describe(data)})
    return data


def unseen(client: imaplib.IMAP4, mailbox: Mailbox) -> list[bytes]:
    """The UIDs of the folder's unseen mails, oldest first."""
    data = _checked(mailbox, client.uid, "SEARCH", "UNSEEN")
    return sorted((uid for line in data if line for uid in line.split()), key=int)


def fetch_chunk(client: imaplib.IMAP4, mailbox: Mailbox, uids: list[bytes]) -> list[tuple[bytes, bytes]]:
    """(UID, raw mail) of these UIDs, without marking them seen (BODY.PEEK[])."""
    data = _checked(mailbox, client.uid, "FETCH", b",".join(uids).decode(), "(BODY.PEEK[])")
    wanted = set(uids)
    mails, pending = [], None
    for item in data:
        if isinstance(item, tuple):
            head, raw = item
            match = UID.search(head)
            if match is None:
                pending = raw  # the server sent UID after the mail: it is in the next item
                continue
            if match.group(1) in wanted:
                mails.append((match.group(1), raw))
        elif isinstance(item, bytes) and pending is not None:
            match = UID.search(item)
            if match is not None and match.group(1) in wanted:
                mails.append((match.group(1), pending))
            pending = None
    return mails


def mark_seen(client: imaplib.IMAP4, mailbox: Mailbox, uids: list[bytes]) -> None:
    _checked(mailbox, client.uid, "STORE", b",".join(uids).decode(), "+FLAGS.SILENT", "(\\Seen)")


def describe(error) -> str:
    """A server's answer or an exception as one readable line."""
    parts = error.args if isinstance(error, BaseException) else error
    if not isinstance(parts, list | tuple):
        parts = [parts]
    text = " ".join(part.decode(errors="replace") if isinstance(part, bytes) else str(part) for part in parts if part is not None)
    # Dovecot appends how long a command took ("(0.001 + 0.000 secs)."): it would make each error new.
    text = SERVER_TIMING.sub("", text).strip()
    return (text or type(error).__name__)[:300]


def folder_argument(folder: str) -> str:
    """The folder's name as an IMAP argument: modified UTF-7 (RFC 3501 5.1.3, so 反響 works), quoted."""
    encoded, pending = [], []

    def flush():
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            encoded.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for character in folder:
        if 0x20 <= ord(character) <= 0x7E:
            flush()
            encoded.append("&-" if character == "&" else character)
        else:
            pending.append(character)
    flush()
    return '"' + "".join(encoded).replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------
# The worker's job


def fetch_due_mailboxes() -> dict[int, FetchResult]:
    """Every worker, every INQUIRY_FETCH_SECONDS: fetch each company that has a source with an IMAP
    host and whose last fetch began that long ago (whichever worker or cron ran it). Returns the
    results of the companies fetched."""
    seconds = settings.INQUIRY_FETCH_SECONDS
    if seconds <= 0:
        return {}
    # The worker serves every company: which ones have a mailbox to read.
    company_ids = list(InquirySource.objects.unscoped().filter(is_enabled=True).exclude(imap_host="")
                       .order_by("company_id").values_list("company_id", flat=True).distinct())
    # A tenth of slack: this worker's next turn comes `seconds` after its last, which began a moment
    # before the fetch noted its start; without it, every other turn would find the company not yet due.
    not_since = timezone.now() - datetime.timedelta(seconds=seconds * 0.9)
    results = {}
    for company_id in company_ids:
        try:
            result = fetch_mailboxes(company_id, not_since=not_since)
        except Exception:
            logger.exception("company %s: fetching inquiry mail failed", company_id)
            continue
        if result.busy:
            continue
        results[company_id] = result
        if result.errors or any(result.counts.values()):
            logger.info("company %s: inquiry mail fetched %s%s", company_id, dict(result.counts),
                        "; errors: " + " | ".join(result.errors) if result.errors else "")
    return results
