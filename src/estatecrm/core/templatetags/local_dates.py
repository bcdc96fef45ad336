"""`local_minute` and `local_day`: `|date:"Y-m-d H:i"` and `|date:"Y-m-d"` for the rows of long lists.

Django's `date` filter parses its format string and looks up every format character on each call
(about 20 µs); a case list page shows three dates in each of its 50 rows. These give the same text, in
the active time zone as `date` does, from the datetime's fields.
"""

import datetime

from django import template
from django.utils import timezone

register = template.Library()


def _local(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter
def local_minute(value) -> str:
    """A datetime as `2026-12-07 15:49` in the active time zone; "" for anything else (as `date` with a time format)."""
    if not isinstance(value, datetime.datetime):
        return ""
    value = _local(value)
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"


@register.filter
def local_day(value) -> str:
    """A datetime's day in the active time zone, or a date, as `2026-12-07`; "" for anything else."""
    if isinstance(value, datetime.datetime):
        value = _local(value)
    elif not isinstance(value, datetime.date):
        return ""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
