"""Optimistic locking: the version of an object a change was read at (pages and API alike).

An object's version is its `updated_at`. The API hands it out as the ETag (`"<pk>-<seconds>"`) and
takes it back in `If-Match` or as the `updated_at` the client read; a page carries it in the hidden
`version` field of its edit form (the ETag, plus the last audit event the page had seen, so that a
refusal can say exactly what changed since). The actions compare it with the locked row
(`audit/stale.py`): one rule for every door.
"""

import datetime
from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext_lazy

from estatecrm.core.ids import parse_id


def etag_of(instance) -> str:
    """The ETag of a versioned object: its pk and its `updated_at` to the microsecond."""
    return f'"{instance.pk}-{instance.updated_at.timestamp():.6f}"'


def to_millisecond(moment: datetime.datetime) -> datetime.datetime:
    """JSON carries times to the millisecond (DjangoJSONEncoder), so `updated_at` is compared at that precision."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class ReadVersion:
    """What the caller read: ETags (If-Match, a page's version field) and/or the `updated_at` it saw.

    `seen_event_id` is the last audit event of the object the caller had seen (pages), so a refusal
    lists exactly the changes made since.
    """

    etags: frozenset[str] = field(default_factory=frozenset)
    updated_at: datetime.datetime | None = None
    seen_event_id: int | None = None

    def matches(self, instance) -> bool:
        if self.etags:
            return etag_of(instance) in self.etags
        if self.updated_at is not None:
            return to_millisecond(self.updated_at) == to_millisecond(instance.updated_at)
        return True

    # A page's hidden field: the ETag and the last audit event seen, "<etag>|<event id>".
    def as_field(self) -> str:
        return "|".join([sorted(self.etags)[0] if self.etags else "", str(self.seen_event_id or "")])

    @classmethod
    def from_field(cls, text: str) -> "ReadVersion":
        etag, _bar, event = (text or "").partition("|")
        # No ETag at all matches no version: a form without its version is refused, never taken as fresh.
        return cls(etags=frozenset({etag or '""'}), seen_event_id=parse_id(event))

    @classmethod
    def of(cls, instance, *, seen_event_id: int | None = None) -> "ReadVersion":
        return cls(etags=frozenset({etag_of(instance)}), seen_event_id=seen_event_id)



class VersionField(forms.CharField):
    """The hidden field of an edit form with the version the page was read at (ReadVersion.as_field)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=True, max_length=100, error_messages={
            "required": gettext_lazy("This page is out of date: open it again and redo your change.")}, **kwargs)


def rebound_at_version(data, form_class, version: ReadVersion, message: str, **form_kwargs):
    """The user's input again (`data`: the POST), now at `version`, with the refusal above the form:
    saving it again applies it over the changes the message lists."""
    data = data.copy()
    data["version"] = version.as_field()
    form = form_class(data, **form_kwargs)
    form.is_valid()
    form.add_error(None, message)
    return form
