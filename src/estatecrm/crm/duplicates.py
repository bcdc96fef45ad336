"""名寄せ candidates: which live cases of different customers may be the same person, kept current.

A candidate is a DuplicateCandidate row: two live cases (`case_a < case_b`) of two live customers and
the rule that matched them (one row per rule). Exact rules: a normalized phone (E.164) or e-mail held by
both customers, unless the value is shared (held by `shared_threshold` live customers or more, or
marked shared by an admin; an admin's "personal" marking overrides the threshold). Fuzzy rules compare
names, readings, birth dates and addresses (normalize/similarity.py).

Every writer that creates or changes customers, their contact points or cases, or moves them in or out
of the trash or a merge, calls `refresh_customers(company_id, customer_ids)` inside its transaction
(a bulk writer once per batch): the pairs touching those customers' cases are recomputed from indexed
lookups and written as a difference, never by a full scan. `Case.has_duplicates` (the list's 「!」 and
the side menu's count) follows the rows. A dismissed pair (「別人」, DuplicateDismissal) never gets a row.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.lookups import Exact

from estatecrm.core.bulk import insert_rows
from estatecrm.core.lookups import AnyOf, NotEmpty
from estatecrm.crm.choices import (
    EXACT_DUPLICATE_RULES,
    FUZZY_DUPLICATE_RULES,
    ContactPointKind,
    DuplicateRule,
    SharedValueMarking,
)
from estatecrm.crm.models import (
    Case,
    ContactPoint,
    Customer,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
    SharedContactValue,
)
from estatecrm.normalize import similarity

# Ids per IN (...) list of placeholders (SQLite's limit; other modules' `__in` lists).
ID_CHUNK = 900
# Values per set parameter (`any_of`: one parameter whatever the count; this bounds a statement's size).
SET_CHUNK = 20_000


def any_of(field: str, values: Collection) -> AnyOf:
    """`field IN values` as one parameter (core.lookups.AnyOf): a batch's ids or values in one query."""
    return AnyOf(F(field), list(values))


def chunks(values: Collection) -> Iterable[list]:
    """The sorted distinct values in lists of SET_CHUNK."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), SET_CHUNK):
        yield ordered[start:start + SET_CHUNK]


@dataclass(frozen=True)
class Pair:
    """One candidate: two case ids in order, the rule, its score 0..1 and what matched."""

    case_a: int
    case_b: int
    rule: str
    score: float
    key: str = ""

    def __post_init__(self):
        if not self.case_a < self.case_b:
            raise ValueError(f"a pair is ordered: {self.case_a} < {self.case_b}")


@dataclass(frozen=True)
class CustomerMatch:
    """Two customers one rule says may be the same person (in any order)."""

    customer_a: int
    customer_b: int
    rule: str
    score: float
    key: str = ""


def duplicate_settings(company_id: int) -> DuplicateSettings:
    """The company's 名寄せ settings (an unsaved row with the defaults when it never changed them)."""
    found = DuplicateSettings.objects.for_company(company_id).first()
    return found if found is not None else DuplicateSettings(company_id=company_id)


def enabled_rules(company_id: int, rules: Collection[str] | None = None) -> tuple[str, ...]:
    """The rules that find candidates in the company, in DuplicateRule order (only those of `rules` when given)."""
    enabled = set(duplicate_settings(company_id).enabled_rules)
    return tuple(rule for rule in DuplicateRule.values if rule in enabled and (rules is None or rule in rules))


def rule_of_point_kind(kind: str) -> str:
    return DuplicateRule.EMAIL.value if kind == ContactPointKind.EMAIL else DuplicateRule.PHONE.value


def rows_by_pk(model, company_id: int, ids: Collection[int]):
    """The company's rows of `model` with these primary keys. The company is compared as `company_id + 0`: SQLite
    (no statistics) takes `company_id = ?` for a selective term and walks one of the company's indexes, every row
    of the company, instead of looking the keys up (a batch of a lead import against 1,000,000 customers read
    them all, several times); the expression keeps the company in the SQL but out of the index choice."""
    # unscoped: the company is filtered right here, as an expression (see above).
    return model.objects.unscoped().filter(Exact(F("company_id") + 0, company_id), any_of("pk", ids))


