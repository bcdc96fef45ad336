"""`estatecrm purge-trash [--company CODE]`: delete for good what has been in the trash too long."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from estatecrm.crm.actions import do_purge_trash
from estatecrm.tenancy.models import Company


class Command(BaseCommand):
    help = "Delete cases and customers that have been in the trash longer than TRASH_RETENTION_DAYS."

    def add_arguments(self, parser):
        parser.add_argument("--company", help="company code (default: every company)")

    def handle(self, *args, company=None, **options):
        companies = Company.objects.order_by("code")
        if company:
            companies = companies.filter(code=company)
            if not companies.exists():
                raise CommandError(f"Unknown company: {company}")
        for each in companies:
            cases, customers = do_purge_trash(company=each)
            self.stdout.write(
                f"{each.code}: {cases} cases, {customers} customers deleted "
                f"(in the trash for more than {settings.TRASH_RETENTION_DAYS} days)"
            )
