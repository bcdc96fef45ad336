"""Reads of the 名寄せ pages: candidate groups, a case's candidates, merges, shared values, all as the actor sees them.

A candidate group is a set of live cases connected by candidate pairs (DuplicateCandidate rows, kept by
crm.duplicates). The actor sees a pair only when they see both cases (never revealing a case outside their
visibility), so an agent's groups are the components of the graph restricted to the cases they see.
"""

import datetime
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from estatecrm.core.errors import NotFound
from estatecrm.crm.choices import EXACT_DUPLICATE_RULES, ContactPointKind, DuplicateRule, SharedValueMarking
from estatecrm.crm.duplicates import ID_CHUNK, duplicate_settings, enabled_rules
from estatecrm.crm.models import (
    Case,
    ContactPoint,
    Customer,
    DuplicateCandidate,
    DuplicateDismissal,
    SharedContactValue,
)
from estatecrm.crm.selectors import first_phones, visible_cases
from estatecrm.dedup.choices import MERGE_UNDO_DAYS
from estatecrm.dedup.models import Merge, MergeCase
from estatecrm.normalize.phone import format_national
from estatecrm.tenancy.selectors import Actor

GROUPS_PER_PAGE = 20
# A group shows at most this many cases (a shared number that escaped the threshold could join hundreds):
# the page says so, and the shared-numbers page is where such a value is marked.
MAX_GROUP_CASES = 50
# Cases flagged 「!」 looked at per page request, at most (each one a few indexed queries).
MAX_ANCHORS_PER_PAGE = 400


@dataclass(frozen=True)
class CandidateFilters:
    """The candidate list's filters: one rule, or the exact rules only; `case`: the group of this case id."""

    rule: str = ""
    exact_only: bool = False
    case: int | None = None

    @classmethod
    def from_query(cls, query) -> "CandidateFilters":
        rule = query.get("rule", "")
        case = query.get("case", "")
        return cls(rule=rule if rule in DuplicateRule.values else "", exact_only=query.get("exact") == "1",
                   case=int(case) if case.isdigit() else None)

    def rules(self) -> tuple[str, ...]:
        rules = tuple(DuplicateRule.values)
        if self.exact_only:
            rules = tuple(rule for rule in rules if rule in EXACT_DUPLICATE_RULES)
        if self.rule:
            rules = tuple(rule for rule in rules if rule == self.rule)
        return rules

    def as_query(self) -> dict:
        query = {}
        if self.rule:
            query["rule"] = self.rule
        if self.exact_only:
            query["exact"] = "1"
        if self.case:
            query["case"] = str(self.case)
        return query


@dataclass
class Reason:
    rule: str
    label: str
    score: float
    key: str  # what matched, as people read it (the phone in national format)


@dataclass
class PairView:
    case_a: Case
    case_b: Case
    reasons: list[Reason]

    @property
    def score(self) -> float:
        return max(reason.score for reason in self.reasons)


@dataclass
class Group:
    cases: list[Case]  # newest first
    pairs: list[PairView]  # best score first
    is_truncated: bool = False

    @property
    def newest(self) -> Case:
        return self.cases[0]


@dataclass
class GroupPage:
    groups: list[Group]
    next_cursor: str | None
    has_previous: bool = False


def shown_key(rule: str, key: str) -> str:
    """What matched, as a person reads it: a phone in national format (`090-1234-5678`), the rest as stored."""
    if rule == DuplicateRule.PHONE:
        return format_national(key)
    return key


def _pair_rows(company_id: int, case_ids: Collection[int], rules: Collection[str]) -> list[tuple[int, int, str, float, str]]:
    rows = []
    ids = sorted(set(case_ids))
    stored = DuplicateCandidate.objects.for_company(company_id).filter(rule__in=list(rules))
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        rows.extend(stored.filter(Q(case_a_id__in=chunk) | Q(case_b_id__in=chunk))
                    .values_list("case_a_id", "case_b_id", "rule", "score", "key"))
    return rows


