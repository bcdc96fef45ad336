"""Rows hanging off a case (what a merge moves) and a dump of everything a merge may touch, for exact compares."""

import datetime
import uuid

from django.utils import timezone

from estatecrm.crm.choices import ActivityKind
from estatecrm.crm.models import (
    Activity,
    Attachment,
    Case,
    CaseAssignee,
    CaseTag,
    Contact,
    ContactPoint,
    Customer,
    DesiredConditions,
    DuplicateCandidate,
    Introduction,
)
from estatecrm.dedup.models import Merge, MergeCase
from estatecrm.inquiries.choices import Channel, InquiryStatus
from estatecrm.inquiries.models import Inquiry, LineMessage

WHEN = datetime.datetime(2026, 4, 1, 10, 0, tzinfo=datetime.UTC)


def add_history(case: Case, *, activities: int = 1, introductions: int = 1, attachments: int = 1, line_messages: int = 1,
                inquiries: int = 1, open_visits: int = 0) -> None:
    """Rows of each kind a merge moves, on `case`."""
    company_id = case.company_id
    Activity.objects.bulk_create([
        Activity(company_id=company_id, case=case, kind=ActivityKind.CALL, occurred_at=WHEN + datetime.timedelta(minutes=i), subject=f"call {i}")
        for i in range(activities)])
    Activity.objects.bulk_create([
        Activity(company_id=company_id, case=case, kind=ActivityKind.VISIT_APPOINTMENT, occurred_at=WHEN + datetime.timedelta(days=i + 1),
                 is_done=False, org_unit_id=case.owning_org_id) for i in range(open_visits)])
    Introduction.objects.bulk_create([Introduction(company_id=company_id, case=case, listing_name=f"物件 {i}") for i in range(introductions)])
    Attachment.objects.bulk_create([
        Attachment(company_id=company_id, case=case, file=f"attachments/{company_id}/{case.pk}/file{i}.pdf", original_name=f"file{i}.pdf",
                   uploaded_at=WHEN) for i in range(attachments)])
    LineMessage.objects.bulk_create([
        LineMessage(company_id=company_id, case=case, retry_key=uuid.uuid4(), line_user_id="U1", text=f"message {i}", sent_at=WHEN)
        for i in range(line_messages)])
    Inquiry.objects.bulk_create([
        Inquiry(company_id=company_id, case=case, customer_id=case.customer_id, channel=Channel.API, status=InquiryStatus.CREATED,
                received_at=WHEN, subject=f"inquiry {i}") for i in range(inquiries)])


STATE_MODELS = (Case, Customer, Contact, ContactPoint, Activity, Introduction, Attachment, LineMessage, Inquiry, DesiredConditions,
                CaseTag, CaseAssignee)


def database_state(company_id: int) -> dict:
    """Every row of the tables a merge may change, by model and pk (candidates without their pk: they are rebuilt)."""
    state = {model._meta.label_lower: {row["id"]: row for row in model.objects.for_company(company_id).values()} for model in STATE_MODELS}
    state["candidates"] = sorted(DuplicateCandidate.objects.for_company(company_id).values_list("case_a_id", "case_b_id", "rule", "score", "key"))
    return state


def merge_count(company_id: int) -> tuple[int, int]:
    return Merge.objects.for_company(company_id).count(), MergeCase.objects.for_company(company_id).count()


def now() -> datetime.datetime:
    return timezone.now()
