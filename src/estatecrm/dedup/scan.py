"""The full 名寄せ scan: every candidate of a company recomputed as set work in the database.

`scan_company` gives exactly the rows that `crm.duplicates.refresh_customers` over every customer of the
company would give, in a few statements instead of one lookup per customer:
- exact rules (phone, e-mail): one GROUP BY over the (company, normalized, customer) index finds the values
  held by two customers or more; only those are joined to live customers, counted against the company's
  shared threshold and the admins' markings (crm.duplicates.shared_values), paired and joined to live cases;
- fuzzy rules: blocks are grouped in SQL (`normalize.similarity.BLOCKS`: the reading key, the postal code),
  blocks of 2 to MAX_BLOCK_SIZE live customers are read block by block and compared by
  `similarity.find_matches`, the same function the incremental refresh uses.
Dismissed pairs (「別人」) get no row. The rows of the scanned rules are replaced in bulk (DELETE, then
COPY on PostgreSQL or INSERTs in big batches on SQLite); rows of the other rules stay. `Case.has_duplicates`
follows in two UPDATEs. All of it in one transaction: a failed scan leaves the candidates as they were.
"""

import csv
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction

from estatecrm.crm import duplicates
from estatecrm.crm.choices import (
    EXACT_DUPLICATE_RULES,
    FUZZY_DUPLICATE_RULES,
    ContactPointKind,
    DuplicateRule,
    SharedValueMarking,
)
from estatecrm.crm.models import Case, ContactPoint, Customer, DuplicateCandidate, SharedContactValue
from estatecrm.normalize import similarity
from estatecrm.tenancy.models import Company

RULE_SETS = ("exact", "all")
PAIRS_HEADER = ("case_id_a", "case_id_b", "rule", "score")
# Rows per INSERT statement on SQLite (6 parameters each, under its 32,766 limit).
INSERT_BATCH = 5000
# Customers read per fetch of a block query.
FETCH_SIZE = 5000


@dataclass(frozen=True)
class ScanResult:
    """What a scan found: `groups` (sets of two cases or more linked by candidate pairs), the cases in them and
    the distinct case pairs (one per pair whatever its rules). `rows` are the candidates written."""

    groups: int
    cases_in_groups: int
    pairs: int
    rows: int


def scan_company(company: Company, *, rules: str = "all", pairs_path: str | Path | None = None) -> ScanResult:
    """Recompute every candidate of the company for `rules` ("exact": phone and e-mail; "all": every rule), keeping
    only the rules the company has on (rows of a rule that is off go). Rows of the other rules stay. With
    `pairs_path`, every candidate pair (not the dismissed ones) goes to that CSV file, one line per pair with its
    best rule. Runs in one transaction."""
    if rules not in RULE_SETS:
        raise ValueError(f"rules is one of {RULE_SETS}, not {rules!r}")
    selected = EXACT_DUPLICATE_RULES if rules == "exact" else tuple(DuplicateRule.values)
    settings = duplicates.duplicate_settings(company.pk)
    active = duplicates.enabled_rules(company.pk, selected)
    with transaction.atomic():
        pairs: list[duplicates.Pair] = []
        exact = [rule for rule in active if rule in EXACT_DUPLICATE_RULES]
        if exact:
            pairs.extend(exact_pairs(company.pk, exact, threshold=settings.shared_threshold))
        fuzzy = [rule for rule in active if rule in FUZZY_DUPLICATE_RULES]
        if fuzzy:
            matches = fuzzy_matches(company.pk, fuzzy, min_score=settings.fuzzy_min_score)
            pairs.extend(duplicates.case_pairs(company.pk, matches))
        dismissed = duplicates.dismissed_pairs(company.pk, None)
        pairs = [pair for pair in pairs if (pair.case_a, pair.case_b) not in dismissed]
        write_pairs(company.pk, pairs, rules=selected)
        refresh_all_flags(company.pk)
    best = best_pairs(pairs)
    if pairs_path is not None:
        write_pairs_csv(pairs_path, best)
    groups = connected_groups(best)
    return ScanResult(groups=len(groups), cases_in_groups=sum(len(group) for group in groups), pairs=len(best), rows=len(pairs))


# ---------------------------------------------------------------------------------------------
# Exact rules