def _component(actor: Actor, start: int, rules: Collection[str]) -> tuple[set[int], list[tuple], bool]:
    """The cases connected to `start` through pairs of `rules` whose both cases the actor sees, the rows
    between them, and whether the walk stopped at MAX_GROUP_CASES."""
    seen = {start}
    frontier = {start}
    rows: dict[tuple[int, int, str], tuple] = {}
    truncated = False
    while frontier:
        found = _pair_rows(actor.company_id, frontier, rules)
        neighbours = {case for row in found for case in row[:2]} - seen
        visible = set(visible_cases(actor=actor).filter(pk__in=sorted(neighbours)).values_list("pk", flat=True)) if neighbours else set()
        room = MAX_GROUP_CASES - len(seen)
        if len(visible) > room:
            truncated = True
            visible = set(sorted(visible)[:room])
        seen |= visible
        for row in found:
            if row[0] in seen and row[1] in seen:
                rows[row[:3]] = row
        frontier = visible
    return seen, list(rows.values()), truncated


def _decorate_cases(actor: Actor, cases: Iterable[Case]) -> list[Case]:
    """Cases with `.phone` and `.email` (the customer's first of each, for people to read)."""
    cases = list(cases)
    customer_ids = {case.customer_id for case in cases}
    phones = first_phones(actor=actor, customer_ids=customer_ids)
    emails: dict[int, str] = {}
    for customer_id, normalized, raw in (ContactPoint.objects.for_company(actor.company_id)
                                         .filter(customer_id__in=sorted(customer_ids), kind=ContactPointKind.EMAIL)
                                         .order_by("customer_id", "position", "pk").values_list("customer_id", "normalized", "raw")):
        emails.setdefault(customer_id, normalized or raw)
    for case in cases:
        case.phone = phones.get(case.customer_id, "")
        case.email = emails.get(case.customer_id, "")
    return cases


def _group_of(actor: Actor, case_ids: set[int], rows: list[tuple], truncated: bool) -> Group:
    cases = {case.pk: case for case in visible_cases(actor=actor).filter(pk__in=sorted(case_ids)).select_related(
        "customer", "owning_org", "main_assignee")}
    labels = dict(DuplicateRule.choices)
    reasons: dict[tuple[int, int], list[Reason]] = defaultdict(list)
    for case_a, case_b, rule, score, key in rows:
        if case_a in cases and case_b in cases:
            reasons[(case_a, case_b)].append(Reason(rule, str(labels[rule]), score, shown_key(rule, key)))
    order = {rule: position for position, rule in enumerate(DuplicateRule.values)}
    pairs = [PairView(cases[a], cases[b], sorted(found, key=lambda reason: order[reason.rule])) for (a, b), found in reasons.items()]
    pairs.sort(key=lambda pair: (-pair.score, -pair.case_b.pk, -pair.case_a.pk))
    return Group(cases=_decorate_cases(actor, sorted(cases.values(), key=lambda case: -case.pk)), pairs=pairs, is_truncated=truncated)


def candidate_groups(*, actor: Actor, filters: CandidateFilters, cursor: str = "", size: int = GROUPS_PER_PAGE) -> GroupPage:
    """A page of the candidate groups the actor sees, the group of the newest case first (keyset on that case's id).

    A group is listed once, at its newest case: walking the flagged cases newest first, a case whose
    group holds a newer case was listed with it already."""
    rules = filters.rules()
    if filters.case is not None:
        if not visible_cases(actor=actor).filter(pk=filters.case).exists():
            raise NotFound()
        members, rows, truncated = _component(actor, filters.case, rules)
        groups = [_group_of(actor, members, rows, truncated)] if rows else []
        return GroupPage(groups=groups, next_cursor=None)
    cursor = cursor or ""
    before = int(cursor) if cursor.isdigit() else None
    anchors = visible_cases(actor=actor).filter(has_duplicates=True).order_by("-pk")
    if before is not None:
        anchors = anchors.filter(pk__lt=before)
    groups: list[Group] = []
    listed: set[int] = set()
    last = None
    for anchor in anchors.values_list("pk", flat=True)[:MAX_ANCHORS_PER_PAGE]:
        last = anchor
        if anchor in listed:
            continue
        members, rows, truncated = _component(actor, anchor, rules)
        if not rows or (max(members) != anchor and not truncated):
            continue
        listed |= members
        groups.append(_group_of(actor, members, rows, truncated))
        if len(groups) == size:
            break
    more = last is not None and anchors.filter(pk__lt=last).exists()
    return GroupPage(groups=groups, next_cursor=str(last) if more else None, has_previous=before is not None)


