from django.db import models
from django.utils.translation import gettext_lazy as _

RUN_KIND = "lead_import"
SOURCE_SYSTEM = "lead-import"


class DuplicatePolicy(models.TextChoices):
    ADD = "add", _("Import as new anyway")
    SKIP = "skip", _("Skip rows with a duplicate")
    OVERWRITE = "overwrite", _("Update the existing lead with the file's values")


class DuplicateKey(models.TextChoices):
    NAME = "name", _("Lead name")
    PHONE = "phone", _("Phone number")
    EMAIL = "email", _("E-mail address")


# What an import checks unless told otherwise. A run keeps the keys it started with in its params.
DEFAULT_DUPLICATE_KEYS = (DuplicateKey.NAME.value, DuplicateKey.PHONE.value, DuplicateKey.EMAIL.value)
