"""Every write to companies, org units, users, memberships and workgroups."""

from django.contrib.auth.hashers import check_password
from django.db import transaction

from estatecrm.audit.actions import record_event, snapshot
from estatecrm.audit.stale import check_read_version
from estatecrm.core.versions import ReadVersion
from estatecrm.tenancy.choices import CaseVisibility, Role
from estatecrm.tenancy.models import Company, Membership, OrgUnit, User, Workgroup, WorkgroupMember
from estatecrm.tenancy.permissions import require_user


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
    case_visibility: str = CaseVisibility.ORG, acting_user=None, read_version: ReadVersion | None = None,
) -> tuple[OrgUnit, bool]:
    """Create or update the unit with `code`; keeps materialized paths of it and its subtree right.

    Refuses to move a unit below itself, and (Conflict) to change a unit read at another version
    (`read_version`, the settings page). Returns (unit, changed). Audited when changed.
    """
    unit = OrgUnit.objects.for_company(company).select_for_update().filter(code=code).first()
    if unit is not None:
        check_read_version(unit, read_version)
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
    require_user(acting_user, "workgroups")
    workgroup, created = Workgroup.objects.for_company(company).get_or_create(company=company, name=name)
    wanted = {user.pk for user in members}
    current = set(WorkgroupMember.objects.for_company(company).filter(workgroup=workgroup).values_list("user_id", flat=True))
    if not created and wanted == current:
        return workgroup, False
    WorkgroupMember.objects.for_company(company).filter(workgroup=workgroup, user_id__in=current - wanted).delete()
    WorkgroupMember.objects.bulk_create(
        [WorkgroupMember(company=company, workgroup=workgroup, user_id=user_id) for user_id in sorted(wanted - current)]
    )
    if not created:
        # The members are part of the workgroup's version (the settings page's optimistic lock).
        workgroup.save(update_fields=["updated_at"])
    record_event(
        company_id=company.pk, actor=acting_user, verb="create" if created else "update", instance=workgroup,
        before=None if created else {"members": sorted(current)}, after={"members": sorted(wanted)},
    )
    return workgroup, True


# ---------------------------------------------------------------------------------------------
# Settings pages: unit creation, invitations, deactivation, memberships, workgroups


def _refuse(code: str, message: str, field: str | None = None):
    from estatecrm.core.errors import ApplicationError

    return ApplicationError(code, message, fields={field: [message]} if field else None)


def _company_admin_memberships(company_id: int):
    """Admin memberships on top-level units of active users: the ones that make company admins."""
    return Membership.objects.for_company(company_id).filter(
        role=Role.ADMIN, org_unit__parent__isnull=True, user__is_active=True
    )


def check_company_keeps_admin(company_id: int, *, without_user_id: int | None = None, without_membership_id: int | None = None) -> None:
    """Refuse a change that would leave the company without an active company administrator."""
    from django.utils.translation import gettext

    from estatecrm.tenancy import error_codes

    admins = _company_admin_memberships(company_id)
    affected = admins.filter(user_id=without_user_id) if without_user_id else admins.filter(pk=without_membership_id)
    if not affected.exists():
        return
    remaining = admins.exclude(user_id=without_user_id) if without_user_id else admins.exclude(pk=without_membership_id)
    if not remaining.exists():
        raise _refuse(error_codes.LAST_COMPANY_ADMIN, gettext("The company needs at least one active company administrator."))


@transaction.atomic
def do_create_org_unit(
    *, company: Company, code: str, name: str, parent: OrgUnit | None, case_visibility: str = CaseVisibility.ORG, acting_user,
) -> OrgUnit:
    """Create a unit; refused (field `code`) when the code is taken. Audited. Never updates an existing unit."""
    if parent is None:
        require_user(acting_user, "top_level_units")
    else:
        require_user(acting_user, "organisation", unit_id=parent.pk)
    from django.utils.translation import gettext

    from estatecrm.tenancy import error_codes

    code = code.strip()
    if OrgUnit.objects.for_company(company).filter(code=code).exists():
        raise _refuse(error_codes.ORG_UNIT_CODE_TAKEN, gettext("An organisation unit with this code already exists."), "code")
    unit, _ = do_upsert_org_unit(
        company=company, code=code, name=name, parent=parent, case_visibility=case_visibility, acting_user=acting_user
    )
    return unit


def _unit_ids_of(user: User) -> list[int]:
    """The units of the user's memberships: who manages the user must administer every one (tenancy/permissions.py)."""
    return list(Membership.objects.for_company(user.company_id).filter(user=user).values_list("org_unit_id", flat=True))