def live_customers(company_id: int):
    return Customer.objects.for_company(company_id).filter(deleted_at__isnull=True)


def shared_values(company_id: int, values: Collection[str]) -> set[str]:
    """Which of these normalized phones and e-mails are shared: marked so, or held by `shared_threshold`
    live customers or more and not marked personal. One GROUP BY on the (company, normalized, customer) index."""
    values = {value for value in values if value}
    if not values:
        return set()
    threshold = duplicate_settings(company_id).shared_threshold
    markings: dict[str, str] = {}
    shared: set[str] = set()
    for chunk in chunks(values):
        markings.update(SharedContactValue.objects.for_company(company_id).filter(any_of("normalized", chunk)).values_list("normalized", "marking"))
        counted = (ContactPoint.objects.for_company(company_id).filter(any_of("normalized", chunk))
                   .filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
                   .values("normalized").annotate(customers=Count("customer_id", distinct=True)).filter(customers__gte=threshold)
                   .values_list("normalized", flat=True))
        shared.update(counted)
    shared = {value for value in shared if markings.get(value) != SharedValueMarking.PERSONAL}
    shared.update(value for value, marking in markings.items() if marking == SharedValueMarking.SHARED)
    return shared


def exact_matches(company_id: int, customer_ids: Collection[int]) -> list[CustomerMatch]:
    """Customers sharing a normalized phone or e-mail (not a shared one) with one of `customer_ids`, all live."""
    points = points_of(company_id, customer_ids)
    facts = value_facts(company_id, {value for _customer, _kind, value, _live in points})
    return matches_of_points(company_id, points, facts, threshold=duplicate_settings(company_id).shared_threshold)


@dataclass
class ValueFacts:
    """Per normalized phone or e-mail: how many live customers hold it, and an admin's marking."""

    counts: dict[str, int]
    markings: dict[str, str]

    def is_shared(self, value: str, threshold: int) -> bool:
        marking = self.markings.get(value)
        return marking == SharedValueMarking.SHARED or (self.counts.get(value, 0) >= threshold and marking != SharedValueMarking.PERSONAL)


def points_of(company_id: int, customer_ids: Collection[int]) -> list[tuple[int, str, str, bool]]:
    """(customer id, kind, normalized, whether the customer is live) of these customers' phones and e-mails."""
    points: list[tuple[int, str, str, bool]] = []
    for chunk in chunks(customer_ids):
        rows = (ContactPoint.objects.for_company(company_id).filter(any_of("customer_id", chunk)).exclude(normalized="")
                .order_by().values_list("customer_id", "kind", "normalized", "customer__deleted_at"))
        points.extend((customer_id, kind, value, deleted_at is None) for customer_id, kind, value, deleted_at in rows)
    return points


def value_facts(company_id: int, values: Collection[str], known: ValueFacts | None = None) -> ValueFacts:
    """The facts of these values (added to `known`'s): one GROUP BY on the (company, normalized, customer) index per
    chunk, and a lookup of the markings when the company marked any value."""
    facts = known or ValueFacts(counts={}, markings={})
    missing = {value for value in values if value} - set(facts.counts)
    marked = bool(missing) and SharedContactValue.objects.for_company(company_id).exists()
    for chunk in chunks(missing):
        facts.counts.update(dict.fromkeys(chunk, 0))
        if marked:
            facts.markings.update(SharedContactValue.objects.for_company(company_id).filter(any_of("normalized", chunk))
                                  .values_list("normalized", "marking"))
        facts.counts.update(ContactPoint.objects.for_company(company_id).filter(any_of("normalized", chunk))
                            .filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
                            .values("normalized").annotate(customers=Count("customer_id", distinct=True)).values_list("normalized", "customers"))
    return facts


