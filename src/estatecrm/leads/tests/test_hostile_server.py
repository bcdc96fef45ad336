"""A real gunicorn server keeps its worker after the 2 KB file that used to abort it, and after the corpus.

Before the extent check, calamine asked for 512 GiB and the worker process died of signal 6 (an
abort no `except` catches); gunicorn's master then started a new worker, so the server "answered"
again with another process. This test starts gunicorn on a free port against the test database and
asserts that the very same worker process answers before and after the upload.
"""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from estatecrm.core import testing
from estatecrm.crm.actions import do_upsert_project
from estatecrm.pipeline.tests.hostile import CORPUS, far_cell_xlsx
from estatecrm.tenancy import tokens

pytestmark = pytest.mark.django_db(transaction=True)


def server_environment() -> dict:
    return testing.process_environment()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker_pids(master: int) -> set[int]:
    """The pids of the gunicorn master's children (its workers)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def call(url: str, token: str, *, files: dict | None = None, fields: dict | None = None):
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    body = None
    if files is not None:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in (fields or {}).items()]
        for name, (file_name, data) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
                         "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads gunicorn's workers from /proc")
def test_the_far_cell_file_is_refused_and_the_same_worker_answers_the_next_requests(company, company_admin, tmp_path):
    # given: a real server with one worker, a project and an API token
    project, _created = do_upsert_project(company=company, name="春の反響リスト")
    _token, clear = tokens.do_create_api_token(user=company_admin, name="hostile", acting_user=company_admin)
    path = far_cell_xlsx(tmp_path / "far.xlsx")
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    with (tmp_path / "server.log").open("ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "estatecrm.config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "1", "--timeout", "60"], env=server_environment(), stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: call(f"{base}/health", clear)[0] == 200), (tmp_path / "server.log").read_text()
        workers = worker_pids(server.pid)
        # when: the far-cell file, then every file of the hostile corpus
        refused = call(f"{base}/lead-imports/detect", clear, files={"file": (path.name, path.read_bytes())},
                       fields={"project_id": project.pk})
        health = call(f"{base}/health", clear)
        corpus = {}
        for name, make in sorted(CORPUS.items()):
            hostile = make(tmp_path)
            corpus[name] = call(f"{base}/lead-imports/detect", clear, files={"file": (hostile.name, hostile.read_bytes())},
                                fields={"project_id": project.pk})[0]
        listed = call(f"{base}/lead-imports", clear)
        # then: each refused (or, when only the full read finds the fault, detected), the same worker up
        assert path.stat().st_size < 2048
        assert (refused[0], refused[1]["error"]["code"]) == (400, "sheet_too_large")
        assert health[0] == 200
        assert {name: status for name, status in corpus.items() if status not in (200, 400)} == {}
        assert (listed, len(workers), worker_pids(server.pid)) == ((200, []), 1, workers)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
