"""What management commands share: finding the company and the user a command acts as."""

from django.core.management.base import CommandError

from estatecrm.core.errors import PermissionDenied
from estatecrm.tenancy.choices import Role
from estatecrm.tenancy.models import Company, Membership, User
from estatecrm.tenancy.selectors import Actor, actor_for


def company_by_code(code: str) -> Company:
    try:
        return Company.objects.get(code=code)
    except Company.DoesNotExist:
        raise CommandError(f"Unknown company: {code}") from None


def acting_actor(company: Company, email: str | None) -> Actor:
    """The actor for `--as EMAIL`, or the company's first company admin when no e-mail is given."""
    if email:
        user = User.objects.filter(company=company, email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user {email} in company {company.code}")
    else:
        root_admins = Membership.objects.for_company(company).filter(role=Role.ADMIN, org_unit__parent__isnull=True, user__is_active=True)
        membership = root_admins.select_related("user").order_by("user_id").first()
        if membership is None:
            raise CommandError(f"Company {company.code} has no company administrator; pass --as EMAIL")
        user = membership.user
    try:
        return actor_for(user)
    except PermissionDenied:
        raise CommandError(f"User {user.email} cannot act (inactive?)") from None
