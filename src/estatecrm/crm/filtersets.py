"""The case list's filters, shared by the page and the API list endpoint (NetBox style).

`CaseFilters.from_query(query_dict)` parses request parameters (bad values are reported in `errors`,
never raised; the page, the API and the export refuse a query with errors rather than show or export
the unfiltered list as if it were filtered); `filter_cases(actor=, filters=)` applies them on top of the access rules and
`paginate_cases` pages by keyset (no OFFSET), so page 5,000 of a million cases costs what page 1 costs.

Free text matches the company's case number (`#123` or `123`, on the (company, number) unique index),
the customer's name or reading by prefix (index range scans on the stored
matching keys, so `佐藤` finds `佐藤 花子` and `髙橋` finds `高橋`), a phone number in any format,
or an e-mail address (exact, on the normalized contact point index).
"""

import base64
import datetime
import json
import re
from dataclasses import dataclass, field, fields

from django.db.models import Exists, F, Lookup, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from estatecrm.core.lookups import NotEmpty
from estatecrm.core.querystring import QueryReader
from estatecrm.crm.case_numbers import parse_case_number
from estatecrm.crm.choices import CaseKind, CaseOrigin, CaseStatus
from estatecrm.crm.models import Case, CaseAssignee, CaseTag, ContactPoint, Customer
from estatecrm.normalize import name_key, normalize_email, normalize_phone, reading_key
from estatecrm.tenancy.selectors import Actor

PAGE_SIZE = 50
# Above this many matching customers a name search tests cases in list order instead of collecting them.
COMMON_NAME_CUSTOMERS = 2000
MAX_PAGE_SIZE = 200


class View:
    """The side menu's entries."""

    ALL = "all"
    MINE = "mine"
    DUPLICATES = "duplicates"
    UNSUBSCRIBED = "unsubscribed"
    TRASH = "trash"
    CHOICES = [(ALL, _("All")), (MINE, _("My cases")), (DUPLICATES, _("Possible duplicates")),
               (UNSUBSCRIBED, _("Unsubscribed customers")), (TRASH, _("Trash"))]


class FollowUp:
    """The follow-up filters (追客): next actions due today (the company's local day, TIME_ZONE), next
    actions overdue (before now), new cases nobody has contacted yet, and among them the inquiries
    (未対応の新規反響: origin inquiry or LINE, nobody on the staff acted on them yet)."""

    TODAY = "today"
    OVERDUE = "overdue"
    NEW_UNCONTACTED = "new_uncontacted"
    NEW_INQUIRIES = "new_inquiries"
    CHOICES = [(TODAY, _("Due today")), (OVERDUE, _("Overdue")), (NEW_INQUIRIES, _("New inquiries, not contacted yet")),
               (NEW_UNCONTACTED, _("New cases, not contacted yet"))]
    # Listed in the default order (most recently updated first), not by next action.
    UNSORTED = (NEW_UNCONTACTED, NEW_INQUIRIES)


# The origins of 未対応の新規反響, in the order of the partial index `case_new_inquiry_idx` (crm/models.py).
INQUIRY_ORIGINS = (CaseOrigin.INQUIRY.value, CaseOrigin.LINE.value)


# sort name -> (field, descending); every order ends with pk in the same direction (the keyset).
SORTS = {
    "-updated": ("updated_at", True),
    "updated": ("updated_at", False),
    "-created": ("pk", True),
    "created": ("pk", False),
    # Only the cases that have a next action, soonest first (a keyset over NULLs would need a sort of every case).
    "next_action": ("next_action_at", False),
}
SORT_CHOICES = [("-updated", _("Recently updated")), ("updated", _("Least recently updated")),
                ("-created", _("Newest")), ("created", _("Oldest")), ("next_action", _("Next action, soonest first"))]
DATETIME_SORT_FIELDS = ("updated_at", "next_action_at")


# The case list's filter names as its form labels them (the pages name a filter that could not be read).
FILTER_LABELS = {
    "q": _("Search"), "status": _("Status"), "sub_status": _("Sub-status"),
    "rank": _("Rank"), "tag": _("Tag"), "kind": _("Kind"), "org": _("Owning unit"),
    "assignee": _("Main assignee"), "origin": _("Origin"), "started_from": _("Started from"),
    "started_to": _("Started up to"), "needs_review": _("Needs review"), "sort": _("Sort"), "project": _("Project"), "run": _("Import"),
    "follow_up": _("Follow-up"),
}


def filter_error_lines(filters) -> list[str]:
    """`label: message` for each filter of the query that could not be read."""
    return [f"{FILTER_LABELS.get(name, name)}: {message}" for name, message in filters.errors.items()]


