"""What an admin does with 「取り込めなかった反響」 (rule `inquiry_inbox`): assign a mail by hand, teach a source
a label and read the mail again, read every waiting mail again, dismiss a mail (spam, not an inquiry) and
restore it.

Each action is atomic and audited, and acts only on an inquiry still waiting (unmatched or failed) at the
version the admin read: a second submit of the same form, or a form read before someone else resolved or
changed the inquiry, is refused and writes nothing. A taken inquiry is the same `Inquiry` row (it holds
the mail's unique Message-ID and raw bytes), now `created` or `linked_existing` with its case and
`resolved_by`/`resolved_at`.
"""

from collections import Counter
from dataclasses import dataclass
from email.utils import parseaddr

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event, snapshot
from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.versions import etag_of
from estatecrm.crm.choices import CaseKind
from estatecrm.inquiries import error_codes
from estatecrm.inquiries.actions import assignee_error
from estatecrm.inquiries.choices import FIELDS, InquiryStatus
from estatecrm.inquiries.intake import DUPLICATE, Destination, InquiryData, Outcome, take_inquiry
from estatecrm.inquiries.mail import (
    LEADING_MARKS,
    decode_mail,
    label_map,
    mail_sources,
    read_labels,
    recognizing_source,
)
from estatecrm.inquiries.models import Inquiry, InquirySource
from estatecrm.inquiries.selectors import access_inquiry, inquiry_visibility_q
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.permissions import check_case_unit, require
from estatecrm.tenancy.selectors import Actor

AUDITED_FIELDS = ("status", "source_id", "inquiry_id", "error", "fields", "case_id", "customer_id", "matched_by", "resolved_by_id",
                  "resolved_at", "dismissal_reason", "status_before_dismissal")
LABEL_MAX_LENGTH = 100
REASON_MAX_LENGTH = 500
TRAILING_MARKS = ":：】〕》〉 \t\u3000"


def _audit(actor: Actor, inquiry: Inquiry, verb: str, before: dict) -> None:
    record_event(company_id=inquiry.company_id, actor=actor.user, verb=verb, instance=inquiry, before=before,
                 after=snapshot(inquiry, AUDITED_FIELDS))


def lock_waiting(actor: Actor, inquiry_id: int, version: str | None) -> Inquiry:
    """The inquiry, locked, still waiting and (with `version`, an ETag the admin read) unchanged since."""
    inquiry = access_inquiry(actor, inquiry_id, for_update=True)
    if inquiry.status not in InquiryStatus.inbox():
        raise Conflict(error_codes.INQUIRY_RESOLVED, already_resolved_message(inquiry))
    if version is not None and version != etag_of(inquiry):
        raise Conflict(error_codes.INQUIRY_STALE, _("This mail changed after you opened it (it was read again or restored). "
                                                    "Look at it again before you act."))
    return inquiry


def already_resolved_message(inquiry: Inquiry) -> str:
    if inquiry.status == InquiryStatus.DISMISSED:
        return _("This mail was already dismissed.")
    if inquiry.case is not None:
        return _("This mail was already taken: case #%(number)d.") % {"number": inquiry.case.number}
    return _("This mail was already taken.")


# ---------------------------------------------------------------------------------------------
# Assign by hand


@dataclass
class Assignment:
    """The assign-by-hand form: the source, what the inquiry says, and where the case goes."""

    source_id: int
    data: InquiryData
    org_unit_id: int | None = None  # None: the source's unit
    assignee_id: int | None = None  # None: the source's default assignee, where they see the unit's cases
    kind: str = ""  # empty: the source's kind