def send_invitation(user_id: int, base_url: str) -> None:
    """E-mail the user a link to set their password (Django's password-reset token). Call after commit."""
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = User.objects.select_related("company").get(pk=user_id)
    path = reverse("account:password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
    })
    context = {"user": user, "company": user.company, "link": base_url.rstrip("/") + path}
    subject = "".join(render_to_string("tenancy/email/invitation_subject.txt", context).splitlines())
    body = render_to_string("tenancy/email/invitation_body.txt", context)
    send_mail(subject, body, None, [user.email])


@transaction.atomic
def do_invite_user(
    *, company: Company, email: str, name: str, org_unit: OrgUnit, role: str = Role.AGENT, base_url: str, acting_user,
) -> User:
    """Create a user without a password, primary member of `org_unit` with `role`, and e-mail them a
    set-password link after commit. Refused (field `email`) when the address is taken. Audited."""
    require_user(acting_user, "organisation", unit_id=org_unit.pk)
    from django.utils.translation import gettext

    from estatecrm.tenancy import error_codes

    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email=email).exists():
        raise _refuse(error_codes.EMAIL_TAKEN, gettext("A user with this e-mail address already exists."), "email")
    user = User.objects.create_user(email=email, password=None, name=name, company=company)
    record_event(company_id=company.pk, actor=acting_user, verb="invite", instance=user, after={"email": email, "name": name})
    do_set_primary_membership(user=user, org_unit=org_unit, role=role, acting_user=acting_user)
    transaction.on_commit(lambda: send_invitation(user.pk, base_url))
    return user


@transaction.atomic
def do_resend_invitation(*, user: User, base_url: str, acting_user) -> None:
    """E-mail a fresh set-password link after commit (earlier links stay valid until a password is set). Audited."""
    require_user(acting_user, "organisation", unit_ids=_unit_ids_of(user))
    record_event(company_id=user.company_id, actor=acting_user, verb="invite", instance=user, after={"email": user.email})
    transaction.on_commit(lambda: send_invitation(user.pk, base_url))


@transaction.atomic
def do_set_user_active(*, user: User, is_active: bool, acting_user) -> bool:
    """Deactivate (no log-in, sessions end at their next request) or reactivate a user. Audited.

    Refuses deactivating oneself, the last active company administrator, a default assignee
    (`default_assignee`, naming each role) and the main assignee of live cases (`has_cases`: retire them
    instead, staff/). Deactivation revokes the user's API tokens. Returns whether it changed.
    """
    require_user(acting_user, "organisation", unit_ids=_unit_ids_of(user))
    from django.utils.translation import gettext, ngettext

    from estatecrm.tenancy import error_codes

    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active == is_active:
        return False
    if not is_active:
        if acting_user is not None and acting_user.pk == user.pk:
            raise _refuse(error_codes.CANNOT_DEACTIVATE_SELF, gettext("You cannot deactivate yourself."))
        check_company_keeps_admin(user.company_id, without_user_id=user.pk)
        check_not_default_assignee(user, gettext(
            "%(user)s is the default assignee of %(roles)s. Choose a successor there before deactivating them."))
        case_count = _live_main_case_count(user)
        if case_count:
            raise _refuse(error_codes.HAS_CASES, ngettext(
                "%(user)s is main assignee of %(count)d case. Retire them instead: choose who takes their case.",
                "%(user)s is main assignee of %(count)d cases. Retire them instead: choose who takes their %(count)d cases.",
                case_count) % {"user": user.name or user.email, "count": case_count})
    user.is_active = is_active
    user.save(update_fields=["is_active"])
    record_event(company_id=user.company_id, actor=acting_user, verb="update", instance=user,
                 before={"is_active": not is_active}, after={"is_active": is_active})
    if not is_active:
        from estatecrm.tenancy.tokens import revoke_user_tokens

        # A deactivated account must not keep working through the API either.
        revoke_user_tokens(user=user, acting_user=acting_user)
    return True


def _live_main_case_count(user: User, unit_ids=None) -> int:
    """How many cases not in the trash `user` is main assignee of (owned by one of `unit_ids`, when given)."""
    # crm is imported on use, as tenancy.selectors does: tenancy's module level knows nothing of cases.
    from estatecrm.crm.models import Case

    cases = Case.objects.for_company(user.company_id).filter(main_assignee=user, deleted_at__isnull=True)
    if unit_ids is not None:
        cases = cases.filter(owning_org_id__in=unit_ids)
    return cases.count()


