"""SQL terms the ORM does not write the way the bulk paths need: a partial index's own condition, one parameter for a set.

SQLite uses a partial index only when the query's WHERE clause holds the index's condition itself (the
same term with the same constant: a bound parameter never matches, whatever its value). Django passes
every value as a parameter, so `kana_key = %s` cannot prove `NOT (kana_key = '')`; a query that should
read such an index adds `Q(NotEmpty(F("kana_key")))`, written as the index's own term. PostgreSQL
proves it either way; the term costs it nothing.
"""

import json

from django.core.exceptions import EmptyResultSet
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


class AnyOf(Lookup):
    """`column IN (values)` with the values as ONE parameter: `column = ANY(%s)` (an array) on PostgreSQL,
    `column IN (SELECT value FROM json_each(%s))` (a JSON array) on SQLite.

    For the set lookups of the bulk writers (a batch's thousands of ids or phones): Django's `__in` builds one
    placeholder per value (SQLite allows 32,766 per statement, so callers cut lists into chunks, one query each),
    and prepares every value through the lookup machinery, a large part of a batch's Python time. Both databases
    probe the column's index once per value, as for an IN list. An empty list matches nothing (as `__in=[]`)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        values = list(self.rhs)
        if not values:
            raise EmptyResultSet
        lhs, params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        prepared = [field.get_db_prep_value(value, connection, prepared=False) for value in values]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, prepared]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*params, json.dumps(prepared, ensure_ascii=False)]
