"""Background tasks of 名寄せ."""

from django_tasks import task

from estatecrm.core.scope import company_scope
from estatecrm.tenancy.models import Company


@task()
def scan_company_task(company_id: int, rules: str = "all") -> dict:
    """Recompute the company's candidates (dedup.scan), as `estatecrm dedup scan` does: the settings page's
    rescan after its rules changed. Returns the scan's counts."""
    from estatecrm.dedup.scan import scan_company

    company = Company.objects.get(pk=company_id)
    with company_scope(company):
        result = scan_company(company, rules=rules)
    return {"groups": result.groups, "cases_in_groups": result.cases_in_groups, "pairs": result.pairs}