@dataclass
class CaseFilters:
    """Every filter of the case list; None or empty means "any"."""

    view: str = View.ALL
    follow_up: str = ""
    q: str = ""
    status: list[str] = field(default_factory=list)
    sub_status: int | None = None
    rank: int | None = None
    tag: int | None = None
    kind: str = ""
    org: int | None = None
    assignee: int | None = None
    origin: str = ""
    started_from: datetime.date | None = None
    started_to: datetime.date | None = None
    needs_review: bool = False
    project: int | None = None
    run: int | None = None  # the lead import (pipeline run) that created the cases
    sort: str = "-updated"
    errors: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_query(cls, query) -> "CaseFilters":
        """Parse a QueryDict (or a plain dict of strings); invalid values are left out and reported in `errors`."""
        filters = cls()
        read = QueryReader(query)
        text, number, date, choice, errors = read.text, read.number, read.date, read.choice, read.errors
        view = choice("view", [value for value, _label in View.CHOICES])
        filters.view = view or View.ALL
        filters.follow_up = choice("follow_up", [value for value, _label in FollowUp.CHOICES])
        filters.q = text("q")[:200]
        statuses = query.getlist("status") if hasattr(query, "getlist") else ([query["status"]] if query.get("status") else [])
        filters.status = [status for status in statuses if status in CaseStatus.values]
        if len(filters.status) != len([status for status in statuses if status]):
            errors["status"] = _("Choose a valid option.")
        filters.sub_status, filters.rank, filters.tag = number("sub_status"), number("rank"), number("tag")
        filters.org, filters.assignee = number("org"), number("assignee")
        filters.project, filters.run = number("project"), number("run")
        filters.kind = choice("kind", CaseKind.values)
        filters.origin = choice("origin", CaseOrigin.values)
        filters.started_from, filters.started_to = date("started_from"), date("started_to")
        filters.needs_review = choice("needs_review", ("1",)) == "1"
        filters.sort = choice("sort", SORTS) or "-updated"
        filters.errors = errors
        return filters

    def as_query(self) -> dict:
        """The filters as query parameters (for links that keep the current filter)."""
        query = {}
        for item in fields(self):
            if item.name == "errors":
                continue
            value = getattr(self, item.name)
            if value in (None, "", []) or value is False or (item.name == "view" and value == View.ALL) or (item.name == "sort" and value == "-updated"):
                continue
            query[item.name] = [str(v) for v in value] if isinstance(value, list) else "1" if value is True else str(value)
        return query

    @property
    def is_filtered(self) -> bool:
        return bool(set(self.as_query()) - {"view", "sort"})


def _text_match(company_id: int, text: str) -> Q:
    """Cases whose customer matches `text` by name/reading prefix, phone or e-mail.

    Written as `customer_id IN (subquery)`: the database finds the few matching customers through
    their index first, then their cases through (company, customer), instead of testing every case.
    """
    number = parse_case_number(text)
    if number is not None and (text.lstrip().startswith(("#", "＃")) or not normalize_phone(text).is_valid):
        # `#123` or `123`: the company's case number (a whole phone number is still a phone search).
        return Q(number=number)
    values = [result.value for result in (normalize_phone(text), normalize_email(text)) if result.is_valid]
    if values:
        return Q(customer_id__in=ContactPoint.objects.unscoped().filter(company_id=company_id, normalized__in=values).values("customer_id"))
    key, kana = name_key(text), reading_key(text)
    matches = Q()
    if key:
        # A range instead of LIKE: both SQLite and PostgreSQL walk the (company, name_key) index.
        matches |= Q(name_key__gte=key, name_key__lt=key + "\U0010ffff")
    if kana:
        # The reading index leaves out empty readings: SQLite reads it only with its condition's own term.
        matches |= Q(kana_key__gte=kana, kana_key__lt=kana + "\U0010ffff") & Q(NotEmpty(F("kana_key")))
    if not matches:
        return Q(pk__in=[])
    customers = Customer.objects.unscoped().filter(matches, company_id=company_id)
    if customers[:COMMON_NAME_CUSTOMERS + 1].count() > COMMON_NAME_CUSTOMERS:
        # A common name (佐藤: one customer in thirty): walking the cases in list order and testing
        # each one finds a page sooner than gathering and sorting every case of every 佐藤.
        return Q(Exists(customers.filter(pk=OuterRef("customer_id"))))
    return Q(customer_id__in=customers.values("pk"))


