"""The case page's LINE pieces, rendered by this app so that crm's template needs only `{% case_line %}`."""

from django import template

from estatecrm.inquiries.line_forms import LineTextForm
from estatecrm.inquiries.models import LineChannel

register = template.Library()


@register.inclusion_tag("inquiries/partials/case_line.html", takes_context=True)
def case_line(context) -> dict:
    """「LINEを送る」 for a customer linked to LINE (a note instead when they blocked the account); nothing
    when the customer is not linked or the company has no LINE channel."""
    case = context["case"]
    customer = case.customer
    has_channel = bool(customer.line_user_id) and LineChannel.objects.for_company(case.company_id).filter(is_enabled=True).exists()
    return {
        "request": context.get("request"), "csrf_token": context.get("csrf_token"), "case": case, "customer": customer,
        "shown": has_channel and not case.is_trashed, "form": LineTextForm.fresh(),
    }
