"""名寄せの実行: merge cases into a survivor (活動履歴を統合する) or link them to one customer (統合しない), and undo.

- `plan_merge` says what a merge would do (nothing written): the confirmation page shows it.
- `do_merge_cases` does it in one transaction, with every case and customer involved locked in pk order and
  checked live inside the lock (of two merges of overlapping cases, the second gets `merge_conflict`, 409).
- `do_undo_merge` writes back, from `Merge.snapshot`, every row and field the merge changed, within
  MERGE_UNDO_DAYS, unless a later merge took one of the same cases (undo that one first).

What a merge does (the issue's rules):
- integrate: the other cases' activities, introductions, attachments, LINE messages and inquiries move to the
  survivor; the other cases go to the merged state (`deleted_at` and `merged_into`: kept, out of every live list).
  The first inquiry (date, medium, listing) becomes the group's oldest. Desired conditions: the survivor's stay;
  with `fill_empty` its empty ones are filled from the other cases of the same kind (a case of the other kind,
  rent vs buy, carries none over: its conditions stay on the merged case and in the snapshot). When owning
  units differ, a merged case's open visit appointments move to the survivor's unit.
- link: every case stays and now has the survivor's customer, so an edit of the customer shows in all of them.
- both: the survivor's customer gets the phones and e-mails it lacks (copied, with their contact's name), and
  its empty fields filled (`fill_empty`) or fields picked from another case's customer (`picks`, admins); a
  customer left without any case goes to the merged state. The survivor's customer keeps its own LINE link;
  only when it has none does another customer's move to it. Cases with a LINE link merge within one unit only.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from estatecrm.audit.actions import json_value, record_event
from estatecrm.core.errors import ApplicationError, Conflict, NotFound
from estatecrm.core.scope import current_company_id
from estatecrm.crm.actions import customer_keys
from estatecrm.crm.choices import ActivityKind
from estatecrm.crm.duplicates import refresh_customers as refresh_duplicates
from estatecrm.crm.models import (
    Activity,
    Attachment,
    Case,
    Contact,
    ContactPoint,
    Customer,
    DesiredConditions,
    Introduction,
)
from estatecrm.dedup import error_codes
from estatecrm.dedup.access import check_can_merge, check_can_pick
from estatecrm.dedup.choices import MERGE_UNDO_DAYS, MergeMode
from estatecrm.dedup.models import Merge, MergeCase
from estatecrm.tenancy.selectors import Actor, actor_for

# The case fields a merge may take from another case (integrate only), each a group of columns that go together.
CASE_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("status", "sub_status_id"),
    "rank": ("rank_id",),
    "project": ("project_id",),
    "started_on": ("started_on",),
    "first_inquiry": ("first_inquiry_date", "first_inquiry_source", "first_inquiry_listing_ref", "first_inquiry_listing_name"),
    "next_action": ("next_action_at", "next_action"),
    "other_info": ("other_info",),
}
# The customer fields a merge may take from another case's customer (both modes).
CUSTOMER_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "kana": ("kana",),
    "gender": ("gender",),
    "birth_date": ("birth_date",),
    "address": ("postal_code", "prefecture", "city", "street", "building"),
    "employer": ("employer",),
    "annual_income": ("annual_income",),
    "household_size": ("household_size",),
    "homepage": ("homepage",),
}
FIELD_LABELS = {"first_inquiry": gettext_lazy("First inquiry"), "address": gettext_lazy("Address"),
                "next_action": gettext_lazy("Next action")}
# The desired conditions a merge fills from the other cases of the same kind (fill_empty, integrate).
DESIRED_FIELDS = tuple(f.attname for f in DesiredConditions._meta.concrete_fields if f.name not in {"id", "company", "case"})
# Customer columns a merge may change besides the fields above (kept keys, LINE link, merged state).
LINE_COLUMNS = ("line_user_id", "line_blocked_at")


def moved_models() -> tuple[tuple[str, type], ...]:
    """What moves from the merged cases to the survivor (integrate), by the name the plan counts it under.
    Every other relation to a case stays on its case (tests/test_merge.py checks that none is forgotten)."""
    from estatecrm.inquiries.models import Inquiry, LineMessage

    return (("activities", Activity), ("introductions", Introduction), ("attachments", Attachment),
            ("line_messages", LineMessage), ("inquiries", Inquiry))


@dataclass
class MergeRequest:
    survivor_id: int
    case_ids: list[int]  # the other cases (not the survivor); no upper limit
    integrate: bool  # True: 活動履歴を統合する; False: 統合しない (link)
    fill_empty: bool = False  # fill the survivor's empty fields from the others (first non-empty, oldest case first)
    picks: dict[str, int] = field(default_factory=dict)  # admins: field name -> case id whose value to keep


@dataclass(frozen=True)
class FieldRow:
    """One field of the result: its value on the survivor, after the merge, and the case it comes from."""

    name: str
    label: str
    survivor_value: str
    result_value: str
    source_case_id: int

    @property
    def changed(self) -> bool:
        return self.result_value != self.survivor_value


@dataclass
class MergePlan:
    """What a merge does, before anything is written. `counts`: rows moving to the survivor (activities,
    introductions, attachments, line_messages, inquiries), open `visits` changing unit, `contact_points`
    copied to the survivor's customer, `customers_merged`. `warnings`: translated sentences to show."""

    survivor: Case
    others: list[Case]
    mode: str
    case_fields: list[FieldRow]
    customer_fields: list[FieldRow]
    counts: dict[str, int]
    warnings: list[str]
    # What do_merge_cases writes (columns -> values), worked out with the rows above.
    case_values: dict = field(default_factory=dict, repr=False)
    customer_values: dict = field(default_factory=dict, repr=False)
    desired_values: dict = field(default_factory=dict, repr=False)
    line_source: Customer | None = field(default=None, repr=False)
    copied_points: list = field(default_factory=list, repr=False)
    merged_customer_ids: list = field(default_factory=list, repr=False)


