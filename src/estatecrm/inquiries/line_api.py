"""`POST /api/v1/cases/{case_id}/line-messages`: the case page's 「LINEを送る」 through the API (rule `cases`)."""

import uuid

from ninja import Field, Router, Schema, Status

from estatecrm.core.ids import PathId
from estatecrm.crm.schemas import ActivityOut
from estatecrm.inquiries.line import MAX_TEXT_LENGTH, do_send_line_text
from estatecrm.tenancy.permissions import require
from estatecrm.tenancy.selectors import actor_for

router = Router(tags=["line"])


class LineMessageIn(Schema):
    text: str = Field(..., max_length=MAX_TEXT_LENGTH, description="The text to send (at most 5,000 characters).")
    retry_key: uuid.UUID | None = Field(None, description="A UUID of the caller's choosing: the same key again sends and records "
                                                          "nothing new and answers 200 with the first send's activity.")


@router.post("/cases/{case_id}/line-messages", response={200: ActivityOut, 201: ActivityOut}, openapi_extra={"responses": {
    "400": {"description": "The customer is not linked to LINE (`line_not_linked`), blocked it (`line_blocked`), LINE is not set "
                           "up (`line_not_configured`), or the text is empty (`line_text_invalid`)."},
    "502": {"description": "LINE refused the message or could not be reached (`line_send_failed`); nothing was recorded."}}})
def send_line_message(request, case_id: PathId, payload: LineMessageIn):
    """Push a LINE text to the case's customer; it becomes the caller's outbound LINE activity (201)."""
    actor = actor_for(request.auth)
    require(actor, "cases")
    sent = do_send_line_text(actor=actor, case_id=case_id, text=payload.text, retry_key=payload.retry_key)
    return Status(201 if sent.sent_now else 200, sent.activity)
