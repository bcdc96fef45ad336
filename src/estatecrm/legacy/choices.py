"""Codes of the legacy desktop migration: run kinds, modes, outcomes and skip reasons."""

from django.db import models
from django.utils.translation import gettext_lazy as _

RUN_KIND = "legacy_migration"
MASTERS_RUN_KIND = "legacy_masters"
SOURCE_SYSTEM = "legacy-desktop"
CUSTOMER_SOURCE_SYSTEM = "legacy-desktop:customer"
MASTER_SOURCE_SYSTEM = "legacy-desktop:master"
ELIGIBLE_CATEGORIES = ("追客中", "申込中")
QUICK_CAP = 1500
QUICK_MONTHS = 3
REVERT_DAYS = 30


class Mode(models.TextChoices):
    FULL = "full", _("Full migration")
    QUICK = "quick", _("Quick migration")


class Outcome(models.TextChoices):
    MIGRATED = "migrated", _("Migrated")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class SkipReason(models.TextChoices):
    ALREADY_MIGRATED = "already_migrated", _("Already migrated")
    NOT_ELIGIBLE_STATUS = "not_eligible_status", _("Status not eligible")
    BEFORE_START_DATE = "before_start_date", _("Started before the chosen start date")
    CUSTOMER_MISSING = "customer_missing", _("Customer missing from the bundle")
    MAIN_ASSIGNEE_UNMAPPED = "main_assignee_unmapped", _("Main assignee not matched to a user")
    OUTSIDE_ORG = "outside_org", _("Outside the chosen unit")
    OVER_QUICK_CAP = "over_quick_cap", _("Over the quick migration limit")


class FailReason(models.TextChoices):
    STATUS_UNKNOWN = "status_unknown", _("Status not in the status master")
    ASSIGNEE_WITHOUT_UNIT = "assignee_without_unit", _("Main assignee has no primary unit")
    WRITE_FAILED = "write_failed", _("Could not be written")


class PreflightStatus(models.TextChoices):
    """Where the background check of an uploaded bundle is (`preflight.json` next to the upload)."""

    CHECKING = "checking", _("Checking")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class PreflightStage(models.TextChoices):
    QUEUED = "queued", _("Waiting for a background worker")
    CHECK = "check", _("Checking every file of the bundle")
    COUNT = "count", _("Computing the estimated counts")
    DONE = "done", _("Done")


# Why the pre-flight was (re)computed: kept in the state file and the audit log.
PREFLIGHT_REASONS = ("upload", "masters", "recompute")
