"""SQL terms that let SQLite use a partial index whose condition leaves out empty values.

SQLite uses a partial index only when the query's WHERE clause holds the index's condition itself (the
same term with the same constant: a bound parameter never matches, whatever its value). Django passes
every value as a parameter, so `kana_key = %s` cannot prove `NOT (kana_key = '')`; a query that should
read such an index adds `Q(NotEmpty(F("kana_key")))`, written as the index's own term. PostgreSQL
proves it either way; the term costs it nothing.
"""

from django.db.models import Lookup


class NotEmpty(Lookup):
    """`NOT (column = '')` with the empty string written into the SQL: the condition of a partial index
    declared `condition=~Q(column="")` (how Django writes that condition on both databases)."""

    lookup_name = "not_empty"
    prepare_rhs = False

    def __init__(self, lhs, rhs=True):
        super().__init__(lhs, rhs)

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"NOT ({lhs} = '')", params
