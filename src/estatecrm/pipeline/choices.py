from django.db import models
from django.utils.translation import gettext_lazy as _


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    COMPLETED_WITH_FAILURES = "completed_with_failures", _("Completed with failures")
    FAILED = "failed", _("Failed")
    ABORTED = "aborted", _("Aborted")
    REVERTED = "reverted", _("Reverted")
    NOTHING_TO_MIGRATE = "nothing_to_migrate", _("Nothing to migrate")

    @classmethod
    def finished(cls) -> set[str]:
        return {cls.COMPLETED, cls.COMPLETED_WITH_FAILURES, cls.FAILED, cls.ABORTED, cls.REVERTED, cls.NOTHING_TO_MIGRATE}


class LedgerOutcome(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")
