from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseVisibility(models.TextChoices):
    ORG = "org", _("Everyone in the unit")
    ASSIGNEES = "assignees", _("Assignees only")


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    AGENT = "agent", _("Agent")