def do_assign_inquiry(*, actor: Actor, inquiry_id: int, version: str | None, assignment: Assignment) -> Outcome:
    """Take a waiting inquiry by hand as an inquiry of the chosen source: a case like any inquiry's (intake),
    in the chosen unit (one the admin may place cases in) with the chosen assignee. Atomic, audited
    (`assign`). Refused, nothing written: an inquiry no longer waiting or changed since `version`, a
    source, unit or assignee of another company, an inquiry that cannot be taken (fields), the same
    inquiry id of the source already taken."""
    require(actor, "inquiry_inbox")
    with transaction.atomic(durable=True):
        inquiry = lock_waiting(actor, inquiry_id, version)
        source = _source(actor, assignment.source_id)
        destination = _destination(actor, source, assignment)
        before = snapshot(inquiry, AUDITED_FIELDS)
        outcome = take_inquiry(source, assignment.data, channel=inquiry.channel, waiting=inquiry, destination=destination,
                               acting_user=actor.user)
        if outcome.status == DUPLICATE:
            raise Conflict(error_codes.INQUIRY_TAKEN_ELSEWHERE,
                           _("%(source)s's inquiry %(id)s was already taken: case #%(number)s. Dismiss this mail as a copy.")
                           % {"source": source.name, "id": assignment.data.inquiry_id,
                              "number": outcome.case.number if outcome.case else "-"})
        _audit(actor, outcome.inquiry, "assign", before)
    return outcome


def _source(actor: Actor, source_id) -> InquirySource:
    try:
        return InquirySource.objects.for_company(actor.company_id).select_related("company", "org_unit", "default_assignee").get(
            pk=source_id)
    except (InquirySource.DoesNotExist, ValueError, TypeError):
        message = _("Choose an inquiry source.")
        raise ApplicationError(error_codes.ASSIGNMENT_INVALID, message, fields={"source": [message]}) from None


def _destination(actor: Actor, source: InquirySource, assignment: Assignment) -> Destination:
    unit, assignee = source.org_unit, source.default_assignee
    if assignment.org_unit_id is not None:
        try:
            unit = OrgUnit.objects.for_company(actor.company_id).get(pk=assignment.org_unit_id)
        except (OrgUnit.DoesNotExist, ValueError, TypeError):
            message = _("Choose a unit.")
            raise ApplicationError(error_codes.ASSIGNMENT_INVALID, message, fields={"org_unit": [message]}) from None
    try:
        check_case_unit(actor, unit.pk)
    except ApplicationError as error:
        error.fields = {"org_unit": [error.message]}
        raise
    if assignment.assignee_id is not None:
        assignee = User.objects.filter(company_id=actor.company_id, is_active=True, pk=assignment.assignee_id).first()
        message = _("Choose an active user of the company.") if assignee is None else assignee_error(actor.company_id, assignee, unit)
        if message:
            raise ApplicationError(error_codes.ASSIGNMENT_INVALID, message, fields={"assignee": [message]})
    elif unit.pk != source.org_unit_id and assignee_error(actor.company_id, assignee, unit):
        assignee = None  # another unit than the source's, where its default assignee does not work: the unit's cases, nobody's yet
    kind = assignment.kind or source.case_kind
    if kind not in CaseKind.values:
        message = _("Choose a valid option.")
        raise ApplicationError(error_codes.ASSIGNMENT_INVALID, message, fields={"kind": [message]})
    return Destination(company_id=actor.company_id, org_unit=unit, assignee=assignee, kind=kind, source_name=source.name)


# ---------------------------------------------------------------------------------------------
# Read again, teach a label


def reread(inquiry: Inquiry, *, actor: Actor) -> Outcome:
    """Read a waiting inquiry's mail again with the sources as they are now (inside the caller's
    transaction, the inquiry locked): taken when a source recognizes and reads it, else still waiting
    with the new reason."""
    if inquiry.raw is None:
        return Outcome(inquiry.status, inquiry)
    try:
        mail = decode_mail(bytes(inquiry.raw))
    except Exception as error:
        return _still_waiting(inquiry, InquiryStatus.FAILED, None, {}, _("The mail could not be read: %(error)s") % {"error": str(error)[:200]})
    source = recognizing_source(mail_sources(inquiry.company_id), mail)
    if source is None:
        return _still_waiting(inquiry, InquiryStatus.UNMATCHED, None, {}, _("No inquiry source recognizes this mail."))
    data = InquiryData.from_fields(read_labels(mail.text, label_map(source)))
    try:
        with transaction.atomic():
            outcome = take_inquiry(source, data, channel=inquiry.channel, waiting=inquiry, acting_user=actor.user)
    except ApplicationError as error:
        reasons = "; ".join(message for messages in (error.fields or {}).values() for message in messages) or error.message
        return _still_waiting(inquiry, InquiryStatus.FAILED, source, data.as_dict(), reasons)
    if outcome.status == DUPLICATE:
        number = outcome.case.number if outcome.case else "-"
        return _still_waiting(inquiry, InquiryStatus.FAILED, source, data.as_dict(),
                              _("The same inquiry (%(source)s %(id)s) was already taken: case #%(number)s.")
                              % {"source": source.name, "id": data.inquiry_id, "number": number})
    return outcome


