"""Side effects that must wait for the commit of the transaction that caused them."""

from collections.abc import Callable
from contextlib import nullcontext
from functools import partial

from django.db import DEFAULT_DB_ALIAS, connections, transaction


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Enqueue a django-tasks task once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(task.enqueue, *args, **kwargs))


def run_on_commit(function: Callable[[], object]) -> None:
    transaction.on_commit(function)


def batch_turn(using: str = DEFAULT_DB_ALIAS):
    """Around one batch's transaction of a bulk writer (the pipeline's batches): on SQLite, the writers
    waiting for the write lock (a log-in, a saved case, an API call, another worker) go first, and those
    that come during the batch right after its commit (core/sqlite/turns.py). Elsewhere, and inside an
    open transaction (a dry run: the batch cannot end it), nothing."""
    connection = connections[using]
    if connection.in_atomic_block or getattr(connection, "turns", None) is None:
        return nullcontext()
    return connection.batch_turn()


def batch_waits(using: str = DEFAULT_DB_ALIAS) -> tuple[float, int]:
    """Seconds this connection's batches waited for other writers so far, and how many batches began
    before every waiting writer got in (SQLite; (0.0, 0) elsewhere)."""
    turns = getattr(connections[using], "turns", None)
    return (turns.batch_wait_seconds, turns.batch_waits_cut_short) if turns is not None else (0.0, 0)
