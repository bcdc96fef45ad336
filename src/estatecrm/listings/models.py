"""The listings feed: the company's available listings as JSON and XML for its website and portals (feed.py)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from estatecrm.core.models import TenantOwnedModel


class ListingFeed(TenantOwnedModel):
    """The company's listings feed and its secret key; at most one per company (a database constraint).

    The feed's URLs carry the key `<company id>_<secret>`: the secret is 43 URL-safe random characters
    (256 bits), so the URL is the capability. It is kept as is, unlike API tokens, so that the settings page
    can show the URLs again: the feed publishes only what the office advertises anyway (available listings,
    no e-mails or notes), which anyone who can read this table already has. A request finds the feed by the
    company id (the company-first index) and compares the secret in constant time (feed.py). Rotating
    replaces the secret (the old URLs answer 404 at once); turning the feed off keeps the secret.
    """

    secret = models.CharField(_("secret"), max_length=64)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rotated_at = models.DateTimeField(_("key rotated at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"), db_index=False)

    class Meta:
        verbose_name = _("listings feed")
        verbose_name_plural = _("listings feeds")
        constraints = [models.UniqueConstraint(fields=["company"], name="listingfeed_one_per_company")]

    def __str__(self) -> str:
        return f"listings feed of company {self.company_id}"

    @property
    def key(self) -> str:
        """The key in the feed's URLs."""
        return f"{self.company_id}_{self.secret}"
