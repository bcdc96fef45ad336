"""Every write to customers, cases and the company's CRM masters.

Each public action owns its transaction, writes one audit event per changed object, and returns
early when nothing changes.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.actions import audit_event, bulk_record_events, record_event, snapshot
from estatecrm.audit.stale import check_read_version
from estatecrm.core.errors import ApplicationError
from estatecrm.core.versions import ReadVersion
from estatecrm.crm import error_codes
from estatecrm.crm.case_numbers import allocate_case_numbers
from estatecrm.crm.choices import (
    CONTACT_KINDS,
    KIND_DIRECTIONS,
    MAX_SUB_ASSIGNEES_PER_CASE,
    MAX_TAGS_PER_CASE,
    ActivityDirection,
    ActivityKind,
    CaseKind,
    CaseOrigin,
    CaseStatus,
    ContactPointKind,
    CustomerKind,
    CustomFieldType,
    ReassignmentKind,
)
from estatecrm.crm.contact_points import build_contact_point
from estatecrm.crm.custom_fields import clean_custom_values
from estatecrm.crm.duplicates import block_values as duplicate_block_values
from estatecrm.crm.duplicates import refresh_customers as refresh_duplicates
from estatecrm.crm.link_numbers import allocate_link_numbers
from estatecrm.crm.models import (
    Activity,
    Attachment,
    Case,
    CaseAssignee,
    CaseTag,
    Contact,
    ContactPoint,
    Customer,
    CustomField,
    DesiredConditions,
    Project,
    ProjectField,
    Rank,
    SubStatus,
    Tag,
)
from estatecrm.crm.reassignment import Plan, apply_plan
from estatecrm.normalize import (
    MESSAGES,
    company_name_key,
    name_key,
    normalize_name,
    normalize_postal_code,
    normalize_prefecture,
    normalize_reading,
    reading_key,
)
from estatecrm.tenancy.permissions import check_case_unit, require, require_user
from estatecrm.tenancy.selectors import actor_for

# ---------------------------------------------------------------------------------------------
# Checks shared by actions


def check_tags(tags: Sequence[Tag]) -> None:
    if len(tags) > MAX_TAGS_PER_CASE:
        raise ApplicationError(error_codes.TOO_MANY_TAGS, _("A case has at most %(count)d tags.") % {"count": MAX_TAGS_PER_CASE})


def check_sub_assignees(case_company_id: int, users: Sequence, main_assignee=None) -> None:
    distinct = {user.pk for user in users if main_assignee is None or user.pk != main_assignee.pk}
    if len(distinct) > MAX_SUB_ASSIGNEES_PER_CASE:
        raise ApplicationError(
            error_codes.TOO_MANY_SUB_ASSIGNEES,
            _("A case has at most %(count)d sub-assignees.") % {"count": MAX_SUB_ASSIGNEES_PER_CASE},
        )
    if any(user.company_id != case_company_id for user in users):
        raise ApplicationError(error_codes.ASSIGNEE_OF_OTHER_COMPANY, _("Assignees must belong to the company."))


def check_sub_status(status: str, sub_status: SubStatus | None) -> None:
    if sub_status is not None and sub_status.status != status:
        raise ApplicationError(
            error_codes.SUB_STATUS_MISMATCH,
            _("The sub-status “%(name)s” belongs to another status.") % {"name": sub_status.name},
            fields={"sub_status": [_("Choose a sub-status of the selected status.")]},
        )


def check_custom_values(company_id: int, values: dict) -> dict:
    """Clean custom values against the company's definitions; ApplicationError with field errors."""
    if not values:
        return {}
    definitions = CustomField.objects.for_company(company_id).filter(name__in=list(values))
    cleaned, errors = clean_custom_values(definitions, values)
    if errors:
        raise ApplicationError(
            error_codes.CUSTOM_VALUE_INVALID, _("Some custom field values are not valid."),
            fields={f"custom:{name}": messages for name, messages in errors.items()},
        )
    return cleaned


# Bounds of customer details (the page, the API and the tenant file alike).
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)
MAX_HOUSEHOLD_SIZE = 99
MAX_ANNUAL_INCOME = 2_147_483_647  # 万円; the column's limit on PostgreSQL


def check_customer_fields(values: dict) -> dict:
    """The customer details in `values` (any subset of CUSTOMER_EDITABLE_FIELDS) as they are stored:
    postal code as `NNN-NNNN`, prefecture as its full name; refuses (ApplicationError with a message per
    field, nothing written) what the page refuses: an unknown postal code form or prefecture, a birth
    date in the future or before 1900, a household outside 1-99, a negative income."""
    cleaned = dict(values)
    errors: dict[str, list[str]] = {}
    if cleaned.get("postal_code"):
        result = normalize_postal_code(cleaned["postal_code"])
        if result.is_valid:
            cleaned["postal_code"] = result.value
        else:
            errors["postal_code"] = [_("Enter a postal code like 150-0002.")]
    if cleaned.get("prefecture"):
        result = normalize_prefecture(cleaned["prefecture"])
        if result.is_valid:
            cleaned["prefecture"] = result.value
        else:
            errors["prefecture"] = [_("Enter one of the 47 prefectures, e.g. 東京都.")]
    birth_date = cleaned.get("birth_date")
    if birth_date is not None and not EARLIEST_BIRTH_DATE <= birth_date <= timezone.localdate():
        errors["birth_date"] = [_("Enter a birth date between 1900-01-01 and today.")]
    household_size = cleaned.get("household_size")
    if household_size is not None and not 1 <= household_size <= MAX_HOUSEHOLD_SIZE:
        errors["household_size"] = [_("Enter a household size from 1 to %(max)d.") % {"max": MAX_HOUSEHOLD_SIZE}]
    annual_income = cleaned.get("annual_income")
    if annual_income is not None and not 0 <= annual_income <= MAX_ANNUAL_INCOME:
        errors["annual_income"] = [_("Enter an annual income from 0 to %(max)d.") % {"max": MAX_ANNUAL_INCOME}]
    if errors:
        raise ApplicationError(error_codes.CUSTOMER_INVALID, _("Some customer details are not valid."), fields=errors)
    return cleaned


def customer_keys(kind: str, name: str, kana: str) -> tuple[str, str]:
    """The matching keys stored beside a customer's name and reading."""
    key = company_name_key(name) if kind == CustomerKind.COMPANY else name_key(name)
    reading = normalize_reading(kana) if kana else None
    return key, reading_key(reading.value) if reading is not None and reading.is_valid else ""


# ---------------------------------------------------------------------------------------------
# Customers and cases


@dataclass
class ContactInput:
    name: str
    kana: str = ""
    phones: list[tuple[str, str]] = field(default_factory=list)  # (kind, raw)
    emails: list[str] = field(default_factory=list)


# The details check_customer_fields checks and normalizes.
CUSTOMER_DETAIL_FIELDS = ("postal_code", "prefecture", "birth_date", "household_size", "annual_income")


@dataclass
class CustomerInput:
    name: str
    kind: str = CustomerKind.PERSON
    kana: str = ""
    gender: str = ""
    birth_date: object = None
    postal_code: str = ""
    prefecture: str = ""
    city: str = ""
    street: str = ""
    building: str = ""
    employer: str = ""
    annual_income: int | None = None
    household_size: int | None = None
    homepage: str = ""
    custom_values: dict = field(default_factory=dict)
    contacts: list[ContactInput] = field(default_factory=list)
    line_user_id: str = ""


@transaction.atomic(savepoint=False)
def do_create_customer(*, company, data: CustomerInput, acting_user, run_id: int | None = None,
                       refuse_invalid_points: bool = False) -> Customer:
    """Create a customer with its contacts and their phones and e-mails (raw kept, normalized stored).

    A person without explicit contacts gets one contact: themself. Audited. Details are checked and
    normalized by check_customer_fields (refused: nothing written). A phone or e-mail that cannot be
    normalized is stored with its `invalid_reason` (data brought from elsewhere is kept as it was),
    or, with `refuse_invalid_points` (what people type: the page, the API), refused like an edit.
    """
    details = check_customer_fields({name: getattr(data, name) for name in CUSTOMER_DETAIL_FIELDS})
    name = normalize_name(data.name)
    reading = normalize_reading(data.kana) if data.kana else None
    kana = reading.value if reading is not None and reading.is_valid else data.kana.strip()
    key, kana_key = customer_keys(data.kind, name, kana)
    customer = Customer.objects.create(
        company=company, kind=data.kind, name=name, name_key=key, kana=kana, kana_key=kana_key, gender=data.gender,
        city=data.city, street=data.street, building=data.building, employer=data.employer, homepage=data.homepage, **details,
        custom_values=check_custom_values(company.pk, data.custom_values), line_link_number=allocate_link_numbers(company.pk, 1)[0],
        line_user_id=data.line_user_id,
    )
    contacts = data.contacts or [ContactInput(name=name, kana=kana)]
    points: list[ContactPoint] = []
    for position, contact_data in enumerate(contacts):
        contact = Contact.objects.create(
            company=company, customer=customer, name=normalize_name(contact_data.name), kana=contact_data.kana, position=position
        )
        for kind, raw in contact_data.phones:
            points.append(build_contact_point(contact=contact, kind=kind, raw=raw, region=company.phone_region, position=len(points)))
        for raw in contact_data.emails:
            points.append(build_contact_point(contact=contact, kind="email", raw=raw, position=len(points)))
    if refuse_invalid_points:
        check_contact_points(points, field_prefix="contacts")
    ContactPoint.objects.bulk_create(points)
    # Without a case it has no pairs yet, but its phones and reading count for other customers' (shared values, blocks).
    refresh_duplicates(company.pk, [customer.pk])
    record_event(company_id=company.pk, actor=acting_user, verb="create", instance=customer, after=snapshot(customer), run_id=run_id)
    return customer


