"""The tenant set-up file (`estatecrm tenant apply FILE.yaml`): parsed and validated, no database.

`parse_tenant_file(content)` turns the YAML text into a frozen `TenantSpec`, or into the full list of
what is wrong with it: every error is a `SpecError` with a path (`users[2].org`, indexes from 0) and a
translated message, collected rather than raised one by one. Names are stored NFKC-normalized with
single ASCII spaces (`normalize_name`), e-mail addresses lower-cased (`normalize_email`).

What only the database can tell (custom fields and workgroup members that already exist in the
company, e-mail addresses of other companies) is checked when the spec is applied
(`crm.tenant_setup.check_tenant_spec`). docs/tenant-file.md describes the format.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import yaml
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from estatecrm.crm.choices import CaseKind, CaseStatus, CustomerKind, CustomFieldType
from estatecrm.crm.tenant_sections import FileContext, tenant_sections
from estatecrm.normalize import MESSAGES, normalize_email, normalize_name
from estatecrm.tenancy.choices import CaseVisibility, Role

COMPANY_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
CHOICE_TYPES = frozenset({CustomFieldType.CHOICE.value, CustomFieldType.MULTI_CHOICE.value})

# The longest value each field takes (the model's max_length), so a file never fails in the database.
MAX_CODE = 32
MAX_NAME = 200
MAX_RANK = 50
MAX_MASTER_NAME = 100

TOP_LEVEL_KEYS = ("company", "org_units", "users", "ranks", "statuses", "tags", "custom_fields", "projects", "workgroups")


# ---------------------------------------------------------------------------------------------
# The spec


@dataclass(frozen=True)
class SpecError:
    """One thing wrong with the file: where (`users[2].org`; empty for the file as a whole) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class CompanySpec:
    code: str
    name: str


@dataclass(frozen=True)
class OrgUnitSpec:
    code: str
    name: str
    parent: str | None = None
    case_visibility: str = CaseVisibility.ORG.value


@dataclass(frozen=True)
class UserSpec:
    """A user; `org` and `role` become the primary membership. No password: cannot log in until set."""

    email: str
    name: str
    org: str
    role: str = Role.AGENT.value
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StatusSpec:
    """The company's sub-statuses under one fixed status, in display order."""

    status: str
    sub_statuses: tuple[str, ...]


@dataclass(frozen=True)
class CustomFieldSpec:
    name: str
    field_type: str
    choices: tuple[str, ...] = ()
    is_required: bool = False


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    custom_fields: tuple[str, ...] = ()
    case_kind: str | None = None  # None: the project's current (or default) kind
    customer_kind: str | None = None