def exact_pairs(company_id: int, rules: Iterable[str], *, threshold: int) -> list[duplicates.Pair]:
    """The exact-rule pairs of live cases, per (pair, rule) the smallest shared value as key (score 1).

    The first GROUP BY reads the (company, normalized, customer) index only; the values it keeps (held by two
    customers, live or not) are few, and only their points are joined to customers and cases."""
    rules = set(rules)
    point, customer, case = ContactPoint._meta.db_table, Customer._meta.db_table, Case._meta.db_table
    marking = SharedContactValue._meta.db_table
    # A value's rule follows its point's kind, as crm.duplicates.rule_of_point_kind says.
    rule_of = f"CASE WHEN p.kind = %(email_kind)s THEN '{DuplicateRule.EMAIL.value}' ELSE '{DuplicateRule.PHONE.value}' END"
    sql = f"""
        WITH multi AS (
            SELECT normalized FROM {point}
            WHERE company_id = %(company)s AND normalized <> ''
            GROUP BY normalized HAVING MIN(customer_id) <> MAX(customer_id)
        ), held AS (
            SELECT DISTINCT p.normalized, {rule_of} AS rule, p.customer_id
            FROM multi m
            JOIN {point} p ON p.company_id = %(company)s AND p.normalized = m.normalized
            JOIN {customer} cu ON cu.id = p.customer_id AND cu.deleted_at IS NULL
        ), usable AS (
            SELECT h.normalized FROM held h
            LEFT JOIN {marking} s ON s.company_id = %(company)s AND s.normalized = h.normalized
            GROUP BY h.normalized
            HAVING COUNT(DISTINCT h.customer_id) >= 2
               AND (MAX(s.marking) = %(personal)s OR (MAX(s.marking) IS NULL AND COUNT(DISTINCT h.customer_id) < %(threshold)s))
        )
        SELECT CASE WHEN ca.id < cb.id THEN ca.id ELSE cb.id END AS case_a,
               CASE WHEN ca.id < cb.id THEN cb.id ELSE ca.id END AS case_b,
               x.rule, MIN(x.normalized)
        FROM usable u
        JOIN held x ON x.normalized = u.normalized
        JOIN held y ON y.normalized = x.normalized AND y.customer_id > x.customer_id
        JOIN {case} ca ON ca.company_id = %(company)s AND ca.customer_id = x.customer_id AND ca.deleted_at IS NULL
        JOIN {case} cb ON cb.company_id = %(company)s AND cb.customer_id = y.customer_id AND cb.deleted_at IS NULL
        GROUP BY 1, 2, 3
    """
    params = {"company": company_id, "email_kind": ContactPointKind.EMAIL.value, "personal": SharedValueMarking.PERSONAL.value,
              "threshold": threshold}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [duplicates.Pair(a, b, rule, 1.0, key) for a, b, rule, key in cursor.fetchall() if rule in rules]


# ---------------------------------------------------------------------------------------------
# Fuzzy rules


def fuzzy_matches(company_id: int, rules: Iterable[str], *, min_score: float) -> list[duplicates.CustomerMatch]:
    """The fuzzy matches among the company's live customers: per block field, the blocks of 2 to MAX_BLOCK_SIZE
    live customers (counted by one GROUP BY on the field's index), compared block by block."""
    rules = set(rules)
    best: dict[tuple[int, int, str], duplicates.CustomerMatch] = {}
    for field, block_rules in similarity.BLOCKS.items():
        field_rules = [rule for rule in block_rules if rule in rules]
        if not field_rules:
            continue
        for members in block_records(company_id, field):
            for match in similarity.find_matches(members, rules=field_rules, min_score=min_score):
                known = best.get((match.id_a, match.id_b, match.rule))
                if known is None or match.score > known.score:
                    best[(match.id_a, match.id_b, match.rule)] = duplicates.CustomerMatch(
                        match.id_a, match.id_b, match.rule, match.score, match.key)
    return list(best.values())


# What the fuzzy rules read of a customer (crm.duplicates.PERSON_FIELDS), as columns.
PERSON_COLUMNS = tuple("id" if field == "pk" else field for field in duplicates.PERSON_FIELDS)


def block_records(company_id: int, field: str) -> Iterator[list[similarity.PersonRecord]]:
    """The live customers of each block of `field` holding 2 to MAX_BLOCK_SIZE of them, as PersonRecords, block
    after block (a server-side stream ordered by the field: one block in memory at a time)."""
    customer = Customer._meta.db_table
    column = Customer._meta.get_field(field).column
    empty = "" if field != "birth_date" else None
    sql = f"""
        WITH blocks AS (
            SELECT {column} AS value FROM {customer}
            WHERE company_id = %(company)s AND deleted_at IS NULL AND {column} {"<> ''" if empty == "" else "IS NOT NULL"}
            GROUP BY {column} HAVING COUNT(*) BETWEEN 2 AND %(largest)s
        )
        SELECT {", ".join(f"c.{name}" for name in PERSON_COLUMNS)}
        FROM blocks b JOIN {customer} c ON c.company_id = %(company)s AND c.{column} = b.value AND c.deleted_at IS NULL
        ORDER BY c.{column}, c.id
    """
    position = PERSON_COLUMNS.index(field) if field in PERSON_COLUMNS else None
    with connection.cursor() as cursor:
        cursor.execute(sql, {"company": company_id, "largest": similarity.MAX_BLOCK_SIZE})
        rows = _fetched(cursor)
        for _value, block in itertools.groupby(rows, key=lambda row: row[position]):
            yield [person_record(row) for row in block]