@dataclass
class CaseInput:
    kind: str
    owning_org: object
    status: str = CaseStatus.NEW
    sub_status: SubStatus | None = None
    rank: Rank | None = None
    main_assignee: object = None
    sub_assignees: list = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    project: Project | None = None
    origin: str = CaseOrigin.MANUAL
    source_system: str = ""
    source_id: str = ""
    started_on: object = None
    first_inquiry_date: object = None
    first_inquiry_source: str = ""
    first_inquiry_listing_ref: str = ""
    first_inquiry_listing_name: str = ""
    auto_intro_mail: bool = False
    other_info: str = ""
    custom_values: dict = field(default_factory=dict)
    desired: dict = field(default_factory=dict)


@transaction.atomic(savepoint=False)
def do_create_case(*, customer: Customer, data: CaseInput, acting_user, run_id: int | None = None) -> Case:
    """Create a case of `customer` with its tags, sub-assignees and desired conditions. Audited.

    Refuses more than 10 tags or 19 sub-assignees, a sub-status of another status, invalid custom
    values, assignees of another company, and (for a user; None is the operator) a unit whose cases
    the acting user does not see (tenancy.permissions.check_case_unit).
    """
    if acting_user is not None:
        check_case_unit(actor_for(acting_user), data.owning_org.pk)
    check_tags(data.tags)
    check_sub_assignees(customer.company_id, data.sub_assignees, data.main_assignee)
    check_sub_status(data.status, data.sub_status)
    custom_values = check_custom_values(customer.company_id, data.custom_values)
    [number] = allocate_case_numbers(customer.company_id, 1)
    case = Case.objects.create(
        company_id=customer.company_id, number=number, customer=customer, kind=data.kind, status=data.status, sub_status=data.sub_status,
        rank=data.rank, owning_org=data.owning_org, main_assignee=data.main_assignee, project=data.project,
        origin=data.origin, source_system=data.source_system, source_id=data.source_id, started_on=data.started_on or timezone.localdate(), first_inquiry_date=data.first_inquiry_date,
        first_inquiry_source=data.first_inquiry_source, first_inquiry_listing_ref=data.first_inquiry_listing_ref,
        first_inquiry_listing_name=data.first_inquiry_listing_name, auto_intro_mail=data.auto_intro_mail,
        other_info=data.other_info, custom_values=custom_values,
    )
    CaseTag.objects.bulk_create(
        [CaseTag(company_id=case.company_id, case=case, tag=tag, position=position) for position, tag in enumerate(data.tags)]
    )
    sub_assignees = [user for user in dict.fromkeys(data.sub_assignees) if user != data.main_assignee]
    CaseAssignee.objects.bulk_create(
        [CaseAssignee(company_id=case.company_id, case=case, user=user, position=position) for position, user in enumerate(sub_assignees)]
    )
    DesiredConditions.objects.create(company_id=case.company_id, case=case, **data.desired)
    refresh_duplicates(case.company_id, [customer.pk])
    case.has_duplicates = Case.objects.for_company(case.company_id).filter(pk=case.pk).values_list("has_duplicates", flat=True).get()
    after = case_audit_snapshot(case)
    after.update(tags=[tag.name for tag in data.tags], sub_assignees=[user.pk for user in sub_assignees])
    record_event(company_id=case.company_id, actor=acting_user, verb="create", instance=case, after=after, run_id=run_id)
    return case


def case_audit_snapshot(case: Case) -> dict:
    """A new case's fields as its `create` event holds them. Not `has_duplicates`: derived data that writes of other
    customers move (crm.duplicates), so a batch writer records what the same cases written one by one record."""
    after = snapshot(case)
    del after["has_duplicates"]
    return after


CASE_EDITABLE_FIELDS = (
    "kind", "status", "sub_status", "rank", "owning_org", "main_assignee", "started_on", "first_inquiry_date",
    "first_inquiry_source", "first_inquiry_listing_ref", "first_inquiry_listing_name", "auto_intro_mail", "other_info",
    "next_action_at", "next_action",
)
NEXT_ACTION_MAX_LENGTH = Case._meta.get_field("next_action").max_length


def check_next_action(next_action_at, next_action: str) -> tuple:
    """次回対応 as stored: (when, what) with the text trimmed; both empty clears it. Refused (fields
    `next_action_at`, `next_action`): a text without a date and time, a text longer than the column."""
    next_action = (next_action or "").strip()
    if len(next_action) > NEXT_ACTION_MAX_LENGTH:
        message = _("The next action has at most %(count)d characters.") % {"count": NEXT_ACTION_MAX_LENGTH}
        raise ApplicationError(error_codes.NEXT_ACTION_INVALID, message, fields={"next_action": [message]})
    if next_action and next_action_at is None:
        message = _("Give the date and time of the next action.")
        raise ApplicationError(error_codes.NEXT_ACTION_INVALID, message, fields={"next_action_at": [message]})
    return next_action_at, next_action


def check_case_version(case: Case, read_version: ReadVersion | None) -> None:
    """Refuse (409 `stale`, saying who changed what) a change of a case read at another version."""
    from estatecrm.crm.selectors import case_history

    check_read_version(case, read_version, history=case_history(case), models=(DesiredConditions, Activity))


@transaction.atomic(savepoint=False)
def do_update_case(*, case: Case, changes: dict, acting_user, read_version: ReadVersion | None = None) -> bool:
    """Apply `changes` (CASE_EDITABLE_FIELDS and custom_values) to the case. Returns whether anything changed.

    A new owning unit must be one whose cases the acting user sees (tenancy.permissions.check_case_unit),
    by whatever door the change comes; None is the operator. With `read_version` (what the page or API
    client read), refused with Conflict when the case has changed since (optimistic lock), before
    anything is written, even when `changes` is empty.
    """
    if acting_user is not None and "owning_org" in changes and changes["owning_org"].pk != case.owning_org_id:
        check_case_unit(actor_for(acting_user), changes["owning_org"].pk)
    case = Case.objects.for_company(case.company_id).select_for_update().get(pk=case.pk)
    check_case_version(case, read_version)
    unknown = set(changes) - set(CASE_EDITABLE_FIELDS) - {"custom_values"}
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "custom_values" in changes:
        changes = {**changes, "custom_values": check_custom_values(case.company_id, changes["custom_values"])}
    if "next_action_at" in changes or "next_action" in changes:
        next_action_at, next_action = check_next_action(changes.get("next_action_at", case.next_action_at),
                                                        changes.get("next_action", case.next_action))
        changes = {**changes, "next_action_at": next_action_at, "next_action": next_action}
    status = changes.get("status", case.status)
    sub_status = changes.get("sub_status", case.sub_status)
    if "status" in changes and "sub_status" not in changes and sub_status is not None and sub_status.status != status:
        changes = {**changes, "sub_status": None}
        sub_status = None
    check_sub_status(status, sub_status)
    changed = [name for name, value in changes.items() if getattr(case, name) != value]
    if not changed:
        return False
    attnames = [case._meta.get_field(name).attname for name in changed]
    before = snapshot(case, attnames)
    if "main_assignee" in changed and changes["main_assignee"] is not None:
        # The 担当変更 engine gives the case to the new main assignee: history, open visits, mail. Its per-case
        # audit event would repeat this action's `update` event, so it writes only the record's.
        # A new owning unit in the same edit takes the unit's open visits to its calendar too.
        apply_plan(Plan(company_id=case.company_id, kind=ReassignmentKind.REASSIGN, cases=[case], acting_user=acting_user,
                        agent=case.main_assignee, to_user=changes["main_assignee"],
                        to_unit=changes["owning_org"] if "owning_org" in changed else None, audit_cases=False))
    for name in changed:
        setattr(case, name, changes[name])
    case.save(update_fields=[*changed, "updated_at"])
    record_event(company_id=case.company_id, actor=acting_user, verb="update", instance=case, before=before, after=snapshot(case, attnames))
    return True


