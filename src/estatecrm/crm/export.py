"""Exports (`estatecrm export KIND ...`): a registry of exporters and the case exporter.

An exporter yields one dict per record, streaming in primary-key batches (memory stays flat for
millions of records). Writers turn the dicts into JSONL, or flatten them for CSV (UTF-8 with BOM,
CRLF) and XLSX; every text cell a spreadsheet would run as a formula is neutralized.
"""

import csv
import json
from collections.abc import Callable, Iterator

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from estatecrm.core.scope import company_scope
from estatecrm.crm.choices import PHONE_KINDS, ContactPointKind
from estatecrm.crm.models import (
    Activity,
    Attachment,
    Case,
    CaseAssignee,
    CaseTag,
    ContactPoint,
    DesiredConditions,
    Introduction,
)
from estatecrm.normalize import neutralize_formula

BATCH = 1000
EXPORTERS: dict[str, Callable] = {}


def register_exporter(kind: str, *, shape: Callable[[dict], dict] | None = None):
    """Register `function(company, options) -> records` as `estatecrm export KIND`.

    `shape(record)` gives a record its full column set for CSV/XLSX (null objects become empty
    columns), so every file of a kind has the same header whatever its first record holds.
    """

    def register(function):
        function.shape = shape or (lambda record: record)
        EXPORTERS[kind] = function
        return function

    return register


