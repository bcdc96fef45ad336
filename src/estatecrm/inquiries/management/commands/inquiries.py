"""`estatecrm inquiries import-eml --company CODE FILE... [--json]` and `estatecrm inquiries fetch --company CODE`.

import-eml takes each `.eml` file (a directory: its `*.eml` files) as one inquiry mail (what inquiries.mail.take_mail does;
written for a batch of mails at once by inquiries.batch) and counts what
became of it: `created` (a new customer and case), `linked_existing` (a new case of a customer known by
phone or e-mail), `duplicates` (the same mail or inquiry id again), `unmatched` (no source recognized
it; kept for 「取り込めなかった反響」), `failed` (a source recognized it but it could not be read, also kept;
or the file could not be opened). fetch reads new mail from the sources' IMAP mailboxes (inquiries.imap).
"""

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from estatecrm.core.scope import company_scope
from estatecrm.inquiries.batch import take_prepared_batch
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.intake import DUPLICATE, record_unread
from estatecrm.inquiries.mail import PreparedMail, mail_sources, prepare_mail, take_prepared
from estatecrm.inquiries.models import Inquiry
from estatecrm.tenancy.commands import company_by_code

logger = logging.getLogger(__name__)
BATCH = 200
COUNT_KEYS = {InquiryStatus.CREATED.value: "created", InquiryStatus.LINKED_EXISTING.value: "linked_existing", "duplicate": "duplicates",
              InquiryStatus.UNMATCHED.value: "unmatched", InquiryStatus.FAILED.value: "failed"}