@transaction.atomic(savepoint=False)
def do_set_case_tags(*, case: Case, tags: Sequence[Tag], acting_user) -> bool:
    """Make the case's tags exactly `tags`, in that order (at most 10). Returns whether they changed."""
    check_tags(tags)
    if any(tag.company_id != case.company_id for tag in tags):
        raise ApplicationError(error_codes.UNKNOWN_TAG, _("Unknown tag."))
    current = list(CaseTag.objects.for_company(case.company_id).filter(case=case).order_by("position").values_list("tag_id", flat=True))
    wanted = [tag.pk for tag in dict.fromkeys(tags)]
    if current == wanted:
        return False
    CaseTag.objects.for_company(case.company_id).filter(case=case).delete()
    CaseTag.objects.bulk_create([CaseTag(company_id=case.company_id, case=case, tag_id=tag_id, position=i) for i, tag_id in enumerate(wanted)])
    Case.objects.for_company(case.company_id).filter(pk=case.pk).update(updated_at=timezone.now())
    record_event(company_id=case.company_id, actor=acting_user, verb="update", instance=case, before={"tags": current}, after={"tags": wanted})
    return True


@transaction.atomic(savepoint=False)
def do_set_case_sub_assignees(*, case: Case, users: Sequence, acting_user) -> bool:
    """Make the case's sub-assignees exactly `users`, in order (at most 19, never the main assignee)."""
    check_sub_assignees(case.company_id, users, case.main_assignee)
    wanted = [user.pk for user in dict.fromkeys(users) if user.pk != case.main_assignee_id]
    current = list(CaseAssignee.objects.for_company(case.company_id).filter(case=case).order_by("position").values_list("user_id", flat=True))
    if current == wanted:
        return False
    CaseAssignee.objects.for_company(case.company_id).filter(case=case).delete()
    CaseAssignee.objects.bulk_create(
        [CaseAssignee(company_id=case.company_id, case=case, user_id=user_id, position=i) for i, user_id in enumerate(wanted)]
    )
    Case.objects.for_company(case.company_id).filter(pk=case.pk).update(updated_at=timezone.now())
    record_event(
        company_id=case.company_id, actor=acting_user, verb="update", instance=case,
        before={"sub_assignees": current}, after={"sub_assignees": wanted},
    )
    return True


# ---------------------------------------------------------------------------------------------
# Trash


def do_trash_case(*, case: Case, acting_user, run_id: int | None = None) -> bool:
    """Move the case to the trash (restorable for TRASH_RETENTION_DAYS). Returns False when already there.

    Rule `case_trash`: an administrator of the case's unit (PermissionDenied otherwise; None is the operator).
    The rule is checked before the transaction opens, so a refusal leaves the caller's transaction usable."""
    require_user(acting_user, "case_trash", unit_id=case.owning_org_id)
    return _trash_case(case=case, acting_user=acting_user, run_id=run_id)


@transaction.atomic(savepoint=False)
def _trash_case(*, case: Case, acting_user, run_id: int | None = None) -> bool:
    updated = Case.objects.for_company(case.company_id).filter(pk=case.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    if not updated:
        return False
    case.refresh_from_db(fields=["deleted_at", "updated_at"])
    refresh_duplicates(case.company_id, [case.customer_id])
    record_event(company_id=case.company_id, actor=acting_user, verb="trash", instance=case, after={"deleted_at": case.deleted_at.isoformat()}, run_id=run_id)
    return True


def do_restore_case(*, case: Case, acting_user) -> bool:
    """Take the case out of the trash, and its customer with it when the customer was trashed.

    Rule `case_trash`: an administrator of the case's unit (PermissionDenied otherwise; None is the operator).
    The rule is checked before the transaction opens, so a refusal leaves the caller's transaction usable."""
    require_user(acting_user, "case_trash", unit_id=case.owning_org_id)
    return _restore_case(case=case, acting_user=acting_user)


@transaction.atomic(savepoint=False)
def _restore_case(*, case: Case, acting_user) -> bool:
    updated = Case.objects.for_company(case.company_id).filter(pk=case.pk, deleted_at__isnull=False, merged_into__isnull=True).update(
        deleted_at=None)
    if not updated:
        raise ApplicationError(error_codes.NOT_IN_TRASH, _("The case is not in the trash."))
    Customer.objects.for_company(case.company_id).filter(pk=case.customer_id, deleted_at__isnull=False, merged_into__isnull=True).update(
        deleted_at=None)
    case.refresh_from_db(fields=["deleted_at"])
    refresh_duplicates(case.company_id, [case.customer_id])
    record_event(company_id=case.company_id, actor=acting_user, verb="restore", instance=case)
    return True


def do_trash_customer(*, customer: Customer, acting_user, run_id: int | None = None) -> int:
    """Move the customer and all its cases to the trash. Returns the number of cases trashed with it.

    Rule `customers_manage`: company administrators (None is the operator)."""
    require_user(acting_user, "customers_manage")
    return _trash_customer(customer=customer, acting_user=acting_user, run_id=run_id)


@transaction.atomic(savepoint=False)
def _trash_customer(*, customer: Customer, acting_user, run_id: int | None = None) -> int:
    now = timezone.now()
    updated = Customer.objects.for_company(customer.company_id).filter(pk=customer.pk, deleted_at__isnull=True).update(deleted_at=now)
    if not updated:
        return 0
    case_ids = list(Case.objects.for_company(customer.company_id).filter(customer=customer, deleted_at__isnull=True).values_list("pk", flat=True))
    Case.objects.for_company(customer.company_id).filter(pk__in=case_ids).update(deleted_at=now)
    customer.refresh_from_db(fields=["deleted_at"])
    refresh_duplicates(customer.company_id, [customer.pk])
    record_event(company_id=customer.company_id, actor=acting_user, verb="trash", instance=customer, after={"cases": case_ids}, run_id=run_id)
    return len(case_ids)


def do_restore_customer(*, customer: Customer, acting_user) -> int:
    """Take the customer out of the trash with the cases that went there with it. Returns their count.

    Rule `customers_manage`: company administrators (None is the operator)."""
    require_user(acting_user, "customers_manage")
    return _restore_customer(customer=customer, acting_user=acting_user)


@transaction.atomic(savepoint=False)
def _restore_customer(*, customer: Customer, acting_user) -> int:
    if not customer.is_trashed:
        raise ApplicationError(error_codes.NOT_IN_TRASH, _("The customer is not in the trash."))
    trashed_at = customer.deleted_at
    Customer.objects.for_company(customer.company_id).filter(pk=customer.pk).update(deleted_at=None)
    restored = Case.objects.for_company(customer.company_id).filter(customer=customer, deleted_at=trashed_at, merged_into__isnull=True).update(
        deleted_at=None)
    customer.refresh_from_db(fields=["deleted_at"])
    refresh_duplicates(customer.company_id, [customer.pk])
    record_event(company_id=customer.company_id, actor=acting_user, verb="restore", instance=customer, after={"cases": restored})
    return restored


@transaction.atomic
def do_purge_trash(*, company, now=None) -> tuple[int, int]:
    """Delete for good what has been in the trash longer than TRASH_RETENTION_DAYS. Returns (cases, customers).
    Cases and customers merged away (名寄せ) are not in the trash: they stay for the merge's undo and audit."""
    cutoff = (now or timezone.now()) - timezone.timedelta(days=settings.TRASH_RETENTION_DAYS)
    cases = Case.objects.for_company(company).filter(deleted_at__lt=cutoff, merged_into__isnull=True)
    case_customers = dict(cases.values_list("pk", "customer_id"))
    case_ids = list(case_customers)
    for chunk_start in range(0, len(case_ids), 500):
        Case.objects.for_company(company).filter(pk__in=case_ids[chunk_start:chunk_start + 500]).delete()
    # Trashed cases had no candidate rows already; this keeps the flags of their partners right all the same.
    refresh_duplicates(company.pk, set(case_customers.values()))
    customers = Customer.objects.for_company(company).filter(deleted_at__lt=cutoff, merged_into__isnull=True).exclude(cases__isnull=False)
    _total, deleted_by_model = customers.delete()
    customer_count = deleted_by_model.get(Customer._meta.label, 0)
    if case_ids or customer_count:
        record_event(company_id=company.pk, actor=None, verb="purge", object_type="crm.case", object_id="*",
                     after={"cases": len(case_ids), "customers": customer_count})
    return len(case_ids), customer_count


# ---------------------------------------------------------------------------------------------
# Masters

# Bounds of the masters (the settings pages, the API and the tenant file alike).
MAX_MASTER_POSITION = 100_000
MAX_CHOICE_LENGTH = 100
MAX_CHOICES = 200


def check_master_name(model, name: str) -> str:
    """The master's name without surrounding spaces; refused (field `name`) when empty or too long for the column."""
    name = (name or "").strip()
    max_length = model._meta.get_field("name").max_length
    if not name:
        message = _("Enter a name.")
    elif len(name) > max_length:
        message = _("A name has at most %(count)d characters.") % {"count": max_length}
    else:
        return name
    raise ApplicationError(error_codes.MASTER_INVALID, message, fields={"name": [message]})


def check_master_position(position: int | None) -> None:
    if position is not None and not 0 <= position <= MAX_MASTER_POSITION:
        message = _("Enter a display order from 0 to %(max)d.") % {"max": MAX_MASTER_POSITION}
        raise ApplicationError(error_codes.MASTER_INVALID, message, fields={"position": [message]})


def clean_custom_field_definition(field_type: str, choices) -> list[str]:
    """The choices as stored (trimmed, blank and repeated ones dropped), or a refusal on `field_type`/`choices`:
    only the choice types have choices, and they need at least one, each at most MAX_CHOICE_LENGTH long."""
    if field_type not in CustomFieldType.values:
        message = _("Choose a valid type.")
        raise ApplicationError(error_codes.MASTER_INVALID, message, fields={"field_type": [message]})
    cleaned = list(dict.fromkeys(choice.strip() for choice in (choices or []) if isinstance(choice, str) and choice.strip()))
    is_choice = field_type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE)
    message = None
    if is_choice and not cleaned:
        message = _("Enter at least one choice.")
    elif not is_choice and cleaned:
        message = _("Only the choice types have choices.")
    elif any(len(choice) > MAX_CHOICE_LENGTH for choice in cleaned):
        message = _("A choice has at most %(count)d characters.") % {"count": MAX_CHOICE_LENGTH}
    elif len(cleaned) > MAX_CHOICES:
        message = _("A field has at most %(count)d choices.") % {"count": MAX_CHOICES}
    if message is not None:
        raise ApplicationError(error_codes.MASTER_INVALID, message, fields={"choices": [message]})
    return cleaned


