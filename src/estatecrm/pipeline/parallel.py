"""Producing batches in a second process while this one writes (the machine has two cores).

Reading and normalizing rows is pure Python and needs no database; writing is mostly waiting on
the database. `produce_in_child(function, *args)` runs `function(*args)` (a generator) in a forked
child and yields what it yields, a few batches ahead (bounded queue: memory stays flat). The child
never touches the database connection it inherited and leaves with os._exit.
"""

import multiprocessing
import queue
import traceback

_DONE = "__done__"
_FAILED = "__failed__"


def _child(queue_, function, args) -> None:
    try:
        for item in function(*args):
            queue_.put(item)
        queue_.put((_DONE, None))
    except BaseException as error:  # the parent re-raises it
        try:
            queue_.put((_FAILED, error))
        except Exception:
            queue_.put((_FAILED, RuntimeError(traceback.format_exc())))


def produce_in_child(function, *args, ahead: int = 3):
    """Yield the items of the generator `function(*args)`, computed in a forked child process."""
    context = multiprocessing.get_context("fork")
    items = context.Queue(maxsize=ahead)
    child = context.Process(target=_child, args=(items, function, args), daemon=True)
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
