"""`national_phone`: a phone as people read it on a page (`090-1234-5678`); E.164 is for the API and exports."""

from django import template

from estatecrm.crm.choices import ContactPointKind
from estatecrm.normalize import format_national

register = template.Library()


@register.filter
def national_phone(value) -> str:
    """A stored E.164 number or a raw phone in national format; text that is no valid number unchanged."""
    return format_national(str(value)) if value else ""


@register.filter
def contact_point(point) -> str:
    """A contact point as shown on pages: a phone in national format (as typed when it is no valid
    number), an e-mail address as typed."""
    if point.kind == ContactPointKind.EMAIL:
        return point.raw
    return format_national(point.normalized) if point.normalized else point.raw
