"""`estatecrm demo [--if-empty] [--seed N] [--customers N]`: load the demo company and print its login.

Here in web, the shell, because the demo spans apps: crm's company, then a lead import (leads) and a legacy
migration (legacy) run for real, which a domain app may not import."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from estatecrm.crm.demo import ADMIN_EMAIL, do_load_demo_company
from estatecrm.inquiries.demo import do_load_demo_inquiries
from estatecrm.leads.demo import do_load_demo_lead_import
from estatecrm.legacy.demo import do_load_demo_migration
from estatecrm.tenancy.models import Company, User


class Command(BaseCommand):
    help = "Fill the database with the demo company (units, 13 users, customers, cases, activities, inquiry sources and mails)."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any company exists")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--customers", type=int, default=2000)

    def handle(self, *args, if_empty, seed, customers, **options):
        if Company.objects.exists():
            if if_empty:
                self.stdout.write("The database already has data: no demo loaded.")
                self.print_login()
                return
        result = do_load_demo_company(seed=seed, customers=customers)
        # The history of bringing data in, run through the pipeline after the company is committed.
        admin = User.objects.get(company=result.company, email=ADMIN_EMAIL)
        lead_import = do_load_demo_lead_import(company=result.company, admin=admin)
        migration = do_load_demo_migration(company=result.company, admin=admin)
        inquiries = do_load_demo_inquiries(company=result.company, admin=admin, seed=seed)
        self.stdout.write(
            f"Demo company {result.company.code}: {result.customers} customers ({result.planted_duplicates} planted duplicates), "
            f"{result.cases} cases, {result.activities} activities; lead import #{lead_import.pk} {lead_import.status}, "
            f"legacy migration #{migration.pk} {migration.status}; inquiry mails taken: "
            + ", ".join(f"{status} {count}" for status, count in sorted(inquiries.items())) + "."
        )
        self.print_login()

    def print_login(self):
        path = Path(settings.VAR_DIR) / "demo-admin.txt"
        password = path.read_text(encoding="utf-8").strip() if path.exists() else "(unknown: var/demo-admin.txt is missing)"
        self.stdout.write(f"Log in at http://127.0.0.1:8000/ as {ADMIN_EMAIL} with password {password}")
        self.stdout.write("Agents agent01@demo.example.jp … agent12@demo.example.jp use the same password.")
