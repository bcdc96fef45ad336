"""What the tests of imports run by workers check at the end: every source row written exactly once."""

from collections import Counter

from estatecrm.core.scope import company_scope
from estatecrm.crm.models import Contact, Customer
from estatecrm.leads.selectors import row_outcomes
from estatecrm.pipeline.choices import RunStatus
from estatecrm.pipeline.models import Run


def written_rows(run: Run) -> Counter:
    """Row number -> how many outcomes the import has for it (a case it created, or a ledger entry)."""
    return Counter(row for row, _outcome in row_outcomes(run))


def assert_each_row_written_once(run: Run, rows: int) -> None:
    written = written_rows(run)
    assert (len(written), sum(written.values())) == (rows, rows)


def assert_every_row_a_new_lead_once(company, run_id: int, rows: int) -> None:
    """The import (of `rows` rows, each a new lead) completed, with each row's lead, contact and outcome written once."""
    finished = Run.objects.for_company(company).get(pk=run_id)
    assert (finished.status, finished.rows_done, finished.counts["leads_created"]) == (RunStatus.COMPLETED, rows, rows)
    assert_each_row_written_once(finished, rows)
    with company_scope(company):
        assert Customer.objects.count() == rows
        assert Contact.objects.count() == rows