def _upsert_named(model, *, company, name: str, acting_user, position: int, **lookup) -> tuple[object, bool]:
    name = check_master_name(model, name)
    check_master_position(position)
    instance, created = model.objects.for_company(company).get_or_create(
        company=company, name=name, **lookup, defaults={"position": position}
    )
    if created:
        record_event(company_id=company.pk, actor=acting_user, verb="create", instance=instance, after=snapshot(instance))
    return instance, created


@transaction.atomic(savepoint=False)
def do_upsert_rank(*, company, name: str, position: int = 0, acting_user=None) -> tuple[Rank, bool]:
    """Create the rank when missing. Returns (rank, created). Idempotent."""
    return _upsert_named(Rank, company=company, name=name, acting_user=acting_user, position=position)


@transaction.atomic(savepoint=False)
def do_upsert_sub_status(*, company, status: str, name: str, position: int = 0, acting_user=None) -> tuple[SubStatus, bool]:
    """Create the sub-status under `status` when missing. Returns (sub_status, created). Idempotent."""
    return _upsert_named(SubStatus, company=company, name=name, acting_user=acting_user, position=position, status=status)


@transaction.atomic(savepoint=False)
def do_upsert_tag(*, company, name: str, position: int = 0, acting_user=None) -> tuple[Tag, bool]:
    """Create the tag when missing. Returns (tag, created). Idempotent."""
    return _upsert_named(Tag, company=company, name=name, acting_user=acting_user, position=position)


@transaction.atomic(savepoint=False)
def do_upsert_custom_field(
    *, company, name: str, field_type: str, choices: list[str] | None = None, is_required: bool = False,
    position: int = 0, acting_user=None, read_version: ReadVersion | None = None,
) -> tuple[CustomField, bool]:
    """Create the custom field or update its definition. Returns (field, changed). Idempotent.

    Refuses (nothing written) a blank name, choices on a type without them, a choice type without
    choices, a position outside 0-MAX_MASTER_POSITION, and (Conflict) a change of a definition read
    at another version (`read_version`, the settings page).
    """
    name = check_master_name(CustomField, name)
    check_master_position(position)
    values = {"field_type": field_type, "choices": clean_custom_field_definition(field_type, choices), "is_required": is_required}
    instance = CustomField.objects.for_company(company).select_for_update().filter(name=name).first()
    if instance is not None:
        check_read_version(instance, read_version)
    if instance is None:
        instance = CustomField.objects.create(company=company, name=name, position=position, **values)
        record_event(company_id=company.pk, actor=acting_user, verb="create", instance=instance, after=snapshot(instance))
        return instance, True
    changed = [key for key, value in values.items() if getattr(instance, key) != value]
    if not changed:
        return instance, False
    before = snapshot(instance, changed)
    for key in changed:
        setattr(instance, key, values[key])
    instance.save(update_fields=[*changed, "updated_at"])
    record_event(company_id=company.pk, actor=acting_user, verb="update", instance=instance, before=before, after=snapshot(instance, changed))
    return instance, True


@transaction.atomic(savepoint=False)
def do_upsert_project(*, company, name: str, custom_fields: Sequence[CustomField] = (), acting_user=None,
                      case_kind: str | None = None, customer_kind: str | None = None) -> tuple[Project, bool]:
    """Create the project and make its linked custom fields exactly `custom_fields`, in order; `case_kind`
    and `customer_kind` (None: unchanged, or the defaults for a new project) are what its imports create."""
    name = check_master_name(Project, name)
    if case_kind is not None and case_kind not in CaseKind.values:
        raise ApplicationError(error_codes.MASTER_INVALID, _("Unknown case kind: %(kind)s") % {"kind": case_kind})
    if customer_kind is not None and customer_kind not in CustomerKind.values:
        raise ApplicationError(error_codes.MASTER_INVALID, _("Unknown customer kind: %(kind)s") % {"kind": customer_kind})
    kinds = {key: value for key, value in (("default_case_kind", case_kind), ("default_customer_kind", customer_kind)) if value is not None}
    project, created = Project.objects.for_company(company).get_or_create(company=company, name=name, defaults=kinds)
    current = list(ProjectField.objects.for_company(company).filter(project=project).order_by("position").values_list("custom_field_id", flat=True))
    wanted = [field.pk for field in custom_fields]
    changed_kinds = {} if created else {key: value for key, value in kinds.items() if getattr(project, key) != value}
    if not created and current == wanted and not changed_kinds:
        return project, False
    before = {key: getattr(project, key) for key in changed_kinds}
    if current != wanted or created:
        ProjectField.objects.for_company(company).filter(project=project).delete()
        ProjectField.objects.bulk_create(
            [ProjectField(company=company, project=project, custom_field_id=field_id, position=i) for i, field_id in enumerate(wanted)]
        )
    if not created:
        for key, value in changed_kinds.items():
            setattr(project, key, value)
        # The linked fields are part of the project's version (the settings page's optimistic lock).
        project.save(update_fields=[*changed_kinds, "updated_at"])
    record_event(
        company_id=company.pk, actor=acting_user, verb="create" if created else "update", instance=project,
        before=None if created else {"custom_fields": current, **before},
        after={"custom_fields": wanted, **({key: getattr(project, key) for key in ("default_case_kind", "default_customer_kind")} if created else changed_kinds)},
    )
    return project, True


# ---------------------------------------------------------------------------------------------
# Activities and visit appointments


# A logged activity happened already; a little slack for the clocks of API clients.
FUTURE_SLACK = datetime.timedelta(minutes=5)


def check_activity(kind: str, direction: str, occurred_at) -> str:
    """The activity's direction as stored: a mail's comes from its kind, a note has none. Refused
    (fields `direction`, `occurred_at`): a direction against the kind, a time in the future."""
    implied = KIND_DIRECTIONS.get(kind)
    direction = direction or (implied.value if implied else "")
    errors = {}
    if direction and direction not in ActivityDirection.values:
        errors["direction"] = [_("Choose a valid direction.")]
    elif implied and direction != implied:
        errors["direction"] = [_("The kind of the activity says its direction: %(direction)s.") % {"direction": implied.label}]
    elif direction and kind not in CONTACT_KINDS:
        errors["direction"] = [_("A note has no direction.")]
    if occurred_at is not None and occurred_at > timezone.now() + FUTURE_SLACK:
        errors["occurred_at"] = [_("A logged activity has happened already; book a visit for a future appointment.")]
    if errors:
        raise ApplicationError(error_codes.ACTIVITY_INVALID, _("The activity is not valid."), fields=errors)
    return direction