def _still_waiting(inquiry: Inquiry, status: str, source: InquirySource | None, fields: dict, error: str) -> Outcome:
    changed = {"status": status, "source": source, "fields": fields, "error": error}
    if any(getattr(inquiry, name) != value for name, value in changed.items()):
        for name, value in changed.items():
            setattr(inquiry, name, value)
        inquiry.save(update_fields=[*changed, "updated_at"])
    return Outcome(status, inquiry)


@dataclass
class Lesson:
    """Labels to add to a source (label -> field of choices.FIELDS), and optionally how its mail is recognized."""

    source_id: int
    labels: list[tuple[str, str]]
    from_contains: str | None = None  # None: unchanged
    subject_contains: str | None = None


def label_as_taught(text: str) -> str:
    """A label as the reading compares it: without the marks before it and the colon or bracket after it that
    an admin copies from the mail (`【お名前】` -> `お名前`, `■TEL：` -> `TEL`); brackets inside stay (`名前(漢字)`)."""
    return (text or "").strip().lstrip(LEADING_MARKS).rstrip(TRAILING_MARKS).strip()


def check_labels(pairs: list[tuple[str, str]]) -> dict[str, str]:
    labels, errors = {}, []
    for label, field in pairs:
        label = label_as_taught(label)
        if not label and not field:
            continue
        if not label or len(label) > LABEL_MAX_LENGTH:
            errors.append(_("A label has 1 to %(count)d characters.") % {"count": LABEL_MAX_LENGTH})
        elif field not in FIELDS:
            errors.append(_("Choose the field that the label %(label)s fills.") % {"label": label})
        else:
            labels[label] = field
    if errors:
        raise ApplicationError(error_codes.LABELS_INVALID, errors[0], fields={"labels": errors})
    return labels


def do_teach_labels(*, actor: Actor, inquiry_id: int, version: str | None, lesson: Lesson) -> Outcome:
    """Add labels to a source (and set how its mail is recognized, when given), then read the waiting mail
    again: taken when it is recognized and readable now, else still waiting with the new reason. The source
    must be of a unit the admin administers. Atomic; audited (`update` of the source, `reread` of the
    inquiry when it changed)."""
    require(actor, "inquiry_inbox")
    with transaction.atomic(durable=True):
        inquiry = lock_waiting(actor, inquiry_id, version)
        try:
            source = InquirySource.objects.for_company(actor.company_id).select_for_update().get(pk=lesson.source_id)
        except (InquirySource.DoesNotExist, ValueError, TypeError):
            message = _("Choose an inquiry source.")
            raise ApplicationError(error_codes.LABELS_INVALID, message, fields={"source": [message]}) from None
        if not actor.can_admin_unit(source.org_unit_id):
            message = _("You may teach only the sources of the units you administer.")
            raise ApplicationError(error_codes.LABELS_INVALID, message, fields={"source": [message]})
        labels = check_labels(lesson.labels)
        conditions = {name: value.strip()[:200] for name, value in (("from_contains", lesson.from_contains),
                                                                    ("subject_contains", lesson.subject_contains)) if value is not None}
        if not labels and not any(conditions.values()):
            message = _("Add at least one label, or how this source's mail is recognized.")
            raise ApplicationError(error_codes.LABELS_INVALID, message, fields={"labels": [message]})
        before_source = snapshot(source, ("labels", "from_contains", "subject_contains"))
        source.labels = {**(source.labels or {}), **labels}
        for name, value in conditions.items():
            if value:
                setattr(source, name, value)
        source.save(update_fields=["labels", "from_contains", "subject_contains", "updated_at"])
        record_event(company_id=source.company_id, actor=actor.user, verb="update", instance=source, before=before_source,
                     after=snapshot(source, ("labels", "from_contains", "subject_contains")))
        before = snapshot(inquiry, AUDITED_FIELDS)
        outcome = reread(inquiry, actor=actor)
        if snapshot(outcome.inquiry, AUDITED_FIELDS) != before:
            _audit(actor, outcome.inquiry, "reread", before)
    return outcome


