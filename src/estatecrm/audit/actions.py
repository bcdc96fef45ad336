"""Writing audit events, and the trash (soft delete with restore) for customers and cases."""

import datetime
import decimal
import uuid
from collections.abc import Iterable

from django.db import models

from estatecrm.audit.models import AuditEvent


def json_value(value):
    """A JSON-safe copy of a field value for the before/after snapshots."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict:
    """The instance's concrete field values (foreign keys as ids) as JSON-safe data."""
    names = list(fields) if fields is not None else [
        field.attname for field in instance._meta.concrete_fields if field.attname not in {"company_id"}
    ]
    return {name: json_value(getattr(instance, name)) for name in names}


def record_event(
    *,
    company_id: int,
    actor,
    verb: str,
    instance: models.Model | None = None,
    object_type: str | None = None,
    object_id=None,
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
    run_id: int | None = None,
) -> AuditEvent:
    """Append one audit event. Call it inside the transaction of the change it describes."""
    event = audit_event(company_id=company_id, actor=actor, verb=verb, instance=instance, object_type=object_type,
                        object_id=object_id, object_repr=object_repr, before=before, after=after, run_id=run_id)
    event.save(force_insert=True)
    return event


def audit_event(
    *,
    company_id: int,
    actor,
    verb: str,
    instance: models.Model | None = None,
    object_type: str | None = None,
    object_id=None,
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
    run_id: int | None = None,
) -> AuditEvent:
    """The event record_event writes, unsaved: for bulk_record_events (set-based actions write many at once)."""
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = instance.pk if object_id is None else object_id
        object_repr = object_repr or str(instance)[:200]
    return AuditEvent(
        company_id=company_id,
        actor=actor if getattr(actor, "pk", None) else None,
        verb=verb,
        object_type=object_type or "",
        object_id=str(object_id),
        object_repr=object_repr[:200],
        before=before,
        after=after,
        run_id=run_id,
    )


def bulk_record_events(events: list[AuditEvent]) -> None:
    """Append many prepared events in one statement (bulk pipeline writes)."""
    AuditEvent.objects.bulk_create(events, batch_size=1000)
