"""Applying a tenant set-up file (`crm.tenant_file.TenantSpec`): make a company match it, idempotently.

Every write goes through the tenancy and CRM upsert actions (each audited, each a no-op when nothing
differs), so applying the same file twice writes nothing the second time. Nothing that the file does
not list is ever deleted: units, users, memberships, ranks, sub-statuses, tags, custom fields,
projects and workgroups missing from the file stay as they are. Within a listed project or workgroup
the file is exact: its custom fields and members become the file's list.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from estatecrm.audit.actions import record_event
from estatecrm.core.errors import ApplicationError
from estatecrm.crm.actions import (
    do_upsert_custom_field,
    do_upsert_project,
    do_upsert_rank,
    do_upsert_sub_status,
    do_upsert_tag,
)
from estatecrm.crm.models import CustomField, Project, Rank, SubStatus, Tag
from estatecrm.crm.tenant_file import SpecError, TenantSpec
from estatecrm.crm.tenant_sections import ApplyContext, section_kinds, tenant_sections
from estatecrm.tenancy.actions import (
    do_set_primary_membership,
    do_upsert_company,
    do_upsert_org_unit,
    do_upsert_user,
    do_upsert_workgroup,
)
from estatecrm.tenancy.models import Company, Membership, OrgUnit, User, Workgroup

# Stable codes of the refusals below (clients switch on these; messages are translated).
TENANT_FILE_INVALID = "tenant_file_invalid"
EMAIL_TAKEN = "email_taken"  # the code tenancy.actions.do_upsert_user uses for the same refusal

KINDS = (
    "company", "org_units", "users", "memberships", "ranks", "sub_statuses", "tags", "custom_fields", "projects", "workgroups",
)


def all_kinds() -> tuple[str, ...]:
    """KINDS, then the kinds of the sections feature apps registered (crm/tenant_sections.py)."""
    return (*KINDS, *section_kinds())


@dataclass(frozen=True)
class ApplyResult:
    """What applying a spec created and updated, per kind (every kind of KINDS, zeros included)."""

    company_code: str
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(all_kinds(), 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(all_kinds(), 0))
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def as_dict(self) -> dict:
        """The JSON form: company (its code), changed, created {kind: n}, updated {kind: n}."""
        return {"company": self.company_code, "changed": self.changed, "created": dict(self.created), "updated": dict(self.updated)}

    def _count(self, kind: str, *, created: bool, changed: bool) -> None:
        if created:
            self.created[kind] += 1
        elif changed:
            self.updated[kind] += 1


def check_tenant_spec(spec: TenantSpec) -> list[SpecError]:
    """What a valid file can still get wrong against the database, as errors keyed like the file's.

    - users: an e-mail address that belongs to a user outside this company (users are global by e-mail);
    - projects: a custom field that is neither in the file nor in the company;
    - workgroups: a member who is neither a user of the file nor a user of the company.
    Reads only.
    """
    errors: list[SpecError] = []
    company = Company.objects.filter(code=spec.company.code).first()
    company_id = company.pk if company else None
    file_emails = [user.email for user in spec.users]
    # Users are not tenant rows: looking them up across companies is the point of this check.
    others = User.objects.filter(email__in=file_emails)
    if company_id is not None:
        others = others.exclude(company_id=company_id)
    foreign = set(others.values_list("email", flat=True))
    for index, user in enumerate(spec.users):
        if user.email in foreign:
            errors.append(SpecError(f"users[{index}].email", _(
                "The e-mail address %(email)s belongs to a user of another company (a user belongs to one company only)."
            ) % {"email": user.email}))
    field_names = {custom_field.name for custom_field in spec.custom_fields}
    wanted_fields = {name for project in spec.projects for name in project.custom_fields} - field_names
    if wanted_fields and company_id is not None:
        field_names |= set(CustomField.objects.for_company(company_id).filter(name__in=wanted_fields).values_list("name", flat=True))
    for index, project in enumerate(spec.projects):
        for field_index, name in enumerate(project.custom_fields):
            if name not in field_names:
                errors.append(SpecError(f"projects[{index}].custom_fields[{field_index}]", _(
                    "No custom field named %(name)s in the file or in the company."
                ) % {"name": name}))
    member_emails = set(file_emails)
    wanted_members = {email for workgroup in spec.workgroups for email in workgroup.members} - member_emails
    if wanted_members and company_id is not None:
        member_emails |= set(User.objects.filter(company_id=company_id, email__in=wanted_members).values_list("email", flat=True))
    for index, workgroup in enumerate(spec.workgroups):
        for member_index, email in enumerate(workgroup.members):
            if email not in member_emails:
                errors.append(SpecError(f"workgroups[{index}].members[{member_index}]", _(
                    "No user with the e-mail address %(email)s in the file or in the company."
                ) % {"email": email}))
    sections = {section.key: section for section in tenant_sections()}
    for key, parsed in spec.sections:
        errors.extend(sections[key].check(parsed, spec, company_id))
    return errors


@transaction.atomic(durable=True)
def do_apply_tenant_spec(spec: TenantSpec, *, acting_user=None, dry_run: bool = False) -> ApplyResult:
    """Make the company of `spec` match it: create what is missing, update what differs, delete nothing.

    Atomic (one durable transaction) and idempotent: a second apply of the same spec writes no row
    and no audit event. Each created or changed object gets one audit event (through the upserts).
    Refused with ApplicationError, writing nothing, when `check_tenant_spec` finds errors (code
    `tenant_file_invalid`, `fields` maps each path to its messages) or an upsert refuses. A user's
    `org` and `role` become their primary membership (an earlier primary unit stays a secondary
    membership). Passwords are set on creation and later only when they no longer match.
    `dry_run`: the same work and result, then rolled back. Enqueues nothing.
    """
    errors = check_tenant_spec(spec)
    if errors:
        fields: dict[str, list[str]] = {}
        for error in errors:
            fields.setdefault(error.path, []).append(error.message)
        raise ApplicationError(
            TENANT_FILE_INVALID,
            ngettext(
                "The tenant file does not fit the database (%(count)d error).",
                "The tenant file does not fit the database (%(count)d errors).", len(errors),
            ) % {"count": len(errors)},
            fields=fields,
        )
    result = ApplyResult(company_code=spec.company.code, dry_run=dry_run)
    company_existed = Company.objects.filter(code=spec.company.code).exists()
    company, changed = do_upsert_company(code=spec.company.code, name=spec.company.name, acting_user=acting_user)
    result._count("company", created=not company_existed, changed=changed)

    existing_units = set(OrgUnit.objects.for_company(company).values_list("code", flat=True))
    units: dict[str, OrgUnit] = {}
    for unit_spec in spec.org_units_parents_first():
        # Parents come first, so `units` holds each parent with its path as of this apply.
        unit, changed = do_upsert_org_unit(
            company=company, code=unit_spec.code, name=unit_spec.name, parent=units.get(unit_spec.parent),
            case_visibility=unit_spec.case_visibility, acting_user=acting_user,
        )
        units[unit.code] = unit
        result._count("org_units", created=unit_spec.code not in existing_units, changed=changed)

    existing_users = set(User.objects.filter(company=company).values_list("email", flat=True))
    existing_memberships = set(Membership.objects.for_company(company).values_list("user_id", "org_unit_id"))
    users: dict[str, User] = {}
    for user_spec in spec.users:
        user, changed = do_upsert_user(
            company=company, email=user_spec.email, name=user_spec.name, password=user_spec.password, acting_user=acting_user,
        )
        users[user.email] = user
        result._count("users", created=user_spec.email not in existing_users, changed=changed)
        unit = units[user_spec.org]
        changed = do_set_primary_membership(user=user, org_unit=unit, role=user_spec.role, acting_user=acting_user)
        result._count("memberships", created=changed and (user.pk, unit.pk) not in existing_memberships, changed=changed)

    for position, name in enumerate(spec.ranks):
        rank, created = do_upsert_rank(company=company, name=name, position=position, acting_user=acting_user)
        result._count("ranks", created=created, changed=_keep_position(rank, position, acting_user))
    for status_spec in spec.statuses:
        for position, name in enumerate(status_spec.sub_statuses):
            sub_status, created = do_upsert_sub_status(
                company=company, status=status_spec.status, name=name, position=position, acting_user=acting_user,
            )
            result._count("sub_statuses", created=created, changed=_keep_position(sub_status, position, acting_user))
    for position, name in enumerate(spec.tags):
        tag, created = do_upsert_tag(company=company, name=name, position=position, acting_user=acting_user)
        result._count("tags", created=created, changed=_keep_position(tag, position, acting_user))

    existing_fields = set(CustomField.objects.for_company(company).values_list("name", flat=True))
    for position, field_spec in enumerate(spec.custom_fields):
        custom_field, changed = do_upsert_custom_field(
            company=company, name=field_spec.name, field_type=field_spec.field_type, choices=list(field_spec.choices),
            is_required=field_spec.is_required, position=position, acting_user=acting_user,
        )
        moved = _keep_position(custom_field, position, acting_user)
        result._count("custom_fields", created=field_spec.name not in existing_fields, changed=changed or moved)

    existing_projects = set(Project.objects.for_company(company).values_list("name", flat=True))
    for project_spec in spec.projects:
        fields_by_name = {
            custom_field.name: custom_field
            for custom_field in CustomField.objects.for_company(company).filter(name__in=project_spec.custom_fields)
        }
        _project, changed = do_upsert_project(
            company=company, name=project_spec.name, custom_fields=[fields_by_name[name] for name in project_spec.custom_fields],
            acting_user=acting_user, case_kind=project_spec.case_kind, customer_kind=project_spec.customer_kind,
        )
        result._count("projects", created=project_spec.name not in existing_projects, changed=changed)

    existing_workgroups = set(Workgroup.objects.for_company(company).values_list("name", flat=True))
    for workgroup_spec in spec.workgroups:
        known = {email: users[email] for email in workgroup_spec.members if email in users}
        others = set(workgroup_spec.members) - set(known)
        known.update({user.email: user for user in User.objects.filter(company=company, email__in=others)})
        _workgroup, changed = do_upsert_workgroup(
            company=company, name=workgroup_spec.name, members=[known[email] for email in workgroup_spec.members],
            acting_user=acting_user,
        )
        result._count("workgroups", created=workgroup_spec.name not in existing_workgroups, changed=changed)

    sections = {section.key: section for section in tenant_sections()}
    for key, parsed in spec.sections:
        sections[key].apply(parsed, ApplyContext(company=company, units=units, users=users, acting_user=acting_user,
                                                 count=result._count, dry_run=dry_run))

    if dry_run:
        transaction.set_rollback(True)
    return result


def _keep_position(instance: Rank | SubStatus | Tag | CustomField, position: int, acting_user) -> bool:
    """Move an existing master row to its position in the file. Audited. Returns whether it moved.

    The master upserts set the position only when they create the row; the file's order is the
    display order, so a reordered file moves the rows it lists (rows it does not list keep theirs).
    """
    if instance.position == position:
        return False
    before = instance.position
    type(instance).objects.for_company(instance.company_id).filter(pk=instance.pk).update(position=position)
    instance.position = position
    record_event(
        company_id=instance.company_id, actor=acting_user, verb="update", instance=instance,
        before={"position": before}, after={"position": position},
    )
    return True
