from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VendorConfig(AppConfig):
    name = "estatecrm.vendor"
    label = "vendor"
    verbose_name = _("Move-in from another vendor")

    def ready(self) -> None:
        # Registers the move-in job and its revert with the pipeline engine.
        from estatecrm.vendor import jobs  # noqa: F401
