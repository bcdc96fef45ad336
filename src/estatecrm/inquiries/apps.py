from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InquiriesConfig(AppConfig):
    name = "estatecrm.inquiries"
    label = "inquiries"
    verbose_name = _("Inquiries")

    def ready(self):
        from estatecrm.inquiries.selectors import register_side_menu

        register_side_menu()
