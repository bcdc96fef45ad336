"""Producing batches in a second process while this one writes (the machine has two cores).

Reading and normalizing rows is pure Python and needs no database; writing is mostly waiting on
the database. `produce_in_child(function, *args)` runs `function(*args)` (a generator) in a forked
child and yields what it yields, a few batches ahead (bounded queue: memory stays flat). The child
never touches the database connection it inherited and leaves with os._exit.
"""

import ctypes
import gc
import multiprocessing
import os
import queue
import signal
import traceback

_DONE = "__done__"
_FAILED = "__failed__"
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """A parent killed with SIGKILL cannot stop its child: on Linux the kernel does it for us; elsewhere
    `_put` notices the new parent. Without this an orphan blocks on the full queue forever."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (AttributeError, OSError):
        pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _put(queue_, item, parent_pid: int) -> None:
    while True:
        try:
            queue_.put(item, timeout=5)
            return
        except queue.Full:
            if os.getppid() != parent_pid:
                os._exit(1)


def _child(queue_, function, args, parent_pid) -> None:
    _die_with_parent(parent_pid)
    # What the child inherited (the parent's modules, caches, settings) lives as long as it does: out of the
    # cyclic garbage collector's sight, each collection walks only what the child made. The child makes
    # several objects per row and frees them by reference counting (few cycles): a collection every 20,000
    # new objects instead of 700 (Python's default) costs a few MB at most.
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
    try:
        for item in function(*args):
            _put(queue_, item, parent_pid)
        _put(queue_, (_DONE, None), parent_pid)
    except BaseException as error:  # the parent re-raises it
        try:
            _put(queue_, (_FAILED, error), parent_pid)
        except Exception:
            _put(queue_, (_FAILED, RuntimeError(traceback.format_exc())), parent_pid)


_INHERITED_CONNECTIONS: list = []


def can_share_database() -> bool:
    """Whether a new connection (the child's, see `use_own_connections`) sees what this process's sees:
    no transaction is open on it and it is not an in-memory SQLite database."""
    from django.db import connection

    return not connection.in_atomic_block and not (connection.vendor == "sqlite" and connection.is_in_memory_db())


def use_own_connections() -> None:
    """In the forked child: open new database connections on first use instead of the parent's.

    The inherited ones are kept referenced and never closed (closing a PostgreSQL connection from the
    child would end the parent's session); the child leaves with os._exit, so no finalizer runs.
    Only for reads of committed data: the child sees nothing of the parent's open transaction."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        _INHERITED_CONNECTIONS.append(connection.connection)
        connection.connection = None


def produce_in_child(function, *args, ahead: int = 3):
    """Yield the items of the generator `function(*args)`, computed in a forked child process."""
    context = multiprocessing.get_context("fork")
    items = context.Queue(maxsize=ahead)
    child = context.Process(target=_child, args=(items, function, args, os.getpid()), daemon=True)
    child.start()
    try:
        while True:
            try:
                item = items.get(timeout=5)
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError("the reading process stopped unexpectedly") from None
                continue
            if isinstance(item, tuple) and len(item) == 2 and item[0] == _DONE:
                return
            if isinstance(item, tuple) and len(item) == 2 and item[0] == _FAILED:
                raise item[1]
            yield item
    finally:
        if child.is_alive():
            child.terminate()
        child.join(timeout=5)
