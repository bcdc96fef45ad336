"""LINE: the webhook's events become customers, cases and activities; agents push texts from the case page.

The webhook (line_views.py) checks `X-Line-Signature` with the official SDK and stores each event as a
`LineEvent` (once per `webhookEventId`: a redelivery changes nothing), then `process_line_events`
(tasks.py) runs `process_pending` after the commit, so LINE gets its 200 at once and the LINE API is
never called in the request:

- `follow`: a new customer and a case (origin `line`, status 新規) in the channel's unit for its default
  assignee, named by the LINE profile (a fallback name when the profile cannot be read), an `Inquiry`
  (channel line) and the assignee's notification mail; a known LINE user following again is unblocked,
  with a system activity on their case and no new case;
- `message`: an inbound LINE activity by nobody on the staff on the customer's latest case (it does not
  move the last contact: the case stays 未対応 until someone on the staff acts); a user not known yet
  (a friend from before the channel was set up) is taken like a `follow` first;
- `unfollow`: the customer is blocked on LINE (`Customer.line_blocked_at`).

自動名寄せ: a text that is a LINE link number (crm/link_numbers.py) of another customer created within
LINK_MERGE_DAYS, sent by a new LINE friend (whose only case is the LINE case the friend add made), merges
that LINE case into the customer's latest live case (dedup.merge, integrate, automatic, after the event's
transaction): the LINE user id moves to that customer, so what the user says later lands in its history.
A number of an older customer, of a customer already linked to another LINE user, of a case in another
unit, or sent by a friend with history of its own: no merge, and the LINE case is flagged 要確認 naming why.

`do_send_line_text` pushes a text through the SDK with a retry key (`X-Line-Retry-Key`) and records
it as an outbound LINE activity of the agent; a `LineMessage` per retry key makes a retry harmless.
The SDK's host is `settings.LINE_API_BASE_URL`.
"""

import datetime
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from linebot.v3 import SignatureValidator
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    TextMessage,
)

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError
from estatecrm.core.lookups import NotEmpty
from estatecrm.core.scope import company_scope
from estatecrm.crm.actions import do_create_customer, do_log_activity
from estatecrm.crm.choices import ActivityDirection, ActivityKind, CaseKind, CaseOrigin
from estatecrm.crm.guards import activity_refusal
from estatecrm.crm.link_numbers import normalize_link_number
from estatecrm.crm.models import Activity, Case, Customer
from estatecrm.crm.selectors import access_case
from estatecrm.dedup.merge import MergeRequest, do_merge_cases
from estatecrm.inquiries import error_codes
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.intake import (
    Destination,
    InquiryData,
    customer_input,
    notify_assignee,
    open_case,
    record_inquiry_activity,
)
from estatecrm.inquiries.models import Inquiry, LineChannel, LineEvent, LineMessage

logger = logging.getLogger(__name__)

# Seconds to connect to and to wait for the LINE API (a page waits for a push).
LINE_TIMEOUT = (3.05, 10)
# LINE's limit for one text message.
MAX_TEXT_LENGTH = 5000
PENDING_BATCH = 100
# A link number sent on LINE merges the LINE case automatically only into a customer registered this recently;
# an older customer's number may be a mistake or an old printout: a person decides (要確認).
LINK_MERGE_DAYS = 30
EVENT_ID_LENGTH = LineEvent._meta.get_field("webhook_event_id").max_length


def message_type_labels() -> dict[str, str]:
    """What a non-text message becomes in the timeline, by its LINE type."""
    return {
        "sticker": _("[Sticker]"), "image": _("[Image]"), "video": _("[Video]"), "audio": _("[Voice message]"),
        "file": _("[File]"), "location": _("[Location]"),
    }


# ---------------------------------------------------------------------------------------------
# The webhook


def channel_for_webhook(company_code: str) -> LineChannel | None:
    """The enabled LINE channel of the company with this code (None: unknown company or no channel)."""
    # The webhook names its company by code; no user and no company scope exist yet.
    return (LineChannel.objects.unscoped().select_related("company")
            .filter(company__code=company_code, is_enabled=True).first())


def signature_is_valid(channel: LineChannel, body: bytes, signature: str) -> bool:
    """Whether `signature` is the channel secret's HMAC-SHA256 of the raw body (checked by the SDK)."""
    if not signature or not channel.channel_secret:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return SignatureValidator(channel.channel_secret).validate(text, signature)


