"""Date-times from the outside (API bodies), held to what every database stores.

pydantic accepts offsets up to ±24 hours and any year; PostgreSQL refuses an offset beyond ±15:59
with an error (a 500) where SQLite stores the UTC value. An `ApiDateTime` is converted to UTC at the
edge (a naive value is read in the site's time zone, as the pages read it), so the same instant is
stored on both databases; a value that has no UTC form within years 1-9999 is a 422 on its field.
"""

import datetime
from typing import Annotated

from django.utils import timezone
from pydantic import AfterValidator


def in_utc(value: datetime.datetime) -> datetime.datetime:
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value.astimezone(datetime.UTC)
    except (OverflowError, ValueError):
        raise ValueError("the date and time is outside the supported range") from None


ApiDateTime = Annotated[datetime.datetime, AfterValidator(in_utc)]
