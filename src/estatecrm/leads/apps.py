from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "estatecrm.leads"
    label = "leads"
    verbose_name = _("Lead import")

    def ready(self) -> None:
        # Registers the lead and do-not-call imports with the pipeline engine, and the do-not-call
        # guard with the CRM's activity actions, and `estatecrm export leads`.
        from estatecrm.leads import dnc, export, jobs  # noqa: F401
