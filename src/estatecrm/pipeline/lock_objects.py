"""Per-company write locks of the pipeline (see `WriteLock`)."""

from django.db.models import F

from estatecrm.pipeline.models import WriteLock


def lock_for_write(company_id: int, name: str) -> int:
    """Within the caller's transaction: take the company's lock `name` until the transaction ends (other
    writers taking it wait) and return its new version, which no other transaction can have."""
    rows = WriteLock.objects.for_company(company_id).filter(name=name)
    while True:
        if rows.update(version=F("version") + 1):
            return rows.values_list("version", flat=True).get()
        # The company's first writer: create the row (of two creating it at once, one waits for the other).
        WriteLock.objects.bulk_create([WriteLock(company_id=company_id, name=name, version=0)], ignore_conflicts=True)


def write_version(company_id: int, name: str) -> int:
    """The lock's committed version (0 before its first writer): note it before a lookup whose result a
    writer takes later, to learn under the lock whether other writers committed since."""
    return WriteLock.objects.for_company(company_id).filter(name=name).values_list("version", flat=True).first() or 0
