"""The tenant file's `inquiry_sources` and `line` sections (docs/tenant-file.md), registered with
crm/tenant_sections.py in InquiriesConfig.ready() so that the CRM does not import this app.

```yaml
inquiry_sources:
  - code: suumo
    name: SUUMO
    preset: suumo
    enabled: true
    org: HQ
    default_assignee: agent@example.jp
    case_kind: rent                     # optional (rent, buy, ...): the kind of the cases it opens
    mail:
      from_contains: jds.suumo.jp
      subject_contains: 反響
      labels: {"お名前": customer_name, "ご質問": message}
      imap: {host: imap.example.jp, port: 993, security: ssl, user: inquiry@example.jp, password: "…", folder: INBOX}
line:
  channel_secret: "…"
  channel_access_token: "…"
  org: HQ
  default_assignee: agent@example.jp
  enabled: true                          # optional
```

A listed source is exact (its name, preset, conditions, labels, unit and assignee become the file's;
an absent `enabled` is true), except its mailbox: without `mail.imap` the mailbox set on the settings
page stays. Sources the file does not list stay as they are. Sources are ordered as listed.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from estatecrm.core.errors import ApplicationError
from estatecrm.crm.choices import CaseKind
from estatecrm.crm.tenant_file import SpecError
from estatecrm.crm.tenant_sections import ApplyContext, FileContext, TenantSection
from estatecrm.inquiries import actions
from estatecrm.inquiries.choices import FIELDS, ImapSecurity, Preset
from estatecrm.inquiries.models import InquirySource
from estatecrm.tenancy.models import OrgUnit, User

SOURCES = "inquiry_sources"
LINE = "line"


@dataclass(frozen=True)
class ImapSpec:
    host: str
    user: str
    password: str
    port: int | None = None
    security: str = ImapSecurity.SSL.value
    folder: str = "INBOX"


@dataclass(frozen=True)
class SourceSpec:
    path: str
    code: str
    name: str
    org: str
    preset: str = ""
    enabled: bool = True
    default_assignee: str | None = None
    case_kind: str = CaseKind.RENT.value
    from_contains: str = ""
    subject_contains: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    imap: ImapSpec | None = None


@dataclass(frozen=True)
class LineSpec:
    channel_secret: str
    channel_access_token: str
    org: str
    default_assignee: str | None = None
    enabled: bool = True


# ---------------------------------------------------------------------------------------------
# Parsing (no database)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}"


def _boolean(validator, data: dict, key: str, path: str) -> bool | None:
    value = data.get(key, True)
    if not isinstance(value, bool):
        validator.error(_join(path, key), _("Must be true or false."))
        return None
    return value


def _optional_text(validator, data: dict, key: str, path: str, max_length: int) -> str | None:
    """Text that may be absent or empty ("" then); None with an error when it is not text or too long."""
    value = data.get(key)
    if value is None or value == "":
        return ""
    return validator.text(value, _join(path, key), max_length=max_length, clean=str.strip)


def _reference(validator, data: dict, key: str, path: str, *, email: bool) -> str | None:
    if email:
        return validator.email(data[key], _join(path, key))
    return validator.text(data[key], _join(path, key), max_length=32, clean=str.strip)


def _labels(validator, value, path: str) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return ()
    if not isinstance(value, dict):
        validator.error(path, _("Expected a mapping of labels to fields."))
        return None
    labels = []
    ok = True
    for label, target in value.items():
        label_path = _join(path, str(label))
        if not isinstance(label, str) or not label.strip():
            validator.error(label_path, _("A label must not be empty."))
            ok = False
            continue
        if len(label.strip()) > actions.MAX_LABEL:
            validator.error(label_path, _("A label has at most %(count)d characters.") % {"count": actions.MAX_LABEL})
            ok = False
            continue
        if target not in FIELDS:
            validator.error(label_path, _("Unknown field %(field)s (known: %(fields)s).") % {"field": target, "fields": ", ".join(FIELDS)})
            ok = False
            continue
        labels.append((label.strip(), target))
    return tuple(labels) if ok else None


def _imap(validator, value, path: str) -> ImapSpec | None:
    data = validator.mapping(value, path, required=("host", "user", "password"), optional=("port", "security", "folder"))
    if data is None:
        return None
    host = validator.text(data["host"], _join(path, "host"), max_length=255, clean=str.strip) if "host" in data else None
    user = validator.text(data["user"], _join(path, "user"), max_length=255, clean=str.strip) if "user" in data else None
    password = None
    if "password" in data:
        if not isinstance(data["password"], str) or not data["password"]:
            validator.error(_join(path, "password"), _("Must be text (put numbers, dates, yes/no and the like in quotes)."))
        else:
            password = data["password"]
    port, port_ok = None, True
    if data.get("port") is not None:
        port = data["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            validator.error(_join(path, "port"), _("Enter a port from 1 to 65535."))
            port_ok = False
    security = validator.choice(data["security"], _join(path, "security"), ImapSecurity.values) if "security" in data else ImapSecurity.SSL.value
    folder = (_optional_text(validator, data, "folder", path, 255) if "folder" in data else "INBOX")
    if None in (host, user, password, security, folder) or not port_ok:
        return None
    return ImapSpec(host=host, user=user, password=password, port=port, security=security, folder=folder or "INBOX")


def parse_sources(validator, value, path: str, context: FileContext) -> tuple[SourceSpec, ...]:
    sources = []
    seen: dict[str, str] = {}
    for _index, item, item_path in validator.items(value, path):
        data = validator.mapping(item, item_path, required=("code", "name", "org"),
                                 optional=("preset", "enabled", "default_assignee", "case_kind", "mail"))
        if data is None:
            continue
        before = len(validator.errors)
        code = None
        if "code" in data:
            code = validator.text(data["code"], _join(item_path, "code"), max_length=32, clean=str.strip)
            if code is not None and not actions.SOURCE_CODE.fullmatch(code):
                validator.error(_join(item_path, "code"), _("A code is 1 to 32 letters, digits, '.', '-' or '_', starting with a letter or digit."))
                code = None
            code = validator.unique(code, _join(item_path, "code"), seen)
        name = validator.text(data["name"], _join(item_path, "name"), max_length=100) if "name" in data else None
        org = _reference(validator, data, "org", item_path, email=False) if "org" in data else None
        preset = validator.choice(data["preset"], _join(item_path, "preset"), Preset.values) if data.get("preset") is not None else ""
        enabled = _boolean(validator, data, "enabled", item_path)
        assignee = _reference(validator, data, "default_assignee", item_path, email=True) if data.get("default_assignee") is not None else None
        case_kind = validator.choice(data["case_kind"], _join(item_path, "case_kind"), CaseKind.values) if "case_kind" in data else CaseKind.RENT
        mail = {}
        if data.get("mail") is not None:
            mail_path = _join(item_path, "mail")
            mail_data = validator.mapping(data["mail"], mail_path, required=(),
                                          optional=("from_contains", "subject_contains", "labels", "imap"))
            if mail_data is not None:
                mail = {
                    "from_contains": _optional_text(validator, mail_data, "from_contains", mail_path, 200),
                    "subject_contains": _optional_text(validator, mail_data, "subject_contains", mail_path, 200),
                    "labels": _labels(validator, mail_data.get("labels"), _join(mail_path, "labels")),
                }
                if mail_data.get("imap") is not None:
                    mail["imap"] = _imap(validator, mail_data["imap"], _join(mail_path, "imap"))
                    if mail["imap"] is not None and not (mail["from_contains"] or mail["subject_contains"]):
                        validator.error(_join(mail_path, "imap"), _(
                            "A source with a mailbox needs a sender or subject condition to recognize its mail."))
        if len(validator.errors) == before and None not in (code, name, org):
            sources.append(SourceSpec(path=item_path, code=code, name=name, org=org, preset=preset, enabled=enabled,
                                      default_assignee=assignee, case_kind=case_kind, **mail))
    return tuple(sources)


def parse_line(validator, value, path: str, context: FileContext) -> LineSpec | None:
    data = validator.mapping(value, path, required=("channel_secret", "channel_access_token", "org"), optional=("default_assignee", "enabled"))
    if data is None:
        return None
    before = len(validator.errors)
    secret = validator.text(data["channel_secret"], _join(path, "channel_secret"), max_length=100, clean=str.strip) if "channel_secret" in data else None
    token = (validator.text(data["channel_access_token"], _join(path, "channel_access_token"), max_length=500, clean=str.strip)
             if "channel_access_token" in data else None)
    org = _reference(validator, data, "org", path, email=False) if "org" in data else None
    assignee = _reference(validator, data, "default_assignee", path, email=True) if data.get("default_assignee") is not None else None
    enabled = _boolean(validator, data, "enabled", path)
    if len(validator.errors) != before or None in (secret, token, org):
        return None
    return LineSpec(channel_secret=secret, channel_access_token=token, org=org, default_assignee=assignee, enabled=enabled)


# ---------------------------------------------------------------------------------------------
# Against the database (reads only)


def _known(spec, company_id: int | None) -> tuple[set[str], set[str]]:
    units = {unit.code for unit in spec.org_units}
    emails = {user.email for user in spec.users}
    if company_id is not None:
        units |= set(OrgUnit.objects.for_company(company_id).values_list("code", flat=True))
        emails |= set(User.objects.filter(company_id=company_id).values_list("email", flat=True))
    return units, emails


def _reference_errors(path: str, org: str, assignee: str | None, units: set[str], emails: set[str]) -> list[SpecError]:
    errors = []
    if org not in units:
        errors.append(SpecError(f"{path}.org", _("No unit with code %(code)s in the file or in the company.") % {"code": org}))
    if assignee is not None and assignee not in emails:
        errors.append(SpecError(f"{path}.default_assignee", _(
            "No user with the e-mail address %(email)s in the file or in the company.") % {"email": assignee}))
    return errors


def check_sources(sources: tuple[SourceSpec, ...], spec, company_id: int | None) -> list[SpecError]:
    units, emails = _known(spec, company_id)
    errors = []
    for source in sources:
        errors.extend(_reference_errors(source.path, source.org, source.default_assignee, units, emails))
    return errors


def check_line(line: LineSpec | None, spec, company_id: int | None) -> list[SpecError]:
    if line is None:
        return []
    units, emails = _known(spec, company_id)
    return _reference_errors(LINE, line.org, line.default_assignee, units, emails)


# ---------------------------------------------------------------------------------------------
# Applying


def _unit(context: ApplyContext, code: str) -> OrgUnit:
    return context.units.get(code) or OrgUnit.objects.for_company(context.company).get(code=code)


def _user(context: ApplyContext, email: str | None) -> User | None:
    if email is None:
        return None
    return context.users.get(email) or User.objects.get(company=context.company, email=email)


def _refused(path: str, error: ApplicationError) -> ApplicationError:
    """The action's refusal with its fields as paths of the file (`inquiry_sources[1].default_assignee`)."""
    names = {"org_unit": "org", "is_enabled": "enabled", "from_contains": "mail.from_contains", "subject_contains": "mail.subject_contains",
             "imap_host": "mail.imap.host", "imap_user": "mail.imap.user", "imap_password": "mail.imap.password",
             "imap_port": "mail.imap.port", "imap_security": "mail.imap.security", "imap_folder": "mail.imap.folder"}
    fields = {}
    for name, messages in (error.fields or {"": [error.message]}).items():
        key = names.get(name, name.replace("labels.", "mail.labels.") if name.startswith("labels") else name)
        fields[f"{path}.{key}" if key else path] = messages
    from estatecrm.crm.tenant_setup import TENANT_FILE_INVALID

    return ApplicationError(TENANT_FILE_INVALID, error.message, fields=fields)


