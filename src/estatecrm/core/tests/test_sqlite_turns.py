"""SQLite: a writer gets in between a bulk writer's batches instead of waiting for the last one (core/sqlite/turns.py).

The bulk writer here is a thread with its own connection doing what the pipeline engine does: batch after
batch, each one transaction holding the write lock (BATCH_SECONDS), the next begun right after the commit."""

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from estatecrm.core.transactions import batch_turn

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's one write lock; PostgreSQL locks rows")]
BATCHES = 40
BATCH_SECONDS = 0.25  # the import's batches take 0.5-1 s; 40 of these take 10 s
# A writer waits for the batch being written, then goes before the next: at most about one batch. Generous.
WITHIN_SECONDS = 3.0


class BatchWriter(threading.Thread):
    """Writes BATCHES batches back to back (one session row each, the lock held BATCH_SECONDS), as the engine does."""

    def __init__(self, batches: int = BATCHES):
        super().__init__(daemon=True)
        self.batches = batches
        self.committed = 0
        self.error: BaseException | None = None
        self.started_writing = threading.Event()

    def run(self):
        expiry = timezone.now() + timedelta(days=1)
        try:
            for number in range(self.batches):
                with batch_turn(), transaction.atomic():
                    Session.objects.create(session_key=f"batch-{number:04d}", session_data="", expire_date=expiry)
                    self.started_writing.set()
                    time.sleep(BATCH_SECONDS)
                self.committed += 1
        except BaseException as error:  # the test asserts there was none
            self.error = error
        finally:
            connection.close()


def timed(write) -> float:
    started = time.monotonic()
    write()
    return time.monotonic() - started


def test_web_writes_get_in_between_batches_that_follow_each_other(company_admin):
    # given: a bulk writer writing batch after batch
    writer = BatchWriter()
    writer.start()
    assert writer.started_writing.wait(10)
    waits = {}

    # when: a web request's writes come while it writes: a session (a transaction), a last log-in (one UPDATE
    # outside a transaction), an action writing several rows in one transaction
    def save_session():
        store = SessionStore()
        store["user"] = company_admin.pk
        store.create()

    def several_rows():
        with transaction.atomic():
            type(company_admin).objects.filter(pk=company_admin.pk).update(name="管理 次郎")
            SessionStore().create()

    for name, write in (("session", save_session), ("last_login", lambda: type(company_admin).objects.filter(
            pk=company_admin.pk).update(last_login=timezone.now())), ("action", several_rows)):
        for _ in range(3):
            waits[name] = max(waits.get(name, 0), timed(write))
    batches_meanwhile = writer.committed
    writer.join(60)

    # then: each got in within about a batch, long before the batches ended; the batches all committed
    assert writer.error is None
    assert not writer.is_alive()
    assert max(waits.values()) < WITHIN_SECONDS, waits
    assert batches_meanwhile < BATCHES / 2
    assert writer.committed == BATCHES
    assert Session.objects.filter(session_key__startswith="batch-").count() == BATCHES
    assert Session.objects.exclude(session_key__startswith="batch-").count() == 3 + 3
    company_admin.refresh_from_db()
    assert company_admin.name == "管理 次郎"
    assert company_admin.last_login is not None


def test_a_writer_holding_its_turn_delays_a_batch_only_until_it_ends(company_admin):
    # given: a web transaction open (its turn held) when the bulk writer wants to begin a batch
    writer = BatchWriter(batches=4)
    with transaction.atomic():
        type(company_admin).objects.filter(pk=company_admin.pk).update(name="管理 三郎")
        writer.start()
        # when: the transaction stays open a moment
        time.sleep(0.5)
        assert writer.committed == 0
        assert not writer.started_writing.is_set()
    # then: the batches begin once it committed, and all of them are written
    assert writer.started_writing.wait(10)
    writer.join(60)
    assert writer.error is None
    assert writer.committed == 4


def test_a_batch_inside_an_open_transaction_takes_no_turn(company_admin):
    # given: a dry run's batches run inside the caller's transaction (the batch cannot end it)
    with transaction.atomic():
        # when: a batch is written there
        with batch_turn():
            type(company_admin).objects.filter(pk=company_admin.pk).update(name="管理 四郎")
        # then: the connection took no batch turn, and its own writes go on
        assert connection.turns.is_batch is False
        type(company_admin).objects.filter(pk=company_admin.pk).update(name="管理 五郎")
    company_admin.refresh_from_db()
    assert company_admin.name == "管理 五郎"


@pytest.mark.parametrize(("query", "writes"), [
    ("SELECT 1", False), ("PRAGMA wal_autocheckpoint", False), ("BEGIN IMMEDIATE", False),
    ("WITH v(value) AS (VALUES (%s)) SELECT v.value FROM v", False),
    ('INSERT INTO "django_session" VALUES (%s)', True), ('  update "tenancy_user" SET "last_login" = %s', True),
    ('DELETE FROM "crm_case"', True), ('WITH old AS (SELECT 1) DELETE FROM "crm_case"', True),
])
def test_a_statement_outside_a_transaction_takes_a_turn_when_it_writes(query, writes):
    from estatecrm.core.sqlite.base import is_writing

    assert is_writing(query) is writes