def last_contact_after(contact_at) -> models.Case:
    """The case's last contact once a contact at `contact_at` is added: the later of the two (an
    UPDATE's value, so two contacts logged at once both count)."""
    later = Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=contact_at)
    return models.Case(models.When(later, then=models.Value(contact_at)), default=models.F("last_contact_at"))


def refresh_last_contacts(company_id: int, case_ids=None) -> int:
    """Set each case's last contact to its latest done contact activity (None without one): one
    UPDATE for the cases `case_ids` (a list or a subquery; None: every case of the company). For
    writers that add or remove activities in bulk, and reverts. Returns the number of cases.

    A LINE message the customer sent, written by the intake (inbound, no staff member), is not a
    contact: the case stays 未対応 until someone on the staff acts (as when the intake writes it)."""
    latest = (Activity.objects.unscoped().filter(company_id=company_id, case_id=models.OuterRef("pk"), is_done=True,
                                                 kind__in=[kind.value for kind in CONTACT_KINDS])
              .exclude(kind=ActivityKind.LINE, direction=ActivityDirection.INBOUND, actor__isnull=True)
              .order_by().values("case_id").annotate(latest=models.Max("occurred_at")).values("latest"))
    cases = Case.objects.unscoped().filter(company_id=company_id)
    if case_ids is not None:
        cases = cases.filter(pk__in=case_ids)
    return cases.update(last_contact_at=models.Subquery(latest))


@transaction.atomic(savepoint=False)
def do_log_activity(*, actor, case: Case, kind: str, occurred_at=None, subject: str = "", body: str = "", direction: str = "",
                    next_action: tuple | None = None, read_version: ReadVersion | None = None) -> "Activity":
    """Record a call, e-mail, visit, showing, LINE message or note on the case. Audited.

    A contact (CONTACT_KINDS) moves the case's last contact to its time when later. `next_action`
    (when, what), given, sets the case's 次回対応 in the same transaction (audited as a case update;
    `read_version`, the case as the page read it, refuses it with Conflict when the case changed since).
    Refused (nothing written) when a registered guard refuses it, e.g. a call to a do-not-call lead,
    for a direction against the kind, a time in the future, an invalid next action.
    """
    from estatecrm.crm.guards import activity_refusal

    occurred_at = occurred_at or timezone.now()
    direction = check_activity(kind, direction, occurred_at)
    if next_action is not None:
        next_action = check_next_action(*next_action)
    reason = activity_refusal(actor, case, kind)
    if reason:
        raise ApplicationError(error_codes.ACTIVITY_REFUSED, reason)
    if next_action is not None:
        do_update_case(case=case, changes={"next_action_at": next_action[0], "next_action": next_action[1]}, acting_user=actor.user,
                       read_version=read_version)
    activity = Activity.objects.create(
        company_id=case.company_id, case=case, kind=kind, direction=direction, occurred_at=occurred_at, actor=actor.user,
        subject=subject, body=body, is_done=True,
    )
    case_changes = {"updated_at": timezone.now()}
    if kind in CONTACT_KINDS:
        case_changes["last_contact_at"] = last_contact_after(occurred_at)
    Case.objects.for_company(case.company_id).filter(pk=case.pk).update(**case_changes)
    record_event(company_id=case.company_id, actor=actor.user, verb="create", instance=activity,
                 after={"case": case.pk, "kind": kind, "direction": direction, "subject": subject})
    return activity


@transaction.atomic(savepoint=False)
def do_book_visit(*, actor, case: Case, visit_at, org_unit=None, subject: str = "", body: str = "") -> "Activity":
    """Book a visit appointment (open until completed), held by `org_unit` (default: the case's unit). The
    visit is the case's main assignee's (their calendar and day), whoever books it: the audit says who did."""
    activity = Activity.objects.create(
        company_id=case.company_id, case=case, kind=ActivityKind.VISIT_APPOINTMENT, occurred_at=visit_at,
        actor_id=case.main_assignee_id or actor.user.pk,
        subject=subject, body=body, is_done=False, org_unit=org_unit or case.owning_org,
    )
    Case.objects.for_company(case.company_id).filter(pk=case.pk).update(updated_at=timezone.now())
    record_event(company_id=case.company_id, actor=actor.user, verb="create", instance=activity,
                 after={"case": case.pk, "kind": activity.kind, "visit_at": visit_at.isoformat()})
    return activity


def check_open_visit(activity) -> None:
    """Refuse anything but an open visit appointment (a done visit is history: neither moved nor cancelled)."""
    if activity.kind != ActivityKind.VISIT_APPOINTMENT:
        raise ApplicationError(error_codes.NOT_AN_APPOINTMENT, _("Only a visit appointment can be completed."))
    if activity.is_done:
        raise ApplicationError(error_codes.VISIT_DONE, _("This visit is already done; it cannot be changed."))


def lock_visit(activity, read_version: ReadVersion | None):
    """The visit's row locked, refused (409 `stale`) when it changed since `read_version` was read."""
    locked = Activity.objects.for_company(activity.company_id).select_for_update().get(pk=activity.pk)
    check_read_version(locked, read_version)
    return locked


@transaction.atomic(savepoint=False)
def do_move_visit(*, actor, activity, visit_at, org_unit=None, read_version: ReadVersion | None = None) -> bool:
    """Move an open visit appointment to another date and time (and holding unit when given). Audited;
    refused when done or changed since `read_version`. Returns whether anything changed."""
    check_open_visit(activity)
    locked = lock_visit(activity, read_version)
    check_open_visit(locked)
    changes = {"occurred_at": visit_at}
    if org_unit is not None:
        changes["org_unit"] = org_unit
    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    if not changed:
        return False
    before = snapshot(locked, changed)
    for name in changed:
        setattr(locked, name, changes[name])
    locked.save(update_fields=[*changed, "updated_at"])
    record_event(company_id=locked.company_id, actor=actor.user, verb="update", instance=locked, before=before,
                 after=snapshot(locked, changed))
    activity.__dict__.update({name: getattr(locked, name) for name in ("occurred_at", "org_unit_id", "updated_at")})
    return True


@transaction.atomic(savepoint=False)
def do_complete_visit(*, actor, activity, result: str = "", read_version: ReadVersion | None = None) -> bool:
    """Mark an open visit appointment done, with its result appended to its text. The case's last
    contact becomes the visit's time (not later than now) unless it already is later. Audited.
    Returns False when it already was done."""
    if activity.kind != ActivityKind.VISIT_APPOINTMENT:
        raise ApplicationError(error_codes.NOT_AN_APPOINTMENT, _("Only a visit appointment can be completed."))
    locked = lock_visit(activity, read_version)
    if locked.is_done:
        return False
    now = timezone.now()
    result = result.strip()
    body = "\n\n".join(part for part in (locked.body, result) if part)
    Activity.objects.for_company(locked.company_id).filter(pk=locked.pk).update(is_done=True, body=body, updated_at=now)
    contact_at = min(locked.occurred_at, now)
    cases = Case.objects.for_company(locked.company_id).filter(pk=locked.case_id)
    cases.filter(Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=contact_at)).update(last_contact_at=contact_at)
    cases.update(updated_at=now)
    activity.is_done, activity.body, activity.updated_at = True, body, now
    record_event(company_id=activity.company_id, actor=actor.user, verb="complete", instance=activity,
                 before={"is_done": False}, after={"is_done": True, **({"result": result} if result else {})})
    return True


@transaction.atomic(savepoint=False)
def do_cancel_visit(*, actor, activity, read_version: ReadVersion | None = None) -> None:
    """Cancel an open visit appointment: the row goes, the audit event keeps what it was. Refused when
    done or changed since `read_version`."""
    check_open_visit(activity)
    locked = lock_visit(activity, read_version)
    check_open_visit(locked)
    before = {"case": locked.case_id, "visit_at": locked.occurred_at.isoformat(), "org_unit": locked.org_unit_id,
              "subject": locked.subject}
    record_event(company_id=locked.company_id, actor=actor.user, verb="cancel", instance=locked, before=before)
    locked.delete()
    Case.objects.for_company(locked.company_id).filter(pk=locked.case_id).update(updated_at=timezone.now())


# ---------------------------------------------------------------------------------------------
# Desired conditions, customer details, attachments

DESIRED_EDITABLE_FIELDS = (
    "rent_min", "rent_max", "includes_management_fee", "price_min", "price_max", "layouts", "area_min", "area_max", "land_area_min",
    "walk_minutes", "building_age", "lines_stations", "areas", "move_in", "features", "management_comment",
)


def check_desired(values: dict) -> None:
    """Bands must not be upside down; refused with the field that is wrong."""
    errors = {}
    for low, high in (("rent_min", "rent_max"), ("price_min", "price_max"), ("area_min", "area_max")):
        if values.get(low) is not None and values.get(high) is not None and values[low] > values[high]:
            errors[high] = [_("Must not be lower than the lower limit.")]
    if errors:
        raise ApplicationError(error_codes.DESIRED_INVALID, _("Some desired conditions are not valid."), fields=errors)


