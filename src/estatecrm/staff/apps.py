from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """異動・退職: transfer an agent to another unit, retire them, reassign their cases; the 担当変更履歴.

    The records and the engine that changes whose cases are whose are crm data (crm.reassignment), so the
    case page's and the case list's changes of assignee land in the same history; the plans, the rules and
    the pages, API and command of staff moves live here."""

    name = "estatecrm.staff"
    label = "staff"
    verbose_name = _("Staff")
