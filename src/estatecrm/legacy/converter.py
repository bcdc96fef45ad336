"""Bundle rows -> canonical records, by the migration rules of issue 5 (pure: no database, no writes).

`load_source(bundle)` reads every CSV member into a `Source` (rows grouped by 追客番号).
`Converter(source, target).convert(case_row)` decides one case: a skip or failure reason, or a
`CaseRecord` with everything the loader writes (customer, assignees, masters, desired conditions,
activities, introductions, attachments, other-information text and review messages). `target`
describes the receiving company as plain data (users by e-mail, units, masters), so the rules are
tested without a database. Texts written into the data (other-information lines, review messages)
are translated in the language active when `convert` runs.
"""

import contextlib
import functools
import gc
import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.utils import translation
from django.utils.translation import gettext

from estatecrm.crm.choices import (
    MAX_SUB_ASSIGNEES_PER_CASE,
    MAX_TAGS_PER_CASE,
    ActivityKind,
    BuildingAge,
    CaseKind,
    ContactPointKind,
    Feature,
    IntroductionMethod,
    IntroductionReaction,
    Layout,
    MoveIn,
    WalkMinutes,
    nearest_choice_at_least,
)
from estatecrm.legacy import bundle as files
from estatecrm.legacy.choices import ELIGIBLE_CATEGORIES, FailReason, SkipReason
from estatecrm.normalize import (
    MESSAGES,
    name_key,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    normalize_reading,
    parse_date,
    parse_datetime,
    reading_key,
    split_prefecture,
)
from estatecrm.normalize.dates import TOKYO
from estatecrm.normalize.result import Result

# Values are plain str, not choices members: rows are written in bulk, and sqlite3 binds an exact str
# without a lookup but a str subclass through its adapter protocol (about 0.5 µs a value).
KIND = {"賃貸": CaseKind.RENT.value, "売買": CaseKind.BUY.value}
ACTIVITY_KIND = {name: kind.value for name, kind in {
    "電話": ActivityKind.CALL, "メール送信": ActivityKind.EMAIL_OUT, "メール受信": ActivityKind.EMAIL_IN, "来店": ActivityKind.VISIT,
    "案内": ActivityKind.SHOWING, "来店予定": ActivityKind.VISIT_APPOINTMENT, "LINE": ActivityKind.LINE, "メモ": ActivityKind.NOTE,
}.items()}
METHOD = {name: method.value for name, method in {
    "メール": IntroductionMethod.EMAIL, "LINE": IntroductionMethod.LINE, "来店": IntroductionMethod.VISIT, "郵送": IntroductionMethod.POST}.items()}
REACTION = {name: reaction.value for name, reaction in {
    "興味あり": IntroductionReaction.INTERESTED, "検討中": IntroductionReaction.CONSIDERING, "見送り": IntroductionReaction.DECLINED}.items()}
GENDER = {"男性": "male", "女性": "female"}
FEATURES = frozenset(Feature.values)
LAYOUTS = frozenset(Layout.values)
MOVE_IN = frozenset(MoveIn.values)
WALK_CHOICES = list(WalkMinutes.values)
AGE_CHOICES = [value for value in BuildingAge.values if value > 0]
AUTO_MAIL_ON = "配信する"
OPEN_STATE = "未完了"
_MINUTES = re.compile(r"([0-9]+)\s*分")
_YEARS = re.compile(r"([0-9]+)\s*年")
ACT_WHEN, ACT_KIND, ACT_STAFF, ACT_SUBJECT, ACT_BODY, ACT_STATE = (
    files.COLUMNS[files.ACTIVITIES_FILE].index(column) for column in ("活動日時", "活動種別", "社員コード", "件名", "内容", "状態"))
# Dates repeat across a bundle's rows; the parsers are pure and their results immutable.
cached_parse_date = functools.lru_cache(maxsize=1 << 16)(parse_date)
cached_parse_datetime = functools.lru_cache(maxsize=1 << 16)(parse_datetime)
# Readings, postal codes and addresses repeat too (families, buildings, streets).
cached_reading = functools.lru_cache(maxsize=1 << 16)(normalize_reading)
cached_postal_code = functools.lru_cache(maxsize=1 << 14)(normalize_postal_code)
cached_split_prefecture = functools.lru_cache(maxsize=1 << 14)(split_prefecture)
_CITY = re.compile(r"^(.+?郡.+?[町村]|.+?市.+?区|.+?[市区町村])")


def clean(value: str) -> str:
    """Without NULs and surrounding spaces (str.strip() takes the full-width space U+3000 too)."""
    if not value:
        return ""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value.strip()


