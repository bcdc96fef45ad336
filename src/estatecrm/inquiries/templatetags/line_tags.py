"""The case page's LINE pieces, rendered by this app so that crm's template needs only `{% case_line %}`."""

from django import template

from estatecrm.inquiries.line_forms import LineTextForm
from estatecrm.inquiries.models import LineChannel

register = template.Library()


def can_show_line(context) -> bool:
    """Whether the case page offers LINE: the customer is linked and the company has an enabled channel
    (asked once per page)."""
    if "_line_shown" not in context:
        case = context["case"]
        context["_line_shown"] = bool(case.customer.line_user_id) and not case.is_trashed and \
            LineChannel.objects.for_company(case.company_id).filter(is_enabled=True).exists()
    return context["_line_shown"]


@register.inclusion_tag("inquiries/partials/case_line.html", takes_context=True)
def case_line(context) -> dict:
    """「LINEを送る」 for a customer linked to LINE (a note instead when they blocked the account); nothing
    when the customer is not linked or the company has no LINE channel."""
    case = context["case"]
    return {
        "request": context.get("request"), "csrf_token": context.get("csrf_token"), "case": case, "customer": case.customer,
        "shown": can_show_line(context), "form": LineTextForm.fresh(),
    }


@register.inclusion_tag("inquiries/partials/case_line_link.html", takes_context=True)
def case_line_link(context) -> dict:
    """A link to 「LINEを送る」 beside the customer's LINE state (the form is far down the page on a phone)."""
    case = context["case"]
    return {"case": case, "shown": can_show_line(context) and case.customer.line_blocked_at is None}
