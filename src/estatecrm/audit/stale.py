"""The optimistic lock's refusal: the object changed since the caller read it, and who changed what.

Called by actions on the row they have just locked (`select_for_update`), before they write
anything, so the page, the API and any other caller get the same answer (409 Conflict).
"""

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from estatecrm.audit.models import AuditEvent
from estatecrm.core.errors import Conflict
from estatecrm.core.versions import ReadVersion

STALE = "stale"
MAX_LISTED_CHANGES = 5
# Audit keys that are not model fields, with their labels.
EXTRA_LABELS = {"tags": lambda: _("Tags"), "sub_assignees": lambda: _("Sub-assignees"), "contacts": lambda: _("Contacts")}


def history_filter(instance) -> Q:
    """The audit events of `instance` itself."""
    return Q(object_type=instance._meta.label_lower, object_id=str(instance.pk))


def last_event_id(company_id: int, history: Q) -> int | None:
    """The newest audit event in `history`: what a page has seen when it shows the object."""
    return AuditEvent.objects.for_company(company_id).filter(history).order_by("-pk").values_list("pk", flat=True).first()


def field_label(model, name: str) -> str:
    if name in EXTRA_LABELS:
        return str(EXTRA_LABELS[name]())
    for candidate in (name, name.removesuffix("_id")):
        try:
            return str(model._meta.get_field(candidate).verbose_name)
        except Exception:
            continue
    return name


def describe_changes(company_id: int, history: Q, read: ReadVersion, models_by_type: dict) -> list[str]:
    """One line per change since the version read: when, who, which fields (newest last).

    Only when the caller says which audit event it had seen (pages): a time alone (the API's ETag or
    `updated_at`) cannot tell the write that made the version read from the ones after it, since a
    write's events are recorded just after its `updated_at`.
    """
    if read.seen_event_id is None:
        return []
    events = AuditEvent.objects.for_company(company_id).filter(history, pk__gt=read.seen_event_id).select_related("actor")
    lines = []
    for event in events.order_by("-pk")[:MAX_LISTED_CHANGES][::-1]:
        values = {
            "when": timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M"),
            "who": (event.actor.name or event.actor.email) if event.actor else _("the system"),
        }
        model = models_by_type.get(event.object_type)
        keys = list(dict.fromkeys([*(event.before or {}), *(event.after or {})]))
        if event.verb == "update" and model is not None and keys:
            values["what"] = ", ".join(field_label(model, key) for key in keys)
            lines.append(_("%(when)s %(who)s changed %(what)s.") % values)
        elif event.verb == "create":
            values["object"] = str(model._meta.verbose_name) if model is not None else event.object_type
            lines.append(_("%(when)s %(who)s added %(object)s.") % values)
        elif event.verb == "trash":
            lines.append(_("%(when)s %(who)s moved it to the trash.") % values)
        elif event.verb == "restore":
            lines.append(_("%(when)s %(who)s restored it from the trash.") % values)
        else:
            lines.append(_("%(when)s %(who)s changed it.") % values)
    return lines


def check_read_version(instance, read: ReadVersion | None, *, history: Q | None = None, models: tuple = ()) -> None:
    """Refuse (Conflict 409, code `stale`) a change based on a version of `instance` that is not its current one.

    `instance` is the row the action locked. `history` selects the audit events that change its
    version (default: its own); `models` are the models those events are about, for field labels.
    The message says who changed what since the version read.
    """
    if read is None or read.matches(instance):
        return
    history = history if history is not None else history_filter(instance)
    models_by_type = {model._meta.label_lower: model for model in (type(instance), *models)}
    lines = describe_changes(instance.company_id, history, read, models_by_type)
    message = _("Someone else saved this after you opened it; nothing of your change was saved.")
    if lines:
        message = " ".join([message, *lines])
    raise Conflict(STALE, message)
