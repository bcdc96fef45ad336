"""`estatecrm serve`: the web server (gunicorn, not runserver) and one background worker.

Both run as child processes; SIGINT/SIGTERM go to both, and when either exits the other is
stopped and `serve` exits with a non-zero status (a supervisor restarts the pair).
"""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


def child_commands(host: str, port: int, workers: int, threads: int) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "-m", "gunicorn", "estatecrm.config.wsgi:application", "--bind", f"{host}:{port}",
                "--workers", str(workers), "--threads", str(threads), "--access-logfile", "-", "--timeout", "120"],
        "worker": [python, "-m", "estatecrm", "worker"],
    }


def supervise(processes: dict[str, subprocess.Popen], poll_seconds: float = 0.5) -> int:
    """Wait until a child exits or a stop signal arrives; stop the rest; return the exit status."""
    stopping = {"signal": None}

    def request_stop(signum, _frame):
        stopping["signal"] = signum

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        while stopping["signal"] is None:
            exited = {name: process.returncode for name, process in processes.items() if process.poll() is not None}
            if exited:
                break
            time.sleep(poll_seconds)
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0 if stopping["signal"] is not None else 1


class Command(BaseCommand):
    help = "Serve the web application with gunicorn and run one background worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args, host, port, workers, threads, **options):
        commands = child_commands(host, port, workers, threads)
        processes = {name: subprocess.Popen(command, env=os.environ.copy()) for name, command in commands.items()}
        self.stdout.write(f"estatecrm serving on http://{host}:{port}/ (web pid {processes['web'].pid}, worker pid {processes['worker'].pid})")
        status = supervise(processes)
        if status:
            sys.exit(status)
