"""Org units and users of the caller's company through the API (read only; edits are in the settings pages)."""

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Router

from estatecrm.core.ids import PathId
from estatecrm.tenancy import schemas
from estatecrm.tenancy.models import Membership, User
from estatecrm.tenancy.selectors import access_org_unit, access_user, actor_for, org_unit_list, user_list

router = Router(tags=["organisation"])


def acting(request: HttpRequest):
    return actor_for(request.auth)


@router.get("/org-units", response=list[schemas.OrgUnitOut])
def list_org_units(request):
    """Every unit of the company, in tree order (parents before their children)."""
    return list(org_unit_list(actor=acting(request)))


@router.get("/org-units/{unit_id}", response=schemas.OrgUnitOut)
def get_org_unit(request, unit_id: PathId):
    return access_org_unit(acting(request), unit_id)


def with_memberships(actor, users):
    return users.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.for_company(actor.company_id).order_by("-is_primary", "org_unit_id"))
    )


def user_out(user: User) -> dict:
    return {"id": user.pk, "email": user.email, "name": user.name, "is_active": user.is_active,
            "memberships": [{"org_unit_id": m.org_unit_id, "role": m.role, "is_primary": m.is_primary} for m in user.memberships.all()]}


@router.get("/users", response=list[schemas.UserOut])
def list_users(request, active: bool | None = None):
    """The company's users with their units and roles, by e-mail."""
    actor = acting(request)
    users = user_list(actor=actor)
    if active is not None:
        users = users.filter(is_active=active)
    return [user_out(user) for user in with_memberships(actor, users)]


@router.get("/users/{user_id}", response=schemas.UserOut)
def get_user(request, user_id: PathId):
    actor = acting(request)
    user = access_user(actor, user_id)
    return user_out(with_memberships(actor, User.objects.filter(pk=user.pk)).get())
