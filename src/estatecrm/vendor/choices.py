"""Codes of the move-in from another vendor's CRM: run kinds, phases, entities, outcomes, reasons.

Conventions every part of vendor/ keeps (jobs write them, reports and the CLI read them):
- A move-in (`models.MoveIn`) has one pipeline run per phase (`Run.kind == RUN_KIND`,
  `Run.params["phase"]` "active" or "archive", `Run.params["move_in_id"]`).
- `Run.detected["source"]`: per entity, what the phase's scope holds in the package:
  `{"<entity>": {"count": n, "money": {"<field>": "<decimal total>"}}}` (written by prepare()).
- `Run.counts`: `"<entity>:loaded"`, `"<entity>:skipped"`, `"<entity>:skipped:<reason>"`,
  `"<entity>:failed"`, `"<entity>:failed:<reason>"`, plus `"failed"` (all entities: the engine's status).
- `RecordOutcome`: one row per source record the phase handled, written in the batch that handled it.
- Ledger: `source_system` is `ledger_system(vendor, entity)`, `source_key` the record's key.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

RUN_KIND = "vendor_import"
TEMPLATE_FORMAT = "estatecrm-vendor/1"


class Phase(models.TextChoices):
    ACTIVE = "active", _("Active data")
    ARCHIVE = "archive", _("Archive and history")


class Entity(models.TextChoices):
    AGENTS = "agents", _("Agents")
    LISTINGS = "listings", _("Listings")
    SEEKERS = "seekers", _("Seekers")
    ACTIVITIES = "activities", _("Activities")
    LINKS = "links", _("Listing links")


ENTITIES = [entity.value for entity in Entity]


class Outcome(models.TextChoices):
    LOADED = "loaded", _("Loaded")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class SkipReason(models.TextChoices):
    ALREADY_LOADED = "already_loaded", _("Already loaded")
    DUPLICATE_IN_PACKAGE = "duplicate_in_package", _("Same id twice in the package")
    SEEKER_NOT_LOADED = "seeker_not_loaded", _("Its seeker was not loaded")
    LISTING_NOT_LOADED = "listing_not_loaded", _("Its listing was not loaded")
    AGENT_EXISTS = "agent_exists", _("Agent matched to an existing user")


class FailReason(models.TextChoices):
    INVALID_VALUE = "invalid_value", _("A value could not be read")
    MISSING_VALUE = "missing_value", _("A required value is missing")
    UNKNOWN_SEEKER = "unknown_seeker", _("Names a seeker not in the package")
    UNKNOWN_LISTING = "unknown_listing", _("Names a listing not in the package")
    UNKNOWN_AGENT = "unknown_agent", _("Names an agent not in the package")
    LISTING_NUMBER_TAKEN = "listing_number_taken", _("Another listing of the company has this number")
    TOO_LONG = "too_long", _("A value is too long")


class Verdict(models.TextChoices):
    PENDING = "pending", _("Not verified yet")
    VERIFIED = "verified", _("Verified")
    PROBLEMS = "problems", _("Problems reported")


def ledger_system(vendor: str, entity: str) -> str:
    """The ledger's source system of one entity of one vendor (at most 64 characters)."""
    return f"vendor:{vendor[:40]}:{entity}"
