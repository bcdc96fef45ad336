"""Batch inserts without per-object overhead, for the pipeline's hot path.

Django's bulk_create builds a model instance and prepares every value through its field (about
33k rows/s per table here). The pipeline writes plain tuples instead: ids are allocated up front
(so parents and children are inserted in one pass), values are adapted once per column type, and
rows go to the database with executemany. Only for tables whose rows the caller fully describes.
"""

from django.db import connection, models

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
