from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LegacyConfig(AppConfig):
    name = "estatecrm.legacy"
    label = "legacy"
    verbose_name = _("Legacy desktop migration")

    def ready(self) -> None:
        # Registers the migration job and its revert with the pipeline engine.
        from estatecrm.legacy import jobs, revert  # noqa: F401
