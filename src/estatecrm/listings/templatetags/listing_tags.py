"""Money with its unit, and the case page's 紹介物件 / 条件に合う物件 section (rendered by this app, so the
case page needs only `{% case_listings %}`)."""

import unicodedata
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
def money(value, currency="") -> str:
    """An exact amount with its currency: yen as `85,000円`; any other currency as its ISO code, the amount with
    `,` between thousands and `.` before the cents, the cents only when there are some (`PLN 489,000.50`,
    `PLN 2,500`, `EUR 1,234.05`). One format whatever the page's language, so that an amount reads the same to
    every user (docs/listings-feed.md)."""
    if value is None or value == "":
        return ""
    if not currency or currency == "JPY":
        return yen(value)
    amount = Decimal(str(value))
    text = f"{amount:,.2f}"
    if amount == amount.to_integral_value():
        text = text.removesuffix(".00")
    return f"{currency} {text}"


def has_foreign_amount(listing) -> bool:
    return listing.currency not in ("", "JPY") and listing.amount is not None


@register.filter
def listing_money(listing) -> str:
    """The rent (monthly) or price of a listing as it is best stated: 万円 for yen, else the exact amount in its
    currency (a zł listing moved in from another vendor has no 万円 values)."""
    if has_foreign_amount(listing):
        return money(listing.amount, listing.currency)
    return man_yen(listing.rent if listing.kind == "rent" else listing.price)


@register.filter(name="has_foreign_amount")
def has_foreign_amount_filter(listing) -> bool:
    return has_foreign_amount(listing)


def is_wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


@register.filter
def listing_address(listing, with_building="") -> str:
    """The address on one line: Japanese parts run together as they are written (`東京都渋谷区渋谷1-1-1`), parts in
    Latin letters get a space between them (`Łódź ul. Piotrkowska 12/3`); `listing_address:"building"` adds the
    building after a space."""
    text = ""
    for part in (listing.prefecture, listing.city, listing.street):
        part = (part or "").strip()
        if not part:
            continue
        if text and not is_wide(text[-1]) and not is_wide(part[0]):
            text += " "
        text += part
    if with_building and (listing.building or "").strip():
        text = f"{text} {listing.building.strip()}".strip()
    return text


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