@transaction.atomic(savepoint=False)
def do_update_desired_conditions(*, case: Case, changes: dict, acting_user, read_version: ReadVersion | None = None) -> bool:
    """Set the case's desired conditions (created when missing). Audited; returns whether anything changed.

    With `read_version` (of the case), refused with Conflict when the case changed since.
    """
    unknown = set(changes) - set(DESIRED_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if read_version is not None:
        check_case_version(Case.objects.for_company(case.company_id).select_for_update().get(pk=case.pk), read_version)
    desired, _created = DesiredConditions.objects.for_company(case.company_id).select_for_update().get_or_create(
        case=case, defaults={"company_id": case.company_id})
    check_desired({name: changes.get(name, getattr(desired, name)) for name in DESIRED_EDITABLE_FIELDS})
    changed = [name for name, value in changes.items() if getattr(desired, name) != value]
    if not changed:
        return False
    before = snapshot(desired, changed)
    for name in changed:
        setattr(desired, name, changes[name])
    desired.save(update_fields=changed)
    Case.objects.for_company(case.company_id).filter(pk=case.pk).update(updated_at=timezone.now())
    record_event(company_id=case.company_id, actor=acting_user, verb="update", instance=desired, before=before,
                 after=snapshot(desired, changed))
    return True


# The customer details the fuzzy 名寄せ rules read (crm.duplicates.PERSON_FIELDS, through name and reading).
DUPLICATE_MATCHED_FIELDS = ("kind", "name", "kana", "birth_date", "postal_code", "prefecture", "city", "street", "building")
CUSTOMER_EDITABLE_FIELDS = (
    "kind", "name", "kana", "gender", "birth_date", "postal_code", "prefecture", "city", "street", "building", "employer",
    "annual_income", "household_size", "homepage", "is_unsubscribed",
)


@transaction.atomic(savepoint=False)
def do_update_customer(*, customer: Customer, changes: dict, acting_user, read_version: ReadVersion | None = None) -> bool:
    """Update the customer's details (name and reading keep their matching keys in step). Audited.

    With `read_version`, refused with Conflict (who changed what) when the customer changed since.
    """
    unknown = set(changes) - set(CUSTOMER_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    customer = Customer.objects.for_company(customer.company_id).select_for_update().get(pk=customer.pk)
    check_read_version(customer, read_version)
    changes = check_customer_fields(changes)
    if "name" in changes:
        changes["name"] = normalize_name(changes["name"])
    if changes.get("kana"):
        reading = normalize_reading(changes["kana"])
        changes["kana"] = reading.value if reading.is_valid else changes["kana"].strip()
    changed = [name for name, value in changes.items() if getattr(customer, name) != value]
    if not changed:
        return False
    before = snapshot(customer, changed)
    blocks_before = duplicate_block_values(customer)
    for name in changed:
        setattr(customer, name, changes[name])
    customer.name_key, customer.kana_key = customer_keys(customer.kind, customer.name, customer.kana)
    customer.save(update_fields=[*changed, "name_key", "kana_key", "updated_at"])
    if set(changed) & set(DUPLICATE_MATCHED_FIELDS):
        refresh_duplicates(customer.company_id, [customer.pk], blocks=blocks_before)
    record_event(company_id=customer.company_id, actor=acting_user, verb="update", instance=customer, before=before,
                 after=snapshot(customer, changed))
    return True


def do_add_attachment(*, case: Case, upload, acting_user) -> Attachment:
    """Store an uploaded file under MEDIA_ROOT for the case; refused above ATTACHMENT_MAX_BYTES. Audited."""
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ApplicationError(error_codes.ATTACHMENT_TOO_LARGE,
                               _("The file is too large (at most %(size)d MB).") % {"size": limit // (1024 * 1024)},
                               fields={"file": [_("The file is too large.")]})
    with transaction.atomic(savepoint=False):
        return _store_attachment(case, upload, acting_user)


def _store_attachment(case: Case, upload, acting_user) -> Attachment:
    attachment = Attachment(company_id=case.company_id, case=case, original_name=upload.name[:255], size=upload.size,
                            content_type=(getattr(upload, "content_type", "") or "")[:100], uploaded_by=acting_user,
                            uploaded_at=timezone.now())
    attachment.file.save(upload.name, upload, save=False)
    attachment.save()
    record_event(company_id=case.company_id, actor=acting_user, verb="create", instance=attachment,
                 after={"case": case.pk, "name": attachment.original_name, "size": attachment.size})
    return attachment


# ---------------------------------------------------------------------------------------------
# Bulk changes from the case list (admin actions)

MAX_BULK_CASES = 1000


class BulkOperation:
    REASSIGN = "reassign"
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"
    SET_STATUS = "set_status"
    TRASH = "trash"
    ALL = (REASSIGN, ADD_TAG, REMOVE_TAG, SET_STATUS, TRASH)


@transaction.atomic
def do_bulk_update_cases(*, actor, case_ids: Sequence[int], operation: str, value=None) -> int:
    """Apply one change to many cases at once: admins only, cases the admin sees, one audit event per case.

    `value`: the new main assignee (User) for reassign, a Tag for add/remove tag, a status for
    set_status. All or nothing: a refusal (too many tags on one case, ...) changes no case.
    Returns the number of cases that changed.

    Set-based, so 1,000 cases take a fixed number of statements whatever their number: the cases
    locked in one SELECT (pk order), one UPDATE of the changed ones, the tag links deleted and
    written in one statement each, the audit events in one bulk insert (Django splits inserts into
    batches of 999 parameters on SQLite). The outcome is the one of the per-case actions
    (`do_update_case`, `do_set_case_tags`, `_trash_case`) applied in pk order: the same refusals,
    the same rows, the same audit events; a case that does not change gets no event and keeps its
    `updated_at` (`crm/tests/test_bulk_cases.py` compares the two).
    """
    from estatecrm.tenancy.models import User

    require(actor, "case_bulk")
    if operation not in BulkOperation.ALL:
        raise ValueError(f"unknown bulk operation {operation!r}")
    if len(case_ids) > MAX_BULK_CASES:
        raise ApplicationError(error_codes.BULK_TOO_MANY, _("At most %(count)d cases at once.") % {"count": MAX_BULK_CASES})
    if operation == BulkOperation.REASSIGN:
        if not isinstance(value, User) or value.company_id != actor.company_id or not value.is_active:
            raise ApplicationError(error_codes.UNKNOWN_ASSIGNEE, _("Choose an active user of the company."))
    elif operation == BulkOperation.SET_STATUS:
        if value not in CaseStatus.values:
            raise ApplicationError(error_codes.UNKNOWN_STATUS, _("Choose a valid status."))
    elif operation in (BulkOperation.ADD_TAG, BulkOperation.REMOVE_TAG):
        if not isinstance(value, Tag) or value.company_id != actor.company_id:
            raise ApplicationError(error_codes.UNKNOWN_TAG, _("Unknown tag."))
    # The customer is the audit event's object_repr (str(case)); the sub-status is checked as do_update_case checks it.
    cases = list(
        administered_cases(actor).filter(pk__in=list(case_ids), deleted_at__isnull=True)
        .select_related("customer", "sub_status").select_for_update(of=("self",)).order_by("pk")
    )
    if operation in (BulkOperation.REASSIGN, BulkOperation.SET_STATUS):
        changes = _bulk_case_field_changes(cases, operation, value)
    elif operation == BulkOperation.TRASH:
        return _bulk_trash_cases(actor, cases)
    else:
        changes = _bulk_case_tag_changes(actor, cases, operation, value)
    if not changes:
        return 0
    now = timezone.now()
    changed_ids = [case.pk for case, _before, _after in changes]
    if operation == BulkOperation.REASSIGN:
        # Through the 担当変更 engine (history, open visits, 担当者変更のお知らせ); the `update` events below are the cases' own.
        previous = {case.main_assignee_id for case, _before, _after in changes}
        agent = next((case.main_assignee for case, _before, _after in changes), None) if len(previous) == 1 else None
        apply_plan(Plan(company_id=actor.company_id, kind=ReassignmentKind.REASSIGN, cases=[case for case, _before, _after in changes],
                        acting_user=actor.user, agent=agent, to_user=value, audit_cases=False), now=now)
    elif operation == BulkOperation.SET_STATUS:
        cleared = [case.pk for case, before, after in changes if "sub_status_id" in after]
        Case.objects.for_company(actor.company_id).filter(pk__in=changed_ids).update(
            status=value, updated_at=now,
            sub_status=models.Case(models.When(pk__in=cleared, then=None), default=models.F("sub_status")),
        )
    else:
        Case.objects.for_company(actor.company_id).filter(pk__in=changed_ids).update(updated_at=now)
    bulk_record_events([
        audit_event(company_id=actor.company_id, actor=actor.user, verb="update", instance=case, before=before, after=after)
        for case, before, after in changes
    ])
    return len(changes)


def _bulk_case_field_changes(cases: list[Case], operation: str, value) -> list[tuple[Case, dict, dict]]:
    """(case, before, after) of each case the reassign or status change changes, as do_update_case decides and audits it."""
    result = []
    for case in cases:
        if operation == BulkOperation.REASSIGN:
            check_sub_status(case.status, case.sub_status)
            wanted = {"main_assignee_id": value.pk}
        else:
            wanted = {"status": value}
            # do_update_case: a sub-status of another status is cleared with the status change
            if case.sub_status is not None and case.sub_status.status != value:
                wanted["sub_status_id"] = None
        changed = [attname for attname, new in wanted.items() if getattr(case, attname) != new]
        if changed:
            result.append((case, {name: getattr(case, name) for name in changed}, {name: wanted[name] for name in changed}))
    return result


def _bulk_case_tag_changes(actor, cases: list[Case], operation: str, tag: Tag) -> list[tuple[Case, dict, dict]]:
    """Add or remove `tag` on each case as do_set_case_tags would (positions renumbered from 0), writing the
    links in two statements: the links from the first position that differs are deleted and written anew."""
    links: dict[int, list[tuple[int, int]]] = {case.pk: [] for case in cases}  # case -> [(tag_id, position)] in order
    for case_id, tag_id, position in (CaseTag.objects.for_company(actor.company_id).filter(case_id__in=links)
                                      .order_by("case_id", "position").values_list("case_id", "tag_id", "position")):
        links[case_id].append((tag_id, position))
    result = []
    rewrite_from: dict[int, list[int]] = {}  # first position rewritten -> the cases with links there
    new_links = []
    for case in cases:
        current = [tag_id for tag_id, _position in links[case.pk]]
        if operation == BulkOperation.ADD_TAG:
            # A case that has the tag already keeps its tags as they are (no event, updated_at kept).
            wanted = current if tag.pk in current else [*current, tag.pk]
        else:
            wanted = [tag_id for tag_id in current if tag_id != tag.pk]
        if operation == BulkOperation.ADD_TAG and len(wanted) > MAX_TAGS_PER_CASE:
            raise ApplicationError(
                error_codes.TOO_MANY_TAGS,
                _("Case #%(case)d already has %(count)d tags; nothing was changed.") % {"case": case.pk, "count": len(current)},
            )
        if len(wanted) > MAX_TAGS_PER_CASE:
            check_tags(wanted)
        if current == wanted:
            continue
        kept = 0
        while kept < min(len(wanted), len(current)) and links[case.pk][kept] == (wanted[kept], kept):
            kept += 1
        if any(position >= kept for _tag_id, position in links[case.pk]):
            rewrite_from.setdefault(kept, []).append(case.pk)
        new_links += [CaseTag(company_id=case.company_id, case_id=case.pk, tag_id=tag_id, position=position)
                      for position, tag_id in enumerate(wanted) if position >= kept]
        result.append((case, {"tags": current}, {"tags": wanted}))
    if rewrite_from:
        stale = Q()
        for position, case_pks in rewrite_from.items():
            stale |= Q(case_id__in=case_pks, position__gte=position)
        CaseTag.objects.for_company(actor.company_id).filter(stale).delete()
    if new_links:
        CaseTag.objects.bulk_create(new_links)
    return result


def _bulk_trash_cases(actor, cases: list[Case]) -> int:
    """Trash the (live, locked) cases as _trash_case does: deleted_at set, updated_at kept, one `trash` event each."""
    if not cases:
        return 0
    now = timezone.now()
    Case.objects.for_company(actor.company_id).filter(pk__in=[case.pk for case in cases], deleted_at__isnull=True).update(deleted_at=now)
    refresh_duplicates(actor.company_id, {case.customer_id for case in cases})
    bulk_record_events([
        audit_event(company_id=actor.company_id, actor=actor.user, verb="trash", instance=case, after={"deleted_at": now.isoformat()})
        for case in cases
    ])
    return len(cases)


def administered_cases(actor):
    """The cases a bulk change may touch: every case for a company admin, the cases of the administered units for an org admin."""
    cases = Case.objects.for_company(actor.company_id)
    return cases if actor.is_company_admin else cases.filter(owning_org_id__in=actor.admin_unit_ids)


# ---------------------------------------------------------------------------------------------
# Masters edited in the settings pages: rename, delete (refused while in use)


def master_use_count(instance) -> int:
    """How many rows use the master (cases, tag links, custom values, project links); trashed cases count."""
    company_id = instance.company_id
    if isinstance(instance, Rank):
        return Case.objects.for_company(company_id).filter(rank=instance).count()
    if isinstance(instance, SubStatus):
        return Case.objects.for_company(company_id).filter(sub_status=instance).count()
    if isinstance(instance, Tag):
        return CaseTag.objects.for_company(company_id).filter(tag=instance).count()
    if isinstance(instance, Project):
        return Case.objects.for_company(company_id).filter(project=instance).count()
    if isinstance(instance, CustomField):
        return (
            ProjectField.objects.for_company(company_id).filter(custom_field=instance).count()
            + Case.objects.for_company(company_id).filter(custom_values__has_key=instance.name).count()
            + Customer.objects.for_company(company_id).filter(custom_values__has_key=instance.name).count()
        )
    raise TypeError(f"{type(instance).__name__} is not a master")


def check_master_name_free(model, *, company_id: int, name: str, exclude_pk: int | None = None, **scope) -> None:
    """Refuse (field `name`) a name another master of the same kind (and scope, e.g. status) already has."""
    taken = model.objects.for_company(company_id).filter(name=name, **scope).exclude(pk=exclude_pk).exists()
    if taken:
        message = _("“%(name)s” already exists.") % {"name": name}
        raise ApplicationError(error_codes.MASTER_NAME_TAKEN, message, fields={"name": [message]})


@transaction.atomic
def do_update_master(*, instance, name: str, position: int | None = None, acting_user, read_version: ReadVersion | None = None) -> bool:
    """Rename (and reorder) a rank, sub-status, tag or project. Refuses a taken name. Audited when changed.

    Custom fields are not renamed here: their values are keyed by name. A master read at another
    version (`read_version`, the settings page) is refused with Conflict.
    """
    require_user(acting_user, "masters_edit")
    if not isinstance(instance, Rank | SubStatus | Tag | Project):
        raise TypeError(f"{type(instance).__name__} cannot be renamed")
    if read_version is not None:
        check_read_version(type(instance).objects.for_company(instance.company_id).select_for_update().get(pk=instance.pk), read_version)
    name = check_master_name(type(instance), name)
    check_master_position(position)
    values = {"name": name}
    if position is not None and hasattr(instance, "position"):
        values["position"] = position
    changed = [key for key, value in values.items() if getattr(instance, key) != value]
    if not changed:
        return False
    scope = {"status": instance.status} if isinstance(instance, SubStatus) else {}
    check_master_name_free(type(instance), company_id=instance.company_id, name=name, exclude_pk=instance.pk, **scope)
    before = snapshot(instance, changed)
    for key in changed:
        setattr(instance, key, values[key])
    instance.save(update_fields=[*changed, "updated_at"])
    record_event(company_id=instance.company_id, actor=acting_user, verb="update", instance=instance,
                 before=before, after=snapshot(instance, changed))
    return True


@transaction.atomic
def do_delete_master(*, instance, acting_user) -> None:
    """Delete a rank, sub-status, tag, custom field or project that nothing uses. Audited.

    Refused with the count of uses (nothing deleted) while a case, customer or project uses it.
    """
    require_user(acting_user, "masters_edit")
    from django.utils.translation import ngettext

    type(instance).objects.for_company(instance.company_id).select_for_update().filter(pk=instance.pk).first()
    count = master_use_count(instance)
    if count:
        raise ApplicationError(
            error_codes.MASTER_IN_USE,
            ngettext(
                "“%(name)s” is in use by %(count)d record and cannot be deleted.",
                "“%(name)s” is in use by %(count)d records and cannot be deleted.",
                count,
            ) % {"name": instance.name, "count": count},
        )
    record_event(company_id=instance.company_id, actor=acting_user, verb="delete", instance=instance, before=snapshot(instance))
    if isinstance(instance, Project):
        ProjectField.objects.for_company(instance.company_id).filter(project=instance).delete()
    instance.delete()


# ---------------------------------------------------------------------------------------------
# Contacts of a customer (page and API edits; imports write contacts in bulk)

MAX_POINTS_PER_CONTACT = 20
MAX_REVIEW_NOTE = 1000


@dataclass
class ContactPointEdit:
    kind: str
    raw: str
    pk: int | None = None  # an existing point of the contact; None adds one


@dataclass
class ContactEdit:
    """A contact as it should be: points not listed are removed, in the order given."""

    name: str
    kana: str = ""
    points: list[ContactPointEdit] = field(default_factory=list)


def contact_point_error(kind: str, reason: str) -> str:
    """Why a phone or e-mail cannot be stored, in the user's words (normalize.MESSAGES, translated)."""
    if kind == ContactPointKind.EMAIL:
        reason = "invalid_email"
    return _(MESSAGES.get(reason, MESSAGES["invalid_number"]))


def check_contact_points(points: Sequence[ContactPoint], *, field_prefix: str = "points") -> None:
    """Refuse (ApplicationError, a message per point `<prefix>-<index>`) phones and e-mails that could not be
    normalized: what people type on a page or send through the API is stored valid or not at all."""
    errors = {f"{field_prefix}-{index}": [contact_point_error(point.kind, point.invalid_reason)]
              for index, point in enumerate(points) if point.invalid_reason}
    if errors:
        raise ApplicationError(error_codes.CONTACT_POINT_INVALID, " ".join(messages[0] for messages in errors.values()), fields=errors)


def contact_state(contact: Contact, points: Sequence[ContactPoint]) -> dict:
    """A contact as its audit events show it: who, and each point as typed with its normalized form."""
    return {"id": contact.pk, "name": contact.name, "kana": contact.kana,
            "points": [{"id": point.pk, "kind": point.kind, "raw": point.raw, "normalized": point.normalized} for point in points]}


def _lock_customer(customer: Customer, read_version: ReadVersion | None) -> Customer:
    from estatecrm.crm.selectors import customer_history

    customer = Customer.objects.for_company(customer.company_id).select_for_update().get(pk=customer.pk)
    check_read_version(customer, read_version, history=customer_history(customer))
    return customer


@transaction.atomic(savepoint=False)
def do_save_contact(*, customer: Customer, contact: Contact | None, data: ContactEdit, acting_user,
                    read_version: ReadVersion | None = None) -> Contact:
    """Add a contact to the customer (`contact` None) or make an existing one what `data` says: name and
    reading normalized, each phone (E.164) and e-mail normalized; an invalid one refuses the whole edit
    (nothing written). The customer's `updated_at` moves (its version: the optimistic lock of every edit
    of its contacts), and one audit event on the customer holds the contact before and after."""
    customer = _lock_customer(customer, read_version)
    name = normalize_name(data.name)
    if not name:
        raise ApplicationError(error_codes.CONTACT_INVALID, _("Enter the contact's name."), fields={"name": [_("This field is required.")]})
    reading = normalize_reading(data.kana) if data.kana.strip() else None
    kana = reading.value if reading is not None and reading.is_valid else data.kana.strip()
    if len(data.points) > MAX_POINTS_PER_CONTACT:
        raise ApplicationError(error_codes.CONTACT_INVALID,
                               _("A contact has at most %(count)d phones and e-mails.") % {"count": MAX_POINTS_PER_CONTACT})
    if any(point.kind not in ContactPointKind.values for point in data.points):
        raise ApplicationError(error_codes.CONTACT_INVALID, _("Choose phone, mobile phone, fax or e-mail."))
    if contact is None:
        last = Contact.objects.for_company(customer.company_id).filter(customer=customer).order_by("-position").values_list("position", flat=True).first()
        contact = Contact(company_id=customer.company_id, customer=customer, position=0 if last is None else last + 1)
        existing: dict[int, ContactPoint] = {}
        before = None
    else:
        contact = Contact.objects.for_company(customer.company_id).get(pk=contact.pk, customer=customer)
        existing = {point.pk: point for point in ContactPoint.objects.for_company(customer.company_id).filter(contact=contact).order_by("position", "pk")}
        before = contact_state(contact, list(existing.values()))
    if any(point.pk is not None and point.pk not in existing for point in data.points):
        raise ApplicationError(error_codes.CONTACT_INVALID, _("A phone or e-mail of another contact cannot be changed here."))
    built = [build_contact_point(contact=contact, kind=point.kind, raw=point.raw, region=customer.company.phone_region, position=position)
             for position, point in enumerate(data.points)]
    check_contact_points(built)
    contact.name, contact.kana = name, kana
    if contact.pk is None:
        contact.save()
    elif (before["name"], before["kana"]) != (name, kana):
        contact.save(update_fields=["name", "kana", "updated_at"])
    kept = {point.pk for point in data.points if point.pk is not None}
    ContactPoint.objects.for_company(customer.company_id).filter(contact=contact).exclude(pk__in=kept).delete()
    points = []
    for edit, new in zip(data.points, built, strict=True):
        new.contact = contact
        if edit.pk is None:
            new.save(force_insert=True)
            points.append(new)
            continue
        point = existing[edit.pk]
        values = {"kind": new.kind, "raw": new.raw, "normalized": new.normalized, "invalid_reason": new.invalid_reason, "position": new.position}
        changed = [field_name for field_name, value in values.items() if getattr(point, field_name) != value]
        if changed:
            for field_name in changed:
                setattr(point, field_name, values[field_name])
            point.save(update_fields=changed)
        points.append(point)
    after = contact_state(contact, points)
    if after == before:
        return contact
    customer.save(update_fields=["updated_at"])
    refresh_duplicates(customer.company_id, [customer.pk], values={point.normalized for point in existing.values()})
    record_event(company_id=customer.company_id, actor=acting_user, verb="update", instance=customer,
                 before={"contacts": [before] if before else []}, after={"contacts": [after]})
    return contact


@transaction.atomic(savepoint=False)
def do_remove_contact(*, customer: Customer, contact: Contact, acting_user, read_version: ReadVersion | None = None) -> None:
    """Remove a contact with its phones and e-mails. Refused for the customer's last contact: a customer
    is always reachable by a named person (the one its cases, exports and duplicate checks show), so
    the last one is edited, not removed. Audited on the customer; the customer's version moves."""
    customer = _lock_customer(customer, read_version)
    contact = Contact.objects.for_company(customer.company_id).get(pk=contact.pk, customer=customer)
    if not Contact.objects.for_company(customer.company_id).filter(customer=customer).exclude(pk=contact.pk).exists():
        raise ApplicationError(error_codes.LAST_CONTACT, _("A customer keeps at least one contact: change this one instead of removing it."))
    before = contact_state(contact, list(ContactPoint.objects.for_company(customer.company_id).filter(contact=contact).order_by("position", "pk")))
    contact.delete()
    customer.save(update_fields=["updated_at"])
    refresh_duplicates(customer.company_id, [customer.pk], values={point["normalized"] for point in before["points"]})
    record_event(company_id=customer.company_id, actor=acting_user, verb="update", instance=customer,
                 before={"contacts": [before]}, after={"contacts": []})


# ---------------------------------------------------------------------------------------------
# 要確認 -> 確認済み


@transaction.atomic(savepoint=False)
def do_mark_case_reviewed(*, case: Case, note: str, acting_user, read_version: ReadVersion | None = None) -> Case:
    """Mark a case flagged 要確認 (by a migration or import) as 確認済み with the reviewer's note.

    The review messages stay on the case; who cleared the flag, when and the note are kept on the
    case, in one audit event and in a system entry of the timeline. Refused (nothing written) when the
    case is not waiting for review, or (read_version) when it changed since it was read.
    """
    case = Case.objects.for_company(case.company_id).select_for_update().get(pk=case.pk)
    check_case_version(case, read_version)
    if not case.needs_review:
        raise ApplicationError(error_codes.NOT_WAITING_FOR_REVIEW, _("This case is not waiting for review."))
    note = (note or "").strip()
    if len(note) > MAX_REVIEW_NOTE:
        message = _("Write the note in at most %(count)d characters.") % {"count": MAX_REVIEW_NOTE}
        raise ApplicationError(error_codes.REVIEW_NOTE_TOO_LONG, message, fields={"note": [message]})
    now = timezone.now()
    fields = ("needs_review", "reviewed_at", "reviewed_by_id", "review_note")
    before = snapshot(case, fields)
    case.needs_review, case.reviewed_at, case.reviewed_by, case.review_note = False, now, acting_user, note
    case.save(update_fields=["needs_review", "reviewed_at", "reviewed_by", "review_note", "updated_at"])
    Activity.objects.create(company_id=case.company_id, case=case, kind=ActivityKind.SYSTEM, occurred_at=now, actor=acting_user,
                            subject=_("Marked as reviewed"), body=note, is_done=True)
    record_event(company_id=case.company_id, actor=acting_user, verb="update", instance=case, before=before, after=snapshot(case, fields))
    return case
