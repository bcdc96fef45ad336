import datetime
from decimal import Decimal

import pytest

from estatecrm.core import testing
from estatecrm.core.scope import company_scope
from estatecrm.crm.models import DesiredConditions
from estatecrm.listings.actions import do_create_listing


def make_listing(company, ref="L-1", *, stations=(), acting_user=None, **values) -> object:
    """A listing through the action (for rent, 8.5万円, 1K, 25㎡ in 東京都渋谷区 unless told otherwise)."""
    defaults = {"ref": ref, "name": f"メゾン{ref}", "kind": "rent", "status": "available", "rent": Decimal("8.5"), "layout": "1K",
                "area": Decimal("25"), "prefecture": "東京都", "city": "渋谷区", "street": "渋谷1-1-1", "built_on": datetime.date(2015, 4, 1),
                "features": []}
    with company_scope(company):
        return do_create_listing(company_id=company.pk, values={**defaults, **values}, stations=list(stations), acting_user=acting_user)


def set_desired(case, **conditions) -> DesiredConditions:
    """The case's desired conditions are exactly `conditions` (any earlier ones are replaced)."""
    DesiredConditions.objects.for_company(case.company_id).filter(case=case).delete()
    return DesiredConditions.objects.create(company_id=case.company_id, case=case, **conditions)


@pytest.fixture
def case(company, org, agent):
    return testing.make_case(company, org["SBY"], main_assignee=agent, customer_name="佐藤 花子")
