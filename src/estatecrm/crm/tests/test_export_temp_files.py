"""The case list's XLSX export leaves nothing in the temp folder, also when writing the file fails."""

import tempfile

import pytest

from estatecrm.core import testing
from estatecrm.crm import views

pytestmark = pytest.mark.django_db


@pytest.fixture
def temp_folder(tmp_path, monkeypatch):
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_the_xlsx_export_leaves_no_temp_file(client, company, org, company_admin, temp_folder):
    # given
    testing.make_case(company, org["HQ"], main_assignee=company_admin, customer_name="山田 太郎")
    client.force_login(company_admin)
    # when
    response = client.get("/cases/export/?format=xlsx")
    content = b"".join(response.streaming_content)
    # then
    assert (response.status_code, content[:2]) == (200, b"PK")
    assert list(temp_folder.iterdir()) == []


def test_a_failed_xlsx_export_leaves_no_temp_file(client, company, org, company_admin, temp_folder, monkeypatch):
    # given
    def failing_writer(records, path, shape):
        with open(path, "wb") as handle:
            handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(views, "write_xlsx", failing_writer)
    client.force_login(company_admin)
    # when
    with pytest.raises(OSError):
        client.get("/cases/export/?format=xlsx")
    # then
    assert list(temp_folder.iterdir()) == []