def matches_of_points(company_id: int, points: Iterable[tuple[int, str, str, bool]], facts: ValueFacts, *, threshold: int) -> list[CustomerMatch]:
    """The exact matches of the live customers of `points`: their values held by another live customer, not shared;
    per (pair, rule) the smallest value is the key. Values held by one customer need no lookup."""
    own = [(customer_id, kind, value) for customer_id, kind, value, is_live in points if is_live]
    candidates = {value for _customer, _kind, value in own if facts.counts.get(value, 0) >= 2 and not facts.is_shared(value, threshold)}
    holders: dict[str, set[int]] = {}
    for chunk in chunks(candidates):
        rows = (ContactPoint.objects.for_company(company_id).filter(any_of("normalized", chunk))
                .filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
                .order_by().values_list("normalized", "customer_id").distinct())
        for value, customer_id in rows:
            holders.setdefault(value, set()).add(customer_id)
    matches: dict[tuple[int, int, str], CustomerMatch] = {}
    for customer_id, kind, value in own:
        for other in holders.get(value, ()):
            if other == customer_id:
                continue
            low, high = sorted((customer_id, other))
            rule = rule_of_point_kind(kind)
            known = matches.get((low, high, rule))
            # Two values in common: the smallest is the key, whatever order the rows came in (as exact_matches_all).
            if known is None or value < known.key:
                matches[(low, high, rule)] = CustomerMatch(low, high, rule, 1.0, value)
    return sorted(matches.values(), key=lambda match: (match.customer_a, match.customer_b, match.rule, match.key))


def case_pairs(company_id: int, matches: Iterable[CustomerMatch]) -> list[Pair]:
    """The candidate pairs of live cases that customer matches give: every live case of one customer with
    every live case of the other; per (pair, rule) the best score (then the smallest key)."""
    matches = list(matches)
    customer_ids = {match.customer_a for match in matches} | {match.customer_b for match in matches}
    cases_of: dict[int, list[int]] = {}
    for chunk in chunks(customer_ids):
        # Live cases chosen here, not in SQL: with `deleted_at IS NULL` SQLite (no statistics) walks the company's
        # live cases on (company, deleted_at) instead of these customers' on (company, customer).
        rows = Case.objects.for_company(company_id).filter(any_of("customer_id", chunk)).values_list("customer_id", "pk", "deleted_at")
        for customer_id, case_id, deleted_at in rows:
            if deleted_at is None:
                cases_of.setdefault(customer_id, []).append(case_id)
    best: dict[tuple[int, int, str], Pair] = {}
    for match in matches:
        for case_x in cases_of.get(match.customer_a, ()):
            for case_y in cases_of.get(match.customer_b, ()):
                low, high = sorted((case_x, case_y))
                pair = Pair(low, high, match.rule, match.score, match.key)
                known = best.get((low, high, match.rule))
                if known is None or (pair.score, known.key) > (known.score, pair.key):
                    best[(low, high, match.rule)] = pair
    return sorted(best.values(), key=lambda pair: (pair.case_a, pair.case_b, pair.rule))


def dismissed_pairs(company_id: int, case_ids: Collection[int] | None) -> set[tuple[int, int]]:
    dismissals = DuplicateDismissal.objects.for_company(company_id)
    if case_ids is None:
        return set(dismissals.values_list("case_a_id", "case_b_id"))
    found: set[tuple[int, int]] = set()
    if not case_ids or not dismissals.exists():
        return found
    for chunk in chunks(case_ids):
        for side in ("case_a_id", "case_b_id"):
            found.update(dismissals.filter(any_of(side, chunk)).values_list("case_a_id", "case_b_id"))
    return found


