"""Background tasks of the data migration pages: each takes ids and is idempotent."""

from django_tasks import task

from estatecrm.legacy.actions import do_compute_legacy_preflight


@task()
def compute_legacy_preflight(company_id: int, org_unit_id: int, token: str, requested_at: str) -> str:
    """Check an uploaded bundle and compute its pre-flight for the unit (the result goes to preflight.json
    next to the upload). Nothing happens when the upload is gone or a later request superseded this one."""
    return do_compute_legacy_preflight(company_id=company_id, org_unit_id=org_unit_id, token=token, requested_at=requested_at)
