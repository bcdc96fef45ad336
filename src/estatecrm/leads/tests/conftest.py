import pytest

from estatecrm.crm.actions import do_upsert_custom_field, do_upsert_project
from estatecrm.tenancy.selectors import actor_for


@pytest.fixture
def project(company):
    field, _ = do_upsert_custom_field(company=company, name="所有物件数", field_type="number")
    project, _ = do_upsert_project(company=company, name="春の反響リスト", custom_fields=[field])
    return project


@pytest.fixture
def admin_client(client, company_admin):
    """A company admin's client, in English (a request's default language is Japanese)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(company_admin)
    return client


@pytest.fixture
def admin_actor(company_admin):
    return actor_for(company_admin)


@pytest.fixture
def write_csv(tmp_path):
    def write(rows, name="leads.csv", encoding="cp932", header=("会社名", "担当者", "電話番号", "メール", "所有物件数")):
        path = tmp_path / name
        lines = [",".join(header)] + [",".join(row) for row in rows]
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
        return path

    return write
