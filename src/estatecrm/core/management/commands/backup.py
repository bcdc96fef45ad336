"""`estatecrm backup OUT [--force] [--json]`: the database and MEDIA_ROOT in one archive, while the site runs."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from estatecrm.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = "Write a consistent backup of the database and every stored file into one archive (docs/setup.md)."

    def add_arguments(self, parser):
        parser.add_argument("out", help="the archive file to write (.tar.gz)")
        parser.add_argument("--force", action="store_true", help="replace OUT when it exists")
        parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    def handle(self, *args, out, force, json: bool = False, **options):
        try:
            summary = create_backup(out, force=force)
        except BackupError as error:
            raise CommandError(error.message) from None
        if json:
            self.stdout.write(dumps(summary.as_dict()))
            return
        self.stdout.write(_("Backup written to %(path)s (%(archive)d bytes): %(vendor)s database of %(database)d bytes, "
                            "files: %(count)d (%(bytes)d bytes).") % {
            "path": summary.path, "archive": summary.archive_bytes, "vendor": summary.vendor, "database": summary.database_bytes,
            "count": summary.file_count, "bytes": summary.file_bytes})
        if summary.missing_files:
            self.stderr.write(_("Files that database rows name but MEDIA_ROOT lacked: %(count)d, e.g. %(name)s.")
                              % {"count": len(summary.missing_files), "name": summary.missing_files[0]})
        if summary.skipped_entries:
            self.stderr.write(_("Entries of MEDIA_ROOT skipped (links, special files, unsafe names): %(count)d, e.g. %(name)s.")
                              % {"count": len(summary.skipped_entries), "name": summary.skipped_entries[0]})


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
