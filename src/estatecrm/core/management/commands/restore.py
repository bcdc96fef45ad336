"""`estatecrm restore IN [--json]`: an archive of `estatecrm backup` into an empty database and MEDIA_ROOT."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from estatecrm.core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database and an empty MEDIA_ROOT (docs/setup.md)."

    def add_arguments(self, parser):
        parser.add_argument("archive", metavar="IN", help="the archive written by estatecrm backup")
        parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    def handle(self, *args, archive, json: bool = False, **options):
        try:
            summary = restore_backup(archive)
        except BackupError as error:
            raise CommandError(error.message) from None
        if json:
            self.stdout.write(dumps(summary.as_dict()))
            return
        self.stdout.write(_("Restored %(path)s (made %(created)s): %(vendor)s database of %(database)d bytes, "
                            "files: %(count)d (%(bytes)d bytes).") % {
            "path": summary.path, "created": summary.created_at, "vendor": summary.vendor, "database": summary.database_bytes,
            "count": summary.file_count, "bytes": summary.file_bytes})
        if summary.migrations_applied:
            self.stdout.write(_("Applied this version's migrations: %(names)s.")
                              % {"names": ", ".join(summary.migrations_applied)})
        if summary.missing_files:
            self.stderr.write(_("Files that database rows name but the backup lacks (deleted while it was made): %(count)d, e.g. %(name)s.")
                              % {"count": len(summary.missing_files), "name": summary.missing_files[0]})


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
