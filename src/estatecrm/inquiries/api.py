"""`POST /api/v1/inquiries`: an inquiry sent by a program (the office's website form, a portal's relay).

The caller is any user of the company, typically an integration user with a token (`estatecrm tokens
create`). It may send to every source of its company: the case goes to the source's unit and default
assignee whatever the caller itself sees, so the answer names the case and customer by id only.
Idempotent by (source, inquiry_id): the same again answers 200 with the same case, also when two calls
race (intake.take_inquiry: the unique constraint decides, the loser answers with the winner's case).
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from estatecrm.core.errors import ApplicationError
from estatecrm.inquiries import error_codes, schemas
from estatecrm.inquiries.choices import Channel
from estatecrm.inquiries.intake import InquiryData, take_inquiry
from estatecrm.inquiries.models import InquirySource
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import actor_for

router = Router(tags=["inquiries"])

# intake.check_inquiry names InquiryData's fields; the body nests the customer's.
BODY_FIELDS = {"customer_name": "customer.name", "customer_kana": "customer.kana", "phone": "customer.phone", "email": "customer.email"}

EXAMPLE = {
    "source": "website",
    "inquiry_id": "WEB-20261206-0001",
    "received_at": "2026-12-06T10:15:00+09:00",
    "inquiry_type": "内見希望",
    "customer": {"name": "山田 花子", "kana": "ヤマダ ハナコ", "phone": "090-1234-5678", "email": "hanako@example.jp"},
    "message": "今週末に内見できますか。駐車場の空きも教えてください。",
    "listing": {"ref": "100012345678", "name": "パークハイツ渋谷 302", "price": "8.5万円", "address": "東京都渋谷区道玄坂1-2-3",
                "layout": "1LDK", "area": "35.2m2", "station": "JR山手線「渋谷」駅 徒歩7分"},
    "desired_move_in": "1ヶ月以内",
}
OPENAPI = {
    "requestBody": {"content": {"application/json": {"examples": {
        "full": {"summary": "An inquiry from the website form", "value": EXAMPLE},
        "minimal": {"summary": "Only what is needed", "value": {"source": "website", "customer": {"phone": "03-1234-5678"}}},
    }}}},
    "responses": {
        "201": {"content": {"application/json": {"example": {"created": True, "status": "created", "case_id": 1234, "case_number": 87,
                                                             "customer_id": 987}}}},
        "200": {"content": {"application/json": {"example": {"created": False, "status": "duplicate", "case_id": 1234, "case_number": 87,
                                                             "customer_id": 987}}}},
        "400": {"description": "`unknown_source` (no source with this code), `source_disabled` (the source is turned off), "
                               "or another business rule (`code` says which)."},
        "422": {"description": "The body does not validate, or the inquiry cannot be taken (`inquiry_invalid`: no name, phone "
                               "or e-mail; a phone, e-mail or received_at that is not one); `fields` names them. Nothing is written."},
    },
}


class InquiryInvalid(ApplicationError):
    status_code = 422


def inquiry_data(payload: schemas.InquiryIn) -> InquiryData:
    customer = payload.customer or schemas.InquiryCustomerIn()
    listing = payload.listing or schemas.InquiryListingIn()
    return InquiryData.from_fields({
        "customer_name": customer.name, "customer_kana": customer.kana, "phone": customer.phone, "email": customer.email,
        "message": payload.message, "inquiry_type": payload.inquiry_type, "inquiry_id": payload.inquiry_id,
        "received_at": payload.received_at, "listing_ref": listing.ref, "listing_name": listing.name, "listing_price": listing.price,
        "listing_address": listing.address, "listing_layout": listing.layout, "listing_area": listing.area,
        "listing_station": listing.station, "desired_move_in": payload.desired_move_in,
    })


def source_for(company_id: int, code: str) -> InquirySource:
    """The company's enabled source with `code`; a 400 naming the field `source` otherwise."""
    source = InquirySource.objects.for_company(company_id).select_related("company", "org_unit", "default_assignee").filter(
        code=code.strip()).first()
    if source is None:
        message = _("There is no inquiry source with the code “%(code)s”. Check the code in the inquiry intake settings.") % {
            "code": code.strip()[:32]}
        raise ApplicationError(error_codes.UNKNOWN_SOURCE, message, fields={"source": [message]})
    if not source.is_enabled:
        message = _("The inquiry source “%(name)s” is turned off: it takes no inquiries.") % {"name": source.name}
        raise ApplicationError(error_codes.SOURCE_DISABLED, message, fields={"source": [message]})
    return source


@router.post("/inquiries", response={201: schemas.InquiryOut, 200: schemas.InquiryOut}, openapi_extra=OPENAPI)
def submit_inquiry(request: HttpRequest, payload: schemas.InquiryIn):
    """Send one inquiry (反響) to the intake: it becomes a case of the source's unit and default assignee
    (a new customer, or a new case of the customer known by the same phone or e-mail), with the
    assignee mailed. 201 when this call made the case; the same source and `inquiry_id` again: 200
    with `created: false` and the same case."""
    actor = actor_for(request.auth)
    require(actor, "inquiries_submit")
    source = source_for(actor.company_id, payload.source)
    try:
        outcome = take_inquiry(source, inquiry_data(payload), channel=Channel.API)
    except ApplicationError as error:
        if error.code != error_codes.INQUIRY_INVALID:
            raise
        raise InquiryInvalid(error.code, error.message,
                             fields={BODY_FIELDS.get(name, name): messages for name, messages in error.fields.items()}) from None
    body = {"created": outcome.created, "status": outcome.status, "case_id": outcome.case.pk if outcome.case else None,
            "case_number": outcome.case.number if outcome.case else None, "customer_id": outcome.customer.pk if outcome.customer else None}
    return Status(201 if outcome.created else 200, body)