def replace_pairs(company_id: int, *, pairs: Iterable[Pair], rules: Collection[str], case_ids: Collection[int] | None) -> set[int]:
    """Make the stored candidates of `rules` that touch `case_ids` (None: every case of the company) exactly
    `pairs` minus the dismissed ones, writing only the difference; then the cases' flags follow.

    `pairs` must be every pair of those rules touching those cases. Returns the ids of the cases whose rows changed."""
    rules = list(rules)
    wanted = {(pair.case_a, pair.case_b, pair.rule): pair for pair in pairs if pair.rule in rules}
    dismissed = dismissed_pairs(company_id, case_ids)
    wanted = {key: pair for key, pair in wanted.items() if (key[0], key[1]) not in dismissed}
    stored = DuplicateCandidate.objects.for_company(company_id).filter(rule__in=rules)
    existing: dict[tuple[int, int, str], tuple[int, float, str]] = {}
    if case_ids is None:
        existing = {(a, b, rule): (pk, score, key) for pk, a, b, rule, score, key in
                    stored.values_list("pk", "case_a_id", "case_b_id", "rule", "score", "key")}
    else:
        for chunk in chunks(case_ids):
            # One query per side, rules compared here: for `case_a IN (...) OR case_b IN (...)`, or with `rule IN (...)`,
            # SQLite (no statistics) walks every candidate of the company instead of the (company, case) indexes.
            for side in (any_of("case_a_id", chunk), any_of("case_b_id", chunk)):
                for pk, a, b, rule, score, key in DuplicateCandidate.objects.for_company(company_id).filter(side).values_list(
                        "pk", "case_a_id", "case_b_id", "rule", "score", "key"):
                    if rule in rules:
                        existing[(a, b, rule)] = (pk, score, key)
    stale = [row[0] for key, row in existing.items() if key not in wanted or (wanted[key].score, wanted[key].key) != row[1:]]
    fresh = [pair for key, pair in wanted.items() if key not in existing or (pair.score, pair.key) != existing[key][1:]]
    changed: set[int] = set()
    for key, _row in existing.items():
        if key not in wanted:
            changed.update(key[:2])
    changed.update(case for pair in fresh for case in (pair.case_a, pair.case_b))
    for chunk in chunks(stale):
        DuplicateCandidate.objects.for_company(company_id).filter(any_of("pk", chunk)).delete()
    insert_rows(DuplicateCandidate, ("case_a_id", "case_b_id", "rule", "score", "key"),
                [(pair.case_a, pair.case_b, pair.rule, pair.score, pair.key[:254]) for pair in fresh], constants={"company_id": company_id})
    refresh_flags(company_id, changed)
    return changed


def refresh_flags(company_id: int, case_ids: Collection[int]) -> None:
    """`Case.has_duplicates` of these cases from their candidate rows (two UPDATEs per chunk; `updated_at`,
    the cases' version, does not move: a candidate is not an edit)."""
    candidates = DuplicateCandidate.objects.for_company(company_id)
    has_row = Exists(candidates.filter(case_a_id=OuterRef("pk"))) | Exists(candidates.filter(case_b_id=OuterRef("pk")))
    for ids in chunks(case_ids):
        chunk = rows_by_pk(Case, company_id, ids)
        chunk.filter(has_duplicates=False).filter(has_row).update(has_duplicates=True)
        chunk.filter(has_duplicates=True).exclude(has_row).update(has_duplicates=False)


def cases_of_customers(company_id: int, customer_ids: Collection[int]) -> list[int]:
    """Every case of these customers, live or not (a trashed or merged case's rows must go too)."""
    found: list[int] = []
    for chunk in chunks(customer_ids):
        found.extend(Case.objects.for_company(company_id).filter(any_of("customer_id", chunk)).values_list("pk", flat=True))
    return found