def duplicate_candidates_q(company_id: int) -> Q:
    """Cases that are 名寄せ candidates: flagged by crm.duplicates (a live case with at least one candidate row; a
    trashed or merged case, or a case of a trashed customer, never is), read from the partial index case_duplicates_idx."""
    return Q(has_duplicates=True)


class InConstants(Lookup):
    """`column IN ('a', 'b')` with the values written into the SQL instead of passed as parameters, so that
    SQLite matches the term with a partial index's condition (it never does for a bound parameter).
    Only for fixed code constants (checked: lower-case letters and underscores), never for input."""

    lookup_name = "in_constants"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        if not self.rhs or not all(re.fullmatch(r"[a-z_]+", value) for value in self.rhs):
            raise ValueError(f"InConstants takes code constants only, not {self.rhs!r}")
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(repr(value) for value in self.rhs)})", params


def today_bounds() -> tuple[datetime.datetime, datetime.datetime]:
    """The start of today and of tomorrow in the current time zone (TIME_ZONE: the company's day)."""
    today = timezone.localdate()
    start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    return start, timezone.make_aware(datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min))


def follow_up_q(follow_up: str) -> Q:
    """The condition of a follow-up filter (FollowUp), on the (company, [owning_org,] deleted_at, next_action_at) indexes,
    and the partial indexes of new cases never contacted (case_status_contact_idx, case_new_inquiry_idx)."""
    if follow_up == FollowUp.TODAY:
        start, end = today_bounds()
        return Q(next_action_at__gte=start, next_action_at__lt=end)
    if follow_up == FollowUp.OVERDUE:
        return Q(next_action_at__lt=timezone.now())
    if follow_up == FollowUp.NEW_UNCONTACTED:
        return Q(status=CaseStatus.NEW, last_contact_at__isnull=True)
    if follow_up == FollowUp.NEW_INQUIRIES:
        # The condition of the partial index case_new_inquiry_idx, origins as constants: the page and its count read the index.
        return Q(status=CaseStatus.NEW, last_contact_at__isnull=True) & Q(InConstants(F("origin"), INQUIRY_ORIGINS))
    raise ValueError(f"unknown follow-up filter {follow_up!r}")


def _live_cases(actor: Actor) -> QuerySet[Case]:
    return Case.objects.for_company(actor.company_id).filter(actor.case_visibility_q(), deleted_at__isnull=True).order_by()


def _unsubscribed_customers(company_id: int) -> QuerySet:
    """Ids of the company's unsubscribed customers (few; a partial index holds exactly them)."""
    return Customer.objects.unscoped().filter(company_id=company_id, is_unsubscribed=True).values("pk")


def _without_unsubscribed(cases: QuerySet[Case], company_id: int) -> int:
    """Count minus the cases of unsubscribed customers: two index counts, not a test per case."""
    return cases.count() - cases.filter(customer_id__in=_unsubscribed_customers(company_id)).count()


def view_counts(actor: Actor) -> dict[str, int]:
    """The side menu's counts except 名寄せ候補あり (see duplicate_count), each equal to its view's list."""
    company_id = actor.company_id
    live = _live_cases(actor)
    mine = live.filter(Q(main_assignee_id=actor.user.pk) | Q(
        pk__in=CaseAssignee.objects.unscoped().filter(company_id=company_id, user_id=actor.user.pk).values("case_id")))
    return {
        View.ALL: _without_unsubscribed(live, company_id),
        View.MINE: _without_unsubscribed(mine, company_id),
        View.UNSUBSCRIBED: live.filter(customer_id__in=_unsubscribed_customers(company_id)).count(),
        View.TRASH: Case.objects.for_company(company_id).filter(actor.case_visibility_q(), deleted_at__isnull=False,
                                                                merged_into__isnull=True).count(),
        **{value: _without_unsubscribed(live.filter(follow_up_q(value)), company_id) for value, _label in FollowUp.CHOICES},
    }


def duplicate_count(actor: Actor) -> int:
    """The 名寄せ候補あり count, equal to its view's list: the flagged live cases (index case_duplicates_idx)."""
    cases = _live_cases(actor).filter(duplicate_candidates_q(actor.company_id))
    return _without_unsubscribed(cases, actor.company_id)