# Every bundle value that lands in a length-limited column: (file, column) -> (model, its column, what a
# longer value does). The limit is the model column's max_length. FAIL: the case fails with the reason
# `too_long:<file>:<column>` (ids and the customer's name: nothing could stand in for them); OTHER_INFO:
# the field stays empty and the whole value goes to the case's other information, with a review message
# (FORMAT.md promises free text there); BODY: the activity's subject goes into its body; RENAMED: the
# attachment is stored under a safe shorter name, the name as typed in the other information.
FAIL, OTHER_INFO, BODY, RENAMED = "fail", "other_info", "body", "renamed"
LENGTH_LIMITED = {
    (files.CASES_FILE, "追客番号"): ("crm.Case", "source_id", FAIL),
    (files.CASES_FILE, "顧客番号"): ("legacy.CaseOutcome", "customer_source_id", FAIL),
    (files.CASES_FILE, "初回反響媒体"): ("crm.Case", "first_inquiry_source", OTHER_INFO),
    (files.CASES_FILE, "初回反響物件番号"): ("crm.Case", "first_inquiry_listing_ref", OTHER_INFO),
    (files.CASES_FILE, "初回反響物件名"): ("crm.Case", "first_inquiry_listing_name", OTHER_INFO),
    (files.CUSTOMERS_FILE, "氏名"): ("crm.Customer", "name", FAIL),
    (files.CUSTOMERS_FILE, "氏名カナ"): ("crm.Customer", "kana", OTHER_INFO),
    (files.CUSTOMERS_FILE, "住所1"): ("crm.Customer", "street", OTHER_INFO),  # the street, or the city split off it (100)
    (files.CUSTOMERS_FILE, "住所2"): ("crm.Customer", "building", OTHER_INFO),
    (files.CUSTOMERS_FILE, "勤務先"): ("crm.Customer", "employer", OTHER_INFO),
    (files.CUSTOMERS_FILE, "電話番号"): ("crm.ContactPoint", "raw", OTHER_INFO),
    (files.CUSTOMERS_FILE, "携帯番号"): ("crm.ContactPoint", "raw", OTHER_INFO),
    (files.CUSTOMERS_FILE, "FAX"): ("crm.ContactPoint", "raw", OTHER_INFO),
    (files.CUSTOMERS_FILE, "メールアドレス"): ("crm.ContactPoint", "raw", OTHER_INFO),
    (files.CUSTOMERS_FILE, "携帯メール"): ("crm.ContactPoint", "raw", OTHER_INFO),
    (files.INTRODUCTIONS_FILE, "物件番号"): ("crm.Introduction", "listing_ref", OTHER_INFO),
    (files.INTRODUCTIONS_FILE, "物件名"): ("crm.Introduction", "listing_name", OTHER_INFO),
    (files.INTRODUCTIONS_FILE, "間取り"): ("crm.Introduction", "layout", OTHER_INFO),
    (files.ACTIVITIES_FILE, "件名"): ("crm.Activity", "subject", BODY),
    (files.ATTACHMENTS_FILE, "ファイル名"): ("crm.Attachment", "original_name", RENAMED),
}
TOO_LONG = "too_long"


@functools.cache
def column_length(model: str, column: str) -> int:
    from django.apps import apps

    return apps.get_model(model)._meta.get_field(column).max_length


def limit_of(file: str, column: str) -> int:
    """The longest value of a bundle column that its model column holds (LENGTH_LIMITED)."""
    model, model_column, _policy = LENGTH_LIMITED[(file, column)]
    return column_length(model, model_column)


# NFKC turns one character into at most 18 (U+FDFA): a text shorter than limit / 18 cannot have a key over the limit.
MAX_NFKC_EXPANSION = 18


def key_too_long(text: str, key, limit: int) -> bool:
    """Whether the matching key of `text` (name_key, reading_key) is longer than `limit`, computed only when it can be."""
    return len(text) * MAX_NFKC_EXPANSION > limit and len(key(text)) > limit


def too_long_reason(file: str, column: str) -> str:
    """The fail reason of a case whose value in `file`/`column` is too long (reports.reason_label reads it)."""
    return f"{TOO_LONG}:{file}:{column}"


_texts = threading.local()
_CATALOGS: dict[str, dict[str, str]] = {}


def _(message: str) -> str:
    """gettext, answered from a per-language cache inside `translated_texts` (a bulk conversion asks
    for the same few texts hundreds of thousands of times)."""
    catalog = getattr(_texts, "catalog", None)
    if catalog is None:
        return gettext(message)
    text = catalog.get(message)
    if text is None:
        text = catalog[message] = gettext(message)
    return text


@contextlib.contextmanager
def translated_texts(language: str):
    """Texts written into the data are in `language` inside the block, and cached."""
    with translation.override(language):
        previous = getattr(_texts, "catalog", None)
        _texts.catalog = _CATALOGS.setdefault(language, {})
        try:
            yield
        finally:
            _texts.catalog = previous


_TIMESTAMP = re.compile(r"([0-9]{4})/([0-9]{1,2})/([0-9]{1,2})[ ]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


def parse_timestamp(text: str) -> Result:
    """parse_datetime(text) (Japan time), with a fast path for the desktop app's own `YYYY/MM/DD HH:MM[:SS]`."""
    match = _TIMESTAMP.fullmatch(text)
    if match is not None:
        year, month, day, hour, minute, second = match.groups()
        try:
            return Result.ok(datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=TOKYO))
        except ValueError:
            pass
    return cached_parse_datetime(text)


def split_list(value: str) -> list[str]:
    """`a;b;;c` -> [a, b, c] (full-width ；too), duplicates removed, order kept."""
    parts = (clean(part) for part in clean(value).replace("；", ";").split(";"))
    return list(dict.fromkeys(part for part in parts if part))


