"""Every write to companies, org units, users, memberships and workgroups."""

from django.contrib.auth.hashers import check_password
from django.db import transaction

from estatecrm.audit.actions import record_event, snapshot
from estatecrm.tenancy.choices import CaseVisibility, Role
from estatecrm.tenancy.models import Company, Membership, OrgUnit, User, Workgroup, WorkgroupMember


def _unit_path(parent: OrgUnit | None, unit_pk: int) -> str:
    return f"{parent.path if parent else '/'}{unit_pk}/"


@transaction.atomic(savepoint=False)
def do_upsert_company(*, code: str, name: str, acting_user=None) -> tuple[Company, bool]:
    """Create the company with `code`, or rename it. Returns (company, changed). Audited when changed."""
    company, created = Company.objects.get_or_create(code=code, defaults={"name": name})
    if created:
        record_event(company_id=company.pk, actor=acting_user, verb="create", instance=company, after=snapshot(company))
        return company, True
    if company.name == name:
        return company, False
    before = snapshot(company, ["name"])
    company.name = name
    company.save(update_fields=["name", "updated_at"])
    record_event(company_id=company.pk, actor=acting_user, verb="update", instance=company, before=before, after={"name": name})
    return company, True


@transaction.atomic(savepoint=False)
def do_upsert_org_unit(
    *, company: Company, code: str, name: str, parent: OrgUnit | None,
    case_visibility: str = CaseVisibility.ORG, acting_user=None,
) -> tuple[OrgUnit, bool]:
    """Create or update the unit with `code`; keeps materialized paths of it and its subtree right.

    Refuses to move a unit below itself. Returns (unit, changed). Audited when changed.
    """
    unit = OrgUnit.objects.for_company(company).select_for_update().filter(code=code).first()
    if unit is None:
        unit = OrgUnit.objects.create(company=company, code=code, name=name, parent=parent, case_visibility=case_visibility)
        unit.path = _unit_path(parent, unit.pk)
        unit.save(update_fields=["path"])
        record_event(company_id=company.pk, actor=acting_user, verb="create", instance=unit, after=snapshot(unit))
        return unit, True
    fields = {"name": name, "parent_id": parent.pk if parent else None, "case_visibility": case_visibility}
    changed = [key for key, value in fields.items() if getattr(unit, key) != value]
    if not changed:
        return unit, False
    if parent is not None and parent.path.startswith(unit.path):
        from django.utils.translation import gettext

        from estatecrm.core.errors import ApplicationError

        raise ApplicationError("org_unit_cycle", gettext("A unit cannot be placed below itself."))
    before = snapshot(unit, changed)
    for key in changed:
        setattr(unit, key, fields[key])
    old_path = unit.path
    unit.path = _unit_path(parent, unit.pk)
    unit.save(update_fields=[*changed, "path", "updated_at"])
    if old_path != unit.path:
        for descendant in OrgUnit.objects.for_company(company).filter(path__startswith=old_path).exclude(pk=unit.pk):
            descendant.path = unit.path + descendant.path[len(old_path):]
            descendant.save(update_fields=["path"])
    record_event(company_id=company.pk, actor=acting_user, verb="update", instance=unit, before=before, after=snapshot(unit, changed))
    return unit, True


@transaction.atomic(savepoint=False)
def do_upsert_user(
    *, company: Company, email: str, name: str, password: str | None = None, acting_user=None,
) -> tuple[User, bool]:
    """Create the user (unusable password when none is given) or update the name.

    A password is set on creation, or later when it no longer matches (so re-applying a file with
    the same password changes nothing). Returns (user, changed).
    """
    email = email.strip().lower()
    user = User.objects.select_for_update().filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, name=name, company=company)
        record_event(company_id=company.pk, actor=acting_user, verb="create", instance=user, after={"email": email, "name": name})
        return user, True
    if user.company_id != company.pk:
        from django.utils.translation import gettext

        from estatecrm.core.errors import ApplicationError

        if user.company_id is None:
            raise ApplicationError("email_taken", gettext("The e-mail address %(email)s belongs to a system administrator.") % {"email": email})
        raise ApplicationError("email_taken", gettext("The e-mail address %(email)s belongs to another company.") % {"email": email})
    changed = []
    if user.name != name:
        user.name = name
        changed.append("name")
    # The hasher's own check, without the setter user.check_password passes: a re-apply must not
    # re-hash and save the password behind the audit's back.
    if password and not check_password(password, user.password):
        user.set_password(password)
        changed.append("password")
    if not changed:
        return user, False
    user.save(update_fields=changed)
    record_event(
        company_id=company.pk, actor=acting_user, verb="update", instance=user,
        after={key: ("***" if key == "password" else getattr(user, key)) for key in changed},
    )
    return user, True


