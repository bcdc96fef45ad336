from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupConfig(AppConfig):
    """名寄せ: duplicate candidates' pages and commands, merge and link with undo, LINE auto-merge.

    The candidates themselves are crm data (crm.duplicates keeps them on every write, so every writer,
    domain or feature, reaches them without importing this app); what people do with them lives here."""

    name = "estatecrm.dedup"
    label = "dedup"
    verbose_name = _("Duplicates")

    def ready(self) -> None:
        from estatecrm.dedup.selectors import register_side_menu

        register_side_menu()
