"""Writing the intake settings: the inquiry sources and the LINE channel (settings pages, tenant file, demo).

Every action needs the rule `inquiry_settings` (company admin; `acting_user=None` is the operator),
validates everything first and writes nothing when something is wrong (ApplicationError with a
message per field), and records one audit event per change. Secrets (the IMAP password, the LINE
channel secret and access token) never appear in an audit event: only that they changed.

A source's `code` is its identity (the tenant file finds a source by it, cases name their source):
it is set when the source is created and never changed afterwards.
"""

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from estatecrm.audit.actions import record_event, snapshot
from estatecrm.audit.stale import check_read_version
from estatecrm.core.errors import ApplicationError
from estatecrm.core.versions import ReadVersion
from estatecrm.crm.choices import CaseKind
from estatecrm.inquiries.choices import FIELDS, ImapSecurity, Preset
from estatecrm.inquiries.models import InquirySource, LineChannel
from estatecrm.tenancy.models import OrgUnit, User
from estatecrm.tenancy.permissions import can_place_case, require_user
from estatecrm.tenancy.selectors import actor_for

SETTINGS_INVALID = "inquiry_settings_invalid"
SOURCE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
MAX_LABEL = 100
MAX_LABELS = 200
SECRET_FIELDS = frozenset({"imap_password", "channel_secret", "channel_access_token"})
CHANGED_SECRET = "(changed)"


@dataclass
class SourceInput:
    """What a source is set to. `imap_password` None keeps the stored password (the page leaves it empty)."""

    code: str
    name: str
    org_unit: OrgUnit | None
    preset: str = ""
    is_enabled: bool = True
    position: int = 0
    default_assignee: User | None = None
    case_kind: str = CaseKind.RENT
    from_contains: str = ""
    subject_contains: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    imap_host: str = ""
    imap_port: int | None = None
    imap_security: str = ImapSecurity.SSL
    imap_user: str = ""
    imap_password: str | None = None
    imap_folder: str = "INBOX"


@dataclass
class LineInput:
    """The LINE channel. Secrets None keep the stored ones (the page leaves them empty)."""

    org_unit: OrgUnit | None
    default_assignee: User | None = None
    is_enabled: bool = True
    channel_secret: str | None = None
    channel_access_token: str | None = None


# ---------------------------------------------------------------------------------------------
# Checks


def assignee_error(company_id: int, user: User | None, unit: OrgUnit | None) -> str | None:
    """Why `user` cannot be the default assignee of inquiries put in `unit`, or None.

    The assignee must be an active user of the company who sees the unit's cases (the access rules:
    a member of the unit or of a unit above it, an admin of it, or a company admin); otherwise the
    cases the intake gives them would be invisible to them."""
    if user is None:
        return None
    if user.company_id != company_id:
        return _("Choose a user of the company.")
    if not user.is_active:
        return _("%(name)s is deactivated: choose an active user.") % {"name": user.name or user.email}
    if unit is not None and not can_place_case(actor_for(user), unit.pk):
        return _("%(name)s cannot see the cases of %(unit)s: choose a member of the unit or of a unit above it.") % {
            "name": user.name or user.email, "unit": unit.name}
    return None


def destination_errors(company_id: int, org_unit: OrgUnit | None, assignee: User | None) -> dict[str, list[str]]:
    """What is wrong with where a source's or the LINE channel's inquiries go: the receiving unit and the default assignee."""
    errors: dict[str, list[str]] = {}
    if org_unit is None:
        errors["org_unit"] = [_("Choose the unit that receives the inquiries.")]
    elif org_unit.company_id != company_id:
        errors["org_unit"] = [_("Choose a unit of the company.")]
    problem = assignee_error(company_id, assignee, org_unit)
    if problem:
        errors["default_assignee"] = [problem]
    return errors