def _fetched(cursor) -> Iterator[tuple]:
    while True:
        rows = cursor.fetchmany(FETCH_SIZE)
        if not rows:
            return
        yield from rows


def person_record(row: tuple) -> similarity.PersonRecord:
    """crm.duplicates.person_record of a row of PERSON_COLUMNS (the same record the incremental refresh compares),
    built from the tuple: no dict per customer, a million times per block field."""
    pk, name, name_key, kana_key, birth_date, postal_code, prefecture, city, street, building = row
    return similarity.PersonRecord(id=pk, name_key=name_key, kana_key=kana_key, birth_date=birth_date, postal_code=postal_code,
                                   address=duplicates.person_address(prefecture, city, street, building),
                                   name_parts=similarity.name_parts(name))


# person_record unpacks the row by position: it must follow crm.duplicates.PERSON_FIELDS (the agreement test proves the records equal).
assert PERSON_COLUMNS == ("id", "name", "name_key", "kana_key", "birth_date", "postal_code", "prefecture", "city", "street", "building")


# ---------------------------------------------------------------------------------------------
# Writing


def write_pairs(company_id: int, pairs: list[duplicates.Pair], *, rules: Iterable[str]) -> None:
    """Replace the company's rows of `rules` by `pairs`: one DELETE, then COPY (PostgreSQL) or batched INSERTs."""
    DuplicateCandidate.objects.for_company(company_id).filter(rule__in=list(rules)).delete()
    table = DuplicateCandidate._meta.db_table
    columns = ("company_id", "case_a_id", "case_b_id", "rule", "score", "key")
    rows = [(company_id, pair.case_a, pair.case_b, pair.rule, pair.score, pair.key[:254]) for pair in pairs]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        for start in range(0, len(rows), INSERT_BATCH):
            batch = rows[start:start + INSERT_BATCH]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(batch))
            cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders}",
                           [value for row in batch for value in row])


def refresh_all_flags(company_id: int) -> None:
    """`Case.has_duplicates` of every case of the company from the rows: set where a row names the case and the
    flag is off, cleared where it is on and no row does (two UPDATEs; `updated_at` does not move)."""
    case, candidate = Case._meta.db_table, DuplicateCandidate._meta.db_table
    named = f"""SELECT case_a_id FROM {candidate} WHERE company_id = %(company)s
                UNION SELECT case_b_id FROM {candidate} WHERE company_id = %(company)s"""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {case} SET has_duplicates = %(true)s WHERE company_id = %(company)s AND NOT has_duplicates "
                       f"AND id IN ({named})", {"company": company_id, "true": True})
        cursor.execute(f"UPDATE {case} SET has_duplicates = %(false)s WHERE company_id = %(company)s AND has_duplicates "
                       f"AND id NOT IN ({named})", {"company": company_id, "false": False})


# ---------------------------------------------------------------------------------------------
# Pairs and groups


def best_pairs(pairs: Iterable[duplicates.Pair]) -> list[duplicates.Pair]:
    """One pair per two cases: its best rule (the highest score, then the first in DuplicateRule order), by ids."""
    order = {rule: index for index, rule in enumerate(DuplicateRule.values)}
    best: dict[tuple[int, int], duplicates.Pair] = {}
    for pair in pairs:
        known = best.get((pair.case_a, pair.case_b))
        if known is None or (-pair.score, order[pair.rule]) < (-known.score, order[known.rule]):
            best[(pair.case_a, pair.case_b)] = pair
    return [best[key] for key in sorted(best)]


def write_pairs_csv(path: str | Path, pairs: Iterable[duplicates.Pair]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PAIRS_HEADER)
        writer.writerows((pair.case_a, pair.case_b, pair.rule, score_text(pair.score)) for pair in pairs)


def score_text(score: float) -> str:
    """A score as plain decimal text, at most 4 places: 1.0, 0.9231."""
    return str(round(float(score), 4))


def connected_groups(pairs: Iterable[duplicates.Pair]) -> list[set[int]]:
    """The connected components of the cases that pairs link (union-find), each of two cases or more."""
    parent: dict[int, int] = {}

    def root(case: int) -> int:
        parent.setdefault(case, case)
        while parent[case] != case:
            parent[case] = parent[parent[case]]
            case = parent[case]
        return case

    for pair in pairs:
        a, b = root(pair.case_a), root(pair.case_b)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, set[int]] = {}
    for case in parent:
        groups.setdefault(root(case), set()).add(case)
    return [group for group in groups.values() if len(group) >= 2]
