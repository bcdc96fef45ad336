import signal
import subprocess
import sys
import threading

from estatecrm.core.management.commands.serve import child_commands, supervise


def test_child_commands_run_gunicorn_and_the_worker():
    commands = child_commands("127.0.0.1", 8123, 3, 2)
    assert commands["web"][1:4] == ["-m", "gunicorn", "estatecrm.config.wsgi:application"]
    assert commands["web"][commands["web"].index("--bind") + 1] == "127.0.0.1:8123"
    assert commands["worker"][1:] == ["-m", "estatecrm", "worker"]


def sleeper(seconds):
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


def test_when_one_child_dies_the_other_is_stopped_and_serve_fails():
    web, worker = sleeper(60), subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    assert supervise({"web": web, "worker": worker}, poll_seconds=0.05) == 1
    assert web.poll() is not None


def test_a_stop_signal_stops_both_children_cleanly():
    web, worker = sleeper(60), sleeper(60)
    timer = threading.Timer(0.3, lambda: signal.raise_signal(signal.SIGTERM))
    timer.start()
    assert supervise({"web": web, "worker": worker}, poll_seconds=0.05) == 0
    assert web.poll() is not None and worker.poll() is not None