def label_errors(labels) -> dict[str, list[str]]:
    """What is wrong with a label map (label -> field), keyed `labels.<label>` (`labels` for the map itself)."""
    if not isinstance(labels, dict):
        return {"labels": [_("Expected a mapping of labels to fields.")]}
    errors: dict[str, list[str]] = {}
    if len(labels) > MAX_LABELS:
        errors["labels"] = [_("At most %(count)d labels.") % {"count": MAX_LABELS}]
    for label, target in labels.items():
        key = f"labels.{label}"
        if not isinstance(label, str) or not label.strip():
            errors.setdefault("labels", []).append(_("A label must not be empty."))
        elif len(label) > MAX_LABEL:
            errors.setdefault(key, []).append(_("A label has at most %(count)d characters.") % {"count": MAX_LABEL})
        if target not in FIELDS:
            errors.setdefault(key if isinstance(label, str) and label.strip() else "labels", []).append(
                _("Unknown field %(field)s (known: %(fields)s).") % {"field": target, "fields": ", ".join(FIELDS)})
    return errors


def clean_labels(labels: dict) -> dict[str, str]:
    return {label.strip(): target for label, target in labels.items()}


def _text_errors(errors: dict, name: str, value: str, max_length: int, *, required: bool = False) -> None:
    if required and not (value or "").strip():
        errors.setdefault(name, []).append(_("This field is required."))
    elif len(value or "") > max_length:
        errors.setdefault(name, []).append(_("At most %(count)d characters.") % {"count": max_length})


def source_errors(company_id: int, data: SourceInput, *, source: InquirySource | None = None) -> dict[str, list[str]]:
    """Every problem of `data` for a new source (`source` None) or for `source`, keyed by field."""
    errors: dict[str, list[str]] = {}
    if source is None:
        if not SOURCE_CODE.fullmatch(data.code or ""):
            errors["code"] = [_("A code is 1 to 32 letters, digits, '.', '-' or '_', starting with a letter or digit.")]
        elif InquirySource.objects.for_company(company_id).filter(code=data.code).exists():
            errors["code"] = [_("Another source already has the code %(code)s.") % {"code": data.code}]
    elif data.code != source.code:
        errors["code"] = [_("The code of a source cannot be changed: cases name their source by it.")]
    _text_errors(errors, "name", data.name, 100, required=True)
    if data.preset and data.preset not in Preset.values:
        errors["preset"] = [_("Unknown preset %(preset)s (known: %(presets)s).") % {"preset": data.preset, "presets": ", ".join(Preset.values)}]
    if data.case_kind not in CaseKind.values:
        errors["case_kind"] = [_("Choose a case kind.")]
    errors.update(destination_errors(company_id, data.org_unit, data.default_assignee))
    if not 0 <= (data.position or 0) <= 1_000_000:
        errors["position"] = [_("Enter a number from 0 to 1000000.")]
    _text_errors(errors, "from_contains", data.from_contains, 200)
    _text_errors(errors, "subject_contains", data.subject_contains, 200)
    errors.update(label_errors(data.labels))
    _text_errors(errors, "imap_host", data.imap_host, 255)
    _text_errors(errors, "imap_user", data.imap_user, 255)
    _text_errors(errors, "imap_folder", data.imap_folder, 255)
    if data.imap_password is not None:
        _text_errors(errors, "imap_password", data.imap_password, 255)
    if data.imap_security not in ImapSecurity.values:
        errors["imap_security"] = [_("Choose how the connection is secured.")]
    if data.imap_port is not None and not 1 <= data.imap_port <= 65535:
        errors["imap_port"] = [_("Enter a port from 1 to 65535.")]
    if data.imap_host:
        if not data.imap_user:
            errors.setdefault("imap_user", []).append(_("Enter the user name of the mailbox."))
        has_password = bool(data.imap_password) if data.imap_password is not None else bool(source and source.imap_password)
        if not has_password:
            errors.setdefault("imap_password", []).append(_("Enter the password of the mailbox."))
        if not (data.from_contains.strip() or data.subject_contains.strip()):
            errors.setdefault("from_contains", []).append(
                _("A source with a mailbox needs a sender or subject condition to recognize its mail."))
    return errors