def apply_sources(sources: tuple[SourceSpec, ...], context: ApplyContext) -> None:
    existing = {source.code: source for source in InquirySource.objects.for_company(context.company)}
    for position, spec in enumerate(sources):
        current = existing.get(spec.code)
        data = actions.SourceInput(
            code=spec.code, name=spec.name, org_unit=_unit(context, spec.org), preset=spec.preset, is_enabled=spec.enabled,
            position=position, default_assignee=_user(context, spec.default_assignee), case_kind=spec.case_kind,
            from_contains=spec.from_contains, subject_contains=spec.subject_contains, labels=dict(spec.labels),
        )
        if spec.imap is not None:
            data.imap_host, data.imap_user, data.imap_password = spec.imap.host, spec.imap.user, spec.imap.password
            data.imap_port, data.imap_security, data.imap_folder = spec.imap.port, spec.imap.security, spec.imap.folder
        elif current is not None:
            data.imap_host, data.imap_user, data.imap_password = current.imap_host, current.imap_user, None
            data.imap_port, data.imap_security, data.imap_folder = current.imap_port, current.imap_security, current.imap_folder
        try:
            _source, created, changed = actions.do_upsert_source(company=context.company, data=data, acting_user=context.acting_user)
        except ApplicationError as error:
            raise _refused(spec.path, error) from None
        context.count(SOURCES, created=created, changed=changed)


def apply_line(line: LineSpec | None, context: ApplyContext) -> None:
    if line is None:
        return
    data = actions.LineInput(org_unit=_unit(context, line.org), default_assignee=_user(context, line.default_assignee), is_enabled=line.enabled,
                             channel_secret=line.channel_secret, channel_access_token=line.channel_access_token)
    try:
        _channel, created, changed = actions.do_set_line_channel(company=context.company, data=data, acting_user=context.acting_user)
    except ApplicationError as error:
        raise _refused(LINE, error) from None
    context.count(LINE, created=created, changed=changed)


SECTIONS = (
    TenantSection(key=SOURCES, kinds=(SOURCES,), parse=parse_sources, check=check_sources, apply=apply_sources),
    TenantSection(key=LINE, kinds=(LINE,), parse=parse_line, check=check_line, apply=apply_line),
)