def case_candidate_count(*, actor: Actor, case: Case) -> int:
    """How many cases the actor sees are candidates of this case (the case page's warning)."""
    if not case.has_duplicates:
        return 0
    others = {b for a, b, *_rest in _pair_rows(actor.company_id, [case.pk], DuplicateRule.values)} | {
        a for a, b, *_rest in _pair_rows(actor.company_id, [case.pk], DuplicateRule.values)}
    others.discard(case.pk)
    return visible_cases(actor=actor).filter(pk__in=sorted(others)).count() if others else 0


def access_pair(actor: Actor, case_x: int, case_y: int) -> tuple[Case, Case]:
    """The two cases of a pair (in id order) when the actor sees both; NotFound otherwise."""
    ids = sorted({int(case_x), int(case_y)})
    if len(ids) != 2:
        raise NotFound()
    cases = {case.pk: case for case in visible_cases(actor=actor).filter(pk__in=ids).select_related("customer")}
    if len(cases) != 2:
        raise NotFound()
    return cases[ids[0]], cases[ids[1]]


def merge_cases(*, actor: Actor, case_ids: Collection[int]) -> list[Case]:
    """The live cases of `case_ids` the actor sees, oldest first, with `.phone` and `.email`; NotFound when one is missing."""
    ids = sorted({int(case_id) for case_id in case_ids})
    cases = list(visible_cases(actor=actor).filter(pk__in=ids).select_related("customer", "owning_org", "main_assignee").order_by("pk"))
    if len(cases) != len(ids):
        raise NotFound()
    return _decorate_cases(actor, cases)


# ---------------------------------------------------------------------------------------------
# Dismissals (別人)


def recent_dismissals(*, actor: Actor, limit: int = 20) -> list[DuplicateDismissal]:
    """The newest 「別人」 pairs whose both cases the actor sees (to undo one)."""
    visible = visible_cases(actor=actor)
    return list(DuplicateDismissal.objects.for_company(actor.company_id)
                .filter(Exists(visible.filter(pk=OuterRef("case_a_id"))), Exists(visible.filter(pk=OuterRef("case_b_id"))))
                .select_related("case_a__customer", "case_b__customer", "dismissed_by").order_by("-dismissed_at", "-pk")[:limit])