def check_not_default_assignee(user: User, message: str, *, unit_ids=None) -> None:
    """Refuse (`default_assignee`) while `user` is the default assignee of an inquiry source or the LINE
    channel (of one in `unit_ids`, when given). `message` has %(user)s and %(roles)s (each role named)."""
    from estatecrm.tenancy import error_codes
    from estatecrm.tenancy.holds import default_assignee_roles

    roles = [role for role in default_assignee_roles(user) if unit_ids is None or role.org_unit_id in unit_ids]
    if roles:
        names = "、".join(f"{role.label} ({role.org_unit_name})" for role in roles)
        raise _refuse(error_codes.DEFAULT_ASSIGNEE, message % {"user": user.name or user.email, "roles": names})


@transaction.atomic
def do_remove_membership(*, membership: Membership, acting_user) -> None:
    """Remove a membership. Refuses the primary one while others remain, the last company admin, and a removal
    that would leave behind (tenancy.selectors.left_behind_unit_ids) live cases of which the user is main
    assignee (`has_cases`) or a default-assignee role of theirs (`default_assignee`): transfer them instead. Audited."""
    require_user(acting_user, "organisation", unit_id=membership.org_unit_id)
    from django.utils.translation import gettext, ngettext

    from estatecrm.tenancy import error_codes

    others = Membership.objects.for_company(membership.company_id).filter(user_id=membership.user_id).exclude(pk=membership.pk)
    if membership.is_primary and others.exists():
        raise _refuse(error_codes.PRIMARY_MEMBERSHIP, gettext("Make another unit primary before removing this one."))
    check_company_keeps_admin(membership.company_id, without_membership_id=membership.pk)
    from estatecrm.tenancy.selectors import left_behind_unit_ids

    user = membership.user
    left_behind = left_behind_unit_ids(user, membership.org_unit, None)
    check_not_default_assignee(user, gettext(
        "%(user)s is the default assignee of %(roles)s. Choose a successor there, or transfer them on the transfer page."),
        unit_ids=left_behind)
    case_count = _live_main_case_count(user, left_behind)
    if case_count:
        raise _refuse(error_codes.HAS_CASES, ngettext(
            "%(user)s would no longer see %(count)d case they are main assignee of. Transfer them on the transfer page instead.",
            "%(user)s would no longer see %(count)d cases they are main assignee of. Transfer them on the transfer page instead.",
            case_count) % {"user": user.name or user.email, "count": case_count})
    before = snapshot(membership)
    record_event(company_id=membership.company_id, actor=acting_user, verb="delete", instance=membership, before=before)
    membership.delete()


@transaction.atomic
def do_change_membership_role(*, membership: Membership, role: str, acting_user) -> bool:
    """Change the role of a membership; refuses demoting the last company admin. Audited when changed."""
    require_user(acting_user, "organisation", unit_id=membership.org_unit_id)
    if membership.role == role:
        return False
    if role != Role.ADMIN:
        check_company_keeps_admin(membership.company_id, without_membership_id=membership.pk)
    before = snapshot(membership, ["role"])
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    record_event(company_id=membership.company_id, actor=acting_user, verb="update", instance=membership,
                 before=before, after={"role": role})
    return True


@transaction.atomic
def do_rename_workgroup(*, workgroup: Workgroup, name: str, acting_user, read_version: ReadVersion | None = None) -> bool:
    """Rename the workgroup; refused (field `name`) when another has the name, and (Conflict) when it
    was read at another version (`read_version`, the settings page). Audited when changed."""
    require_user(acting_user, "workgroups")
    from django.utils.translation import gettext

    from estatecrm.tenancy import error_codes

    check_read_version(Workgroup.objects.for_company(workgroup.company_id).select_for_update().get(pk=workgroup.pk), read_version)
    name = name.strip()
    if workgroup.name == name:
        return False
    if Workgroup.objects.for_company(workgroup.company_id).filter(name=name).exclude(pk=workgroup.pk).exists():
        raise _refuse(error_codes.WORKGROUP_NAME_TAKEN, gettext("A workgroup with this name already exists."), "name")
    before = snapshot(workgroup, ["name"])
    workgroup.name = name
    workgroup.save(update_fields=["name", "updated_at"])
    record_event(company_id=workgroup.company_id, actor=acting_user, verb="update", instance=workgroup,
                 before=before, after={"name": name})
    return True


