"""Request and response shapes of the 異動・退職 API (/api/v1/staff/...)."""

import datetime

from ninja import Field, Schema

from estatecrm.core.ids import BodyId
from estatecrm.crm.choices import ReassignmentKind, ReassignmentOutcome
from estatecrm.staff.actions import HANDOVER_NOTE_MAX_LENGTH

# One bulk reassignment names any number of cases; a body is still bounded.
MAX_REASSIGN_CASES = 10_000
# tenancy.holds role keys: "inquiry_source:<id>", "line_channel".
MAX_ROLE_KEY_LENGTH = 64

HANDOVER_NOTE = Field("", max_length=HANDOVER_NOTE_MAX_LENGTH,
                      description="引継ぎメモ: written once, it appears on the timeline of every case moved or reassigned")


class TransferIn(Schema):
    to_unit: BodyId = Field(description="The unit the agent joins (their primary membership moves there with its role)")
    with_cases: bool = Field(False, description="エージェントと担当顧客どちらも: the cases left behind move with the agent (owning unit "
                                                "changes)")
    reassign_to: BodyId | None = Field(None, description="エージェントのみ: the new main assignee of the cases left behind")
    remove_sub_assignments: bool = Field(False, description="Drop the agent's sub-assignee roles on the cases left behind (else kept)")
    handover_note: str = HANDOVER_NOTE


class RetireIn(Schema):
    reassign_to: BodyId | None = Field(None, description="The new main assignee of every live case of the agent")
    trash_cases: bool = Field(False, description="Move every live case of the agent to the trash (restorable for 30 days) instead")
    handover_note: str = HANDOVER_NOTE


class ReassignIn(Schema):
    from_user: BodyId = Field(description="The current main assignee")
    to_user: BodyId = Field(description="The new main assignee")
    cases: list[BodyId] | None = Field(None, max_length=MAX_REASSIGN_CASES,
                                       description="Only these cases (ids); omitted: every live case of `from_user` in the units the "
                                                   "caller administers")
    handover_note: str = HANDOVER_NOTE


class SuccessorIn(Schema):
    role: str = Field(min_length=1, max_length=MAX_ROLE_KEY_LENGTH,
                      description="The role's key as the plan lists it (`inquiry_source:12`, `line_channel`)")
    successor: BodyId = Field(description="The user who becomes the default assignee there")


class StaffResultOut(Schema):
    cases_moved: int = Field(description="Cases that moved with the agent to the new unit")
    cases_reassigned: int = Field(description="Cases given to a new main assignee (an undo: given back)")
    cases_trashed: int = Field(description="Cases moved to the trash (restorable for 30 days)")
    visits_moved: int = Field(description="Open future visit appointments that went with the cases")
    sub_assignments_removed: int
    refused: str | None = Field(description="Always null in a 200 answer: a refusal is an error body with the code")
    reassignment_id: int | None = Field(description="The 担当変更履歴 record (null: nothing to do)")


class DefaultAssigneeRoleOut(Schema):
    key: str
    label: str
    settings_url: str = Field(description="The settings page where a successor is set")
    org_unit_id: int
    org_unit_name: str


class PlanOut(Schema):
    user_id: int
    from_unit_id: int | None = Field(description="The agent's primary unit (the one a transfer leaves)")
    to_unit_id: int | None = Field(description="The target unit (null: the plan of a retirement)")
    cases: int = Field(description="The agent's live cases left behind (a retirement: all of them), unsubscribed customers' included")
    unsubscribed_cases: int = Field(description="Of `cases`, those whose customer unsubscribed from mail")
    open_visits: int = Field(description="Open future visit appointments of those cases")
    sub_assignee_cases: int = Field(description="Cases left behind where the agent is a sub-assignee")
    case_unit_ids: list[int] = Field(description="The units that own the cases left behind")
    blocked: bool = Field(description="true while the agent is a default assignee (`roles`): set a successor first")
    roles: list[DefaultAssigneeRoleOut]


class ReassignmentOut(Schema):
    id: int
    kind: ReassignmentKind
    actor_id: int | None
    agent_id: int | None = Field(description="The agent transferred or retired, or the previous main assignee of a reassignment")
    to_user_id: int | None = Field(description="The new main assignee (null: the cases moved with the agent, or to the trash)")
    from_unit_id: int | None
    to_unit_id: int | None
    handover_note: str
    cases_moved: int
    cases_reassigned: int
    cases_trashed: int
    visits_moved: int
    sub_assignments_removed: int
    created_at: datetime.datetime
    undone_at: datetime.datetime | None
    undone_by_id: int | None
    undo_until: datetime.datetime | None = Field(description="A reassignment: until when it can be undone (null: not undoable, or undone)")


class ReassignmentCaseOut(Schema):
    case_id: int
    case_number: int | None
    customer_name: str
    outcome: ReassignmentOutcome
    from_user_id: int | None
    to_user_id: int | None
    from_unit_id: int | None
    to_unit_id: int | None
    visit_ids: list[int] = Field(description="The open visit appointments that went with the case")


class ReassignmentDetailOut(ReassignmentOut):
    cases: list[ReassignmentCaseOut]


class ReassignmentPage(Schema):
    items: list[ReassignmentOut]
    next_cursor: str | None


class RolesOut(Schema):
    blocked: bool = Field(description="true while the agent is still a default assignee somewhere")
    roles: list[DefaultAssigneeRoleOut] = Field(description="The roles the agent still holds")