def access_dismissal(actor: Actor, dismissal_id) -> DuplicateDismissal:
    try:
        dismissal = DuplicateDismissal.objects.for_company(actor.company_id).get(pk=int(dismissal_id))
    except (DuplicateDismissal.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    access_pair(actor, dismissal.case_a_id, dismissal.case_b_id)
    return dismissal


# ---------------------------------------------------------------------------------------------
# Merges (名寄せ履歴)


def visible_merges(*, actor: Actor) -> QuerySet[Merge]:
    """Merges whose survivor the actor sees (merged-away cases included: an undone merge's survivor may be anywhere)."""
    merges = Merge.objects.for_company(actor.company_id)
    if actor.is_company_admin:
        return merges
    return merges.filter(Exists(visible_cases(actor=actor, include_merged=True).filter(pk=OuterRef("survivor_id"))))


def merge_page(*, actor: Actor, cursor: str = "", size: int = 30) -> tuple[list[Merge], str | None]:
    """The newest merges first (keyset on id), with their survivor, users and the cases they took."""
    merges = visible_merges(actor=actor).select_related("survivor__customer", "acting_user", "undone_by").order_by("-pk")
    if cursor.isdigit():
        merges = merges.filter(pk__lt=int(cursor))
    items = list(merges[:size + 1])
    taken: dict[int, list[Case]] = defaultdict(list)
    for link in MergeCase.objects.for_company(actor.company_id).filter(merge_id__in=[merge.pk for merge in items[:size]]).select_related(
            "case__customer").order_by("case_id"):
        taken[link.merge_id].append(link.case)
    deadline = timezone.now() - datetime.timedelta(days=MERGE_UNDO_DAYS)
    for merge in items[:size]:
        merge.taken_cases = taken[merge.pk]
        merge.can_undo = merge.undone_at is None and merge.created_at >= deadline
    return items[:size], str(items[size - 1].pk) if len(items) > size else None


def access_merge(actor: Actor, merge_id) -> Merge:
    try:
        return visible_merges(actor=actor).get(pk=int(merge_id))
    except (Merge.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def merge_of_case(*, actor: Actor, case: Case) -> Merge | None:
    """The merge that took a merged-away case (its newest not undone), for the case's banner."""
    return (visible_merges(actor=actor).filter(undone_at__isnull=True, merge_cases__case=case)
            .select_related("survivor").order_by("-pk").first())


# ---------------------------------------------------------------------------------------------
# Shared phones and e-mails


@dataclass
class SharedValueRow:
    normalized: str
    kind: str
    customers: int
    marking: str = ""
    note: str = ""
    shown: str = ""
    is_shared: bool = False
    kind_label: str = field(default="")


def shared_value_rows(*, actor: Actor, limit: int = 200) -> tuple[list[SharedValueRow], int]:
    """The phones and e-mails held by `shared_threshold` live customers or more, and every marked value,
    most holders first; with the threshold. One GROUP BY on the (company, normalized, customer) index."""
    company_id = actor.company_id
    threshold = duplicate_settings(company_id).shared_threshold
    live = Customer.objects.for_company(company_id).filter(deleted_at__isnull=True)
    points = (ContactPoint.objects.for_company(company_id).exclude(normalized="")
              .filter(Exists(live.filter(pk=OuterRef("customer_id")))))
    grouped = points.values("normalized").annotate(customers=Count("customer_id", distinct=True), point_kind=Min("kind"))
    counted = {normalized: (kind, customers) for normalized, kind, customers in
               grouped.filter(customers__gte=threshold).order_by("-customers", "normalized")
               .values_list("normalized", "point_kind", "customers")[:limit]}
    markings = {row.normalized: row for row in SharedContactValue.objects.for_company(company_id).order_by("normalized")}
    missing = sorted(set(markings) - set(counted))
    for start in range(0, len(missing), ID_CHUNK):
        for normalized, kind, customers in (grouped.filter(normalized__in=missing[start:start + ID_CHUNK])
                                            .values_list("normalized", "point_kind", "customers")):
            counted[normalized] = (kind, customers)
    kind_labels = dict(ContactPointKind.choices)
    rows = []
    for normalized in set(counted) | set(markings):
        kind, customers = counted.get(normalized, (ContactPointKind.EMAIL if "@" in normalized else ContactPointKind.PHONE, 0))
        marking = markings.get(normalized)
        row = SharedValueRow(normalized=normalized, kind=kind, customers=customers, marking=marking.marking if marking else "",
                             note=marking.note if marking else "", kind_label=str(kind_labels.get(kind, kind)))
        row.shown = normalized if kind == ContactPointKind.EMAIL else format_national(normalized)
        row.is_shared = row.marking == SharedValueMarking.SHARED or (row.marking != SharedValueMarking.PERSONAL and customers >= threshold)
        rows.append(row)
    rows.sort(key=lambda row: (-row.customers, row.normalized))
    return rows, threshold


def settings_summary(company_id: int) -> dict:
    settings = duplicate_settings(company_id)
    return {"settings": settings, "enabled": enabled_rules(company_id)}


def register_side_menu() -> None:
    """The case list's side menu gets 名寄せ履歴 (everyone) and the shared phones and e-mails (admins); the
    名寄せ候補あり view with its count is the list's own entry (its 「!」 filter)."""
    from django.utils.translation import gettext_lazy

    from estatecrm.crm.side_menu import MenuEntry, register_menu_entry

    group = gettext_lazy("Duplicates")
    register_menu_entry(MenuEntry(key="dedup_merges", group=group, label=gettext_lazy("Merge history"), url_name="dedup:merges",
                                  visible=lambda actor: True))
    register_menu_entry(MenuEntry(key="dedup_shared", group=group, label=gettext_lazy("Shared phones and e-mails"),
                                  url_name="dedup:shared", visible=lambda actor: actor.is_admin))
