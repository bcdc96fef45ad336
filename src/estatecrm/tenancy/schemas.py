"""Response shapes of the tenancy API (org units and users, read only)."""

from ninja import Schema


class OrgUnitOut(Schema):
    id: int
    code: str
    name: str
    parent_id: int | None
    depth: int
    case_visibility: str


class MembershipOut(Schema):
    org_unit_id: int
    role: str
    is_primary: bool


class UserOut(Schema):
    id: int
    email: str
    name: str
    is_active: bool
    memberships: list[MembershipOut]