@dataclass(frozen=True)
class WorkgroupSpec:
    name: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class TenantSpec:
    """A valid tenant file. Every tuple keeps the file's order (indexes match the error paths)."""

    company: CompanySpec
    org_units: tuple[OrgUnitSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    ranks: tuple[str, ...] = ()
    statuses: tuple[StatusSpec, ...] = ()
    tags: tuple[str, ...] = ()
    custom_fields: tuple[CustomFieldSpec, ...] = ()
    projects: tuple[ProjectSpec, ...] = ()
    workgroups: tuple[WorkgroupSpec, ...] = ()
    # The sections feature apps add (crm/tenant_sections.py), as (key, parsed value), in file order.
    sections: tuple[tuple[str, object], ...] = ()

    def section(self, key: str):
        """The parsed value of a registered section, or None when the file does not have it."""
        return dict(self.sections).get(key)

    def org_units_parents_first(self) -> tuple[OrgUnitSpec, ...]:
        """The units in creation order: each after its parent, otherwise in file order."""
        by_code = {unit.code: unit for unit in self.org_units}
        ordered: dict[str, OrgUnitSpec] = {}

        def visit(unit: OrgUnitSpec) -> None:
            if unit.code in ordered:
                return
            if unit.parent is not None:
                visit(by_code[unit.parent])
            ordered[unit.code] = unit

        for unit in self.org_units:
            visit(unit)
        return tuple(ordered.values())


@dataclass(frozen=True)
class TenantFileResult:
    """The spec when the file is valid (`errors` empty), else None and every error found."""

    spec: TenantSpec | None
    errors: tuple[SpecError, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------------
# Reading YAML


class _StrictSafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    is_duplicate = key in seen
                except TypeError:
                    continue  # unhashable: the base constructor reports it
                if is_duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_tenant_file(content: str | bytes) -> TenantFileResult:
    """Parse YAML text (bytes: UTF-8, with or without BOM) with a safe loader, then validate it."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return TenantFileResult(None, (SpecError("", _("The file is not UTF-8 text.")),))
    try:
        data = yaml.load(content, Loader=_StrictSafeLoader)  # a SafeLoader subclass: yaml.safe_load that also refuses duplicate keys
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or ""
        if mark is None:
            message = _("The file is not valid YAML: %(problem)s.") % {"problem": problem}
        else:
            message = _("The file is not valid YAML: %(problem)s (line %(line)d, column %(column)d).") % {
                "problem": problem, "line": mark.line + 1, "column": mark.column + 1,
            }
        return TenantFileResult(None, (SpecError("", message),))
    except yaml.YAMLError as error:
        return TenantFileResult(None, (SpecError("", _("The file is not valid YAML: %(problem)s.") % {"problem": error}),))
    return validate_tenant_data(data)


# ---------------------------------------------------------------------------------------------
# Validation


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _at(path: str, index: int) -> str:
    return f"{path}[{index}]"


class _Validator:
    """Collects errors while it converts the loaded YAML into spec objects."""

    def __init__(self) -> None:
        self.errors: list[SpecError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(SpecError(path, message))

    # -- shapes

    def mapping(self, value, path: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict | None:
        """The mapping with its keys checked (missing required keys, unknown keys), or None."""
        if not isinstance(value, dict):
            self.error(path, _("Expected a mapping of keys to values."))
            return None
        allowed = set(required) | set(optional)
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                self.error(_join(path, str(key)), _("Unknown key (expected one of: %(keys)s).") % {"keys": ", ".join([*required, *optional])})
        for key in required:
            if key not in value:
                self.error(_join(path, key), _("This key is required."))
        return value

    def items(self, value, path: str) -> Iterator[tuple[int, object, str]]:
        """(index, item, path) of a list; nothing (and an error) when it is not a list. Null is empty."""
        if value is None:
            return
        if not isinstance(value, list):
            self.error(path, _("Expected a list."))
            return
        for index, item in enumerate(value):
            yield index, item, _at(path, index)

    # -- scalars

    def text(self, value, path: str, *, max_length: int, clean: Callable[[str], str] = normalize_name) -> str | None:
        """A non-empty text, cleaned (names: NFKC with single spaces), or None with an error."""
        if value is None:
            self.error(path, _("A value is required."))
            return None
        if not isinstance(value, str):
            self.error(path, _("Must be text (put numbers, dates, yes/no and the like in quotes)."))
            return None
        cleaned = clean(value)
        if not cleaned:
            self.error(path, _("Must not be empty."))
            return None
        if len(cleaned) > max_length:
            self.error(path, _("At most %(count)d characters.") % {"count": max_length})
            return None
        return cleaned

    def choice(self, value, path: str, choices: list[str]) -> str | None:
        if not isinstance(value, str) or value not in choices:
            self.error(path, _("Must be one of: %(choices)s.") % {"choices": ", ".join(choices)})
            return None
        return value

    def email(self, value, path: str) -> str | None:
        if value is None or not isinstance(value, str):
            return self.text(value, path, max_length=254)
        result = normalize_email(value)
        if not result.is_valid:
            self.error(path, _(MESSAGES[result.reason]))
            return None
        return result.value

    def unique(self, value: str | None, path: str, seen: dict[str, str]) -> str | None:
        """The value, or None with an error when an earlier item had it (`seen`: value -> path)."""
        if value is None:
            return None
        if value in seen:
            self.error(path, _("Listed twice: already at %(path)s.") % {"path": seen[value]})
            return None
        seen[value] = path
        return value

    def name_list(self, value, path: str, *, max_length: int) -> tuple[str, ...]:
        seen: dict[str, str] = {}
        names = []
        for _index, item, item_path in self.items(value, path):
            name = self.unique(self.text(item, item_path, max_length=max_length), item_path, seen)
            if name is not None:
                names.append(name)
        return tuple(names)

    # -- sections

    def company(self, value) -> CompanySpec | None:
        data = self.mapping(value, "company", required=("code", "name"))
        if data is None:
            return None
        code = self.text(data.get("code"), "company.code", max_length=MAX_CODE, clean=str.strip) if "code" in data else None
        if code is not None and not COMPANY_CODE.fullmatch(code):
            self.error("company.code", _("A company code is 1 to 32 letters, digits, '-' or '_'."))
            code = None
        name = self.text(data.get("name"), "company.name", max_length=MAX_NAME) if "name" in data else None
        return CompanySpec(code, name) if code is not None and name is not None else None

    def org_units(self, value) -> tuple[OrgUnitSpec, ...]:
        units: list[OrgUnitSpec] = []
        links: list[tuple[str | None, str | None, str]] = []
        seen: dict[str, str] = {}
        for _index, item, path in self.items(value, "org_units"):
            data = self.mapping(item, path, required=("code", "name"), optional=("parent", "case_visibility"))
            if data is None:
                continue
            code = self.unique(
                self.text(data["code"], _join(path, "code"), max_length=MAX_CODE, clean=str.strip) if "code" in data else None,
                _join(path, "code"), seen,
            )
            name = self.text(data["name"], _join(path, "name"), max_length=MAX_NAME) if "name" in data else None
            parent = None
            parent_ok = True
            if data.get("parent") is not None:
                parent = self.text(data["parent"], _join(path, "parent"), max_length=MAX_CODE, clean=str.strip)
                parent_ok = parent is not None
            visibility = CaseVisibility.ORG.value
            if "case_visibility" in data:
                visibility = self.choice(data["case_visibility"], _join(path, "case_visibility"), CaseVisibility.values)
            links.append((code, parent, path))
            if code is not None and name is not None and parent_ok and visibility is not None:
                units.append(OrgUnitSpec(code, name, parent, visibility))
        self.org_tree(links, all_codes=set(seen))
        return tuple(units)

    def org_tree(self, links: list[tuple[str | None, str | None, str]], *, all_codes: set[str]) -> None:
        """Parents must be units of the file, and following parents must never come back to a unit.

        `links` holds (code, parent code, path) of every unit item, valid or not, so that a unit with
        another error still has its parent checked.
        """
        parents = {code: parent for code, parent, _path in links if code is not None}
        for code, parent, path in links:
            if parent is None:
                continue
            if parent not in all_codes:
                self.error(_join(path, "parent"), _("No unit with code %(code)s in org_units.") % {"code": parent})
                continue
            if code is None or parents.get(code) != parent:
                continue  # no code, or a duplicate code: its own error says so
            chain = [code]
            current = parent
            while current is not None and current not in chain and current in parents:
                chain.append(current)
                current = parents[current]
            if current == code:
                self.error(_join(path, "parent"), _("The parent chain loops back to this unit: %(chain)s.") % {
                    "chain": " -> ".join([*chain, code]),
                })

    def users(self, value, unit_codes: set[str]) -> tuple[UserSpec, ...]:
        users = []
        seen: dict[str, str] = {}
        for _index, item, path in self.items(value, "users"):
            data = self.mapping(item, path, required=("email", "name", "org"), optional=("role", "password"))
            if data is None:
                continue
            email = self.unique(self.email(data["email"], _join(path, "email")) if "email" in data else None, _join(path, "email"), seen)
            name = self.text(data["name"], _join(path, "name"), max_length=MAX_NAME) if "name" in data else None
            org = self.text(data["org"], _join(path, "org"), max_length=MAX_CODE, clean=str.strip) if "org" in data else None
            if org is not None and org not in unit_codes:
                self.error(_join(path, "org"), _("No unit with code %(code)s in org_units.") % {"code": org})
                org = None
            role = self.choice(data["role"], _join(path, "role"), Role.values) if "role" in data else Role.AGENT.value
            password = None
            password_ok = True
            if "password" in data:
                password = self.password(data["password"], _join(path, "password"), email=email, name=name)
                password_ok = password is not None
            if None not in (email, name, org, role) and password_ok:
                users.append(UserSpec(email, name, org, role, password))
        return tuple(users)

    def password(self, value, path: str, *, email: str | None, name: str | None) -> str | None:
        """The password as given (never cleaned), checked by the project's password validators."""
        if not isinstance(value, str) or not value:
            self.error(path, _("Must be text (put numbers, dates, yes/no and the like in quotes).") if value else _("Must not be empty."))
            return None
        from estatecrm.tenancy.models import User

        try:
            # An unsaved user: the similarity check compares the password with the e-mail address.
            validate_password(value, user=User(email=email or "", name=name or ""))
        except ValidationError as error:
            for message in error.messages:
                self.error(path, message)
            return None
        return value

    def statuses(self, value) -> tuple[StatusSpec, ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.error("statuses", _("Expected a mapping of keys to values."))
            return ()
        statuses = []
        for key, names in value.items():
            path = _join("statuses", str(key))
            status = self.choice(normalize_name(key) if isinstance(key, str) else key, path, CaseStatus.values)
            sub_statuses = self.name_list(names, path, max_length=MAX_MASTER_NAME)
            if status is not None:
                statuses.append(StatusSpec(status, sub_statuses))
        return tuple(statuses)

    def custom_fields(self, value) -> tuple[CustomFieldSpec, ...]:
        fields = []
        seen: dict[str, str] = {}
        for _index, item, path in self.items(value, "custom_fields"):
            data = self.mapping(item, path, required=("name", "type"), optional=("choices", "required"))
            if data is None:
                continue
            name = self.unique(
                self.text(data["name"], _join(path, "name"), max_length=MAX_MASTER_NAME) if "name" in data else None,
                _join(path, "name"), seen,
            )
            field_type = self.choice(data["type"], _join(path, "type"), CustomFieldType.values) if "type" in data else None
            choices: tuple[str, ...] = ()
            choices_ok = True
            if field_type in CHOICE_TYPES:
                before = len(self.errors)
                choices = self.name_list(data.get("choices"), _join(path, "choices"), max_length=MAX_MASTER_NAME)
                choices_ok = len(self.errors) == before
                if choices_ok and not choices:
                    self.error(_join(path, "choices"), _("A field of type %(type)s needs a list of choices.") % {"type": field_type})
                    choices_ok = False
            elif field_type is not None and data.get("choices") is not None:
                self.error(_join(path, "choices"), _("Only fields of type choice or multi_choice have choices."))
                choices_ok = False
            is_required = data.get("required", False)
            if not isinstance(is_required, bool):
                self.error(_join(path, "required"), _("Must be true or false."))
                is_required = None
            if None not in (name, field_type, is_required) and choices_ok:
                fields.append(CustomFieldSpec(name, field_type, choices, is_required))
        return tuple(fields)

    def projects(self, value) -> tuple[ProjectSpec, ...]:
        projects = []
        seen: dict[str, str] = {}
        for _index, item, path in self.items(value, "projects"):
            data = self.mapping(item, path, required=("name",), optional=("custom_fields", "case_kind", "customer_kind"))
            if data is None:
                continue
            name = self.unique(
                self.text(data["name"], _join(path, "name"), max_length=MAX_NAME) if "name" in data else None, _join(path, "name"), seen,
            )
            before = len(self.errors)
            field_names = self.name_list(data.get("custom_fields"), _join(path, "custom_fields"), max_length=MAX_MASTER_NAME)
            kinds = {key: self.choice(data[key], _join(path, key), list(choices)) for key, choices in
                     (("case_kind", CaseKind.values), ("customer_kind", CustomerKind.values)) if key in data}
            if name is not None and len(self.errors) == before:
                projects.append(ProjectSpec(name, field_names, **kinds))
        return tuple(projects)

    def workgroups(self, value) -> tuple[WorkgroupSpec, ...]:
        workgroups = []
        seen: dict[str, str] = {}
        for _index, item, path in self.items(value, "workgroups"):
            data = self.mapping(item, path, required=("name",), optional=("members",))
            if data is None:
                continue
            name = self.unique(
                self.text(data["name"], _join(path, "name"), max_length=MAX_NAME) if "name" in data else None, _join(path, "name"), seen,
            )
            members = []
            members_ok = True
            seen_members: dict[str, str] = {}
            for _member_index, member, member_path in self.items(data.get("members"), _join(path, "members")):
                email = self.unique(self.email(member, member_path), member_path, seen_members)
                if email is None:
                    members_ok = False
                else:
                    members.append(email)
            if not isinstance(data.get("members", []), list | None):
                members_ok = False
            if name is not None and members_ok:
                workgroups.append(WorkgroupSpec(name, tuple(members)))
        return tuple(workgroups)


def validate_tenant_data(data: object) -> TenantFileResult:
    """Validate loaded YAML data (a mapping) into a TenantSpec, collecting every error."""
    validator = _Validator()
    if not isinstance(data, dict):
        return TenantFileResult(None, (SpecError("", _("The file must be a mapping of keys (company, org_units, users, ...).")),))
    sections = tenant_sections()
    validator.mapping(data, "", required=("company",), optional=(*TOP_LEVEL_KEYS[1:], *(section.key for section in sections)))
    company = validator.company(data["company"]) if "company" in data else None
    org_units = validator.org_units(data.get("org_units"))
    unit_codes = {
        item["code"].strip() for item in (data.get("org_units") or []) if isinstance(data.get("org_units"), list)
        and isinstance(item, dict) and isinstance(item.get("code"), str)
    }
    spec_kwargs = {
        "org_units": org_units,
        "users": validator.users(data.get("users"), unit_codes),
        "ranks": validator.name_list(data.get("ranks"), "ranks", max_length=MAX_RANK),
        "statuses": validator.statuses(data.get("statuses")),
        "tags": validator.name_list(data.get("tags"), "tags", max_length=MAX_MASTER_NAME),
        "custom_fields": validator.custom_fields(data.get("custom_fields")),
        "projects": validator.projects(data.get("projects")),
        "workgroups": validator.workgroups(data.get("workgroups")),
    }
    context = FileContext(unit_codes=frozenset(unit_codes), user_emails=frozenset(_file_emails(data.get("users"))))
    spec_kwargs["sections"] = tuple(
        (section.key, section.parse(validator, data[section.key], section.key, context)) for section in sections if section.key in data
    )
    if validator.errors or company is None:
        return TenantFileResult(None, tuple(validator.errors))
    return TenantFileResult(TenantSpec(company=company, **spec_kwargs))


def _file_emails(users) -> set[str]:
    """The normalized e-mail addresses the file's users list gives, valid or not otherwise (for sections' references)."""
    if not isinstance(users, list):
        return set()
    emails = set()
    for item in users:
        if isinstance(item, dict) and isinstance(item.get("email"), str):
            result = normalize_email(item["email"])
            if result.is_valid:
                emails.add(result.value)
    return emails
