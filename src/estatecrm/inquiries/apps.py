from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InquiriesConfig(AppConfig):
    name = "estatecrm.inquiries"
    label = "inquiries"
    verbose_name = _("Inquiries")

    def ready(self):
        from estatecrm.crm.tenant_sections import register_tenant_section
        from estatecrm.inquiries.tenant_file import SECTIONS

        for section in SECTIONS:
            register_tenant_section(section)