def event_id_of(event: dict) -> str:
    """LINE's `webhookEventId`; an event without one (older payloads) is known by the hash of its JSON."""
    event_id = event.get("webhookEventId")
    if isinstance(event_id, str) and event_id:
        return event_id[:EVENT_ID_LENGTH]
    digest = hashlib.sha256(json.dumps(event, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"sha256:{digest}"[:EVENT_ID_LENGTH]


def store_events(channel: LineChannel, events: list) -> int:
    """Store the webhook's events as pending LineEvents, each once per `webhookEventId` (a redelivered
    event is skipped). Returns how many are new; the caller enqueues the processing on commit."""
    rows: dict[str, LineEvent] = {}
    for event in events:
        if not isinstance(event, dict):
            continue
        source = event.get("source") if isinstance(event.get("source"), dict) else {}
        user_id = source.get("userId") if isinstance(source.get("userId"), str) else ""
        event_id = event_id_of(event)
        rows.setdefault(event_id, LineEvent(
            company_id=channel.company_id, webhook_event_id=event_id, event_type=str(event.get("type", ""))[:32],
            line_user_id=user_id[:64], payload=event,
        ))
    if not rows:
        return 0
    seen = set(LineEvent.objects.for_company(channel.company_id).filter(webhook_event_id__in=list(rows))
               .values_list("webhook_event_id", flat=True))
    new = [row for event_id, row in rows.items() if event_id not in seen]
    # A redelivery racing the first delivery: the unique (company, webhook_event_id) keeps one.
    LineEvent.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


# ---------------------------------------------------------------------------------------------
# The LINE API through the SDK


def api_configuration(channel: LineChannel) -> Configuration:
    return Configuration(host=settings.LINE_API_BASE_URL, access_token=channel.channel_access_token)


def display_name(channel: LineChannel, user_id: str) -> str:
    """The user's LINE display name (the SDK's profile call), or a fallback name when it cannot be read
    (the user blocked the account, LINE is unreachable, the token is wrong): 「LINEユーザー 1a2b」."""
    try:
        with ApiClient(api_configuration(channel)) as client:
            profile = MessagingApi(client).get_profile(user_id, _request_timeout=LINE_TIMEOUT)
        name = (profile.display_name or "").strip()
        if name:
            return name[:200]
    except Exception as error:  # any failure of the LINE API falls back to a name; the event goes on
        logger.warning("LINE profile of %s (company %s) could not be read: %s", user_id, channel.company_id, str(error).splitlines()[0][:200])
    with translation.override(settings.LANGUAGE_CODE):
        return _("LINE user %(suffix)s") % {"suffix": user_id[-4:]}


# ---------------------------------------------------------------------------------------------
# Processing the events


def process_pending(company_id: int, *, profile_name: Callable[[LineChannel, str], str] = display_name) -> int:
    """Process the company's pending LineEvents in the order received; returns how many were processed.

    Idempotent: each event is claimed (processed_at set) in the transaction that applies it, so two
    workers never apply one event twice. An event that fails has its error recorded (and is not tried
    again) without stopping the others. The LINE profile is read before the transaction opens."""
    channel = LineChannel.objects.for_company(company_id).select_related("company", "org_unit", "default_assignee").first()
    processed = 0
    tried: set[int] = set()
    while True:
        pending = list(LineEvent.objects.for_company(company_id).filter(processed_at__isnull=True).exclude(pk__in=tried)
                       .order_by("received_at", "pk").values_list("pk", flat=True)[:PENDING_BATCH])
        if not pending:
            return processed
        for pk in pending:
            tried.add(pk)
            processed += process_event(company_id, pk, channel, profile_name)


def process_event(company_id: int, pk: int, channel: LineChannel | None, profile_name) -> int:
    event = LineEvent.objects.for_company(company_id).filter(pk=pk, processed_at__isnull=True).first()
    if event is None:
        return 0
    name = None
    source = event.payload.get("source") if isinstance(event.payload.get("source"), dict) else {}
    if channel is not None and event.event_type in ("follow", "message") and event.line_user_id and source.get("type") == "user" \
            and line_customer(company_id, event.line_user_id) is None:
        name = profile_name(channel, event.line_user_id)
    link = None
    with transaction.atomic():
        claimed = LineEvent.objects.for_company(company_id).filter(pk=pk, processed_at__isnull=True).update(processed_at=timezone.now())
        if not claimed:
            return 0
        try:
            with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
                if channel is None:
                    raise ApplicationError(error_codes.LINE_NOT_CONFIGURED, "The company has no LINE channel.")
                link = apply_event(channel, event, name)
        except Exception as error:  # recorded on the event; the other events go on
            logger.exception("LINE event %s (company %s) failed", event.webhook_event_id, company_id)
            LineEvent.objects.for_company(company_id).filter(pk=pk).update(error=f"{type(error).__name__}: {error}"[:2000])
    if link is not None:
        # The merge is an action of its own (its own transaction and locks): the message is recorded whatever it says.
        merge_linked_case(link)
    return 1


def event_time(event: LineEvent) -> datetime.datetime:
    """When LINE says the event happened (`timestamp`, milliseconds), else when it was received."""
    stamp = event.payload.get("timestamp") if isinstance(event.payload, dict) else None
    if isinstance(stamp, int | float) and 0 < stamp < 10**14:
        return min(datetime.datetime.fromtimestamp(stamp / 1000, tz=datetime.UTC), timezone.now())
    return event.received_at


def line_customer(company_id: int, line_user_id: str) -> Customer | None:
    """The live customer linked to this LINE user (the first one, should several be). NotEmpty: the condition
    of the partial index customer_line_user_idx (most customers have no LINE user), for SQLite to read it."""
    return (Customer.objects.for_company(company_id).filter(Q(NotEmpty(F("line_user_id"))), line_user_id=line_user_id, deleted_at__isnull=True)
            .order_by("pk").first())


def latest_case(customer: Customer) -> Case | None:
    """The customer's most recent case that is not in the trash."""
    return (Case.objects.for_company(customer.company_id).filter(customer=customer, deleted_at__isnull=True)
            .select_related("customer").order_by("-created_at", "-pk").first())


def apply_event(channel: LineChannel, event: LineEvent, name: str | None) -> "LinkMerge | None":
    """Apply one event; returns the automatic merge a link number asks for (run after the event's transaction)."""
    handler = {"follow": on_follow, "message": on_message, "unfollow": on_unfollow}.get(event.event_type)
    source = event.payload.get("source") if isinstance(event.payload.get("source"), dict) else {}
    if handler is None or not event.line_user_id or source.get("type") != "user":
        return None  # other events (postback, join, ...) and what is said in groups and rooms: the CRM follows 1:1 chats
    return handler(channel, event, name)


def on_follow(channel: LineChannel, event: LineEvent, name: str | None) -> None:
    customer = line_customer(channel.company_id, event.line_user_id)
    if customer is None:
        take_new_friend(channel, event, name)
        return
    when = event_time(event)
    if customer.line_blocked_at is not None:
        Customer.objects.for_company(channel.company_id).filter(pk=customer.pk).update(line_blocked_at=None)
        record_event(company_id=channel.company_id, actor=None, verb="update", instance=customer,
                     before={"line_blocked_at": customer.line_blocked_at.isoformat()}, after={"line_blocked_at": None})
    case = latest_case(customer) or case_for_known(channel, customer, when)
    system_activity(case, when, _("Added the LINE account as a friend again"))


def on_message(channel: LineChannel, event: LineEvent, name: str | None) -> "LinkMerge | None":
    customer = line_customer(channel.company_id, event.line_user_id)
    when = event_time(event)
    existing = None if customer is None else latest_case(customer)
    if customer is None:
        case = take_new_friend(channel, event, name)
    else:
        case = existing or case_for_known(channel, customer, when)
    message = event.payload.get("message") if isinstance(event.payload.get("message"), dict) else {}
    kind = message.get("type", "")
    if kind == "text":
        body = str(message.get("text", ""))
    else:
        body = message_type_labels().get(kind, _("[%(type)s message]") % {"type": str(kind)[:20]})
        if kind == "file" and message.get("fileName"):
            body = f"{body} {message['fileName']}"
        elif kind == "location":
            body = " ".join(str(part) for part in (body, message.get("title") or "", message.get("address") or "") if part)
    # Written by the intake, not by the staff: no actor, and the case's last contact does not move.
    activity = Activity.objects.create(company_id=case.company_id, case=case, kind=ActivityKind.LINE,
                                       direction=ActivityDirection.INBOUND, occurred_at=when, body=body, is_done=True)
    if existing is not None:
        # A reply on a case someone follows (a new case is announced by its new-inquiry mail instead).
        notify_reply(case, activity)
    return link_by_number(case, event.line_user_id, body) if kind == "text" else None


def notify_reply(case: Case, activity: Activity) -> None:
    """Mail the case's main assignee the customer's reply once this transaction commits, unless they are
    inactive or turned such mail off (User.reply_mail, the account page)."""
    from estatecrm.core.transactions import enqueue_on_commit
    from estatecrm.inquiries.tasks import mail_customer_reply

    assignee = case.main_assignee
    if assignee is None or not assignee.is_active or not assignee.reply_mail or not assignee.email:
        return
    enqueue_on_commit(mail_customer_reply, case.company_id, case.pk, activity.pk)


def on_unfollow(channel: LineChannel, event: LineEvent, name: str | None) -> None:
    customer = line_customer(channel.company_id, event.line_user_id)
    if customer is None or customer.line_blocked_at is not None:
        return
    when = event_time(event)
    Customer.objects.for_company(channel.company_id).filter(pk=customer.pk).update(line_blocked_at=when)
    record_event(company_id=channel.company_id, actor=None, verb="update", instance=customer,
                 before={"line_blocked_at": None}, after={"line_blocked_at": when.isoformat()})
    case = latest_case(customer)
    if case is not None:
        system_activity(case, when, _("Blocked the LINE account"))


# ---------------------------------------------------------------------------------------------
# 自動名寄せ: a link number sent on LINE


@dataclass(frozen=True)
class LinkMerge:
    """The automatic merge a link number asks for: the new LINE case into the latest live case of the
    customer whose number it is."""

    company_id: int
    survivor_id: int
    line_case_id: int
    link_number: str


def link_by_number(case: Case, line_user_id: str, text: str) -> LinkMerge | None:
    """What a text that is a link number asks for: the merge of the LINE case into the number's customer's
    latest live case, or (returning None) nothing (not a number, nobody's number, the user's own) or a
    要確認 flag on the LINE case naming why it is not merged automatically."""
    number = normalize_link_number(text)
    if number is None:
        return None
    owner = Customer.objects.for_company(case.company_id).filter(line_link_number=number, deleted_at__isnull=True).first()
    if owner is None or owner.pk == case.customer_id:
        return None
    survivor = latest_case(owner)
    if survivor is None:
        return None
    refusal = link_merge_refusal(case, line_user_id, owner, survivor, number)
    if refusal:
        flag_for_review(case, refusal)
        return None
    return LinkMerge(company_id=case.company_id, survivor_id=survivor.pk, line_case_id=case.pk, link_number=number)


def link_merge_refusal(case: Case, line_user_id: str, owner: Customer, survivor: Case, number: str) -> str:
    """Why the LINE case is not merged automatically into `survivor` (empty: it is)."""
    names = {"number": number, "name": owner.name, "case": survivor.number or survivor.pk, "days": LINK_MERGE_DAYS}
    if owner.created_at < timezone.now() - datetime.timedelta(days=LINK_MERGE_DAYS):
        return _("The LINE user sent the LINE link number %(number)s of %(name)s (case #%(case)s), a customer registered more than "
                 "%(days)d days ago: not merged automatically. If it is the same person, merge the cases by hand.") % names
    others = Case.objects.for_company(case.company_id).filter(customer_id=case.customer_id, deleted_at__isnull=True).exclude(pk=case.pk)
    if case.origin != CaseOrigin.LINE or others.exists():
        return _("The LINE user sent the LINE link number %(number)s of %(name)s (case #%(case)s), but this LINE friend already has "
                 "a history of its own: not merged automatically. If it is the same person, merge the cases by hand.") % names
    if owner.line_user_id and owner.line_user_id != line_user_id:
        return _("The LINE user sent the LINE link number %(number)s of %(name)s (case #%(case)s), who is linked to another LINE "
                 "user: not merged automatically. Check who this is.") % names
    if survivor.owning_org_id != case.owning_org_id:
        return _("The LINE user sent the LINE link number %(number)s of %(name)s (case #%(case)s), a case of another unit "
                 "(%(unit)s): cases linked to LINE are merged only within one unit. Move one of the cases, then merge them by hand.") % {
            **names, "unit": survivor.owning_org.name}
    return ""


def flag_for_review(case: Case, message: str) -> None:
    """Flag the case 要確認 with `message` added to its review messages (what someone must check)."""
    messages = [*Case.objects.for_company(case.company_id).filter(pk=case.pk).values_list("review_messages", flat=True).get(), message]
    Case.objects.for_company(case.company_id).filter(pk=case.pk).update(needs_review=True, review_messages=messages)
    case.needs_review, case.review_messages = True, messages


def merge_linked_case(link: LinkMerge) -> None:
    """Merge the LINE case into the survivor (integrate, automatic, by nobody on the staff), in the merge's own
    transaction. A refusal (the cases changed since, a merge rule) leaves both cases as they are and flags the
    LINE case 要確認 with the reason."""
    with company_scope(link.company_id), translation.override(settings.LANGUAGE_CODE):
        try:
            do_merge_cases(acting_user=None, automatic=True,
                           request=MergeRequest(survivor_id=link.survivor_id, case_ids=[link.line_case_id], integrate=True))
        except ApplicationError as error:
            logger.info("LINE link number %s: automatic merge of case %s refused: %s", link.link_number, link.line_case_id, error.code)
            with transaction.atomic():
                case = Case.objects.for_company(link.company_id).select_for_update().filter(pk=link.line_case_id).first()
                if case is not None:
                    flag_for_review(case, _("The LINE user sent the LINE link number %(number)s; the automatic merge was refused: "
                                            "%(reason)s") % {"number": link.link_number, "reason": error.message})


def destination_of_channel(channel: LineChannel) -> Destination:
    return Destination(company_id=channel.company_id, org_unit=channel.org_unit, assignee=channel.default_assignee, kind=CaseKind.RENT,
                       source_name="LINE", origin=CaseOrigin.LINE)


def take_new_friend(channel: LineChannel, event: LineEvent, name: str | None) -> Case:
    """A new LINE friend: a new customer (linked to the LINE user) and case, an Inquiry, the assignee's mail."""
    when = event_time(event)
    name = name or _("LINE user %(suffix)s") % {"suffix": event.line_user_id[-4:]}
    data = InquiryData(customer_name=name)
    customer = do_create_customer(company=channel.company, data=customer_input(data, None, None, line_user_id=event.line_user_id),
                                  acting_user=None)
    case = open_case(destination_of_channel(channel), customer, received=when, source_id=event.line_user_id, data=data)
    record_inquiry_activity(case, received=when, subject=_("LINE friend added"), body=name)
    Inquiry.objects.create(company_id=channel.company_id, channel=Channel.LINE, status=InquiryStatus.CREATED, received_at=when,
                           sender=name[:300], subject=_("LINE friend added"), fields=data.as_dict(), customer=customer, case=case)
    notify_assignee(case)
    return case


def case_for_known(channel: LineChannel, customer: Customer, when: datetime.datetime) -> Case:
    """A new case for a known LINE customer whose cases are all in the trash (what they say must land somewhere)."""
    case = open_case(destination_of_channel(channel), customer, received=when, source_id=customer.line_user_id)
    record_inquiry_activity(case, received=when, subject=_("LINE"), body="")
    Inquiry.objects.create(company_id=channel.company_id, channel=Channel.LINE, status=InquiryStatus.LINKED_EXISTING, received_at=when,
                           sender=customer.name[:300], subject=_("LINE"), customer=customer, case=case)
    notify_assignee(case)
    return case


def system_activity(case: Case, when: datetime.datetime, subject: str) -> Activity:
    return Activity.objects.create(company_id=case.company_id, case=case, kind=ActivityKind.SYSTEM, occurred_at=when, subject=subject,
                                   is_done=True)


# ---------------------------------------------------------------------------------------------
# Sending a text from the CRM


@dataclass
class Sent:
    """What became of a send: the activity recorded, and whether this call sent it (False: the same
    retry key had been sent before, nothing was sent or recorded again)."""

    activity: Activity | None
    sent_now: bool


def check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ApplicationError(error_codes.LINE_TEXT_INVALID, _("Write the message."), fields={"text": [_("Write the message.")]})
    if len(text) > MAX_TEXT_LENGTH:
        message = _("A LINE message has at most %(max)d characters.") % {"max": MAX_TEXT_LENGTH}
        raise ApplicationError(error_codes.LINE_TEXT_INVALID, message, fields={"text": [message]})
    return text


def check_line_reachable(case: Case) -> LineChannel:
    """The company's LINE channel, when the case's customer can be sent a LINE text; refused otherwise."""
    customer = case.customer
    if not customer.line_user_id:
        raise ApplicationError(error_codes.LINE_NOT_LINKED, _("This customer is not linked to LINE: a LINE text cannot be sent."))
    if customer.line_blocked_at is not None:
        raise ApplicationError(error_codes.LINE_BLOCKED, _("This customer has blocked the LINE account: a LINE text cannot be sent."))
    channel = LineChannel.objects.for_company(case.company_id).filter(is_enabled=True).first()
    if channel is None:
        raise ApplicationError(error_codes.LINE_NOT_CONFIGURED, _("LINE is not set up for this company."))
    return channel


def send_failure(error: Exception) -> ApplicationError:
    """The translated refusal for a failed push, with what LINE said."""
    if isinstance(error, ApiException):
        reason = ""
        try:
            reason = str(json.loads(error.body or b"{}").get("message", ""))[:200]
        except (ValueError, AttributeError):
            reason = ""
        if error.status == 401:
            message = _("LINE refused the channel access token; an administrator must check the LINE settings. The message was not sent.")
        elif error.status == 429:
            message = _("LINE refused the message: too many messages (or the month's limit of the plan). The message was not sent.")
        else:
            message = _("LINE refused the message (%(status)s %(reason)s). The message was not sent.") % {
                "status": error.status, "reason": reason or error.reason or ""}
    else:
        message = _("LINE could not be reached. The message was not sent; try again.")
    failure = ApplicationError(error_codes.LINE_SEND_FAILED, message)
    failure.status_code = 502
    return failure


def do_send_line_text(*, actor, case_id, text: str, retry_key: uuid.UUID | None = None) -> Sent:
    """Push a LINE text to the case's customer and record it as the agent's outbound LINE activity
    (which moves the case's last contact; crm's `do_log_activity`, audited).

    The case must be visible to the actor (NotFound otherwise) and not in the trash; refused (nothing
    sent, nothing written) when the customer is not linked to LINE or blocked, the text is empty or too
    long, LINE is not set up, or an activity guard refuses LINE. LINE's refusal or silence: an
    ApplicationError (502, `line_send_failed`) and nothing recorded. Idempotent by `retry_key`, which
    is also LINE's `X-Line-Retry-Key`: LINE delivers a key once, and a key already recorded here
    returns its activity without pushing again. No transaction is held while LINE is called."""
    text = check_text(text)
    retry_key = retry_key or uuid.uuid4()
    case = access_case(actor, case_id)
    earlier = LineMessage.objects.for_company(actor.company_id).filter(retry_key=retry_key).select_related("activity").first()
    if earlier is not None:
        if earlier.case_id != case.pk:
            raise ApplicationError(error_codes.LINE_RETRY_KEY_USED, _("This retry key was used for another message; use a new one."),
                                   fields={"retry_key": [_("This retry key was used for another message; use a new one.")]})
        return Sent(earlier.activity, False)
    channel = check_line_reachable(case)
    reason = activity_refusal(actor, case, ActivityKind.LINE)
    if reason:
        raise ApplicationError("activity_refused", reason)
    line_user_id = case.customer.line_user_id
    try:
        with ApiClient(api_configuration(channel)) as client:
            MessagingApi(client).push_message(PushMessageRequest(to=line_user_id, messages=[TextMessage(text=text)]),
                                              x_line_retry_key=str(retry_key), _request_timeout=LINE_TIMEOUT)
    except ApiException as error:
        # 409: LINE accepted this retry key before (our answer was lost): it is sent, so record it.
        if error.status != 409:
            logger.warning("LINE push for case %s failed: %s %s", case.pk, error.status, (error.body or b"")[:200])
            raise send_failure(error) from error
    except Exception as error:  # connection refused, timeout, TLS: LINE was not reached
        logger.warning("LINE push for case %s failed: %s", case.pk, str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
        raise send_failure(error) from error
    try:
        with transaction.atomic():
            locked = access_case(actor, case_id, for_write=True)
            activity = do_log_activity(actor=actor, case=locked, kind=ActivityKind.LINE, direction=ActivityDirection.OUTBOUND, body=text)
            LineMessage.objects.create(company_id=case.company_id, retry_key=retry_key, case=locked, activity=activity,
                                       line_user_id=line_user_id, text=text, sent_by=actor.user, sent_at=activity.occurred_at)
    except IntegrityError:
        # The same retry key sent at the same moment: the other request recorded it.
        earlier = LineMessage.objects.for_company(actor.company_id).filter(retry_key=retry_key).select_related("activity").first()
        if earlier is None:
            raise
        return Sent(earlier.activity, False)
    return Sent(activity, True)