def refresh_customers(company_id: int, customer_ids: Collection[int], *, rules: Collection[str] | None = None,
                      values: Collection[str] = (), blocks: Collection[tuple[str, object]] = (), created: Collection[int] = ()) -> set[int]:
    """Recompute the candidates touching the cases of these customers (call it inside the writer's transaction,
    after the write; ids of trashed, merged or deleted customers are fine). Returns the case ids whose rows changed.

    A write can also change pairs of OTHER customers: the 5th holder of a switchboard number makes it shared
    (the pairs among the first four go), a trashed holder can bring them back; likewise a reading or postal
    code block growing past similarity.MAX_BLOCK_SIZE or shrinking back. The holders of such values (of these
    customers' phones, e-mails and block values, and of `values`, the normalized phones and e-mails the write
    removed, and `blocks`, the (block field, value) pairs it changed away from) are refreshed too, whenever the
    write may have moved the value across the threshold. The result is exactly what a full computation over the
    company (`refresh_company`) stores for the pairs touching these customers.

    `created`: those of `customer_ids` this transaction created with all their cases (a bulk writer's new leads): no
    stored candidate or dismissal can touch their cases, so their cases are not looked up for either."""
    customer_ids = set(customer_ids)
    if not customer_ids and not values and not blocks:
        return set()
    settings = duplicate_settings(company_id)
    all_rules = set(DuplicateRule.values) if rules is None else set(rules)
    active = [rule for rule in DuplicateRule.values if rule in all_rules and rule in settings.enabled_rules]
    exact = [rule for rule in active if rule in EXACT_DUPLICATE_RULES]
    fuzzy = [rule for rule in active if rule in FUZZY_DUPLICATE_RULES]
    affected = set(customer_ids)
    matches: list[CustomerMatch] = []
    if exact:
        threshold = settings.shared_threshold
        points = points_of(company_id, customer_ids)
        facts = value_facts(company_id, {value for _customer, _kind, value, _live in points} | set(values))
        others = shared_flip_holders(company_id, points, values, facts, threshold=threshold) - affected
        if others:
            more = points_of(company_id, others)
            points += more
            value_facts(company_id, {value for _customer, _kind, value, _live in more}, facts)
            affected |= others
    if fuzzy:
        affected |= block_flip_members(company_id, customer_ids, blocks, rules=fuzzy)
    if exact:
        if affected - customer_ids - others:
            # Members of a block that crossed its size: their phones and e-mails too.
            more = points_of(company_id, affected - customer_ids - others)
            points += more
            value_facts(company_id, {value for _customer, _kind, value, _live in more}, facts)
        matches += matches_of_points(company_id, points, facts, threshold=threshold)
    matches += fuzzy_matches(company_id, affected, rules=fuzzy, min_score=settings.fuzzy_min_score)
    pairs = [pair for pair in case_pairs(company_id, matches) if pair.rule in active]
    # Rules that are off lose their rows too.
    # Only the stored rows of the other customers' cases can be stale or dismissed (see `created`).
    return replace_pairs(company_id, pairs=pairs, rules=all_rules, case_ids=cases_of_customers(company_id, affected - set(created)))


def refresh_values(company_id: int, values: Collection[str]) -> set[int]:
    """After an admin marked these normalized phones or e-mails shared or personal (or cleared the marking):
    recompute the exact candidates of every live holder. Returns the case ids whose rows changed."""
    holders = value_holders(company_id, values)
    return refresh_customers(company_id, holders, rules=EXACT_DUPLICATE_RULES) if holders else set()


def refresh_company(company_id: int, *, rules: Collection[str] | None = None) -> set[int]:
    """Recompute every candidate of the company from scratch (after its 名寄せ settings changed: rules on or off,
    the shared threshold, the lowest score; or once for data written before candidates were kept): the exact
    rules as one GROUP BY over the (company, normalized, customer) index, the fuzzy rules block by block.
    Writes only the difference; the flags follow. Returns the case ids whose rows or flag changed."""
    settings = duplicate_settings(company_id)
    all_rules = set(DuplicateRule.values) if rules is None else set(rules)
    active = [rule for rule in DuplicateRule.values if rule in all_rules and rule in settings.enabled_rules]
    matches = exact_matches_all(company_id, threshold=settings.shared_threshold) if set(active) & set(EXACT_DUPLICATE_RULES) else []
    fuzzy = [rule for rule in active if rule in FUZZY_DUPLICATE_RULES]
    if fuzzy:
        records = [person_record(row) for row in live_customers(company_id).values(*PERSON_FIELDS).iterator(chunk_size=2000)]
        matches += [CustomerMatch(match.id_a, match.id_b, match.rule, match.score, match.key)
                    for match in similarity.find_matches(records, rules=fuzzy, min_score=settings.fuzzy_min_score)]
    pairs = [pair for pair in case_pairs(company_id, matches) if pair.rule in active]
    changed = replace_pairs(company_id, pairs=pairs, rules=all_rules, case_ids=None)
    # Flags set by other means (data brought in before the rows were kept) follow the rows too.
    flagged = set(Case.objects.for_company(company_id).filter(has_duplicates=True).values_list("pk", flat=True))
    refresh_flags(company_id, flagged - changed)
    return changed | flagged


