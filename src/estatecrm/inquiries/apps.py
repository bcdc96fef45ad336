from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InquiriesConfig(AppConfig):
    name = "estatecrm.inquiries"
    label = "inquiries"
    verbose_name = _("Inquiries")

    def ready(self) -> None:
        from django.conf import settings

        from estatecrm.core import periodic
        from estatecrm.crm.tenant_sections import register_tenant_section
        from estatecrm.inquiries.imap import fetch_due_mailboxes
        from estatecrm.inquiries.tenant_file import SECTIONS

        # The worker reads the sources' IMAP mailboxes every INQUIRY_FETCH_SECONDS (0: off).
        periodic.register("inquiries.fetch", fetch_due_mailboxes, seconds=lambda: settings.INQUIRY_FETCH_SECONDS)
        # The tenant file's `inquiry_sources` and `line` (crm reads them through its registry).
        for section in SECTIONS:
            register_tenant_section(section)
        # 反響 in the case list's side menu (admins): the inbox with its count, the list of inquiries.
        from estatecrm.inquiries.selectors import register_side_menu

        register_side_menu()
        # The sources' and the LINE channel's default assignees hold staff in place (tenancy.holds).
        from estatecrm.inquiries.holds import PROVIDER
        from estatecrm.tenancy.holds import register_default_assignee_provider

        register_default_assignee_provider(PROVIDER)