class Command(BaseCommand):
    help = "Inquiry intake: take .eml files (import-eml) or fetch new mail from the sources' IMAP mailboxes (fetch)."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        importing = commands.add_parser("import-eml", help="take .eml files as inquiry mails")
        importing.add_argument("files", nargs="+", metavar="FILE", help=".eml files, or directories (their *.eml files)")
        importing.add_argument("--company", required=True)
        importing.add_argument("--json", action="store_true", help="print one JSON object with the counts")
        fetching = commands.add_parser("fetch", help="read new mail from the sources' IMAP mailboxes")
        fetching.add_argument("--company", required=True)
        fetching.add_argument("--json", action="store_true")

    def handle(self, *args, action, **options):
        company = company_by_code(options["company"])
        with company_scope(company):
            getattr(self, "handle_" + action.replace("-", "_"))(company, options)

    def handle_import_eml(self, company, options):
        counts = Counter(dict.fromkeys(COUNT_KEYS.values(), 0))
        errors = []
        paths = []
        for name in options["files"]:
            path = Path(name)
            if path.is_dir():
                found = sorted(child for child in path.glob("*.eml") if child.is_file())
                if not found:
                    errors.append(f"{name}: no .eml files")
                paths.extend(found)
            else:
                paths.append(path)
        sources = mail_sources(company.pk)
        # One transaction per batch of mails (a commit per mail is most of the time on SQLite). The
        # batch's new mails are written together (inquiries.batch: one INSERT per table); on an
        # unexpected error they are taken again one by one, each in its own savepoint, so that one
        # mail's failure leaves the others' outcome.
        for start in range(0, len(paths), BATCH):
            with transaction.atomic():
                for status in self.take_batch(company, paths[start:start + BATCH], sources, errors):
                    counts[COUNT_KEYS[status]] += 1
        self.report(counts, errors, options["json"])

    def take_batch(self, company, paths: list[Path], sources, errors: list[str]):
        """The status of each file. The batch's Message-IDs and inquiry ids are looked up in two
        queries: a mail with a stored one is a duplicate; mails whose ids are new (not stored, not
        earlier in the run) are taken together (inquiries.batch); any other is taken alone as usual
        (and found a duplicate of a mail earlier in the run)."""
        prepared: list[tuple[Path, PreparedMail | None]] = []
        for path in paths:
            try:
                prepared.append((path, prepare_mail(path.read_bytes(), sources)))
            except OSError as error:
                errors.append(f"{path}: {error.strerror or error}")
                prepared.append((path, None))
        inquiries = Inquiry.objects.for_company(company.pk)
        message_ids = {item.message_id for _path, item in prepared if item is not None}
        stored_messages = set(inquiries.filter(message_id__in=message_ids).exclude(message_id="").values_list("message_id", flat=True))
        keys = {item.inquiry_key for _path, item in prepared if item is not None and item.inquiry_key}
        stored_keys = set()
        if keys:
            stored_keys = set(inquiries.filter(source_id__in={key[0] for key in keys}, inquiry_id__in={key[1] for key in keys})
                              .exclude(inquiry_id="").values_list("source_id", "inquiry_id"))
        seen_messages, seen_keys = set(stored_messages), set(stored_keys)
        # Consecutive mails with new ids are taken together (inquiries.batch); a mail that may be a
        # duplicate is taken alone, after the mails before it were written.
        run: list[tuple[Path, PreparedMail]] = []
        for path, item in prepared:
            if item is None:
                yield from self.take_run(company, run, errors)
                run = []
                yield InquiryStatus.FAILED
                continue
            key = item.inquiry_key
            if item.message_id in stored_messages or (key is not None and key in stored_keys):
                # Stored before this batch: what take_prepared would find, without a look-up per mail.
                yield DUPLICATE
                continue
            checked = item.message_id not in seen_messages and (key is None or key not in seen_keys)
            seen_messages.add(item.message_id)
            if key is not None:
                seen_keys.add(key)
            if checked:
                run.append((path, item))
                continue
            yield from self.take_run(company, run, errors)
            run = []
            yield self.take_one(company, path, item, checked, errors)
        yield from self.take_run(company, run, errors)

    def take_run(self, company, run: list[tuple[Path, PreparedMail]], errors: list[str]) -> list[str]:
        """Take mails with new ids at once; on an unexpected error (a race with another delivery, a
        bug) nothing of the batch is kept and each mail is taken alone, so that none is lost."""
        if not run:
            return []
        try:
            with transaction.atomic():
                return take_prepared_batch(company, [item for _path, item in run], channel=Channel.EML)
        except Exception:
            logger.exception("import-eml: a batch of %d mails failed; taking them one by one", len(run))
            return [self.take_one(company, path, item, True, errors) for path, item in run]

    def take_one(self, company, path: Path, item: PreparedMail, checked: bool, errors: list[str]) -> str:
        try:
            with transaction.atomic():
                return take_prepared(company.pk, item, channel=Channel.EML, checked=checked).status
        except Exception as error:  # kept, never dropped: an admin sees it in 「取り込めなかった反響」
            errors.append(f"{path}: {error}")
            return record_unread(company.pk, channel=Channel.EML, status=InquiryStatus.FAILED, raw=item.raw,
                                 message_id="sha256:" + hashlib.sha256(item.raw).hexdigest(), error=str(error)[:1000]).status

    def handle_fetch(self, company, options):
        from estatecrm.inquiries.imap import fetch_mailboxes

        result = fetch_mailboxes(company.pk)
        if result.busy:
            self.stderr.write(f"Another fetch of {company.code}'s mailboxes is under way; it takes the new mail.")
        elif not result.mailboxes:
            raise CommandError(f"No enabled inquiry source of {company.code} has an IMAP host.")
        self.report(result.counts, result.errors, options["json"], failed=result.every_mailbox_failed)

    def report(self, counts: Counter, errors: list[str], as_json: bool, *, failed: bool = False) -> None:
        if as_json:
            self.stdout.write(json.dumps({**counts, "errors": errors}, ensure_ascii=False))
        else:
            self.stdout.write(", ".join(f"{key}: {value}" for key, value in counts.items()))
            for error in errors:
                self.stderr.write(error)
        if failed:
            raise CommandError("No mailbox could be read.")
        if errors and not any(counts[key] for key in ("created", "linked_existing", "duplicates", "unmatched")) and counts["failed"] == len(errors):
            raise CommandError("No mail could be read.")