# ---------------------------------------------------------------------------------------------
# Fuzzy rules (normalize/similarity.py): the records as the database holds them

# What the fuzzy rules read of a customer: `person_record(row)` of `live_customers(...).values(*PERSON_FIELDS)`.
PERSON_FIELDS = ("pk", "name", "name_key", "kana_key", "birth_date", "postal_code", "prefecture", "city", "street", "building")


def person_address(prefecture: str, city: str, street: str, building: str) -> str:
    """The address the fuzzy rules compare: the stored parts, trimmed, joined without separators."""
    return "".join(part.strip() for part in (prefecture, city, street, building) if part)


def person_record(row: dict) -> similarity.PersonRecord:
    """A customer's PersonRecord from its PERSON_FIELDS. Block fields keep the column's value as stored (the
    postal code `NNN-NNNN`): a block is exactly the customers with one value of an indexed column. The name's
    parts (family and given name, as typed) let the model see a swapped, changed or mistyped part."""
    return similarity.PersonRecord(
        id=row["pk"], name_key=row["name_key"], kana_key=row["kana_key"], birth_date=row["birth_date"], postal_code=row["postal_code"],
        address=person_address(row["prefecture"], row["city"], row["street"], row["building"]),
        name_parts=similarity.name_parts(row["name"]))


def block_values(customer: Customer) -> list[tuple[str, object]]:
    """The (block field, value) pairs of a customer as loaded: what an edit passes as `blocks` to refresh_customers."""
    return [(field, getattr(customer, field)) for field in similarity.BLOCKS]


def in_blocks(field: str, values: Collection) -> Q:
    """Customers with one of these (non-empty) values of a block field, on the field's partial index: the reading
    and postal code indexes leave out empty values, and SQLite uses them only with their condition's own term."""
    condition = Q(any_of(field, values))
    return condition & Q(NotEmpty(F(field))) if field in ("kana_key", "postal_code") else condition


def block_sizes(company_id: int, field: str, values: Collection, *, at_most: int) -> dict[object, int]:
    """Live customers per value of a block field, each counted up to `at_most` (a larger block counts as `at_most`):
    what the callers need is whether a block is within or beyond a limit, and a lead import's postal codes are
    blocks of hundreds of thousands, counted in full once per batch before. One statement per chunk of values;
    each value reads at most `at_most` entries of the field's index (and their rows, for `deleted_at`)."""
    values = sorted({value for value in values if value not in ("", None)})
    if not values:
        return {}
    model_field = Customer._meta.get_field(field)
    column = connection.ops.quote_name(model_field.column)
    # The partial indexes of the reading and the postal code leave out empty values: SQLite reads them only with
    # their condition's own term (core.lookups.NotEmpty).
    not_empty = f" AND NOT (c.{column} = '')" if field in ("kana_key", "postal_code") else ""
    table = connection.ops.quote_name(Customer._meta.db_table)
    sizes: dict[object, int] = {}
    for start in range(0, len(values), ID_CHUNK):
        chunk = values[start:start + ID_CHUNK]
        sql = (f"WITH v(value) AS (VALUES {', '.join(['(%s)'] * len(chunk))}) "
               f"SELECT v.value, (SELECT COUNT(*) FROM (SELECT 1 FROM {table} c WHERE c.company_id = %s AND c.{column} = v.value"
               f"{not_empty} AND c.deleted_at IS NULL LIMIT %s) AS block) FROM v")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*(model_field.get_db_prep_value(value, connection) for value in chunk), company_id, at_most])
            counted = cursor.fetchall()
        # Values as the field holds them (a date comes back from SQLite as text).
        sizes.update({value: count for value, (_text, count) in zip(chunk, counted, strict=True) if count})
    return sizes


