"""Side effects that must wait for the commit of the transaction that caused them."""

from collections.abc import Callable
from functools import partial

from django.db import transaction


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Enqueue a django-tasks task once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(task.enqueue, *args, **kwargs))


def run_on_commit(function: Callable[[], object]) -> None:
    transaction.on_commit(function)
