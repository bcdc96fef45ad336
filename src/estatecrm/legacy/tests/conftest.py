import json
from pathlib import Path

import pytest

from estatecrm.crm.tenant_file import parse_tenant_file
from estatecrm.crm.tenant_setup import do_apply_tenant_spec
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.selectors import actor_for

# `../shared/legacy-export/sample/` relative to the project root (sample/README.md).
SAMPLE = Path(__file__).resolve().parents[4].parent / "shared" / "legacy-export" / "sample"
SAMPLE_TODAY = "2026-11-20"


@pytest.fixture
def expected():
    return json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture
def bundle_path():
    return SAMPLE / "sample-bundle.zip"


@pytest.fixture
def sample_company(db):
    """The sample tenant (tenant.yaml) applied as `estatecrm tenant apply` does."""
    parsed = parse_tenant_file((SAMPLE / "tenant.yaml").read_bytes())
    assert parsed.is_valid, parsed.errors
    result = do_apply_tenant_spec(parsed.spec)
    from estatecrm.tenancy.models import Company

    return Company.objects.get(code=result.company_code)


@pytest.fixture
def sample_admin(sample_company):
    return User.objects.get(email="admin@example-fudosan.jp")


@pytest.fixture
def sample_actor(sample_admin):
    return actor_for(sample_admin)


@pytest.fixture
def units(sample_company):
    return {unit.code: unit for unit in OrgUnit.objects.for_company(sample_company)}