@transaction.atomic
def do_set_password(*, user: User, password: str, acting_user) -> None:
    """Set the user's password (change, reset or first set after an invitation). Audited without the value.

    The caller validates the password (Django's password validators run in the forms).
    """
    user.set_password(password)
    user.save(update_fields=["password"])
    if user.company_id is not None:
        record_event(company_id=user.company_id, actor=acting_user, verb="set_password", instance=user, after={"password": "***"})


NOTIFICATION_MAIL_FLAGS = ("assignment_mail", "inquiry_mail", "reply_mail")


@transaction.atomic
def do_set_notification_mails(*, user: User, acting_user, **flags: bool) -> bool:
    """The user's own notification mails (the account page): `assignment_mail` (担当者変更のお知らせ),
    `inquiry_mail` (反響の通知メール), `reply_mail` (a customer's reply). Flags not given stay. Company
    newsletters are not here (an administrator's setting). Returns whether anything changed; one audit
    event with the old and new values of what did."""
    unknown = set(flags) - set(NOTIFICATION_MAIL_FLAGS)
    if unknown:
        raise TypeError(f"unknown notification flags: {sorted(unknown)}")
    changed = [name for name in NOTIFICATION_MAIL_FLAGS if name in flags and getattr(user, name) != bool(flags[name])]
    if not changed:
        return False
    before = {name: getattr(user, name) for name in changed}
    for name in changed:
        setattr(user, name, bool(flags[name]))
    user.save(update_fields=changed)
    if user.company_id is not None:
        record_event(company_id=user.company_id, actor=acting_user, verb="update", instance=user,
                     before=before, after={name: getattr(user, name) for name in changed})
    return True


def do_set_inquiry_mail(*, user: User, enabled: bool, acting_user) -> bool:
    """Whether new inquiries assigned to `user` are mailed to them (反響の通知メール, inquiries.tasks): one
    flag of do_set_notification_mails. Returns whether it changed; audited when it did."""
    return do_set_notification_mails(user=user, acting_user=acting_user, inquiry_mail=enabled)


@transaction.atomic
def do_set_customer_mail_from(*, user: User, address: str, acting_user, confirmed: bool = False) -> bool:
    """Set the address `user`'s e-mail to customers goes out from (blank: none). An administrator of every
    unit of the user's (rule `organisation`). Validated (e-mail syntax, length, domain in lower case).
    Changing or clearing an address that was set is refused (`confirmation_required`, field `address`)
    unless `confirmed`: customers' replies to the old address no longer arrive. A transfer never changes
    it. Returns whether it changed; audited with the old and new address."""
    require_user(acting_user, "organisation", unit_ids=_unit_ids_of(user))
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email
    from django.utils.translation import gettext

    from estatecrm.tenancy import error_codes

    address = (address or "").strip()
    if address:
        max_length = User._meta.get_field("customer_mail_from").max_length
        local, _, domain = address.rpartition("@")
        address = f"{local}@{domain.lower()}" if local else address
        try:
            if len(address) > max_length:
                raise ValidationError("too long")
            validate_email(address)
        except ValidationError:
            raise _refuse(error_codes.INVALID_EMAIL, gettext(
                "Enter a valid e-mail address of at most %(max)d characters.") % {"max": max_length}, "address") from None
    user = User.objects.select_for_update().get(pk=user.pk)
    previous = user.customer_mail_from
    if previous == address:
        return False
    if previous and not confirmed:
        raise _refuse(error_codes.CONFIRMATION_REQUIRED, gettext(
            "Customers' replies to the old address %(old)s will no longer arrive. Confirm the change to go on.")
            % {"old": previous}, "address")
    user.customer_mail_from = address
    user.save(update_fields=["customer_mail_from"])
    record_event(company_id=user.company_id, actor=acting_user, verb="update", instance=user,
                 before={"customer_mail_from": previous}, after={"customer_mail_from": address})
    return True


def do_claim_password_reset_mail(*, user: User, now=None) -> bool:
    """Whether a password-reset mail may go to `user` now: at most one per
    PASSWORD_RESET_MAIL_INTERVAL_SECONDS (the public reset form must not flood an inbox). Claims the slot
    with one compare-and-set UPDATE, so two requests at once send one mail. Not audited (no change of
    the account; the mail itself is the trace)."""
    from django.conf import settings
    from django.db.models import Q
    from django.utils import timezone

    now = now or timezone.now()
    since = now - timezone.timedelta(seconds=settings.PASSWORD_RESET_MAIL_INTERVAL_SECONDS)
    return bool(
        User.objects.filter(pk=user.pk)
        .filter(Q(password_reset_sent_at__isnull=True) | Q(password_reset_sent_at__lte=since))
        .update(password_reset_sent_at=now)
    )