def block_members(company_id: int, field: str, values: Collection) -> dict[object, list[similarity.PersonRecord]]:
    """The live customers of these blocks as PersonRecords, by block value."""
    members: dict[object, list[similarity.PersonRecord]] = {}
    for chunk in chunks(values):
        for row in live_customers(company_id).filter(in_blocks(field, chunk)).values(*PERSON_FIELDS):
            record = person_record(row)
            members.setdefault(getattr(record, field), []).append(record)
    return members


def fuzzy_matches(company_id: int, customer_ids: Collection[int], *, rules: Collection[str], min_score: float) -> list[CustomerMatch]:
    """The fuzzy matches of `rules` touching these customers (the live ones): for each block field, the blocks of
    their values with their live members (a block of more than MAX_BLOCK_SIZE customers is skipped, as
    similarity.find_matches skips it), compared block by block: exactly the full scan's pairs touching them."""
    rules = [rule for rule in rules if rule in FUZZY_DUPLICATE_RULES]
    ids = sorted(set(customer_ids))
    if not rules or not ids:
        return []
    own: list[similarity.PersonRecord] = []
    for chunk in chunks(ids):
        own.extend(map(person_record, rows_by_pk(Customer, company_id, chunk).filter(deleted_at__isnull=True)
                       .values(*PERSON_FIELDS)))
    best: dict[tuple[int, int, str], CustomerMatch] = {}
    for field, block_rules in similarity.BLOCKS.items():
        field_rules = [rule for rule in block_rules if rule in rules]
        if not field_rules:
            continue
        sizes = block_sizes(company_id, field, {getattr(record, field) for record in own}, at_most=similarity.MAX_BLOCK_SIZE + 1)
        kept = [value for value, size in sizes.items() if 2 <= size <= similarity.MAX_BLOCK_SIZE]
        # Block by block: within one block every pair shares this field, whatever other blocks find_matches forms.
        for members in block_members(company_id, field, kept).values():
            for match in similarity.find_matches(members, rules=field_rules, min_score=min_score, only_ids=ids):
                known = best.get((match.id_a, match.id_b, match.rule))
                if known is None or match.score > known.score:
                    best[(match.id_a, match.id_b, match.rule)] = CustomerMatch(match.id_a, match.id_b, match.rule, match.score, match.key)
    return sorted(best.values(), key=lambda match: (match.customer_a, match.customer_b, match.rule))


# ---------------------------------------------------------------------------------------------
# Values crossing a threshold change the pairs of other customers


def value_holders(company_id: int, values: Collection[str]) -> set[int]:
    """The live customers holding one of these normalized phones or e-mails."""
    holders: set[int] = set()
    for chunk in chunks({value for value in values if value}):
        holders.update(ContactPoint.objects.for_company(company_id).filter(any_of("normalized", chunk))
                       .filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
                       .order_by().values_list("customer_id", flat=True).distinct())
    return holders


def _may_have_flipped(count: int, *, limit: int, written_live: int, written_gone: int, removed: bool) -> bool:
    """Whether a value now held by `count` live customers may have been on the other side of `limit` (at or above
    it: shared / oversized) before this write, which added at most `written_live` of them and took away
    `written_gone` (customers trashed or merged away) plus, when `removed`, any number."""
    if count >= limit:
        return count - written_live < limit
    return removed or count + written_gone >= limit