def is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def display(instance, columns: Sequence[str]) -> str:
    """The columns' values as one text to show (related rows by name, choices by label, times in TIME_ZONE)."""
    parts = []
    for attname in columns:
        model_field = instance._meta.get_field(attname)
        value = getattr(instance, attname)
        if value is None or value == "":
            continue
        if model_field.is_relation:
            value = getattr(instance, model_field.name)
        elif model_field.choices:
            value = getattr(instance, f"get_{model_field.name}_display")()
        elif isinstance(value, datetime.datetime):
            value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        parts.append(str(value))
    return " ".join(parts)


def group_values(instance, columns: Sequence[str]) -> dict:
    return {attname: getattr(instance, attname) for attname in columns}


def oldest_first(cases: Sequence[Case]) -> list[Case]:
    return sorted(cases, key=lambda case: (case.created_at, case.pk))


# ---------------------------------------------------------------------------------------------
# Reading the request


def check_request(request: MergeRequest) -> list[int]:
    """The other case ids, each once, in the given order; refused (merge_invalid) without one or with the survivor among them."""
    others = list(dict.fromkeys(int(pk) for pk in request.case_ids))
    if not others:
        raise ApplicationError(error_codes.MERGE_INVALID, _("Choose at least one case to merge into the survivor."))
    if request.survivor_id in others:
        raise ApplicationError(error_codes.MERGE_INVALID, _("The survivor cannot also be one of the cases merged into it."))
    unknown = set(request.picks) - set(CASE_FIELDS) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ApplicationError(error_codes.MERGE_INVALID, _("These fields cannot be picked: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    if set(request.picks.values()) - {request.survivor_id, *others}:
        raise ApplicationError(error_codes.MERGE_INVALID, _("A field is picked from a case that is not in the merge."))
    return others


def load_cases(company_id: int, actor: Actor | None, request: MergeRequest, *, lock: bool) -> tuple[Case, list[Case]]:
    """The survivor and the other cases (in the request's order), checked: every one exists and the actor sees
    it (NotFound otherwise), none is merged away (Conflict `merge_conflict`) or in the trash, and the actor may
    merge them all (PermissionDenied naming the cases). With `lock`, the rows are locked in pk order first."""
    other_ids = check_request(request)
    ids = [request.survivor_id, *other_ids]
    cases = Case.objects.for_company(company_id).filter(pk__in=ids).select_related(
        "customer", "owning_org", "rank", "sub_status", "project").order_by("pk")
    if lock:
        cases = cases.select_for_update(of=("self",))
    found = {case.pk: case for case in cases}
    if actor is not None and not actor.is_company_admin:
        seen = set(Case.objects.for_company(company_id).filter(actor.case_visibility_q(), pk__in=list(found)).values_list("pk", flat=True))
        found = {pk: case for pk, case in found.items() if pk in seen}
    if len(found) != len(ids):
        raise NotFound(_("A case of the merge does not exist or is not visible to you."))
    merged = sorted(case.number for case in found.values() if case.merged_into_id is not None)
    if merged:
        raise Conflict(error_codes.MERGE_CONFLICT, ngettext(
            "Case %(numbers)s was merged meanwhile: reload the cases and choose again.",
            "Cases %(numbers)s were merged meanwhile: reload the cases and choose again.",
            len(merged)) % {"numbers": ", ".join(f"#{number}" for number in merged)})
    trashed = sorted(case.number for case in found.values() if case.deleted_at is not None)
    if trashed:
        raise ApplicationError(error_codes.MERGE_INVALID, _("Cases in the trash cannot be merged: %(numbers)s.") % {
            "numbers": ", ".join(f"#{number}" for number in trashed)})
    if actor is not None:
        check_can_merge(actor, list(found.values()))
        if request.picks:
            check_can_pick(actor)
    return found[request.survivor_id], [found[pk] for pk in other_ids]


# ---------------------------------------------------------------------------------------------
# Planning (no writes)


def choose(name: str, columns: Sequence[str], survivor, sources: Sequence[tuple[int, object]], survivor_case_id: int,
           request: MergeRequest) -> tuple[int, object]:
    """(case id, row) whose values the field takes: a pick, else the survivor's, else with fill_empty the
    first source (oldest case first) with a value."""
    by_case = dict(sources)
    if name in request.picks:
        picked = request.picks[name]
        # A case of the survivor's own customer (linked cases) has the survivor's values.
        return (picked, by_case[picked]) if picked in by_case else (survivor_case_id, survivor)
    if request.fill_empty and all(is_empty(getattr(survivor, column)) for column in columns):
        for case_id, row in sources:
            if not all(is_empty(getattr(row, column)) for column in columns):
                return case_id, row
    return survivor_case_id, survivor


def field_rows(fields: dict[str, tuple[str, ...]], survivor_row, survivor_case_id: int, chosen: dict[str, tuple[int, object]],
               model) -> tuple[list[FieldRow], dict]:
    rows, values = [], {}
    for name, columns in fields.items():
        case_id, row = chosen[name]
        label = str(FIELD_LABELS.get(name) or model._meta.get_field(columns[0]).verbose_name)
        rows.append(FieldRow(name=name, label=label, survivor_value=display(survivor_row, columns), result_value=display(row, columns),
                             source_case_id=case_id))
        for column in columns:
            if getattr(row, column) != getattr(survivor_row, column):
                values[column] = getattr(row, column)
    return rows, values


def build_plan(company_id: int, survivor: Case, others: list[Case], request: MergeRequest) -> MergePlan:
    """The plan of a merge of loaded, checked cases (load_cases). Reads, never writes."""
    integrate = request.integrate
    ordered = oldest_first(others)
    other_ids = [case.pk for case in others]
    warnings: list[str] = []
    counts: dict[str, int] = {}

    # LINE: one owning unit for cases with a LINE link; the survivor's customer keeps its own link.
    check_line_units(survivor, others)
    customers = {case.customer_id: case.customer for case in [survivor, *ordered]}
    survivor_customer = survivor.customer
    other_customers = [customer for pk, customer in customers.items() if pk != survivor_customer.pk]
    line_source = None
    if not survivor_customer.line_user_id:
        line_source = next((customer for customer in other_customers if customer.line_user_id), None)
        if line_source is not None:
            warnings.append(_("The LINE link of %(customer)s moves to the survivor's customer.") % {"customer": line_source.name})

    # The case's fields (integrate: only the survivor remains).
    case_rows, case_values, desired_values = [], {}, {}
    if integrate:
        sources = [(case.pk, case) for case in ordered]
        chosen = {name: choose(name, columns, survivor, sources, survivor.pk, request) for name, columns in CASE_FIELDS.items()}
        if "first_inquiry" not in request.picks:
            dated = sorted((case for case in [survivor, *others] if case.first_inquiry_date is not None),
                           key=lambda case: (case.first_inquiry_date, case.created_at, case.pk))
            if dated:
                chosen["first_inquiry"] = (dated[0].pk, dated[0])
        case_rows, case_values = field_rows(CASE_FIELDS, survivor, survivor.pk, chosen, Case)
        desired = {row.case_id: row for row in DesiredConditions.objects.for_company(company_id).filter(case_id__in=[survivor.pk, *other_ids])}
        for case in ordered:
            if case.kind != survivor.kind:
                warnings.append(_("Case #%(number)s is %(kind)s: its desired conditions are not carried over (the merge keeps them).") % {
                    "number": case.number, "kind": case.get_kind_display()})
        survivor_desired = desired.get(survivor.pk)
        if request.fill_empty and survivor_desired is not None:
            same_kind = [desired[case.pk] for case in ordered if case.kind == survivor.kind and case.pk in desired]
            for column in DESIRED_FIELDS:
                if is_empty(getattr(survivor_desired, column)):
                    value = next((getattr(row, column) for row in same_kind if not is_empty(getattr(row, column))), None)
                    if value is not None:
                        desired_values[column] = value
            if {"rent_min", "rent_max"} & set(desired_values) or {"price_min", "price_max"} & set(desired_values):
                desired_values = range_safe(survivor_desired, desired_values)
            if desired_values:
                warnings.append(ngettext("%(count)d empty desired condition is filled from the other cases.",
                                         "%(count)d empty desired conditions are filled from the other cases.",
                                         len(desired_values)) % {"count": len(desired_values)})
        for label, model in moved_models():
            counts[label] = model.objects.for_company(company_id).filter(case_id__in=other_ids).count()
        moving_units = [case for case in others if case.owning_org_id != survivor.owning_org_id]
        counts["visits"] = open_visits(company_id, moving_units).count() if moving_units else 0
        if counts["visits"]:
            warnings.append(ngettext(
                "%(count)d open visit appointment moves to the survivor's unit %(unit)s.",
                "%(count)d open visit appointments move to the survivor's unit %(unit)s.",
                counts["visits"]) % {"count": counts["visits"], "unit": survivor.owning_org.name})
    else:
        counts.update({label: 0 for label, _model in moved_models()}, visits=0)

    # The customer (both modes): fields, the phones and e-mails it lacks, who goes to the merged state.
    customer_sources = [(case.pk, case.customer) for case in ordered if case.customer_id != survivor_customer.pk]
    chosen = {name: choose(name, columns, survivor_customer, customer_sources, survivor.pk, request)
              for name, columns in CUSTOMER_FIELDS.items()}
    customer_rows, customer_values = field_rows(CUSTOMER_FIELDS, survivor_customer, survivor.pk, chosen, Customer)
    copied_points = lacking_points(company_id, survivor_customer, [customer.pk for customer in other_customers])
    counts["contact_points"] = len(copied_points)
    staying = set(Case.objects.for_company(company_id).filter(customer_id__in=[c.pk for c in other_customers])
                  .exclude(pk__in=other_ids).values_list("customer_id", flat=True).distinct())
    merged_customer_ids = [customer.pk for customer in other_customers if customer.pk not in staying]
    counts["customers_merged"] = len(merged_customer_ids)
    return MergePlan(
        survivor=survivor, others=others, mode=MergeMode.INTEGRATE if integrate else MergeMode.LINK, case_fields=case_rows,
        customer_fields=customer_rows, counts=counts, warnings=warnings, case_values=case_values, customer_values=customer_values,
        desired_values=desired_values, line_source=line_source, copied_points=copied_points, merged_customer_ids=merged_customer_ids)


def check_line_units(survivor: Case, others: Sequence[Case]) -> None:
    """Cases with a LINE link merge within one owning unit only (ApplicationError `merge_line_units`)."""
    cases = [survivor, *others]
    if any(case.customer.line_user_id for case in cases) and len({case.owning_org_id for case in cases}) > 1:
        raise ApplicationError(error_codes.MERGE_LINE_UNITS,
                               _("Cases linked to LINE can only be merged within one owning unit: move them to one unit first."))


def range_safe(desired: DesiredConditions, values: dict) -> dict:
    """Filled values that keep the rent and price ranges ordered (a filled bound above the kept one is left out)."""
    values = dict(values)
    for low, high in (("rent_min", "rent_max"), ("price_min", "price_max")):
        low_value, high_value = values.get(low, getattr(desired, low)), values.get(high, getattr(desired, high))
        if low_value is not None and high_value is not None and low_value > high_value:
            values.pop(low, None)
            values.pop(high, None)
    return values


def open_visits(company_id: int, cases: Sequence[Case]):
    return Activity.objects.for_company(company_id).filter(case_id__in=[case.pk for case in cases],
                                                           kind=ActivityKind.VISIT_APPOINTMENT, is_done=False)


def point_key(point: ContactPoint) -> tuple[str, str]:
    return point.kind, point.normalized or point.raw.strip()


def lacking_points(company_id: int, survivor_customer: Customer, customer_ids: Sequence[int]) -> list[ContactPoint]:
    """The other customers' contact points whose phone or e-mail the survivor's customer lacks (each value
    once; customers in the given order, their contacts and points in display order)."""
    if not customer_ids:
        return []
    points = ContactPoint.objects.for_company(company_id)
    have = {point_key(point) for point in points.filter(customer_id=survivor_customer.pk)}
    order = {pk: index for index, pk in enumerate(customer_ids)}
    lacking = []
    candidates = points.filter(customer_id__in=customer_ids).select_related("contact")
    for point in sorted(candidates, key=lambda p: (order[p.customer_id], p.contact.position, p.contact_id, p.position, p.pk)):
        if point_key(point) not in have:
            have.add(point_key(point))
            lacking.append(point)
    return lacking


def plan_merge(*, actor: Actor | None, request: MergeRequest) -> MergePlan:
    """What `do_merge_cases` would do with this request for this actor (None: the operator), nothing written.
    Refused like the merge itself: NotFound, PermissionDenied naming the cases, ApplicationError."""
    company_id = actor.company_id if actor is not None else current_company_id()
    survivor, others = load_cases(company_id, actor, request, lock=False)
    return build_plan(company_id, survivor, others, request)


# ---------------------------------------------------------------------------------------------
# Merging


class Snapshot:
    """The merge's record of every value before it changed (JSON), what the undo writes back."""

    def __init__(self):
        self.data = {"cases": {}, "customers": {}, "desired": {}, "moves": {}, "visit_units": {}, "inquiry_customers": {},
                     "created_contacts": [], "kept_desired": {}, "after": {"cases": {}, "customers": {}, "desired": {}}}

    def remember(self, section: str, instance, columns) -> None:
        before = self.data[section].setdefault(str(instance.pk), {})
        for column in columns:
            before.setdefault(column, json_value(getattr(instance, column)))

    def wrote(self, section: str, pk, values: dict) -> None:
        """What the merge wrote into a row's fields: the undo tells a later edit (kept) from the merge's value (restored)."""
        self.data["after"][section].setdefault(str(pk), {}).update({column: json_value(value) for column, value in values.items()})


def do_merge_cases(*, acting_user, request: MergeRequest, automatic: bool = False) -> Merge:
    """Merge (`request.integrate`) or link the cases into the survivor as `acting_user` (None: the operator or
    the system, e.g. the LINE intake with `automatic`). Atomic: all of it or nothing; audited (verb `merge`);
    candidates of every customer involved recomputed. Returns the Merge, undoable for MERGE_UNDO_DAYS.

    Refused, with nothing written: NotFound (a case absent or not visible), PermissionDenied (a case the actor
    may not edit, named; picks by a non-admin), Conflict `merge_conflict` (a case merged meanwhile: the rows are
    locked in pk order and checked inside the lock), ApplicationError (the trash, LINE links across units).
    The request is checked once before the transaction opens, so a refusal leaves the caller's transaction usable."""
    actor = actor_for(acting_user) if acting_user is not None else None
    company_id = actor.company_id if actor is not None else current_company_id()
    if company_id is None:
        raise ValueError("do_merge_cases needs a company in scope")
    check_line_units(*load_cases(company_id, actor, request, lock=False))
    return _merge_cases(company_id=company_id, actor=actor, acting_user=acting_user, request=request, automatic=automatic)


@transaction.atomic(savepoint=False)
def _merge_cases(*, company_id: int, actor: Actor | None, acting_user, request: MergeRequest, automatic: bool) -> Merge:
    survivor, others = load_cases(company_id, actor, request, lock=True)
    customer_ids = sorted({survivor.customer_id, *(case.customer_id for case in others)})
    list(Customer.objects.for_company(company_id).filter(pk__in=customer_ids).order_by("pk").select_for_update().values_list("pk"))
    plan = build_plan(company_id, survivor, others, request)
    now = timezone.now()
    snapshot = Snapshot()
    other_ids = [case.pk for case in others]
    survivor_customer = survivor.customer
    cases = Case.objects.for_company(company_id)
    customers = Customer.objects.for_company(company_id)

    if request.integrate:
        moving_units = [case for case in others if case.owning_org_id != survivor.owning_org_id]
        visits = open_visits(company_id, moving_units).exclude(org_unit_id=survivor.owning_org_id) if moving_units else None
        if visits is not None:
            snapshot.data["visit_units"] = {str(pk): unit_id for pk, unit_id in visits.values_list("pk", "org_unit_id")}
            Activity.objects.for_company(company_id).filter(pk__in=[int(pk) for pk in snapshot.data["visit_units"]]).update(
                org_unit_id=survivor.owning_org_id)
        for _label, model in moved_models():
            moved: dict[str, list[int]] = {}
            for case_id, pk in model.objects.for_company(company_id).filter(case_id__in=other_ids).values_list("case_id", "pk"):
                moved.setdefault(str(case_id), []).append(pk)
            if moved:
                snapshot.data["moves"][model._meta.label_lower] = moved
                model.objects.for_company(company_id).filter(case_id__in=other_ids).update(case_id=survivor.pk)
        for case in others:
            snapshot.remember("cases", case, ("deleted_at", "merged_into_id"))
            if case.kind != survivor.kind:
                kept = DesiredConditions.objects.for_company(company_id).filter(case_id=case.pk).values().first()
                if kept is not None:
                    snapshot.data["kept_desired"][str(case.pk)] = json_value(kept)
        cases.filter(pk__in=other_ids).update(deleted_at=now, merged_into_id=survivor.pk)
        if plan.desired_values:
            desired = DesiredConditions.objects.for_company(company_id).get(case_id=survivor.pk)
            snapshot.remember("desired", desired, plan.desired_values)
            snapshot.wrote("desired", desired.pk, plan.desired_values)
            DesiredConditions.objects.for_company(company_id).filter(pk=desired.pk).update(**plan.desired_values)
    else:
        for case in others:
            snapshot.remember("cases", case, ("customer_id", "updated_at"))
        cases.filter(pk__in=other_ids).update(customer_id=survivor_customer.pk, updated_at=now)
    snapshot.remember("cases", survivor, (*plan.case_values, "updated_at"))
    snapshot.wrote("cases", survivor.pk, {**plan.case_values, "updated_at": now})
    cases.filter(pk=survivor.pk).update(**plan.case_values, updated_at=now)

    customer_values = dict(plan.customer_values)
    if {"name", "kana"} & set(customer_values):
        customer_values["name_key"], customer_values["kana_key"] = customer_keys(
            survivor_customer.kind, customer_values.get("name", survivor_customer.name), customer_values.get("kana", survivor_customer.kana))
    if plan.line_source is not None:
        customer_values.update({column: getattr(plan.line_source, column) for column in LINE_COLUMNS})
        snapshot.remember("customers", plan.line_source, LINE_COLUMNS)
        customers.filter(pk=plan.line_source.pk).update(line_user_id="", line_blocked_at=None)
    snapshot.remember("customers", survivor_customer, (*customer_values, "updated_at"))
    snapshot.wrote("customers", survivor_customer.pk, {**customer_values, "updated_at": now})
    customers.filter(pk=survivor_customer.pk).update(**customer_values, updated_at=now)
    snapshot.data["created_contacts"] = copy_points(company_id, survivor_customer, plan.copied_points)

    if plan.merged_customer_ids:
        for customer in (case.customer for case in others):
            if customer.pk in plan.merged_customer_ids:
                snapshot.remember("customers", customer, ("deleted_at", "merged_into_id"))
        customers.filter(pk__in=plan.merged_customer_ids).update(deleted_at=now, merged_into_id=survivor_customer.pk)
        from estatecrm.inquiries.models import Inquiry

        inquiries = Inquiry.objects.for_company(company_id).filter(customer_id__in=plan.merged_customer_ids)
        for customer_id, pk in inquiries.values_list("customer_id", "pk"):
            snapshot.data["inquiry_customers"].setdefault(str(customer_id), []).append(pk)
        inquiries.update(customer_id=survivor_customer.pk)

    merge = Merge.objects.create(company_id=company_id, survivor=survivor, mode=plan.mode, acting_user=acting_user,
                                 is_automatic=automatic, created_at=now, snapshot=snapshot.data)
    MergeCase.objects.bulk_create([MergeCase(company_id=company_id, merge=merge, case_id=pk) for pk in other_ids])
    refresh_duplicates(company_id, customer_ids)
    record_event(company_id=company_id, actor=acting_user, verb="merge", instance=merge, object_repr=f"#{survivor.number}", after={
        "mode": plan.mode, "automatic": automatic, "survivor": survivor.pk, "cases": other_ids,
        "fields": {row.name: [row.survivor_value, row.result_value] for row in [*plan.case_fields, *plan.customer_fields] if row.changed},
        "desired_filled": sorted(plan.desired_values), "counts": plan.counts,
        "customers_merged": plan.merged_customer_ids, "line_link_from": plan.line_source.pk if plan.line_source else None,
    })
    return merge


def copy_points(company_id: int, customer: Customer, points: Sequence[ContactPoint]) -> list[int]:
    """Give the customer copies of `points`, under copies of their contacts (name and reading). Returns the new contacts' pks."""
    if not points:
        return []
    position = max(Contact.objects.for_company(company_id).filter(customer=customer).values_list("position", flat=True), default=-1) + 1
    contacts: dict[int, Contact] = {}
    for point in points:
        if point.contact_id not in contacts:
            contacts[point.contact_id] = Contact(company_id=company_id, customer=customer, name=point.contact.name, kana=point.contact.kana,
                                                 position=position + len(contacts))
    Contact.objects.bulk_create(list(contacts.values()))
    ContactPoint.objects.bulk_create([
        ContactPoint(company_id=company_id, contact=contacts[point.contact_id], customer=customer, kind=point.kind, raw=point.raw,
                     normalized=point.normalized, invalid_reason=point.invalid_reason, position=point.position)
        for point in points])
    return [contact.pk for contact in contacts.values()]


# ---------------------------------------------------------------------------------------------
# Undo


def restored(model, before: dict) -> dict:
    """The snapshot's JSON values as the model's column values."""
    return {column: model._meta.get_field(column).to_python(value) for column, value in before.items()}


def merge_cases_of(merge: Merge) -> list[int]:
    return [merge.survivor_id, *MergeCase.objects.for_company(merge.company_id).filter(merge=merge).order_by("case_id")
            .values_list("case_id", flat=True)]


def check_undo(merge: Merge, case_ids: Sequence[int], now) -> None:
    if merge.undone_at is not None:
        raise ApplicationError(error_codes.UNDO_ALREADY_DONE, _("This merge was already undone."))
    if now - merge.created_at > datetime.timedelta(days=MERGE_UNDO_DAYS):
        raise ApplicationError(error_codes.UNDO_EXPIRED, ngettext(
            "A merge can be undone for %(days)d day only; this one is older.",
            "A merge can be undone for %(days)d days only; this one is older.", MERGE_UNDO_DAYS) % {"days": MERGE_UNDO_DAYS})
    later = Merge.objects.for_company(merge.company_id).filter(pk__gt=merge.pk, undone_at__isnull=True)
    involved = set(case_ids)
    later_ids = set(later.filter(survivor_id__in=involved).values_list("pk", flat=True))
    later_ids |= set(MergeCase.objects.for_company(merge.company_id).filter(merge__in=later, case_id__in=involved)
                     .values_list("merge_id", flat=True))
    if later_ids:
        raise ApplicationError(error_codes.UNDO_LATER_MERGE, _(
            "A later merge took some of these cases (merge %(merges)s): undo it first.") % {
            "merges": ", ".join(str(pk) for pk in sorted(later_ids))})


def do_undo_merge(*, acting_user, merge_id: int) -> Merge:
    """Undo a merge within MERGE_UNDO_DAYS: every case, customer, moved row and field the merge changed gets
    its value from before the merge back (Merge.snapshot), the contacts it copied go. Atomic, audited (verb
    `undo_merge`), candidates of every customer involved recomputed. The actor must be allowed to merge every
    case involved (None: the operator). Refused: a second undo, an expired one, and one whose cases a later
    merge (not undone) took part in. Checked once before the transaction opens (a refusal leaves the caller's
    transaction usable), and again inside it with the merge and its cases locked."""
    actor = actor_for(acting_user) if acting_user is not None else None
    company_id = actor.company_id if actor is not None else current_company_id()
    load_undo(company_id, actor, merge_id, lock=False)
    return _undo_merge(company_id=company_id, actor=actor, acting_user=acting_user, merge_id=merge_id)


def load_undo(company_id: int, actor: Actor | None, merge_id: int, *, lock: bool) -> tuple[Merge, list[int], list[Case]]:
    """The merge, its case ids (the survivor first) and cases, checked for an undo now (see do_undo_merge)."""
    merges = Merge.objects.for_company(company_id)
    try:
        merge = (merges.select_for_update() if lock else merges).get(pk=merge_id)
    except Merge.DoesNotExist:
        raise NotFound() from None
    case_ids = merge_cases_of(merge)
    cases = Case.objects.for_company(company_id).filter(pk__in=case_ids).order_by("pk")
    cases = list(cases.select_for_update() if lock else cases)
    if actor is not None:
        seen = set(Case.objects.for_company(company_id).filter(actor.case_visibility_q(), pk__in=case_ids).values_list("pk", flat=True))
        if set(case_ids) - seen:
            raise NotFound()
        check_can_merge(actor, cases)
    check_undo(merge, case_ids, timezone.now())
    return merge, case_ids, cases


@transaction.atomic(savepoint=False)
def _undo_merge(*, company_id: int, actor: Actor | None, acting_user, merge_id: int) -> Merge:
    merge, case_ids, cases = load_undo(company_id, actor, merge_id, lock=True)
    now = timezone.now()
    data = merge.snapshot
    customer_ids = {case.customer_id for case in cases} | {int(pk) for pk in data["customers"]}
    list(Customer.objects.for_company(company_id).filter(pk__in=sorted(customer_ids)).order_by("pk").select_for_update().values_list("pk"))

    Contact.objects.for_company(company_id).filter(pk__in=data["created_contacts"]).delete()
    models = {model._meta.label_lower: model for _label, model in moved_models()}
    for label, moved in data["moves"].items():
        for case_id, pks in moved.items():
            models[label].objects.for_company(company_id).filter(pk__in=pks).update(case_id=int(case_id))
    by_unit: dict = {}
    for pk, unit_id in data["visit_units"].items():
        by_unit.setdefault(unit_id, []).append(int(pk))
    for unit_id, pks in by_unit.items():
        Activity.objects.for_company(company_id).filter(pk__in=pks).update(org_unit_id=unit_id)
    from estatecrm.inquiries.models import Inquiry

    for customer_id, pks in data["inquiry_customers"].items():
        Inquiry.objects.for_company(company_id).filter(pk__in=pks).update(customer_id=int(customer_id))
    kept_edits: dict[str, list[str]] = {}
    for section, model in (("desired", DesiredConditions), ("customers", Customer), ("cases", Case)):
        for pk, before in data[section].items():
            values = restored(model, before)
            edited = edited_since(company_id, model, pk, data.get("after", {}).get(section, {}).get(pk))
            if edited:
                # Changed by someone after the merge: the newer values stay (an undo never loses a later edit), and
                # the row's version moves forward, not back (a form read before the undo is then refused as stale).
                for column in edited:
                    values.pop(column, None)
                if "updated_at" in values:
                    values["updated_at"] = now
                if edited != ["updated_at"]:
                    kept_edits[f"{model._meta.label_lower}:{pk}"] = [column for column in edited if column != "updated_at"]
            model.objects.for_company(company_id).filter(pk=int(pk)).update(**values)
    customer_ids |= set(Case.objects.for_company(company_id).filter(pk__in=case_ids).values_list("customer_id", flat=True))

    merge.undone_at = now
    merge.undone_by = acting_user
    merge.save(update_fields=["undone_at", "undone_by"])
    refresh_duplicates(company_id, customer_ids)
    record_event(company_id=company_id, actor=acting_user, verb="undo_merge", instance=merge, object_repr=f"#{cases_number(cases, merge)}",
                 before={"mode": merge.mode, "survivor": merge.survivor_id, "cases": case_ids[1:]},
                 after={"undone_at": now.isoformat(), "kept_edits": kept_edits})
    merge.kept_edits = kept_edits
    return merge


def edited_since(company_id: int, model, pk: str, written: dict | None) -> list[str]:
    """The columns of a row the merge wrote (`written`: column -> the merge's value) that hold another value now:
    edited after the merge. `updated_at` is listed when the row changed in any way since (an activity added, a
    field edited), so that the undo moves the version forward; empty when the row is as the merge left it."""
    if not written:
        return []
    current = model.objects.for_company(company_id).filter(pk=int(pk)).values(*written).first()
    if current is None:
        return []
    merged = restored(model, written)
    changed = [column for column, value in merged.items() if column != "updated_at" and current[column] != value]
    if changed or ("updated_at" in merged and current["updated_at"] != merged["updated_at"]):
        return changed or ["updated_at"]
    return []


def cases_number(cases: Sequence[Case], merge: Merge) -> int | str:
    return next((case.number for case in cases if case.pk == merge.survivor_id), merge.survivor_id)
