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

from django.db.models import Count, Exists, OuterRef, Q

from estatecrm.crm.choices import EXACT_DUPLICATE_RULES, ContactPointKind, DuplicateRule, SharedValueMarking
from estatecrm.crm.models import (
    Case,
    ContactPoint,
    Customer,
    DuplicateCandidate,
    DuplicateDismissal,
    DuplicateSettings,
    SharedContactValue,
)

# Rows written per INSERT (SQLite's bound-parameter limit is 32,766: 6 columns each).
INSERT_BATCH = 2000
# Ids per IN (...) list.
ID_CHUNK = 900


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
    value_list = sorted(values)
    for start in range(0, len(value_list), ID_CHUNK):
        chunk = value_list[start:start + ID_CHUNK]
        markings.update(SharedContactValue.objects.for_company(company_id).filter(normalized__in=chunk).values_list("normalized", "marking"))
        counted = (ContactPoint.objects.for_company(company_id).filter(normalized__in=chunk)
                   .filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
                   .values("normalized").annotate(customers=Count("customer_id", distinct=True)).filter(customers__gte=threshold)
                   .values_list("normalized", flat=True))
        shared.update(counted)
    shared = {value for value in shared if markings.get(value) != SharedValueMarking.PERSONAL}
    shared.update(value for value, marking in markings.items() if marking == SharedValueMarking.SHARED)
    return shared


def exact_matches(company_id: int, customer_ids: Collection[int]) -> list[CustomerMatch]:
    """Customers sharing a normalized phone or e-mail (not a shared one) with one of `customer_ids`, all live."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    own: list[tuple[int, str, str]] = []
    for start in range(0, len(ids), ID_CHUNK):
        own.extend(ContactPoint.objects.for_company(company_id).filter(customer_id__in=ids[start:start + ID_CHUNK])
                   .exclude(normalized="").filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
                   .values_list("customer_id", "kind", "normalized"))
    rule_by_value = {normalized: rule_of_point_kind(kind) for _customer, kind, normalized in own}
    candidates = set(rule_by_value) - shared_values(company_id, rule_by_value)
    holders: dict[str, set[int]] = {}
    values = sorted(candidates)
    for start in range(0, len(values), ID_CHUNK):
        rows = (ContactPoint.objects.for_company(company_id).filter(normalized__in=values[start:start + ID_CHUNK])
                .filter(Exists(live_customers(company_id).filter(pk=OuterRef("customer_id"))))
                .values_list("normalized", "customer_id").distinct())
        for normalized, customer_id in rows:
            holders.setdefault(normalized, set()).add(customer_id)
    matches: dict[tuple[int, int, str], CustomerMatch] = {}
    for customer_id, _kind, normalized in own:
        if normalized not in candidates:
            continue
        for other in holders.get(normalized, ()):
            if other == customer_id:
                continue
            low, high = sorted((customer_id, other))
            rule = rule_by_value[normalized]
            matches.setdefault((low, high, rule), CustomerMatch(low, high, rule, 1.0, normalized))
    return sorted(matches.values(), key=lambda match: (match.customer_a, match.customer_b, match.rule, match.key))


def case_pairs(company_id: int, matches: Iterable[CustomerMatch]) -> list[Pair]:
    """The candidate pairs of live cases that customer matches give: every live case of one customer with
    every live case of the other; per (pair, rule) the best score (then the smallest key)."""
    matches = list(matches)
    customer_ids = sorted({match.customer_a for match in matches} | {match.customer_b for match in matches})
    cases_of: dict[int, list[int]] = {}
    for start in range(0, len(customer_ids), ID_CHUNK):
        rows = (Case.objects.for_company(company_id).filter(customer_id__in=customer_ids[start:start + ID_CHUNK], deleted_at__isnull=True)
                .values_list("customer_id", "pk"))
        for customer_id, case_id in rows:
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
    ids = sorted(set(case_ids))
    found: set[tuple[int, int]] = set()
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        found.update(dismissals.filter(Q(case_a_id__in=chunk) | Q(case_b_id__in=chunk)).values_list("case_a_id", "case_b_id"))
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
        ids = sorted(set(case_ids))
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start:start + ID_CHUNK]
            for pk, a, b, rule, score, key in stored.filter(Q(case_a_id__in=chunk) | Q(case_b_id__in=chunk)).values_list(
                    "pk", "case_a_id", "case_b_id", "rule", "score", "key"):
                existing[(a, b, rule)] = (pk, score, key)
    stale = [row[0] for key, row in existing.items() if key not in wanted or (wanted[key].score, wanted[key].key) != row[1:]]
    fresh = [pair for key, pair in wanted.items() if key not in existing or (pair.score, pair.key) != existing[key][1:]]
    changed: set[int] = set()
    for key, _row in existing.items():
        if key not in wanted:
            changed.update(key[:2])
    changed.update(case for pair in fresh for case in (pair.case_a, pair.case_b))
    for start in range(0, len(stale), ID_CHUNK):
        DuplicateCandidate.objects.for_company(company_id).filter(pk__in=stale[start:start + ID_CHUNK]).delete()
    DuplicateCandidate.objects.bulk_create(
        [DuplicateCandidate(company_id=company_id, case_a_id=pair.case_a, case_b_id=pair.case_b, rule=pair.rule, score=pair.score,
                            key=pair.key[:254]) for pair in fresh], batch_size=INSERT_BATCH)
    refresh_flags(company_id, changed)
    return changed


def refresh_flags(company_id: int, case_ids: Collection[int]) -> None:
    """`Case.has_duplicates` of these cases from their candidate rows (two UPDATEs per chunk; `updated_at`,
    the cases' version, does not move: a candidate is not an edit)."""
    ids = sorted(set(case_ids))
    candidates = DuplicateCandidate.objects.for_company(company_id)
    has_row = Exists(candidates.filter(case_a_id=OuterRef("pk"))) | Exists(candidates.filter(case_b_id=OuterRef("pk")))
    for start in range(0, len(ids), ID_CHUNK):
        chunk = Case.objects.for_company(company_id).filter(pk__in=ids[start:start + ID_CHUNK])
        chunk.filter(has_duplicates=False).filter(has_row).update(has_duplicates=True)
        chunk.filter(has_duplicates=True).exclude(has_row).update(has_duplicates=False)


def cases_of_customers(company_id: int, customer_ids: Collection[int]) -> list[int]:
    """Every case of these customers, live or not (a trashed or merged case's rows must go too)."""
    ids = sorted(set(customer_ids))
    found: list[int] = []
    for start in range(0, len(ids), ID_CHUNK):
        found.extend(Case.objects.for_company(company_id).filter(customer_id__in=ids[start:start + ID_CHUNK]).values_list("pk", flat=True))
    return found


def refresh_customers(company_id: int, customer_ids: Collection[int], *, rules: Collection[str] | None = None) -> set[int]:
    """Recompute the candidates touching the cases of these customers (call it inside the writer's transaction,
    after the write; ids of trashed, merged or deleted customers are fine). Returns the case ids whose rows changed."""
    customer_ids = set(customer_ids)
    if not customer_ids:
        return set()
    all_rules = set(DuplicateRule.values) if rules is None else set(rules)
    active = enabled_rules(company_id, all_rules)
    matches = exact_matches(company_id, customer_ids) if set(active) & set(EXACT_DUPLICATE_RULES) else []
    pairs = [pair for pair in case_pairs(company_id, matches) if pair.rule in active]
    # Rules that are off lose their rows too.
    return replace_pairs(company_id, pairs=pairs, rules=all_rules, case_ids=cases_of_customers(company_id, customer_ids))
