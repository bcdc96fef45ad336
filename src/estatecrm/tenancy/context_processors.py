"""Template context for every page: the unit the user acts in, the units they may pick, admin rights.

Values are computed on first use in a template and once per request (cached on the request).
"""

from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import Membership, OrgUnit

ACTING_UNIT_SESSION_KEY = "acting_unit_id"


def user_memberships(request) -> list[Membership]:
    """The logged-in user's memberships with their units, primary first then in tree order. One query per request."""
    cached = getattr(request, "_estatecrm_memberships", None)
    if cached is None:
        user = request.user
        cached = list(
            Membership.objects.for_company(user.company_id).filter(user=user)
            .select_related("org_unit").order_by("-is_primary", "org_unit__path")
        ) if user.is_authenticated and user.company_id else []
        request._estatecrm_memberships = cached
    return cached


def get_acting_unit(request) -> OrgUnit | None:
    """The unit the user chose to act in (session `acting_unit_id`) if still one of theirs, else the primary unit."""
    memberships = user_memberships(request)
    chosen = request.session.get(ACTING_UNIT_SESSION_KEY)
    for membership in memberships:
        if membership.org_unit_id == chosen:
            return membership.org_unit
    return memberships[0].org_unit if memberships else None


def acting_unit(request) -> dict:
    """`acting_unit`, `acting_units` (all the user's units) and `is_admin` for the page shell."""
    if not request.user.is_authenticated or request.user.company_id is None:
        return {"acting_unit": None, "acting_units": [], "is_admin": False}
    return {
        "acting_unit": lambda: get_acting_unit(request),
        "acting_units": lambda: [membership.org_unit for membership in user_memberships(request)],
        "is_admin": lambda: any(membership.role == Role.ADMIN for membership in user_memberships(request)),
    }