def to_decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(unicodedata.normalize("NFKC", value).replace(",", "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def to_int(value: str) -> int | None:
    number = to_decimal(value)
    return int(number) if number is not None and number == number.to_integral_value() else None


# ---------------------------------------------------------------------------------------------
# The source


@dataclass
class Staff:
    code: str
    name: str
    email: str
    unit_code: str
    is_active: bool


class CaseRows(Sequence):
    """The rows of 追客.csv, kept as compact tuples; each item reads as (line, {column: value})."""

    def __init__(self, columns: tuple[str, ...], rows: list[tuple[int, tuple]]):
        self.columns = columns
        self.compact = rows

    def __len__(self) -> int:
        return len(self.compact)

    def __getitem__(self, index):
        columns = self.columns
        if isinstance(index, slice):
            return [(line, dict(zip(columns, values, strict=True))) for line, values in self.compact[index]]
        line, values = self.compact[index]
        return line, dict(zip(columns, values, strict=True))

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        columns = self.columns
        for line, values in self.compact:
            yield line, dict(zip(columns, values, strict=True))


class CustomerRows(Mapping):
    """The rows of 顧客.csv by 顧客番号 (the last row wins), kept compact; each reads as (line, {column: value})."""

    def __init__(self, columns: tuple[str, ...], rows: dict[str, tuple[int, tuple]]):
        self.columns = columns
        self.compact = rows

    def __getitem__(self, key: str) -> tuple[int, dict]:
        line, values = self.compact[key]
        return line, dict(zip(self.columns, values, strict=True))

    def __contains__(self, key) -> bool:
        return key in self.compact

    def __iter__(self):
        return iter(self.compact)

    def __len__(self) -> int:
        return len(self.compact)


# Positions of the columns in the rows of the per-case files (tuples in bundle.COLUMNS order).
ACT = {column: index for index, column in enumerate(files.COLUMNS[files.ACTIVITIES_FILE])}
COND = {column: index for index, column in enumerate(files.COLUMNS[files.CONDITIONS_FILE])}
INTRO = {column: index for index, column in enumerate(files.COLUMNS[files.INTRODUCTIONS_FILE])}
ATT = {column: index for index, column in enumerate(files.COLUMNS[files.ATTACHMENTS_FILE])}


@dataclass
class Source:
    """The bundle's rows; the files that hang off a case grouped by 追客番号 (stripped), in file order,
    each row a tuple of values in `bundle.COLUMNS` order (see ACT, COND, INTRO, ATT)."""

    cases: CaseRows
    customers: CustomerRows
    staff: dict[str, Staff]
    statuses: dict[str, str]  # status name -> category
    units: dict[str, tuple[str, str]]  # code -> (name, parent code)
    conditions: dict[str, list[tuple]] | None  # None once released (release_case_files)
    introductions: dict[str, list[tuple]] | None  # None once released (release_case_files)
    activities: dict[str, list[tuple]] | None  # None once released (release_case_files)
    attachments: dict[str, list[tuple]] | None  # None once released (release_case_files)
    row_counts: dict[str, int]
    declared_counts: dict[str, int]
    unknown_columns: dict[str, list[str]]
    customer_unknown_columns: list[str] = field(default_factory=list)
    members: frozenset[str] = frozenset()  # every file name in the ZIP

    @property
    def has_case_files(self) -> bool:
        return self.conditions is not None

    def release_case_files(self) -> None:
        """Let go of the rows of the per-case files (about half of the bundle's memory): the writing process
        does, once its converting process (a fork, with its own copy of the pages) reads them."""
        self.conditions = self.introductions = self.activities = self.attachments = None

    def case_keys(self) -> set[str]:
        key = self.cases.columns.index("追客番号")
        return {values[key].strip() for _line, values in self.cases.compact}

    def orphans(self, name: str, known: set[str] | None = None) -> int:
        """Rows of a per-case file whose 追客番号 is not in 追客.csv (dangling references)."""
        known = self.case_keys() if known is None else known
        grouped = {files.CONDITIONS_FILE: self.conditions, files.INTRODUCTIONS_FILE: self.introductions,
                   files.ACTIVITIES_FILE: self.activities, files.ATTACHMENTS_FILE: self.attachments}[name]
        return sum(len(rows) for key, rows in grouped.items() if key not in known)


def load_source(bundle: "files.Bundle") -> Source:
    """Every CSV member of the bundle, checked and grouped (raises ReadError when one is unreadable).

    One pass over each member; rows are kept as tuples whose short values are shared (a 100,000-case
    bundle holds about 1.5 million rows), and the cyclic garbage collector is paused meanwhile (it
    would scan the growing heap again and again for nothing: rows hold no cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_source(bundle)
    finally:
        if was_enabled:
            gc.enable()


def _load_source(bundle: "files.Bundle") -> Source:
    intern: dict[str, str] = {}
    members = {}
    row_counts = {}
    unknown_columns = {}

    def read(name: str) -> Iterator[tuple[int, tuple]]:
        member = bundle.member_rows(name, intern)
        members[name] = member
        if member.unknown_columns:
            unknown_columns[name] = member.unknown_columns
        count = 0
        for item in member.rows:
            count += 1
            yield item
        row_counts[name] = count

    def grouped(name: str) -> dict[str, list[tuple]]:
        groups: dict[str, list[tuple]] = {}
        for _line, values in read(name):
            key = values[0].strip()  # 追客番号 is the first column of every per-case file
            group = groups.get(key)
            if group is None:
                groups[key] = [values]
            else:
                group.append(values)
        return groups

    # The order in which the members are read decides which error a bad bundle reports: bundle.DATA_FILES.
    units = {clean(row[0]): (clean(row[1]), clean(row[2])) for _line, row in read(files.UNITS_FILE)}
    staff = {}
    for _line, row in read(files.STAFF_FILE):
        code = clean(row[0])
        staff[code] = Staff(code=code, name=normalize_name(clean(row[1])), email=clean(row[2]), unit_code=clean(row[3]), is_active=clean(row[4]) != "退職")
    statuses = {clean(row[0]): clean(row[1]) for _line, row in read(files.STATUSES_FILE)}
    customers = {clean(values[0]): (line, values) for line, values in read(files.CUSTOMERS_FILE)}
    cases = list(read(files.CASES_FILE))
    conditions = grouped(files.CONDITIONS_FILE)
    introductions = grouped(files.INTRODUCTIONS_FILE)
    activities = grouped(files.ACTIVITIES_FILE)
    attachments = grouped(files.ATTACHMENTS_FILE)
    return Source(
        cases=CaseRows(members[files.CASES_FILE].columns, cases),
        customers=CustomerRows(members[files.CUSTOMERS_FILE].columns, customers),
        staff=staff,
        statuses=statuses,
        units=units,
        conditions=conditions,
        introductions=introductions,
        activities=activities,
        attachments=attachments,
        row_counts=row_counts,
        declared_counts=bundle.declared_counts(),
        unknown_columns=unknown_columns,
        customer_unknown_columns=members[files.CUSTOMERS_FILE].unknown_columns,
        members=frozenset(bundle.members),
    )


# ---------------------------------------------------------------------------------------------
# The target


@dataclass
class Target:
    """The receiving company as plain data."""

    users_by_email: dict[str, int]  # lower-case e-mail of an active user -> user id
    user_names: dict[int, str]
    primary_units: dict[int, int]  # user id -> primary unit id
    member_units: dict[int, set[int]]  # user id -> every unit the user is a member of
    unit_paths: dict[int, str]  # unit id -> materialized path (/1/4/9/)
    unit_names: dict[int, str]
    root_unit_id: int  # the unit chosen for the migration
    ranks: dict[str, int]
    sub_statuses: dict[tuple[str, str], int]  # (status, name) -> id
    tags: dict[str, int]
    staff_map: dict[str, str] = field(default_factory=dict)  # 社員コード -> e-mail (overrides 社員.csv)
    fallback_user_id: int | None = None
    region: str = "JP"
    since: date | None = None  # cases started before it are skipped

    def in_subtree(self, unit_id: int) -> bool:
        root = self.unit_paths.get(self.root_unit_id)
        return bool(root) and self.unit_paths.get(unit_id, "").startswith(root)

    def can_reach(self, user_id: int, unit_id: int) -> bool:
        """A member of the unit or of a unit above it (DESIGN.md's agent access rule)."""
        path = self.unit_paths.get(unit_id, "")
        return any(self.unit_paths.get(member_unit, "\0") and path.startswith(self.unit_paths[member_unit])
                   for member_unit in self.member_units.get(user_id, ()))


# ---------------------------------------------------------------------------------------------
# Records


@dataclass
class PointRecord:
    kind: str
    raw: str
    normalized: str
    invalid_reason: str


@dataclass
class CustomerRecord:
    source_id: str
    name: str
    kana: str
    gender: str
    birth_date: date | None
    postal_code: str
    prefecture: str
    city: str
    street: str
    building: str
    employer: str
    annual_income: int | None
    household_size: int | None
    points: list[PointRecord]
    other_info: list[str]  # lines for the other-information text of each of its cases
    review_messages: list[str]


@dataclass
class ActivityRecord:
    kind: str
    occurred_at: datetime
    actor_id: int | None
    subject: str
    body: str
    is_done: bool
    is_appointment_open: bool


@dataclass
class IntroductionRecord:
    listing_ref: str
    listing_name: str
    rent_or_price: Decimal | None
    layout: str
    introduced_on: date | None
    method: str
    reaction: str


@dataclass
class AttachmentRecord:
    original_name: str
    member: str  # path inside the ZIP
    uploaded_at: datetime | None
    stored_name: str = "file"  # the file's name in storage (safe_file_name)


# Longest stored file name in UTF-8 bytes: file systems hold 255 bytes a name, and the storage may add
# `_` and 7 characters to make it unique.
MAX_FILE_NAME_BYTES = 200
_RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{digit}" for digit in range(10)), *(f"lpt{digit}" for digit in range(10))})
_UNSAFE_CHARACTERS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_file_name(name: str) -> str:
    """A name the attachment can be stored under whatever the desktop app recorded: no folders, no
    control or reserved characters, not `.`/`..`/empty or a device name (CON, NUL...), at most
    MAX_FILE_NAME_BYTES in UTF-8 (shortened before its extension). Pure; the dry run, the pre-flight and
    the run all call it, so they agree."""
    base = re.split(r"[/\\]", name)[-1]
    base = _UNSAFE_CHARACTERS.sub("_", unicodedata.normalize("NFC", base)).strip(" .")
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    if not stem or stem.split(".")[0].casefold() in _RESERVED_NAMES:
        stem = f"file_{stem}" if stem else "file"
    extension = extension[:16]
    suffix = f".{extension}" if extension else ""
    room = MAX_FILE_NAME_BYTES - len(suffix.encode("utf-8"))
    while len(stem.encode("utf-8")) > room:
        stem = stem[:-1]
    return stem + suffix


@dataclass
class CaseRecord:
    row_number: int
    source_id: str
    customer_source_id: str
    started_on: date | None = None
    skip_reason: str = ""
    fail_reason: str = ""
    kind: str = CaseKind.RENT.value
    status: str = ""
    sub_status_id: int | None = None
    rank_id: int | None = None
    tag_ids: list[int] = field(default_factory=list)
    owning_org_id: int | None = None
    main_assignee_id: int | None = None
    sub_assignee_ids: list[int] = field(default_factory=list)
    first_inquiry_date: date | None = None
    first_inquiry_source: str = ""
    first_inquiry_listing_ref: str = ""
    first_inquiry_listing_name: str = ""
    desired: dict = field(default_factory=dict)
    activities: list[ActivityRecord] = field(default_factory=list)
    introductions: list[IntroductionRecord] = field(default_factory=list)
    attachments: list[AttachmentRecord] = field(default_factory=list)
    memo: str = ""
    memo_at: datetime | None = None
    other_info_lines: list[str] = field(default_factory=list)
    review_messages: list[str] = field(default_factory=list)
    customer: CustomerRecord | None = None
    auto_mail_was_on: bool = False
    walk_source: int | None = None
    age_source: int | None = None
    rows_used: tuple[int, ...] = ()  # rows of 希望条件, 紹介物件, 活動履歴, 添付ファイル that belong to the case

    @property
    def is_migratable(self) -> bool:
        return not (self.skip_reason or self.fail_reason)

    @property
    def other_info(self) -> str:
        return "\n".join(self.other_info_lines)

    @property
    def needs_review(self) -> bool:
        return bool(self.review_messages)


def line(label: str, value) -> str:
    return f"{label}: {value}"


# ---------------------------------------------------------------------------------------------
# The rules


class Converter:
    """Applies the migration rules to one case at a time; customers are converted once and shared."""

    def __init__(self, source: Source, target: Target):
        self.source = source
        self.target = target
        self._customers: dict[str, CustomerRecord] = {}
        self._users: dict[str, int | None] = {}  # 社員コード as typed -> user (source and target do not change)
        self.limits = {key: limit_of(*key) for key in LENGTH_LIMITED}  # (file, column) -> max length
        self._long_names: dict[str, bool] = {}  # 顧客番号 -> customer_name_is_too_long

    # -- staff (rule 3) ---------------------------------------------------------------------------
    def user_for_staff(self, code: str) -> int | None:
        try:
            return self._users[code]
        except KeyError:
            user = self._users[code] = self._user_for_staff(code)
            return user

    def _user_for_staff(self, code: str) -> int | None:
        code = clean(code)
        if not code:
            return None
        email = self.target.staff_map.get(code)
        if email is None:
            staff = self.source.staff.get(code)
            email = staff.email if staff else ""
        normalized = normalize_email(email) if email else None
        if normalized is None or not normalized.is_valid:
            return None
        return self.target.users_by_email.get(normalized.value)

    def customer_name_is_too_long(self, source_id: str) -> bool:
        """Whether the customer's name (or its matching key) is longer than Customer.name: its cases fail."""
        try:
            return self._long_names[source_id]
        except KeyError:
            name = customer_name(source_id, self.source.customers[source_id][1])
            limit = self.limits[files.CUSTOMERS_FILE, "氏名"]
            is_too_long = self._long_names[source_id] = len(name) > limit or key_too_long(name, name_key, limit)
            return is_too_long

    def staff_label(self, code: str) -> str:
        staff = self.source.staff.get(clean(code))
        return f"{staff.name} ({staff.code})" if staff and staff.name else clean(code)

    def category_of(self, row: dict) -> str | None:
        return self.source.statuses.get(clean(row["追客ステータス"]))

    # -- one case ---------------------------------------------------------------------------------
    def screen(self, row_number: int, row: dict) -> CaseRecord:
        """The case with only its skip/fail decision (rules 1, 2, 3, 12 and the start date): cheap."""
        record = CaseRecord(row_number=row_number, source_id=clean(row["追客番号"]), customer_source_id=clean(row["顧客番号"]))
        for column, value in (("追客番号", record.source_id), ("顧客番号", record.customer_source_id)):
            if len(value) > self.limits[files.CASES_FILE, column]:
                record.fail_reason = too_long_reason(files.CASES_FILE, column)
                return record
        started = cached_parse_date(clean(row["追客開始日"])) if clean(row["追客開始日"]) else None
        record.started_on = started.value if started is not None and started.is_valid else None
        category = self.category_of(row)
        if category is None:
            record.fail_reason = FailReason.STATUS_UNKNOWN
            return record
        if category not in ELIGIBLE_CATEGORIES:
            record.skip_reason = SkipReason.NOT_ELIGIBLE_STATUS
            return record
        if self.target.since is not None and (record.started_on is None or record.started_on < self.target.since):
            record.skip_reason = SkipReason.BEFORE_START_DATE
            return record
        if record.customer_source_id not in self.source.customers:
            record.skip_reason = SkipReason.CUSTOMER_MISSING
            return record
        if self.customer_name_is_too_long(record.customer_source_id):
            record.fail_reason = too_long_reason(files.CUSTOMERS_FILE, "氏名")
            return record
        main = self.user_for_staff(row["主担当"])
        if main is None:
            main = self.target.fallback_user_id
            if main is None:
                record.skip_reason = SkipReason.MAIN_ASSIGNEE_UNMAPPED
                return record
            record.other_info_lines.append(line(_("Main assignee in the desktop app (not matched to a user)"), self.staff_label(row["主担当"]) or "-"))
        unit = self.target.primary_units.get(main)
        if unit is None:
            record.fail_reason = FailReason.ASSIGNEE_WITHOUT_UNIT
            return record
        if not self.target.in_subtree(unit):
            record.skip_reason = SkipReason.OUTSIDE_ORG
            return record
        record.main_assignee_id = main
        record.owning_org_id = unit
        return record

    def convert(self, row_number: int, row: dict) -> CaseRecord:
        """The full record of a case (rules 1-12); when it is not migratable, only the reason."""
        record = self.screen(row_number, row)
        if not record.is_migratable:
            return record
        lines = record.other_info_lines
        review = record.review_messages
        lines.insert(0, line(_("Follow-up number in the desktop app"), record.source_id))
        category = self.category_of(row)
        record.kind = KIND.get(clean(row["種別"]), CaseKind.RENT.value)
        if clean(row["種別"]) not in KIND:
            lines.append(line(_("Kind in the desktop app"), clean(row["種別"]) or "-"))
        # Rule 7: status and sub-status.
        record.status = category
        status_name = clean(row["追客ステータス"])
        record.sub_status_id = self.target.sub_statuses.get((category, status_name))
        if record.sub_status_id is None:
            lines.append(line(_("Status in the desktop app (not a registered sub-status)"), status_name))
        if clean(row["追客開始日"]) and record.started_on is None:
            lines.append(line(_("Start date as typed"), clean(row["追客開始日"])))
            review.append(_("The start date “%(value)s” could not be read; it is in the other information.") % {"value": clean(row["追客開始日"])})
        # Rule 8: rank and tags.
        rank = clean(row["ランク"])
        if rank:
            record.rank_id = self.target.ranks.get(rank)
            if record.rank_id is None:
                lines.append(line(_("Rank (not registered)"), rank))
        tags = split_list(row["タグ"])
        registered = [name for name in tags if name in self.target.tags]
        record.tag_ids = [self.target.tags[name] for name in registered[:MAX_TAGS_PER_CASE]]
        unregistered = [name for name in tags if name not in self.target.tags]
        if unregistered:
            lines.append(line(_("Tags (not registered)"), ", ".join(unregistered)))
        if len(registered) > MAX_TAGS_PER_CASE:
            lines.append(line(_("Tags (more than 10)"), ", ".join(registered[MAX_TAGS_PER_CASE:])))
        self.assign_sub_assignees(record, row)
        # Rule 6: automatic listing mails are switched off.
        record.auto_mail_was_on = clean(row["物件自動紹介メール"]) == AUTO_MAIL_ON
        # Rule 10: first inquiry.
        inquiry = clean(row["初回反響日"])
        if inquiry:
            parsed = cached_parse_date(inquiry)
            if parsed.is_valid:
                record.first_inquiry_date = parsed.value
            else:
                lines.append(line(_("First inquiry date as typed"), inquiry))
                review.append(_("The first inquiry date “%(value)s” could not be read; it is in the other information.") % {"value": inquiry})
        for column, attribute in (("初回反響媒体", "first_inquiry_source"), ("初回反響物件番号", "first_inquiry_listing_ref"),
                                  ("初回反響物件名", "first_inquiry_listing_name")):
            value = clean(row[column])
            if len(value) > self.limits[files.CASES_FILE, column]:
                # Left empty: the value is in the other information (the listing's line below, or this one).
                review.append(too_long_message(column, self.limits[files.CASES_FILE, column]))
                if column == "初回反響媒体":
                    lines.append(line(column, value))
                continue
            setattr(record, attribute, value)
        listing = " ".join(part for part in (clean(row["初回反響物件番号"]), clean(row["初回反響物件名"])) if part)
        if listing:
            lines.append(line(_("First inquiry listing"), listing))
        # Rule 9: desired conditions.
        self.convert_conditions(record)
        # Rule 11: history, memo, attachments; rule 12: the customer.
        self.convert_activities(record)
        self.convert_introductions(record)
        self.convert_attachments(record)
        record.memo = (row["追客メモ"] or "").replace("\x00", "").strip()
        updated = parse_timestamp(clean(row["最終更新日時"])) if clean(row["最終更新日時"]) else None
        record.memo_at = updated.value if updated is not None and updated.is_valid else None
        for column in self.source.unknown_columns.get(files.CASES_FILE, []):
            if clean(row.get(column, "")):
                lines.append(line(column, clean(row[column])))
        customer = self.customer(record.customer_source_id)
        record.customer = customer
        lines.extend(customer.other_info)
        review.extend(customer.review_messages)
        if record.auto_mail_was_on:
            record.desired["management_comment"] = "\n".join(
                part for part in (record.desired.get("management_comment", ""), auto_mail_line()) if part)
        return record

    def assign_sub_assignees(self, record: CaseRecord, row: dict) -> None:
        """Rules 3-5: mapped sub-assignees (first 19, main excluded), the rest named; access checked."""
        mapped: list[int] = []
        unmapped: list[str] = []
        for code in split_list(row["副担当"]):
            user = self.user_for_staff(code)
            if user is None:
                unmapped.append(self.staff_label(code))
            elif user != record.main_assignee_id and user not in mapped:
                mapped.append(user)
        record.sub_assignee_ids = mapped[:MAX_SUB_ASSIGNEES_PER_CASE]
        if unmapped:
            record.other_info_lines.append(line(_("Sub-assignees (not matched to a user)"), ", ".join(unmapped)))
        if len(mapped) > MAX_SUB_ASSIGNEES_PER_CASE:
            names = [self.target.user_names.get(user, str(user)) for user in mapped[MAX_SUB_ASSIGNEES_PER_CASE:]]
            record.other_info_lines.append(line(_("Sub-assignees (more than 19)"), ", ".join(names)))
        unit_name = self.target.unit_names.get(record.owning_org_id, "")
        for user in record.sub_assignee_ids:
            if not self.target.can_reach(user, record.owning_org_id):
                record.review_messages.append(_(
                    "Sub-assignee %(name)s is not a member of %(unit)s or a unit above it and may not see this case: "
                    "add them to %(unit)s, or remove them from the case.") % {"name": self.target.user_names.get(user, user), "unit": unit_name})

    def convert_conditions(self, record: CaseRecord) -> None:
        desired: dict = {"layouts": [], "lines_stations": [], "areas": [], "features": []}
        comments: list[str] = []
        lines = record.other_info_lines
        legacy_flags: list[str] = []
        item_at, value_at = COND["条件項目"], COND["条件値"]
        for condition in self.source.conditions.get(record.source_id, ()):
            item, value = clean(condition[item_at]), clean(condition[value_at])
            if not value and item != "管理用コメント":
                continue
            if not self.apply_condition(record, desired, comments, legacy_flags, item, value, condition[value_at]):
                lines.append(line(_("Desired condition (not available here)"), f"{item} = {value}"))
        if legacy_flags:
            lines.append(line(_("Feature flags (not available here)"), ", ".join(legacy_flags)))
        for low, high in (("rent_min", "rent_max"), ("price_min", "price_max"), ("area_min", "area_max")):
            if desired.get(low) is not None and desired.get(high) is not None and desired[low] > desired[high]:
                desired[low], desired[high] = desired[high], desired[low]
                record.review_messages.append(_("The lower and upper limits of a desired condition were swapped; check them."))
        if comments:
            desired["management_comment"] = "\n".join(comments)
        record.desired = desired

    def apply_condition(self, record, desired, comments, legacy_flags, item: str, value: str, raw: str) -> bool:
        """Map one 希望条件 row; False when it has no place here (it then goes to the other information)."""
        normalized = unicodedata.normalize("NFKC", value)
        numbers = {"賃料下限": ("rent_min", to_decimal), "賃料上限": ("rent_max", to_decimal), "価格下限": ("price_min", to_int),
                   "価格上限": ("price_max", to_int), "専有面積下限": ("area_min", to_decimal), "専有面積上限": ("area_max", to_decimal),
                   "土地面積下限": ("land_area_min", to_decimal)}
        if item in numbers:
            name, parse = numbers[item]
            number = parse(value)
            if number is None or (isinstance(number, Decimal) and number >= Decimal("1000000")):
                return False
            if name.startswith("rent"):
                number = number.quantize(Decimal("0.1"))
            elif isinstance(number, Decimal):
                number = number.quantize(Decimal("0.01"))
            desired[name] = number
            return True
        if item == "管理費込み":
            if value not in ("含む", "含まない"):
                return False
            desired["includes_management_fee"] = value == "含む"
            return True
        if item == "間取り":
            if normalized not in LAYOUTS and value not in LAYOUTS:
                return False
            layout = value if value in LAYOUTS else normalized
            if layout not in desired["layouts"]:
                desired["layouts"].append(layout)
            return True
        if item == "駅徒歩":
            match = _MINUTES.search(normalized)
            if not match:
                return False
            minutes = int(match.group(1))
            desired["walk_minutes"] = nearest_choice_at_least(minutes, WALK_CHOICES)
            record.walk_source = minutes
            if desired["walk_minutes"] != minutes:
                record.other_info_lines.append(line(_("Walk to station in the desktop app"), value))
            return True
        if item == "築年数":
            if normalized == "新築":
                desired["building_age"] = BuildingAge.NEW.value
                record.age_source = 0
                return True
            match = _YEARS.search(normalized)
            if not match:
                return False
            years = int(match.group(1))
            desired["building_age"] = nearest_choice_at_least(years, AGE_CHOICES)
            record.age_source = years
            if desired["building_age"] != years:
                record.other_info_lines.append(line(_("Building age in the desktop app"), value))
            return True
        if item == "沿線駅":
            line_name, _separator, station = value.partition("/")
            entry = {"line": line_name.strip(), "station": station.strip()}
            if entry not in desired["lines_stations"]:
                desired["lines_stations"].append(entry)
            return True
        if item == "エリア":
            if value not in desired["areas"]:
                desired["areas"].append(value)
            return True
        if item == "入居時期":
            if value not in MOVE_IN:
                return False
            desired["move_in"] = value
            return True
        if item == "こだわり":
            if value in FEATURES:
                if value not in desired["features"]:
                    desired["features"].append(value)
            elif value not in legacy_flags:
                legacy_flags.append(value)
            return True
        if item == "管理用コメント":
            text = (raw or "").replace("\x00", "").strip()
            if text:
                comments.append(text)
            return True
        return False

    def convert_activities(self, record: CaseRecord) -> None:
        latest_open: ActivityRecord | None = None
        for row in self.source.activities.get(record.source_id, ()):
            kind_name = clean(row[ACT_KIND])
            kind = ACTIVITY_KIND.get(kind_name, ActivityKind.NOTE.value)
            when = parse_timestamp(clean(row[ACT_WHEN]))
            body = (row[ACT_BODY] or "").replace("\x00", "").strip()
            subject = clean(row[ACT_SUBJECT])
            if kind_name not in ACTIVITY_KIND:
                subject = f"{kind_name} {subject}".strip()
            staff_code = clean(row[ACT_STAFF])
            actor = self.user_for_staff(staff_code)
            if staff_code and actor is None:
                body = "\n".join(part for part in (body, line(_("Staff in the desktop app"), self.staff_label(staff_code))) if part)
            occurred_at = when.value if when.is_valid else None
            if occurred_at is None:
                body = "\n".join(part for part in (body, line(_("Date as typed"), clean(row[ACT_WHEN]))) if part)
                occurred_at = datetime.combine(record.started_on or date(2000, 1, 1), datetime.min.time()).replace(
                    tzinfo=parse_datetime("2000/01/01").value.tzinfo)
            is_open = kind == ActivityKind.VISIT_APPOINTMENT and clean(row[ACT_STATE]) == OPEN_STATE
            if len(subject) > self.limits[files.ACTIVITIES_FILE, "件名"]:
                # The whole subject goes first into the body (a text without a limit), the subject stays empty.
                body = "\n".join(part for part in (line(_("Subject"), subject), body) if part)
                subject = ""
            activity = ActivityRecord(kind=kind, occurred_at=occurred_at, actor_id=actor, subject=subject, body=body,
                                      is_done=not is_open, is_appointment_open=is_open)
            record.activities.append(activity)
            if is_open and (latest_open is None or activity.occurred_at > latest_open.occurred_at):
                latest_open = activity
        if latest_open is not None:
            when = latest_open.occurred_at.strftime("%Y/%m/%d %H:%M")
            record.other_info_lines.append(line(_("Visit appointment"), " ".join(part for part in (when, latest_open.subject) if part)))

    def convert_introductions(self, record: CaseRecord) -> None:
        for values in self.source.introductions.get(record.source_id, ()):
            row = dict(zip(INTRO, values, strict=False))
            introduced = cached_parse_date(clean(row["紹介日"])) if clean(row["紹介日"]) else None
            too_long = [column for column in ("物件番号", "物件名", "間取り")
                        if len(clean(row[column])) > self.limits[files.INTRODUCTIONS_FILE, column]]
            if too_long:
                # Not an introduction: the whole row goes to the other information.
                record.other_info_lines.append(line(_("Introduced listing"), " ".join(
                    clean(row[column]) for column in ("物件番号", "物件名", "賃料・価格", "間取り", "紹介日", "紹介方法", "反応") if clean(row[column]))))
                record.review_messages.extend(too_long_message(column, self.limits[files.INTRODUCTIONS_FILE, column]) for column in too_long)
                continue
            record.introductions.append(IntroductionRecord(
                listing_ref=clean(row["物件番号"]), listing_name=clean(row["物件名"]) or clean(row["物件番号"]),
                rent_or_price=to_decimal(row["賃料・価格"]) if clean(row["賃料・価格"]) else None, layout=clean(row["間取り"]),
                introduced_on=introduced.value if introduced is not None and introduced.is_valid else None,
                method=METHOD.get(clean(row["紹介方法"]), ""), reaction=REACTION.get(clean(row["反応"]), ""),
            ))

    def convert_attachments(self, record: CaseRecord) -> None:
        for values in self.source.attachments.get(record.source_id, ()):
            row = dict(zip(ATT, values, strict=False))
            uploaded = parse_datetime(clean(row["登録日時"])) if clean(row["登録日時"]) else None
            member = clean(row["格納パス"]).replace("\\", "/")
            name = clean(row["ファイル名"]) or member.rsplit("/", 1)[-1] or "file"
            if not member.startswith(files.ATTACHMENT_FOLDER) or member not in self.source.members or files.is_unsafe_path(member):
                record.other_info_lines.append(line(_("Attachment missing from the bundle"), f"{name} ({member})"))
                record.review_messages.append(_("The attachment “%(name)s” is not in the bundle.") % {"name": name})
                continue
            stored_name = safe_file_name(name)
            original_name = name
            if len(name) > self.limits[files.ATTACHMENTS_FILE, "ファイル名"]:
                original_name = stored_name
            if stored_name != name:
                record.other_info_lines.append(line(_("Attachment name in the desktop app"), f"{name} ({member})"))
                record.review_messages.append(_("The attachment “%(name)s” cannot be stored under that name; it was stored as “%(stored)s”.")
                                              % {"name": name, "stored": stored_name})
            record.attachments.append(AttachmentRecord(original_name=original_name, member=member, stored_name=stored_name,
                                                       uploaded_at=uploaded.value if uploaded is not None and uploaded.is_valid else None))

    # -- the customer (rule 12) -------------------------------------------------------------------
    def customer(self, source_id: str) -> CustomerRecord:
        if source_id not in self._customers:
            self._customers[source_id] = self.convert_customer(source_id, self.source.customers[source_id][1])
        return self._customers[source_id]

    def forget_customer(self, source_id: str) -> None:
        """Keep of a converted customer only what each of its cases takes (other information, review
        messages): its rows were written, a long run need not hold them."""
        full = self._customers.get(source_id)
        if full is not None and full.points is not None:
            self._customers[source_id] = CustomerRecord(
                source_id=source_id, name="", kana="", gender="", birth_date=None, postal_code="", prefecture="", city="", street="",
                building="", employer="", annual_income=None, household_size=None, points=None, other_info=full.other_info,
                review_messages=full.review_messages)

    def convert_customer(self, source_id: str, row: dict) -> CustomerRecord:
        lines: list[str] = []
        review: list[str] = []

        def not_normalized(label: str, value: str, reason: str) -> None:
            review.append(_("%(field)s “%(value)s” of the customer could not be normalized and was kept as typed: %(reason)s")
                          % {"field": label, "value": value, "reason": _(MESSAGES.get(reason, reason))})

        def limit(column: str) -> int:
            return self.limits[files.CUSTOMERS_FILE, column]

        def too_long(column: str, value: str) -> None:
            lines.append(line(column, value))
            review.append(too_long_message(column, limit(column)))

        name = customer_name(source_id, row)  # not too long: `screen` failed the cases of such a customer
        kana = ""
        raw_kana = clean(row["氏名カナ"])
        if raw_kana:
            reading = cached_reading(raw_kana)
            kana = reading.value if reading.is_valid else raw_kana
            if not reading.is_valid:
                not_normalized(_("The reading"), raw_kana, reading.reason)
            if len(kana) > limit("氏名カナ") or key_too_long(kana, reading_key, limit("氏名カナ")):
                too_long("氏名カナ", raw_kana)
                kana = ""
        birth = None
        raw_birth = clean(row["生年月日"])
        if raw_birth:
            parsed = cached_parse_date(raw_birth)
            if parsed.is_valid:
                birth = parsed.value
            else:
                lines.append(line(_("Birth date as typed"), raw_birth))
                not_normalized(_("The birth date"), raw_birth, parsed.reason)
        postal = ""
        raw_postal = clean(row["郵便番号"])
        if raw_postal:
            parsed = cached_postal_code(raw_postal)
            if parsed.is_valid:
                postal = parsed.value
            else:
                lines.append(line(_("Postal code as typed"), raw_postal))
                not_normalized(_("The postal code"), raw_postal, parsed.reason)
        prefecture, rest = cached_split_prefecture(unicodedata.normalize("NFKC", clean(row["住所1"])))
        city_match = _CITY.match(rest)
        city = city_match.group(1) if city_match and prefecture else ""
        street = rest[len(city):] if city else rest
        if len(city) > column_length("crm.Customer", "city") or len(street) > column_length("crm.Customer", "street"):
            too_long("住所1", clean(row["住所1"]))
            prefecture = city = street = ""
        building, employer = clean(row["住所2"]), clean(row["勤務先"])
        if len(building) > limit("住所2"):
            too_long("住所2", building)
            building = ""
        if len(employer) > limit("勤務先"):
            too_long("勤務先", employer)
            employer = ""
        points: list[PointRecord] = []
        for column, kind in (("電話番号", ContactPointKind.PHONE.value), ("携帯番号", ContactPointKind.MOBILE.value), ("FAX", ContactPointKind.FAX.value),
                             ("メールアドレス", ContactPointKind.EMAIL.value), ("携帯メール", ContactPointKind.EMAIL.value)):
            raw = clean(row[column])
            if not raw:
                continue
            if len(raw) > limit(column):
                too_long(column, raw)
                continue
            result = normalize_email(raw) if kind == ContactPointKind.EMAIL else normalize_phone(raw, self.target.region)
            points.append(PointRecord(kind=kind, raw=raw, normalized=result.value if result.is_valid else "",
                                      invalid_reason="" if result.is_valid else result.reason))
            if not result.is_valid:
                not_normalized(column, raw, result.reason)
        numbers = {}
        for column in ("年収", "家族人数"):
            raw = clean(row[column])
            numbers[column] = to_int(raw) if raw else None
            if raw and (numbers[column] is None or numbers[column] > 2_000_000_000 or (column == "家族人数" and numbers[column] > 32767)):
                numbers[column] = None
                lines.append(line(column, raw))
                review.append(_("%(field)s “%(value)s” of the customer is not a whole number; it is in the other information.")
                              % {"field": column, "value": raw})
        gender_raw = clean(row["性別"])
        if gender_raw and gender_raw not in GENDER:
            lines.append(line(_("Gender as typed"), gender_raw))
        layout = clean(row["現在の住居間取り"])
        if layout:
            lines.append(line(_("Current home's layout"), layout))
        registered = clean(row["登録日時"])
        if registered:
            lines.append(line(_("Customer registered in the desktop app"), registered))
        for column in self.source.customer_unknown_columns:
            if clean(row.get(column, "")):
                lines.append(line(column, clean(row[column])))
        return CustomerRecord(
            source_id=source_id, name=name, kana=kana, gender=GENDER.get(gender_raw, ""), birth_date=birth,
            postal_code=postal, prefecture=prefecture, city=city, street=street, building=building,
            employer=employer, annual_income=numbers["年収"], household_size=numbers["家族人数"], points=points,
            other_info=lines, review_messages=review,
        )


def customer_name(source_id: str, row: dict) -> str:
    """The customer's name as stored: normalized, or the 顧客番号 when the name is empty."""
    return normalize_name(clean(row["氏名"])) or source_id


def too_long_message(column: str, limit: int) -> str:
    return _("%(field)s is longer than %(max_length)d characters; it is in the other information.") % {"field": column, "max_length": limit}


def auto_mail_line() -> str:
    """The fixed line added to the management comment when automatic listing mails were on (rule 6)."""
    return _("Automatic listing mails were on in the desktop app; the migration switched them off.")
