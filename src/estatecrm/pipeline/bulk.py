"""Batch inserts without per-object overhead, for the pipeline's hot path.

Django's bulk_create builds a model instance and prepares every value through its field (about
33k rows/s per table here). The pipeline writes plain tuples instead: ids are allocated up front
(so parents and children are inserted in one pass), values are adapted once per column type, and
rows go to the database with executemany. Only for tables whose rows the caller fully describes.
"""

from contextlib import contextmanager

from django.db import DatabaseError, connection, models

# The inserts themselves are plumbing (core.bulk), shared with crm's 担当変更 engine.
from estatecrm.core.bulk import column_adapters, insert_rows  # noqa: F401


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new primary keys for `model`, never used before. Call inside the write transaction.

    PostgreSQL: from the table's identity sequence. SQLite: above both the largest id and the
    AUTOINCREMENT high-water mark; the write lock (IMMEDIATE transactions) keeps them ours.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), model._meta.pk.column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX({connection.ops.quote_name(model._meta.pk.column)}), 0) FROM {connection.ops.quote_name(table)}")
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(highest, row[0] if row else 0) + 1
    return list(range(start, start + count))


# PostgreSQL planner settings of a run's connections (the writer's and the reading process's own). A run's
# queries look up a batch's keys (names, phones, customer and case ids: IN lists of up to 5,000 values)
# through the (company, ...) indexes. With the default random_page_cost (4, a spinning disk) the planner
# prices those thousands of index probes above a sequential scan of the company's whole table, so every
# batch scanned every customer and contact point (measured: 143 ms instead of 60 ms for 5,000 names at
# 100,000 customers, and growing with the table). 1.1 is the usual value for data in memory or on SSD.
# Parallel workers are off: the run's two processes already keep the machine's cores busy.
RUN_SETTINGS = {"random_page_cost": "1.1", "max_parallel_workers_per_gather": "0"}


def apply_run_settings(using_connection=None) -> dict[str, str]:
    """Set RUN_SETTINGS on the (PostgreSQL) connection for its session; returns the previous values."""
    using_connection = using_connection or connection
    if using_connection.vendor != "postgresql":
        return {}
    previous = {}
    with using_connection.cursor() as cursor:
        for name, value in RUN_SETTINGS.items():
            cursor.execute("SELECT current_setting(%s), set_config(%s, %s, false)", [name, name, value])
            previous[name] = cursor.fetchone()[0]
    return previous


@contextmanager
def run_settings():
    """RUN_SETTINGS on this process's connection for the length of a run (PostgreSQL only); restored afterwards."""
    previous = apply_run_settings()
    try:
        yield
    finally:
        if previous and connection.connection is not None and not connection.needs_rollback:
            try:
                with connection.cursor() as cursor:
                    for name, value in previous.items():
                        cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
            except DatabaseError:
                # A broken connection (the run's own error is on its way out): its session and settings end with it.
                pass


# A table's planner statistics are stale once this many rows changed since its last ANALYZE, and more than
# STALE_STATISTICS_FRACTION of its rows. A run writes hundreds of thousands of rows into tables that its own
# next batches look up by key; without current statistics (autovacuum off, or not yet round: it looks once a
# minute) PostgreSQL plans those lookups for the table's last known size. Measured on a company seeded with
# 100,000 leads and never analyzed: the 名寄せ refresh's count of 900 phones walked all 91,098 customers
# (444 ms per query, rows=1 estimated) instead of probing the (company, normalized, customer) index.
STALE_STATISTICS_ROWS = 10_000
STALE_STATISTICS_FRACTION = 0.2


def refresh_statistics() -> list[str]:
    """PostgreSQL: ANALYZE the tables whose statistics are stale (see above); returns their names. ANALYZE
    samples a table (30,000 rows by default: well under a second) and waits for no writer. SQLite: nothing
    (its planner uses no statistics here)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze >= %s "
            "AND s.n_mod_since_analyze > %s * GREATEST(c.reltuples, 0) ORDER BY s.relname",
            [STALE_STATISTICS_ROWS, STALE_STATISTICS_FRACTION],
        )
        stale = [name for (name,) in cursor.fetchall()]
        for name in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return stale
