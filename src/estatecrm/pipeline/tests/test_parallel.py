"""The reading child of `produce_in_child` never outlives a parent that was killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import time

PARENT = """
import multiprocessing, sys, time
from estatecrm.pipeline.parallel import produce_in_child

def forever():
    n = 0
    while True:
        n += 1
        yield n

items = produce_in_child(forever)
next(items)
print(multiprocessing.active_children()[0].pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_child_exits_when_the_parent_is_killed():
    # given: a parent whose child has filled the queue and waits to put more
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    assert alive(child_pid)
    # when
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    # then
    deadline = time.monotonic() + 10
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child_pid)


def test_items_arrive_in_order():
    from estatecrm.pipeline.parallel import produce_in_child

    assert list(produce_in_child(lambda count: iter(range(count)), 50)) == list(range(50))
