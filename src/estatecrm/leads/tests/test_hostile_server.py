"""A live server answers after the 2 KB file that used to abort its process (calamine allocating 512 GiB).

pytest-django's live_server runs the server in a thread of the test process: before the extent
check, the upload aborted the whole process (signal 6, uncatchable), so this test could not pass.
"""

import json
import urllib.error
import urllib.request
import uuid

import pytest

from estatecrm.crm.actions import do_upsert_project
from estatecrm.pipeline.tests.hostile import far_cell_xlsx
from estatecrm.tenancy import tokens


def call(url: str, token: str, *, files: dict | None = None, fields: dict | None = None):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    body = None
    if files is not None:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in (fields or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (file_name, data) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
                         f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_the_server_survives_the_far_cell_file_and_answers_the_next_request(live_server, company, company_admin, tmp_path):
    # given
    project, _created = do_upsert_project(company=company, name="春の反響リスト")
    _token, clear = tokens.do_create_api_token(user=company_admin, name="hostile", acting_user=company_admin)
    path = far_cell_xlsx(tmp_path / "far.xlsx")
    # when
    refused = call(f"{live_server.url}/api/v1/lead-imports/detect", clear, files={"file": (path.name, path.read_bytes())},
                   fields={"project_id": project.pk})
    # then
    assert path.stat().st_size < 2048
    assert refused[0] == 400
    assert refused[1]["error"]["code"] == "sheet_too_large"
    assert call(f"{live_server.url}/api/v1/health", clear)[0] == 200
    assert call(f"{live_server.url}/api/v1/lead-imports", clear) == (200, [])
