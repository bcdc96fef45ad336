"""LINE's doors: the webhook LINE calls (/hooks/line/<company code>/) and the case page's 「LINEを送る」.

The webhook is public: it is authenticated by LINE's signature, checked before anything reads the body
as JSON. It stores the events and answers at once; a task processes them (inquiries/line.py).
"""

import json
import logging

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from estatecrm.core.errors import ApplicationError
from estatecrm.core.scope import company_scope
from estatecrm.core.transactions import enqueue_on_commit
from estatecrm.crm.choices import ActivityKind
from estatecrm.crm.models import Activity
from estatecrm.crm.selectors import access_case
from estatecrm.inquiries import line
from estatecrm.inquiries.line_forms import LineTextForm
from estatecrm.inquiries.tasks import process_line_events
from estatecrm.tenancy.decorators import permission_view
from estatecrm.tenancy.selectors import Actor

logger = logging.getLogger(__name__)
CONVERSATION_SHOWN = 10


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, company_code: str) -> HttpResponse:
    """LINE's webhook: 404 for an unknown company or one without an enabled LINE channel (alike), 401 for
    a missing or wrong signature (logged), 400 for a signed body that is not a webhook payload, else
    200 at once: new events stored (a redelivered one is not), their processing enqueued after commit."""
    channel = line.channel_for_webhook(company_code)
    if channel is None:
        return HttpResponse(status=404)
    signature = request.headers.get("X-Line-Signature", "")
    try:
        body = request.body
    except RawPostDataException:
        # A multipart form (read as a stream by the NUL check): not LINE's JSON, no raw body to check.
        body = None
    if body is None or not line.signature_is_valid(channel, body, signature):
        logger.warning("LINE webhook of company %s refused: %s signature (from %s, %d bytes)", channel.company.code,
                       "wrong" if signature else "no", client_address(request), len(body or b""))
        return HttpResponse(status=401)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        logger.warning("LINE webhook of company %s: a signed body without an events list", channel.company.code)
        return HttpResponse(status=400)
    if events:
        with company_scope(channel.company_id), transaction.atomic():
            if line.store_events(channel, events):
                enqueue_on_commit(process_line_events, channel.company_id)
    return HttpResponse(status=200)


@require_http_methods(["GET", "POST"])
@permission_view("cases")
def send_text(request: HttpRequest, actor: Actor, case_id: int) -> HttpResponse:
    """「LINEを送る」: push a LINE text to the case's customer (GET: the form alone, also where a failed
    send comes back to with the text and the same retry key, so sending again never sends twice)."""
    case = access_case(actor, case_id, related=("main_assignee",))
    back = reverse("crm:detail", kwargs={"case_id": case.pk}) + "#timeline"
    if request.method != "POST":
        return render(request, "inquiries/line_send.html", send_page(case, LineTextForm.fresh()))
    form = LineTextForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            sent = line.do_send_line_text(actor=actor, case_id=case.pk, text=form.cleaned_data["text"],
                                          retry_key=form.cleaned_data["retry_key"])
        except ApplicationError as error:
            form.add_error("text" if error.fields.keys() & {"text", "retry_key"} else None, error.message)
            status = getattr(error, "status_code", 400)
        else:
            messages.success(request, _("The LINE message was sent.") if sent.sent_now else _("This LINE message had already been sent."))
            return redirect(back)
    return render(request, "inquiries/line_send.html", send_page(case, form), status=status)


def send_page(case, form) -> dict:
    """The send page: the form under the case's latest LINE messages (what the customer wrote last)."""
    latest = list(Activity.objects.for_company(case.company_id).filter(case=case, kind=ActivityKind.LINE).select_related("actor")
                  .order_by("-occurred_at", "-pk")[:CONVERSATION_SHOWN])
    return {"case": case, "customer": case.customer, "form": form, "conversation": latest[::-1]}
