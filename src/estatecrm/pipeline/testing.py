"""Helpers of the tests that start real worker processes (crash, takeover and concurrency tests)."""

import subprocess
import sys
import time


def worker_environment() -> dict:
    """The environment of a process that opens the test database (a file on SQLite, a server database)."""
    from estatecrm.core.testing import process_environment

    return process_environment()


def start_worker(environment, log_path):
    """`estatecrm worker` on the database task backend; its output goes to `log_path` (read it when a test fails)."""
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "estatecrm", "worker", "--backend", "database", "--interval", "0.2"],
                                env=environment, stdout=log, stderr=subprocess.STDOUT)


def start_execute_run(environment, log_path, run_id: int):
    """A process that executes one run (`engine.execute_run`) and exits: two of them run two runs at once."""
    code = f"from estatecrm.pipeline.engine import execute_run; print('run {run_id}:', execute_run({run_id}))"
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "estatecrm", "shell", "-c", code], env=environment, stdout=log, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout=60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False
