"""Choice lists of the inquiry intake."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Preset(models.TextChoices):
    """Built-in label maps (inquiries/presets.py); a source adds its own labels to its preset's."""

    SUUMO = "suumo", _("SUUMO (リクルートJDS 反響お知らせメール)")
    WEBSITE = "website", _("The office's own website form")


class Channel(models.TextChoices):
    """How an inquiry reached the office."""

    EML = "eml", _("Mail file (.eml)")
    IMAP = "imap", _("Mailbox (IMAP)")
    API = "api", _("API")
    LINE = "line", _("LINE")
    MANUAL = "manual", _("Entered by hand")


class InquiryStatus(models.TextChoices):
    CREATED = "created", _("New customer and case")
    LINKED_EXISTING = "linked_existing", _("New case of a known customer")
    UNMATCHED = "unmatched", _("No source recognized it")
    FAILED = "failed", _("Could not be read")
    DISMISSED = "dismissed", _("Dismissed")

    @classmethod
    def inbox(cls) -> list[str]:
        """The statuses of 「取り込めなかった反響」: waiting for an admin."""
        return [cls.UNMATCHED.value, cls.FAILED.value]


class ImapSecurity(models.TextChoices):
    SSL = "ssl", _("TLS (IMAPS, usually port 993)")
    STARTTLS = "starttls", _("STARTTLS (usually port 143)")
    NONE = "none", _("None (local servers only)")


# The fields a label can fill (issue 11; the tenant file's `labels` values and the API's body use them).
FIELDS = (
    "customer_name", "customer_kana", "phone", "email", "message", "inquiry_type", "inquiry_id", "received_at",
    "listing_ref", "listing_name", "listing_price", "listing_address", "listing_layout", "listing_area", "listing_station",
    "desired_move_in",
)
