"""`estatecrm inquiries import-eml --company CODE FILE... [--json]` and `estatecrm inquiries fetch --company CODE`.

import-eml takes each `.eml` file as one inquiry mail (inquiries.mail.take_mail) and counts what
became of it: `created` (a new customer and case), `linked_existing` (a new case of a customer known by
phone or e-mail), `duplicates` (the same mail or inquiry id again), `unmatched` (no source recognized
it; kept for 「取り込めなかった反響」), `failed` (a source recognized it but it could not be read, also kept;
or the file could not be opened). fetch reads new mail from the sources' IMAP mailboxes (inquiries.imap).
"""

import json
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from estatecrm.core.scope import company_scope
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.mail import mail_sources, take_mail
from estatecrm.tenancy.commands import company_by_code

COUNT_KEYS = {InquiryStatus.CREATED.value: "created", InquiryStatus.LINKED_EXISTING.value: "linked_existing", "duplicate": "duplicates",
              InquiryStatus.UNMATCHED.value: "unmatched", InquiryStatus.FAILED.value: "failed"}


class Command(BaseCommand):
    help = "Inquiry intake: take .eml files (import-eml) or fetch new mail from the sources' IMAP mailboxes (fetch)."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        importing = commands.add_parser("import-eml", help="take .eml files as inquiry mails")
        importing.add_argument("files", nargs="+", metavar="FILE")
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
        sources = mail_sources(company.pk)
        for name in options["files"]:
            path = Path(name)
            try:
                raw = path.read_bytes()
            except OSError as error:
                counts["failed"] += 1
                errors.append(f"{name}: {error.strerror or error}")
                continue
            outcome = take_mail(company.pk, raw, channel=Channel.EML, sources=sources)
            counts[COUNT_KEYS[outcome.status]] += 1
        self.report(counts, errors, options["json"])

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
