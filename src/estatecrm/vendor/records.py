"""The canonical records a profile makes of a vendor's package (profiles.extract), whatever the vendor.

Pure data: no database. Values are already read (dates, money as Decimal in the package's currency,
phones raw: the writer normalizes them with the package's region). A value that could not be read is
a `Problem` (a failure unless `is_failure` is False) and the field stays empty; a source value with no
field of its own goes to `extra` (column -> text), which the writer keeps (listing notes, the case's
other-information text, the activity body) so that nothing is dropped.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(slots=True)
class Problem:
    field: str
    code: str  # vendor.choices.FailReason for failures; a free code for warnings
    value: str = ""
    is_failure: bool = True


@dataclass(slots=True)
class Record:
    key: str  # the vendor's id of the record (an agent: its e-mail, or the vendor's user id)
    file: str  # the package member it comes from
    row: int  # its line in that file (header = 1), or its place in a JSON list (1 = first)
    cells: dict[str, str]  # the source values as read, column -> text (the verification shows them)
    problems: list[Problem] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.is_failure]


@dataclass(slots=True)
class AgentRecord(Record):
    email: str = ""
    name: str = ""
    unit: str = ""  # a unit's code or name in the receiving company; "" = none given


@dataclass(slots=True)
class ListingRecord(Record):
    title: str = ""
    kind: str = "rent"  # rent | sale
    is_active: bool = True
    amount: Decimal | None = None  # monthly rent or sale price, in the package's currency
    postal_code: str = ""
    prefecture: str = ""
    city: str = ""
    street: str = ""  # the rest of the address
    layout: str = ""  # a crm.choices.Layout value, or "" (the source's word then goes to extra)
    area_m2: Decimal | None = None
    station: str = ""
    walk_minutes: int | None = None
    built_year: int | None = None
    agent_key: str = ""
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None


@dataclass(slots=True)
class SeekerRecord(Record):
    name: str = ""
    kana: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # raw, in the package's region
    kind: str = "rent"  # rent | buy
    is_active: bool = True
    status_text: str = ""  # the source's own status words (kept in the case's other information)
    budget_min: Decimal | None = None  # in the package's currency (monthly for rent)
    budget_max: Decimal | None = None
    areas: list[str] = field(default_factory=list)
    layouts: list[str] = field(default_factory=list)  # crm.choices.Layout values
    postal_code: str = ""
    prefecture: str = ""
    city: str = ""
    street: str = ""
    employer: str = ""
    agent_key: str = ""
    created_at: datetime.datetime | None = None


@dataclass(slots=True)
class ActivityRecord(Record):
    seeker_key: str = ""
    listing_key: str = ""
    kind: str = "note"  # call | mail | visit | note
    at: datetime.datetime | None = None
    subject: str = ""
    text: str = ""
    agent_key: str = ""


@dataclass(slots=True)
class LinkRecord(Record):
    seeker_key: str = ""
    listing_key: str = ""
    kind: str = "introduced"  # introduced | viewed | offered
    at: datetime.datetime | None = None


@dataclass
class CheckReport:
    """What check-profile reports before anything is loaded (also the import's pre-flight)."""

    files: dict[str, str] = field(default_factory=dict)  # package member -> entity (or a profile's helper table)
    unknown_files: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)  # required by the profile, not in the package
    unknown_columns: dict[str, list[str]] = field(default_factory=dict)  # member -> columns no field reads
    missing_columns: dict[str, list[str]] = field(default_factory=dict)  # member -> columns the profile needs
    unknown_values: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # member -> column -> value -> count
    problems: dict[str, int] = field(default_factory=dict)  # "<entity>:<field>:<code>" -> count
    counts: dict[str, int] = field(default_factory=dict)  # entity -> records

    @property
    def is_loadable(self) -> bool:
        """Missing files or columns stop a load; unknown ones and unknown values are reported only."""
        return not self.missing_files and not any(self.missing_columns.values())

    def as_json(self) -> dict:
        return {
            "files": self.files, "unknown_files": self.unknown_files, "missing_files": self.missing_files,
            "unknown_columns": self.unknown_columns, "missing_columns": self.missing_columns,
            "unknown_values": self.unknown_values, "problems": self.problems, "counts": self.counts,
            "loadable": self.is_loadable,
        }


@dataclass
class Extracted:
    """A package read through a profile: the manifest's facts and the records of every entity, in file order."""

    vendor: str
    region: str  # ISO 3166 (phones, addresses)
    currency: str  # ISO 4217 (money fields)
    exported_at: datetime.datetime | None
    agents: list[AgentRecord]
    listings: list[ListingRecord]
    seekers: list[SeekerRecord]
    activities: list[ActivityRecord]
    links: list[LinkRecord]
    check: CheckReport

    def records(self, entity: str) -> list:
        return getattr(self, entity)