def filter_cases(*, actor: Actor, filters: CaseFilters) -> QuerySet[Case]:
    """The cases the actor sees that match `filters`, in the filters' sort order (not yet paged)."""
    company_id = actor.company_id
    cases = Case.objects.for_company(company_id).filter(actor.case_visibility_q())
    if filters.view == View.TRASH:
        cases = cases.filter(deleted_at__isnull=False, merged_into__isnull=True)
    else:
        cases = cases.filter(deleted_at__isnull=True)
    unsubscribed = Exists(Customer.objects.unscoped().filter(pk=OuterRef("customer_id"), is_unsubscribed=True))
    if filters.view == View.UNSUBSCRIBED:
        cases = cases.filter(unsubscribed)
    elif filters.view != View.TRASH:
        # Unsubscribed customers are hidden from the default list: they have their own entry.
        cases = cases.exclude(unsubscribed)
    if filters.view == View.MINE:
        cases = cases.filter(Q(main_assignee_id=actor.user.pk) | Exists(
            CaseAssignee.objects.unscoped().filter(company_id=company_id, case_id=OuterRef("pk"), user_id=actor.user.pk)))
    if filters.view == View.DUPLICATES:
        cases = cases.filter(duplicate_candidates_q(company_id))
    if filters.follow_up:
        cases = cases.filter(follow_up_q(filters.follow_up))
    if filters.status:
        cases = cases.filter(status__in=filters.status)
    for name, lookup in (("sub_status", "sub_status_id"), ("rank", "rank_id"), ("org", "owning_org_id"), ("assignee", "main_assignee_id"),
                         ("kind", "kind"), ("origin", "origin")):
        value = getattr(filters, name)
        if value not in (None, ""):
            cases = cases.filter(**{lookup: value})
    if filters.project is not None:
        cases = cases.filter(project_id=filters.project)
    if filters.run is not None:
        # A lead import's cases carry `<run id>:<row number>` as their source id.
        cases = cases.filter(origin=CaseOrigin.LEAD_IMPORT, source_id__startswith=f"{filters.run}:")
    if filters.tag is not None:
        # The company first, as the (company, case, tag) index has it: a probe per case instead of a scan.
        cases = cases.filter(Exists(CaseTag.objects.unscoped().filter(company_id=company_id, case_id=OuterRef("pk"), tag_id=filters.tag)))
    if filters.started_from:
        cases = cases.filter(started_on__gte=filters.started_from)
    if filters.started_to:
        cases = cases.filter(started_on__lte=filters.started_to)
    if filters.needs_review:
        cases = cases.filter(needs_review=True)
    if filters.q:
        cases = cases.filter(_text_match(company_id, filters.q))
    sort_field, descending = SORTS[filters.sort]
    if sort_field == "next_action_at":
        cases = cases.filter(next_action_at__isnull=False)
    order = [f"-{sort_field}", "-pk"] if descending else [sort_field, "pk"]
    return cases.order_by(*dict.fromkeys(order))


@dataclass
class Page:
    items: list
    next_cursor: str | None
    has_previous: bool


def encode_cursor(sort: str, case: Case) -> str:
    sort_field, _descending = SORTS[sort]
    value = getattr(case, sort_field if sort_field != "pk" else "pk")
    raw = json.dumps([sort, value.isoformat() if isinstance(value, datetime.datetime) else value, case.pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[object, int] | None:
    """The (sort value, pk) after which the next page starts; None for a cursor that is not valid for `sort`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        cursor_sort, value, pk = json.loads(raw)
        if cursor_sort != sort or not isinstance(pk, int):
            return None
        sort_field, _descending = SORTS[sort]
        if sort_field in DATETIME_SORT_FIELDS:
            value = datetime.datetime.fromisoformat(value)
        elif not isinstance(value, int):
            return None
        return value, pk
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def paginate_cases(cases: QuerySet[Case], *, sort: str, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """One page after `cursor` by keyset: `(sort value, pk)` strictly after the cursor's, in sort order."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    sort_field, descending = SORTS[sort]
    position = decode_cursor(cursor, sort) if cursor else None
    if position is not None:
        value, pk = position
        if sort_field == "pk":
            cases = cases.filter(pk__lt=pk) if descending else cases.filter(pk__gt=pk)
        elif descending:
            # The redundant `<=` bound lets the database start its index walk at the cursor instead of
            # filtering every row before it (an OR alone is not an index range for SQLite).
            cases = cases.filter(Q(**{f"{sort_field}__lte": value}),
                                 Q(**{f"{sort_field}__lt": value}) | Q(**{sort_field: value, "pk__lt": pk}))
        else:
            cases = cases.filter(Q(**{f"{sort_field}__gte": value}),
                                 Q(**{f"{sort_field}__gt": value}) | Q(**{sort_field: value, "pk__gt": pk}))
    items = list(cases[: size + 1])
    next_cursor = encode_cursor(sort, items[size - 1]) if len(items) > size else None
    return Page(items=items[:size], next_cursor=next_cursor, has_previous=position is not None)
