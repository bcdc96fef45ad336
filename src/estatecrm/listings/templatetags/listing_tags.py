"""Money with its unit, and the case page's 紹介物件 / 条件に合う物件 section (rendered by this app, so the
case page needs only `{% case_listings %}`)."""

from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.crm.choices import IntroductionMethod, IntroductionReaction
from estatecrm.listings import selectors
from estatecrm.listings.forms import IntroduceForm

register = template.Library()
MATCHES_SHOWN = 10


def plain(value) -> Decimal:
    """The number without trailing zeros or exponent (`8.50` -> `8.5`, `10.0` -> `10`)."""
    amount = Decimal(str(value))
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize()


@register.filter
def man_yen(value) -> str:
    """`8.5万円`, `3,980万円`: an amount in 万円 with its unit, without a useless `.0`."""
    if value is None or value == "":
        return ""
    return _("%(amount)s man-yen") % {"amount": f"{plain(value):,}"}


@register.filter
def yen(value) -> str:
    """`5,000円`."""
    if value is None or value == "":
        return ""
    return _("%(amount)s yen") % {"amount": f"{plain(value):,}"}


@register.filter
def months(value) -> str:
    """`1ヶ月` for deposit and key money (`0`: none)."""
    if value is None or value == "":
        return ""
    return _("%(count)s month(s)") % {"count": plain(value)}


@register.inclusion_tag("listings/partials/case_listings.html", takes_context=True)
def case_listings(context) -> dict:
    """The introductions of the case with the customer's reaction, and the available listings that match its
    desired conditions (counted, the first MATCHES_SHOWN listed) to introduce in one step."""
    actor, case = context["actor"], context["case"]
    matches = selectors.case_matches(actor, case)
    shown = list(matches.select_related("agent").order_by("-pk")[:MATCHES_SHOWN])
    return {
        "request": context.get("request"), "csrf_token": context.get("csrf_token"), "case": case,
        "introductions": selectors.introductions_of_case(actor, case)[:100],
        "matches": shown, "match_count": matches.count() if len(shown) == MATCHES_SHOWN else len(shown),
        "introduce_form": IntroduceForm(initial={"introduced_on": timezone.localdate(), "method": IntroductionMethod.EMAIL}),
        "reactions": IntroductionReaction.choices,
    }