@transaction.atomic(savepoint=False)
def do_set_primary_membership(*, user: User, org_unit: OrgUnit, role: str = Role.AGENT, acting_user=None) -> bool:
    """Make `org_unit` the user's primary unit with `role`. Other memberships stay, non-primary."""
    memberships = {m.org_unit_id: m for m in Membership.objects.for_company(user.company_id).select_for_update().filter(user=user)}
    current = memberships.get(org_unit.pk)
    if current is not None and current.is_primary and current.role == role:
        return False
    for previous in Membership.objects.for_company(user.company_id).filter(user=user, is_primary=True).exclude(org_unit=org_unit):
        previous.is_primary = False
        previous.save(update_fields=["is_primary", "updated_at"])
        record_event(company_id=user.company_id, actor=acting_user, verb="update", instance=previous,
                     before={"is_primary": True}, after={"is_primary": False})
    if current is None:
        current = Membership.objects.create(company_id=user.company_id, user=user, org_unit=org_unit, role=role, is_primary=True)
        record_event(company_id=user.company_id, actor=acting_user, verb="create", instance=current, after=snapshot(current))
    else:
        before = snapshot(current, ["role", "is_primary"])
        current.role = role
        current.is_primary = True
        current.save(update_fields=["role", "is_primary", "updated_at"])
        record_event(company_id=user.company_id, actor=acting_user, verb="update", instance=current, before=before, after=snapshot(current, ["role", "is_primary"]))
    return True


@transaction.atomic(savepoint=False)
def do_add_membership(*, user: User, org_unit: OrgUnit, role: str = Role.AGENT, acting_user=None) -> bool:
    """Add a non-primary membership (or change its role). The first membership becomes primary."""
    membership = Membership.objects.for_company(user.company_id).filter(user=user, org_unit=org_unit).first()
    if membership is not None:
        if membership.role == role:
            return False
        before = snapshot(membership, ["role"])
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        record_event(company_id=user.company_id, actor=acting_user, verb="update", instance=membership, before=before, after={"role": role})
        return True
    is_first = not Membership.objects.for_company(user.company_id).filter(user=user).exists()
    membership = Membership.objects.create(company_id=user.company_id, user=user, org_unit=org_unit, role=role, is_primary=is_first)
    record_event(company_id=user.company_id, actor=acting_user, verb="create", instance=membership, after=snapshot(membership))
    return True


@transaction.atomic(savepoint=False)
def do_upsert_workgroup(*, company: Company, name: str, members: list[User], acting_user=None) -> tuple[Workgroup, bool]:
    """Create the workgroup or make its members exactly `members`. Returns (workgroup, changed)."""
    workgroup, created = Workgroup.objects.for_company(company).get_or_create(company=company, name=name)
    wanted = {user.pk for user in members}
    current = set(WorkgroupMember.objects.for_company(company).filter(workgroup=workgroup).values_list("user_id", flat=True))
    if not created and wanted == current:
        return workgroup, False
    WorkgroupMember.objects.for_company(company).filter(workgroup=workgroup, user_id__in=current - wanted).delete()
    WorkgroupMember.objects.bulk_create(
        [WorkgroupMember(company=company, workgroup=workgroup, user_id=user_id) for user_id in sorted(wanted - current)]
    )
    record_event(
        company_id=company.pk, actor=acting_user, verb="create" if created else "update", instance=workgroup,
        before=None if created else {"members": sorted(current)}, after={"members": sorted(wanted)},
    )
    return workgroup, True
