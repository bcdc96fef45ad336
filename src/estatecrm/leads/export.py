"""`estatecrm export leads --company CODE [--project NAME]`: one record per imported lead's case.

The cases with origin `lead_import` (not in the trash), by id, streamed in batches; keys are in
docs/export-format.md ("Leads").
"""

from collections.abc import Iterator

from django.core.management import CommandError

from estatecrm.core.scope import company_scope
from estatecrm.crm.choices import PHONE_KINDS, CaseOrigin, ContactPointKind
from estatecrm.crm.export import BATCH, register_exporter
from estatecrm.crm.models import Case, Contact, ContactPoint, CustomField, Project
from estatecrm.leads.choices import SOURCE_SYSTEM

ADDRESS_KEYS = ("postal_code", "prefecture", "city", "street", "building")


def lead_shape(record: dict) -> dict:
    """Records already have one fixed key set (every custom field of the company is in `custom`), so
    CSV/XLSX get one column per key: `contacts` as JSON objects joined with `;`, `custom.<name>` each."""
    return record


def import_id_of(case: Case) -> int | None:
    """The import run that created the case: lead-import cases carry the source id "<run id>:<row>"."""
    if case.source_system != SOURCE_SYSTEM or ":" not in case.source_id:
        return None
    run_id = case.source_id.split(":", 1)[0]
    return int(run_id) if run_id.isdigit() else None


@register_exporter("leads", shape=lead_shape)
def export_leads(company, options=None) -> Iterator[dict]:
    """The imported leads of the company (of one project with `options["project"]`), by case id.

    An unknown project is refused before anything is written.
    """
    options = options or {}
    project = None
    if options.get("project"):
        project = Project.objects.for_company(company).filter(name=options["project"]).first()
        if project is None:
            raise CommandError(f"Unknown project: {options['project']}")
    # Every custom field of the company is a key of `custom` (null when unset), so every record of
    # an export has the same columns in CSV and XLSX.
    custom_names = list(CustomField.objects.for_company(company).order_by("position", "name").values_list("name", flat=True))
    return _records(company, project, custom_names)


def _records(company, project, custom_names) -> Iterator[dict]:
    last = 0
    with company_scope(company):
        while True:
            cases = Case.objects.for_company(company).filter(origin=CaseOrigin.LEAD_IMPORT, deleted_at__isnull=True, pk__gt=last)
            if project is not None:
                cases = cases.filter(project=project)
            batch = list(cases.order_by("pk").select_related("customer", "project", "main_assignee")[:BATCH])
            if not batch:
                return
            customer_ids = {case.customer_id for case in batch}
            contacts: dict[int, list[dict]] = {}
            by_contact: dict[int, dict] = {}
            for contact in Contact.objects.for_company(company).filter(customer_id__in=customer_ids).order_by("customer_id", "position", "pk"):
                item = {"name": contact.name, "kana": contact.kana, "phones": [], "emails": []}
                contacts.setdefault(contact.customer_id, []).append(item)
                by_contact[contact.pk] = item
            points = ContactPoint.objects.for_company(company).filter(customer_id__in=customer_ids).exclude(normalized="")
            for contact_id, kind, normalized in points.order_by("contact_id", "position", "pk").values_list("contact_id", "kind", "normalized"):
                item = by_contact.get(contact_id)
                if item is None:
                    continue
                if kind == ContactPointKind.EMAIL:
                    item["emails"].append(normalized)
                elif kind in PHONE_KINDS:
                    item["phones"].append(normalized)
            for case in batch:
                yield lead_record(case, contacts.get(case.customer_id, []), custom_names)
            last = batch[-1].pk


def lead_record(case: Case, contacts: list[dict], custom_names: list[str]) -> dict:
    customer = case.customer
    values = customer.custom_values or {}
    custom = {name: values.get(name) for name in custom_names}
    # Values of custom fields deleted since stay in the export rather than vanish.
    custom.update({name: value for name, value in values.items() if name not in custom})
    return {
        "case_id": case.pk,
        "lead_name": customer.name,
        "project": case.project.name if case.project else None,
        "contacts": contacts,
        **{key: getattr(customer, key) for key in ADDRESS_KEYS},
        "homepage": customer.homepage,
        "custom": custom,
        "status": case.status,
        "main_assignee": case.main_assignee.email if case.main_assignee else None,
        "import_id": import_id_of(case),
    }
