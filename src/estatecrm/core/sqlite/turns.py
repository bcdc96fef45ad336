"""Turns at SQLite's one write lock: a writer waiting while a bulk writer writes batch after batch gets in
at the next batch's end instead of starving.

SQLite lets one connection write at a time; a writer that finds the lock taken sleeps in SQLite's busy
handler (up to 100 ms a sleep) and tries again. A bulk writer (the pipeline's batches) begins its next
batch a few microseconds after committing the last one, so the waiting writer keeps missing the window:
it can wait out the whole busy timeout and fail with "database is locked". Two lock files beside the
database file give the writers turns (`flock`: the locks belong to an open file, so every connection has
its own, also between the threads of one process):

- `<database>-write-waiting.lock`: every writer except a batch writer holds it shared from before it asks
  for SQLite's write lock until its transaction ends. Before each batch, the batch writer takes it
  exclusively and lets it go at once: it gets it only when no such writer is waiting or writing, so every
  writer that came during a batch goes before the next one (the batch writer waits for them at most
  BATCH_WAIT_SECONDS: writers that keep overlapping cannot stop an import).
- `<database>-write-batch.lock`: the batch writer holds it exclusively while it writes a batch; a waiting
  writer polls it (shared, every few milliseconds) and asks for SQLite's lock right after the batch's
  commit instead of at the next wake of SQLite's busy handler.

A writer that does not use these files (the sqlite3 shell, another program) is served by SQLite's busy
handler as before; so is everything when a lock cannot be had within the busy timeout. PostgreSQL has
no such lock (row locks): nothing of this applies there.
"""

import fcntl
import os
import time
from contextlib import contextmanager

# How long a batch writer lets waiting writers go first before it begins its next batch regardless.
BATCH_WAIT_SECONDS = 2.0
# Polling of a lock file: from half a millisecond, doubling, up to 5 ms between tries.
FIRST_PAUSE, LONGEST_PAUSE = 0.0005, 0.005


def _lock(descriptor: int, operation: int, deadline: float) -> bool:
    """Take the flock `operation` on `descriptor`, polling until `deadline` (time.monotonic()); True when taken."""
    pause = FIRST_PAUSE
    while True:
        try:
            fcntl.flock(descriptor, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)


class WriteTurns:
    """The turn files of one database connection. Not shared between threads (neither is the connection)."""

    def __init__(self, database_path: str):
        self.paths = (f"{database_path}-write-waiting.lock", f"{database_path}-write-batch.lock")
        self.descriptors: tuple[int, int] | None = None
        self.pid = 0
        self.is_waiting_turn = False  # a writer's turn is held (until its transaction ends)
        self.is_batch = False  # this connection writes a batch: it takes no writer's turn meanwhile
        # As a batch writer: seconds waited for other writers before batches, and batches begun without
        # waiting for all of them (BATCH_WAIT_SECONDS passed). Reported by the pipeline at a run's end.
        self.batch_wait_seconds = 0.0
        self.batch_waits_cut_short = 0

    def files(self) -> tuple[int, int]:
        if self.descriptors is None or self.pid != os.getpid():
            # A forked child shares its parent's open files and with them their locks: it opens its own.
            self.descriptors = tuple(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666) for path in self.paths)
            self.pid = os.getpid()
            self.is_waiting_turn = self.is_batch = False
        return self.descriptors

    @property
    def is_writing(self) -> bool:
        return self.is_waiting_turn or self.is_batch

    def wait_for_turn(self, timeout: float) -> bool:
        """Before a writer asks for SQLite's write lock: say it waits, and let a batch being written end.
        Gives up the wait after `timeout` seconds (SQLite's busy timeout then decides). Returns whether a
        batch was being written when the writer came (a bulk writer is at work)."""
        waiting, batch = self.files()
        deadline = time.monotonic() + timeout
        self.is_waiting_turn = True
        # The waiting file is held exclusively only between a batch writer's two checks (microseconds).
        if not _lock(waiting, fcntl.LOCK_SH, deadline):
            return True
        try:
            fcntl.flock(batch, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            _lock(batch, fcntl.LOCK_SH, deadline)
            return True

    def end_turn(self) -> None:
        """The writer's transaction ended (committed, rolled back, or the connection closed)."""
        if self.is_waiting_turn and self.pid == os.getpid():
            for descriptor in self.descriptors:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        self.is_waiting_turn = False

    @contextmanager
    def batch_turn(self, wait_seconds: float = BATCH_WAIT_SECONDS):
        """Around a batch writer's transaction: first the writers waiting now (at most `wait_seconds`), then
        the batch, during which writers that come wait on the batch file."""
        waiting, batch = self.files()
        started = time.monotonic()
        let_in = _lock(waiting, fcntl.LOCK_EX, started + wait_seconds)
        self.batch_wait_seconds += time.monotonic() - started
        self.batch_waits_cut_short += not let_in
        # Not waited for: taken by another batch writer (two imports), whose commit SQLite's busy handler waits for.
        holds_batch = let_in and _lock(batch, fcntl.LOCK_EX, 0)
        if let_in:
            fcntl.flock(waiting, fcntl.LOCK_UN)
        self.is_batch = True
        try:
            yield
        finally:
            self.is_batch = False
            if holds_batch:
                fcntl.flock(batch, fcntl.LOCK_UN)

    def close(self) -> None:
        self.end_turn()
        if self.descriptors is not None and self.pid == os.getpid():
            for descriptor in self.descriptors:
                os.close(descriptor)
        self.descriptors = None

    def remove_files(self) -> None:
        self.close()
        for path in self.paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