def _refuse(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ApplicationError(SETTINGS_INVALID, _("Some fields are not valid; nothing was saved."), fields=errors)


def _masked(values: dict) -> dict:
    return {key: (CHANGED_SECRET if key in SECRET_FIELDS else value) for key, value in values.items()}


def _source_values(data: SourceInput, *, keep_password: str) -> dict:
    return {
        "name": data.name.strip(), "preset": data.preset or "", "is_enabled": bool(data.is_enabled), "position": data.position or 0,
        "org_unit_id": data.org_unit.pk, "default_assignee_id": data.default_assignee.pk if data.default_assignee else None,
        "case_kind": data.case_kind, "from_contains": data.from_contains.strip(), "subject_contains": data.subject_contains.strip(),
        "labels": clean_labels(data.labels), "imap_host": data.imap_host.strip(), "imap_port": data.imap_port,
        "imap_security": data.imap_security, "imap_user": data.imap_user.strip(),
        "imap_password": keep_password if data.imap_password in (None, "") else data.imap_password,
        "imap_folder": (data.imap_folder or "").strip() or "INBOX",
    }


# ---------------------------------------------------------------------------------------------
# Sources


@transaction.atomic
def do_create_source(*, company, data: SourceInput, acting_user) -> InquirySource:
    """A new source. Refused (nothing written) when anything is wrong or the code is taken."""
    require_user(acting_user, "inquiry_settings")
    _refuse(source_errors(company.pk, data))
    source = InquirySource(company=company, code=data.code, **_source_values(data, keep_password=""))
    source.save(force_insert=True)
    record_event(company_id=company.pk, actor=acting_user, verb="create", instance=source, after=_masked(snapshot(source)))
    return source


@transaction.atomic
def do_update_source(*, source: InquirySource, data: SourceInput, acting_user, read_version: ReadVersion | None = None) -> tuple[InquirySource, bool]:
    """Set the source to `data` (its code stays). Returns (source, changed); audited when changed.
    Refused with Conflict when it changed since `read_version` (the settings page)."""
    require_user(acting_user, "inquiry_settings")
    locked = InquirySource.objects.for_company(source.company_id).select_for_update().get(pk=source.pk)
    check_read_version(locked, read_version)
    _refuse(source_errors(locked.company_id, data, source=locked))
    wanted = _source_values(data, keep_password=locked.imap_password)
    changed = [key for key, value in wanted.items() if getattr(locked, key) != value]
    if not changed:
        return locked, False
    before = _masked(snapshot(locked, changed))
    for key in changed:
        setattr(locked, key, wanted[key])
    locked.save(update_fields=[*changed, "updated_at"])
    record_event(company_id=locked.company_id, actor=acting_user, verb="update", instance=locked, before=before,
                 after=_masked(snapshot(locked, changed)))
    return locked, True


@transaction.atomic
def do_set_source_enabled(*, source: InquirySource, enabled: bool, acting_user) -> bool:
    """Turn a source on or off. Returns whether it changed. Turning on checks its settings again
    (the default assignee may have left the unit since)."""
    require_user(acting_user, "inquiry_settings")
    locked = InquirySource.objects.for_company(source.company_id).select_for_update().get(pk=source.pk)
    if locked.is_enabled == enabled:
        return False
    if enabled:
        problem = assignee_error(locked.company_id, locked.default_assignee, locked.org_unit)
        if problem:
            raise ApplicationError(SETTINGS_INVALID, problem, fields={"default_assignee": [problem]})
    locked.is_enabled = enabled
    locked.save(update_fields=["is_enabled", "updated_at"])
    record_event(company_id=locked.company_id, actor=acting_user, verb="update", instance=locked, before={"is_enabled": not enabled},
                 after={"is_enabled": enabled})
    source.is_enabled, source.updated_at = locked.is_enabled, locked.updated_at
    return True


def do_upsert_source(*, company, data: SourceInput, acting_user=None) -> tuple[InquirySource, bool, bool]:
    """Create the source with `data.code` or update it (the tenant file). Returns (source, created, changed)."""
    existing = InquirySource.objects.for_company(company).filter(code=data.code).first()
    if existing is None:
        return do_create_source(company=company, data=data, acting_user=acting_user), True, True
    source, changed = do_update_source(source=existing, data=data, acting_user=acting_user)
    return source, False, changed


# ---------------------------------------------------------------------------------------------
# The LINE channel


def line_errors(company_id: int, data: LineInput, *, channel: LineChannel | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    errors.update(destination_errors(company_id, data.org_unit, data.default_assignee))
    for name, max_length in (("channel_secret", 100), ("channel_access_token", 500)):
        value = getattr(data, name)
        if value:
            value = value.strip()
            if len(value) > max_length:
                errors[name] = [_("At most %(count)d characters.") % {"count": max_length}]
            elif not value.isascii() or any(character.isspace() for character in value):
                errors[name] = [_("Paste the value from the LINE Developers console as it is (letters and digits, no spaces).")]
        elif channel is None or not getattr(channel, name):
            errors[name] = [_("Paste the value from the LINE Developers console.")]
    return errors


@transaction.atomic
def do_set_line_channel(*, company, data: LineInput, acting_user, read_version: ReadVersion | None = None) -> tuple[LineChannel, bool, bool]:
    """Create or update the company's LINE channel. Returns (channel, created, changed); audited.
    Empty secrets keep the stored ones. Refused with Conflict when it changed since `read_version`."""
    require_user(acting_user, "inquiry_settings")
    channel = LineChannel.objects.for_company(company).select_for_update().first()
    if channel is not None:
        check_read_version(channel, read_version)
    _refuse(line_errors(company.pk, data, channel=channel))
    wanted = {
        "org_unit_id": data.org_unit.pk, "default_assignee_id": data.default_assignee.pk if data.default_assignee else None,
        "is_enabled": bool(data.is_enabled),
    }
    for name in ("channel_secret", "channel_access_token"):
        value = (getattr(data, name) or "").strip()
        wanted[name] = value or getattr(channel, name, "")
    if channel is None:
        channel = LineChannel(company=company, **wanted)
        channel.save(force_insert=True)
        record_event(company_id=company.pk, actor=acting_user, verb="create", instance=channel, after=_masked(snapshot(channel)))
        return channel, True, True
    changed = [key for key, value in wanted.items() if getattr(channel, key) != value]
    if not changed:
        return channel, False, False
    before = _masked(snapshot(channel, changed))
    for key in changed:
        setattr(channel, key, wanted[key])
    channel.save(update_fields=[*changed, "updated_at"])
    record_event(company_id=company.pk, actor=acting_user, verb="update", instance=channel, before=before,
                 after=_masked(snapshot(channel, changed)))
    return channel, False, True


# ---------------------------------------------------------------------------------------------
# A successor as default assignee (staff moves: tenancy.holds)


@transaction.atomic
def do_set_default_assignee(*, channel_or_source: InquirySource | LineChannel, user: User, acting_user) -> bool:
    """Make `user` the default assignee of a source or of the LINE channel, and nothing else. Rule
    `inquiry_settings`; refused (field `default_assignee`) as the settings page refuses: a user of another
    company, deactivated, or who cannot see the cases of the receiving unit. Audited when changed."""
    require_user(acting_user, "inquiry_settings")
    model = type(channel_or_source)
    locked = model.objects.for_company(channel_or_source.company_id).select_for_update().select_related("org_unit").get(
        pk=channel_or_source.pk)
    problem = assignee_error(locked.company_id, user, locked.org_unit)
    if problem:
        raise ApplicationError(SETTINGS_INVALID, problem, fields={"default_assignee": [problem]})
    if locked.default_assignee_id == user.pk:
        return False
    before = {"default_assignee_id": locked.default_assignee_id}
    locked.default_assignee = user
    locked.save(update_fields=["default_assignee", "updated_at"])
    record_event(company_id=locked.company_id, actor=acting_user, verb="update", instance=locked, before=before,
                 after={"default_assignee_id": user.pk})
    return True
