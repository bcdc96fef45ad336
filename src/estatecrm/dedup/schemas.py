"""Request and response shapes of the 名寄せ API (/api/v1/dedup/...)."""

import datetime

from ninja import Field, Schema

from estatecrm.core.ids import BodyId
from estatecrm.crm.choices import DuplicateRule, SharedValueMarking
from estatecrm.dedup.choices import MergeMode

# One merge takes any number of cases (the issue sets no limit); a body is still bounded.
MAX_MERGE_CASES = 1000


class CandidateCaseOut(Schema):
    id: int
    number: int | None = Field(description="The company's case number (#123 on the pages)")
    customer_id: int
    customer_name: str
    customer_kana: str
    kind: str
    status: str
    owning_org_id: int
    main_assignee_id: int | None
    created_at: datetime.datetime


class CandidateOut(Schema):
    id: int = Field(description="The candidate row's id (the keyset position; candidates are derived and may be rebuilt)")
    case_a: CandidateCaseOut = Field(description="The case with the smaller id")
    case_b: CandidateCaseOut
    rule: DuplicateRule
    reason: str = Field(description="The rule as the pages say it, in the caller's language (電話番号が一致...)")
    score: float = Field(description="0..1; 1 for the exact rules (phone, e-mail)")
    key: str = Field(description="What matched: the E.164 phone, the e-mail, the reading...")


class CandidatePage(Schema):
    items: list[CandidateOut]
    next_cursor: str | None


class PairIn(Schema):
    case_a_id: BodyId
    case_b_id: BodyId


class DismissalOut(Schema):
    id: int
    case_a_id: int
    case_b_id: int
    dismissed_by_id: int | None
    dismissed_at: datetime.datetime


class MergeIn(Schema):
    survivor_id: BodyId = Field(description="The case whose information is kept (名寄せ先)")
    case_ids: list[BodyId] = Field(..., min_length=1, max_length=MAX_MERGE_CASES,
                                   description="The other cases (not the survivor), any number")
    integrate: bool = Field(description="true: 活動履歴を統合する (only the survivor remains, the others' history moves to it); "
                                        "false: 統合しない (every case remains, all share the survivor's customer)")
    fill_empty: bool = Field(False, description="Fill the survivor's empty fields from the others (the oldest case first)")
    picks: dict[str, BodyId] = Field(default_factory=dict, description="Administrators: field name -> the id of the case whose "
                                                                       "value to keep")


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_case_ids: list[int] = Field(description="The cases the merge took besides the survivor")
    mode: MergeMode
    is_automatic: bool = Field(description="true: the LINE intake merged by link number, nobody asked")
    acting_user_id: int | None
    created_at: datetime.datetime
    undone_at: datetime.datetime | None
    undone_by_id: int | None
    undo_until: datetime.datetime | None = Field(description="Until when it can be undone (null once undone)")


class MergePage(Schema):
    items: list[MergeOut]
    next_cursor: str | None


class SharedValueOut(Schema):
    value: str = Field(description="The normalized phone (E.164) or e-mail")
    display: str = Field(description="As the pages show it (a Japanese phone in national format)")
    kind: str = Field(description="The contact point's kind: phone | mobile | fax | email")
    customers: int = Field(description="Live customers holding it")
    marking: SharedValueMarking | None = Field(description="The administrators' word; null: the threshold decides")
    note: str
    is_shared: bool = Field(description="Whether it finds no candidates now")


class SharedValueIn(Schema):
    value: str = Field(..., min_length=1, max_length=254, description="A phone number (any format) or an e-mail address",
                       examples=["03-1234-5678"])
    marking: SharedValueMarking | None = Field(description="shared | personal; null removes the marking (the threshold decides)")
    note: str = Field("", max_length=200)


class DuplicateSettingsIn(Schema):
    enabled_rules: list[DuplicateRule] = Field(..., max_length=len(DuplicateRule.values))
    shared_threshold: int = Field(..., ge=2, le=1000, description="A phone or e-mail held by this many live customers or more is shared")
    fuzzy_min_score: float = Field(..., ge=0.5, le=1.0, description="The lowest score a similarity rule must reach")


class DuplicateSettingsOut(Schema):
    enabled_rules: list[DuplicateRule]
    shared_threshold: int
    fuzzy_min_score: float