def do_reread_waiting(*, actor: Actor) -> Counter:
    """Read every waiting mail the admin sees again: each one recognized and readable now is taken, the rest
    stays (with its new reason). One transaction per mail (a mail taken stays taken when a later one
    fails); a mail resolved meanwhile by someone else is skipped. Returns counts by outcome status."""
    require(actor, "inquiry_inbox")
    # Waiting mails are few (the partial index holds exactly them); ids first, each locked on its own.
    ids = list(Inquiry.objects.for_company(actor.company_id).filter(inquiry_visibility_q(actor), status__in=InquiryStatus.inbox())
               .order_by("pk").values_list("pk", flat=True))
    counts: Counter = Counter()
    for inquiry_id in ids:
        with transaction.atomic(durable=True):
            try:
                inquiry = lock_waiting(actor, inquiry_id, None)
            except (Conflict, NotFound):
                counts["skipped"] += 1
                continue
            before = snapshot(inquiry, AUDITED_FIELDS)
            outcome = reread(inquiry, actor=actor)
            if snapshot(outcome.inquiry, AUDITED_FIELDS) != before:
                _audit(actor, outcome.inquiry, "reread", before)
            counts[outcome.status] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Dismiss and restore


def do_dismiss_inquiry(*, actor: Actor, inquiry_id: int, version: str | None, reason: str) -> Inquiry:
    """Dismiss a waiting mail (spam, not an inquiry) with a reason: kept, listed under 「除外済み」, restorable.
    Atomic, audited (`dismiss`); refused (nothing written) without a reason or when no longer waiting."""
    require(actor, "inquiry_inbox")
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX_LENGTH:
        message = _("Say why the mail is dismissed (at most %(count)d characters).") % {"count": REASON_MAX_LENGTH}
        raise ApplicationError(error_codes.DISMISSAL_INVALID, message, fields={"reason": [message]})
    with transaction.atomic(durable=True):
        inquiry = lock_waiting(actor, inquiry_id, version)
        before = snapshot(inquiry, AUDITED_FIELDS)
        inquiry.status_before_dismissal, inquiry.status = inquiry.status, InquiryStatus.DISMISSED
        inquiry.dismissal_reason, inquiry.resolved_by, inquiry.resolved_at = reason, actor.user, timezone.now()
        inquiry.save(update_fields=["status", "status_before_dismissal", "dismissal_reason", "resolved_by", "resolved_at", "updated_at"])
        _audit(actor, inquiry, "dismiss", before)
    return inquiry


def do_restore_inquiry(*, actor: Actor, inquiry_id: int, version: str | None) -> Inquiry:
    """Put a dismissed mail back in 「取り込めなかった反響」 with the status it had. Atomic, audited (`restore`);
    refused when it is not dismissed (any more) or changed since `version`."""
    require(actor, "inquiry_inbox")
    with transaction.atomic(durable=True):
        inquiry = access_inquiry(actor, inquiry_id, for_update=True)
        if inquiry.status != InquiryStatus.DISMISSED:
            raise Conflict(error_codes.INQUIRY_RESOLVED, _("This mail is not dismissed."))
        if version is not None and version != etag_of(inquiry):
            raise Conflict(error_codes.INQUIRY_STALE, _("This mail changed after you opened it. Look at it again before you act."))
        before = snapshot(inquiry, AUDITED_FIELDS)
        inquiry.status = inquiry.status_before_dismissal if inquiry.status_before_dismissal in InquiryStatus.inbox() \
            else InquiryStatus.UNMATCHED
        inquiry.status_before_dismissal, inquiry.dismissal_reason, inquiry.resolved_by, inquiry.resolved_at = "", "", None, None
        inquiry.save(update_fields=["status", "status_before_dismissal", "dismissal_reason", "resolved_by", "resolved_at", "updated_at"])
        _audit(actor, inquiry, "restore", before)
    return inquiry


def sender_domain(sender: str) -> str:
    """The domain of a From header's address (what a source's `from_contains` usually holds)."""
    address = parseaddr(sender or "")[1]
    return address.rpartition("@")[2].lower() if "@" in address else address.lower()