def shared_flip_holders(company_id: int, points: Iterable[tuple[int, str, str, bool]], removed: Collection[str], facts: ValueFacts, *,
                        threshold: int) -> set[int]:
    """The live holders of the phones and e-mails (of `points`, the written customers', and `removed`) that this write
    may have made shared or no longer shared by the threshold (a value an admin marked keeps its marking: no flip)."""
    written_live: dict[str, int] = {}
    written_gone: dict[str, int] = {}
    for _customer, _kind, value, is_live in set(points):
        tally = written_live if is_live else written_gone
        tally[value] = tally.get(value, 0) + 1
    values = set(written_live) | set(written_gone) | {value for value in removed if value}
    flipped = [value for value in sorted(values) if value not in facts.markings and facts.counts.get(value, 0) >= 2 and _may_have_flipped(
        facts.counts[value], limit=threshold, written_live=written_live.get(value, 0), written_gone=written_gone.get(value, 0),
        removed=value in removed)]
    return value_holders(company_id, flipped) if flipped else set()


def block_flip_members(company_id: int, customer_ids: Collection[int], changed: Collection[tuple[str, object]], *,
                       rules: Collection[str]) -> set[int]:
    """The live members of the blocks (of these customers' block values, and `changed`: (field, value) the write
    changed away from) that this write may have moved across similarity.MAX_BLOCK_SIZE."""
    fields = [field for field, block_rules in similarity.BLOCKS.items() if set(block_rules) & set(rules)]
    ids = sorted(set(customer_ids))
    if not fields or (not ids and not changed):
        return set()
    rows: list[dict] = []
    for chunk in chunks(ids):
        rows.extend(rows_by_pk(Customer, company_id, chunk).values("pk", "deleted_at", *fields))
    limit = similarity.MAX_BLOCK_SIZE + 1
    members: set[int] = set()
    for field in fields:
        removed = {value for changed_field, value in changed if changed_field == field and value not in ("", None)}
        written_live: dict[object, int] = {}
        written_gone: dict[object, int] = {}
        for row in rows:
            if row[field] not in ("", None):
                tally = written_live if row["deleted_at"] is None else written_gone
                tally[row[field]] = tally.get(row[field], 0) + 1
        # Counted up to the limit plus the most this write added to one block: a larger block was beyond the limit
        # before the write as well (_may_have_flipped answers the same for every count from there up).
        sizes = block_sizes(company_id, field, set(written_live) | set(written_gone) | removed,
                            at_most=limit + max(written_live.values(), default=0))
        flipped = [value for value, size in sizes.items() if size >= 2 and _may_have_flipped(
            size, limit=limit, written_live=written_live.get(value, 0), written_gone=written_gone.get(value, 0), removed=value in removed)]
        for chunk in chunks(flipped):
            members.update(live_customers(company_id).filter(in_blocks(field, chunk)).values_list("pk", flat=True))
    return members


def exact_matches_all(company_id: int, *, threshold: int) -> list[CustomerMatch]:
    """Every exact match of the company as set work: the values held by two or more live customers (one GROUP BY
    over the (company, normalized, customer) index), less the shared ones, then their holders."""
    held = (ContactPoint.objects.for_company(company_id).exclude(normalized="")
            .filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
            .values("normalized").annotate(customers=Count("customer_id", distinct=True)).filter(customers__gte=2)
            .values_list("normalized", "customers"))
    markings = dict(SharedContactValue.objects.for_company(company_id).values_list("normalized", "marking"))
    values = sorted(value for value, customers in held
                    if markings.get(value) != SharedValueMarking.SHARED and (customers < threshold or markings.get(value) == SharedValueMarking.PERSONAL))
    holders: dict[str, dict[int, str]] = {}
    for chunk in chunks(values):
        rows = (ContactPoint.objects.for_company(company_id).filter(any_of("normalized", chunk))
                .filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
                .values_list("normalized", "customer_id", "kind"))
        for value, customer_id, kind in rows:
            holders.setdefault(value, {}).setdefault(customer_id, rule_of_point_kind(kind))
    matches: dict[tuple[int, int, str], CustomerMatch] = {}
    for value in values:
        customers = sorted(holders.get(value, {}).items())
        for index, (low, rule) in enumerate(customers):
            for high, _rule in customers[index + 1:]:
                matches.setdefault((low, high, rule), CustomerMatch(low, high, rule, 1.0, value))
    return sorted(matches.values(), key=lambda match: (match.customer_a, match.customer_b, match.rule, match.key))
