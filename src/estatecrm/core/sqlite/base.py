"""Django's SQLite backend whose writers take turns with a bulk writer's batches (turns.py).

A writer's turn is taken before SQLite's write lock is asked for: at the BEGIN of a transaction
(`transaction.atomic`, IMMEDIATE), and before a writing statement outside a transaction (a `save()` or
`update()` in autocommit); it ends with the transaction. Every write of the web (log-in, session, forms,
API) and of the workers (task claims, a run's heartbeat) goes through here; the pipeline's batches take
`batch_turn()` instead (core.transactions.batch_turn).

A writer that came while a batch was being written does not copy the write-ahead log back into the
database when it commits (SQLite does that at the commit that finds the log longer than
`wal_autocheckpoint` pages, 1,000 by default): the import lets its log grow to 256 MiB between its own
copies (pipeline.engine.RUN_WAL_AUTOCHECKPOINT_PAGES); a web commit would copy it inside its request, and
with its turn held, so the next batch would wait for the copy too. The import copies it, at the latest at
its end. (Reasoned, not shown by the bench: the measured difference was within the shared machine's noise.)"""

import re
from contextlib import suppress

from django.db.backends.sqlite3 import base, creation

from estatecrm.core.sqlite.turns import WriteTurns

# Statements that may write: they ask for the write lock when they run outside a transaction. A statement
# beginning with WITH writes when it goes on with one of the writing verbs (a read with a CTE takes no turn).
WRITING = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
COMMON_TABLE = re.compile(r"\s*WITH\b", re.IGNORECASE)
WRITING_VERB = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def is_writing(query: str) -> bool:
    return WRITING.match(query) is not None or (COMMON_TABLE.match(query) is not None and WRITING_VERB.search(query) is not None)


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name, verbosity):
        if not self.is_in_memory_db(test_database_name):
            WriteTurns(test_database_name).remove_files()
        super()._destroy_test_db(test_database_name, verbosity)


class CursorWrapper(base.SQLiteCursorWrapper):
    database_wrapper: "DatabaseWrapper"

    def execute(self, query, params=None):
        with self.database_wrapper.write_turn(query):
            return super().execute(query, params)

    def executemany(self, query, param_list):
        with self.database_wrapper.write_turn(query):
            return super().executemany(query, param_list)


class WriteTurnForStatement:
    """A writing statement outside a transaction: the turn ends with the statement, unless the statement
    left a transaction open (autocommit turned off), which then ends it on commit or rollback."""

    __slots__ = ("database_wrapper", "is_taken")

    def __init__(self, database_wrapper: "DatabaseWrapper", query: str):
        self.database_wrapper = database_wrapper
        turns = database_wrapper.turns
        self.is_taken = (turns is not None and not turns.is_writing and not database_wrapper.connection.in_transaction
                         and is_writing(query))

    def __enter__(self):
        if self.is_taken:
            self.database_wrapper.wait_for_write_turn()

    def __exit__(self, *exc_info):
        if self.is_taken and not self.database_wrapper.connection.in_transaction:
            self.database_wrapper.end_write_turn()


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._turns: WriteTurns | None | bool = False  # False: not looked at yet
        self.checkpoint_pages: int | None = None  # wal_autocheckpoint while it is 0 for a writer's turn

    @property
    def turns(self) -> WriteTurns | None:
        """The connection's turn files; None for an in-memory database (one connection: no one to wait for)."""
        if self._turns is False:
            self._turns = None if self.is_in_memory_db() else WriteTurns(str(self.settings_dict["NAME"]))
        return self._turns

    def busy_timeout(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def wait_for_write_turn(self) -> None:
        if self.turns.wait_for_turn(self.busy_timeout()) and self.checkpoint_pages is None:
            # A bulk writer is at work: this writer's commit leaves the log to it (see above).
            self.checkpoint_pages = self.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            self.connection.execute("PRAGMA wal_autocheckpoint = 0")

    def end_write_turn(self) -> None:
        self._turns.end_turn()
        if self.checkpoint_pages is not None:
            if self.connection is not None:
                # (A connection that cannot run it is unusable: it is closed, and the setting with it.)
                with suppress(base.Database.Error):
                    self.connection.execute(f"PRAGMA wal_autocheckpoint = {int(self.checkpoint_pages)}")
            self.checkpoint_pages = None

    def write_turn(self, query: str) -> WriteTurnForStatement:
        return WriteTurnForStatement(self, query)

    def batch_turn(self):
        """Context manager around one batch's transaction of a bulk writer (see turns.WriteTurns.batch_turn)."""
        return self.turns.batch_turn()

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.database_wrapper = self
        return cursor

    def _start_transaction_under_autocommit(self):
        turns = self.turns
        if turns is None or turns.is_writing:
            return super()._start_transaction_under_autocommit()
        self.wait_for_write_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self.end_write_turn()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._end_turn_unless_in_transaction()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._end_turn_unless_in_transaction()

    def _end_turn_unless_in_transaction(self):
        # A failed COMMIT leaves the transaction open: the turn lasts until the ROLLBACK that follows.
        if self._turns and (self.connection is None or not self.connection.in_transaction):
            self.end_write_turn()

    def _close(self):
        try:
            return super()._close()
        finally:
            self.checkpoint_pages = None
            if self._turns:
                self._turns.close()