def _count(model) -> Coalesce:
    counts = model.objects.unscoped().filter(case_id=OuterRef("pk")).order_by().values("case_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts), 0)


def _number(value):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def desired_dict(desired: DesiredConditions | None) -> dict:
    if desired is None:
        return {}
    return {
        "rent_min": _number(desired.rent_min), "rent_max": _number(desired.rent_max), "includes_management_fee": desired.includes_management_fee,
        "price_min": desired.price_min, "price_max": desired.price_max, "layouts": desired.layouts, "area_min": _number(desired.area_min),
        "area_max": _number(desired.area_max), "land_area_min": _number(desired.land_area_min), "walk_minutes": desired.walk_minutes,
        "building_age": "新築" if desired.building_age == 0 else desired.building_age, "lines_stations": desired.lines_stations,
        "areas": desired.areas, "move_in": desired.move_in, "features": desired.features,
    }


DESIRED_KEYS = ("rent_min", "rent_max", "includes_management_fee", "price_min", "price_max", "layouts", "area_min", "area_max",
                "land_area_min", "walk_minutes", "building_age", "lines_stations", "areas", "move_in", "features")


def case_shape(record: dict) -> dict:
    return {**record, "source": record["source"] or {"system": None, "id": None},
            "desired": record["desired"] or dict.fromkeys(DESIRED_KEYS)}


@register_exporter("cases", shape=case_shape)
def export_cases(company, options=None) -> Iterator[dict]:
    """Every non-trashed case of the company, by id (docs/export-format.md has the keys).

    `options["queryset"]` narrows the export to those cases (the case list's current filter);
    `options["include_merged"]` adds the cases merged away by 名寄せ (their `merged_into` is the survivor).
    """
    last = 0
    base = (options or {}).get("queryset")
    include_merged = bool((options or {}).get("include_merged"))
    with company_scope(company):
        while True:
            cases = Case.objects.for_company(company)
            cases = cases.filter(Q(deleted_at__isnull=True) | Q(merged_into__isnull=False)) if include_merged else cases.filter(deleted_at__isnull=True)
            if base is not None:
                cases = cases.filter(pk__in=base.order_by().values("pk"))
            batch = list(
                cases.filter(pk__gt=last).order_by("pk")
                .select_related("customer", "sub_status", "rank", "owning_org", "main_assignee", "desired")
                .prefetch_related(
                    Prefetch("tag_links", queryset=CaseTag.objects.select_related("tag").order_by("position")),
                    Prefetch("assignee_links", queryset=CaseAssignee.objects.select_related("user").order_by("position")),
                )
                .annotate(activity_count=_count(Activity), introduction_count=_count(Introduction), attachment_count=_count(Attachment))[:BATCH]
            )
            if not batch:
                return
            customer_ids = {case.customer_id for case in batch}
            points: dict[int, list[ContactPoint]] = {}
            for point in ContactPoint.objects.for_company(company).filter(customer_id__in=customer_ids).order_by("customer_id", "contact__position", "position", "pk"):
                points.setdefault(point.customer_id, []).append(point)
            for case in batch:
                yield case_dict(case, points.get(case.customer_id, []))
            last = batch[-1].pk


def case_dict(case: Case, points: list[ContactPoint]) -> dict:
    customer = case.customer
    try:
        desired = case.desired
    except DesiredConditions.DoesNotExist:
        desired = None
    return {
        "id": case.pk,
        "number": case.number,
        "source": {"system": case.source_system, "id": case.source_id} if case.source_system else None,
        "origin": case.origin,
        "kind": case.kind,
        "status": case.status,
        "sub_status": case.sub_status.name if case.sub_status else None,
        "rank": case.rank.name if case.rank else None,
        "tags": [link.tag.name for link in case.tag_links.all()],
        "org": case.owning_org.code,
        "main_assignee": case.main_assignee.email if case.main_assignee else None,
        "sub_assignees": [link.user.email for link in case.assignee_links.all()],
        "started_on": case.started_on.isoformat() if case.started_on else None,
        "first_inquiry": {"date": case.first_inquiry_date.isoformat() if case.first_inquiry_date else None, "source": case.first_inquiry_source,
                          "listing_ref": case.first_inquiry_listing_ref, "listing_name": case.first_inquiry_listing_name},
        "auto_intro_mail": case.auto_intro_mail,
        "desired": desired_dict(desired),
        "management_comment": desired.management_comment if desired else "",
        "other_info": case.other_info,
        "needs_review": case.needs_review,
        "customer": {
            "id": customer.pk, "kind": customer.kind, "name": customer.name, "kana": customer.kana,
            "phones": [point.normalized for point in points if point.kind in PHONE_KINDS and point.normalized],
            "emails": [point.normalized for point in points if point.kind == ContactPointKind.EMAIL and point.normalized],
            "contact_points": [contact_point_dict(point) for point in points],
            "postal_code": customer.postal_code, "address": customer.address,
            "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
            "line_link_number": customer.line_link_number, "line_user_id": customer.line_user_id,
        },
        "activities": case.activity_count,
        "introductions": case.introduction_count,
        "attachments": case.attachment_count,
        "created_at": timezone.localtime(case.created_at).isoformat(),
        "merged_into": case.merged_into_id,
    }


def contact_point_dict(point: ContactPoint) -> dict:
    """A phone or e-mail as typed beside its normalized form: `e164` for phones, `normalized` for
    e-mail addresses (empty when it could not be normalized)."""
    key = "normalized" if point.kind == ContactPointKind.EMAIL else "e164"
    return {"kind": point.kind, "raw": point.raw, key: point.normalized}


def flatten(record: dict, prefix: str = "") -> dict:
    """Nested objects become dotted columns; lists are joined with `;` (objects in them as JSON)."""
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = ";".join(json.dumps(item, ensure_ascii=False) if isinstance(item, dict) else str(item) for item in value)
        else:
            flat[name] = value
    return flat


def cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return neutralize_formula(value) if isinstance(value, str) else value


def write_jsonl(records, handle) -> int:
    count = 0
    for record in records:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def csv_lines(records, shape=lambda record: record) -> Iterator[str]:
    """CSV text for Excel: a BOM, the header of the shaped first record, then one CRLF line per record."""

    class Line:
        def write(self, value):
            return value

    yield "\ufeff"
    writer = None
    for record in records:
        flat = flatten(shape(record))
        if writer is None:
            writer = csv.DictWriter(Line(), fieldnames=list(flat), lineterminator="\r\n", extrasaction="ignore")
            yield writer.writeheader()
        yield writer.writerow({key: cell(value) for key, value in flat.items()})


def write_csv(records, handle, shape=lambda record: record) -> int:
    """UTF-8 with BOM and CRLF (opens correctly in Excel); columns from the shaped first record."""
    lines = csv_lines(records, shape)
    handle.write(next(lines))
    count = -1
    for line in lines:
        handle.write(line)
        count += 1
    return max(count, 0)


def write_xlsx(records, path: str, shape=lambda record: record) -> int:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet("export")
    columns = None
    count = 0
    for record in records:
        flat = flatten(shape(record))
        if columns is None:
            columns = list(flat)
            for index, name in enumerate(columns):
                sheet.write_string(0, index, name)
        count += 1
        for index, name in enumerate(columns):
            value = cell(flat.get(name))
            if isinstance(value, str):
                sheet.write_string(count, index, value)
            else:
                sheet.write(count, index, value)
    workbook.close()
    return count
