"""Reading a list page's filters from its query string: each value checked, the invalid ones left out
and reported (field -> message), never raised, so a bookmarked URL with a stale value still opens."""

import datetime

from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

from estatecrm.core.ids import parse_id


class QueryReader:
    """`text`, `number` (an id), `date` and `choice` of a QueryDict (or a plain dict of strings);
    what cannot be read is None or empty, and `errors` says why."""

    def __init__(self, query):
        self.query = query
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str:
        return (self.query.get(name) or "").strip()

    def number(self, name: str) -> int | None:
        value = self.text(name)
        if not value:
            return None
        number = parse_id(value)
        if number is None:
            self.errors[name] = _("Choose a valid option.")
        return number

    def date(self, name: str) -> datetime.date | None:
        value = self.text(name)
        if not value:
            return None
        try:
            parsed = parse_date(value)
        except ValueError:
            parsed = None
        if parsed is None:
            self.errors[name] = _("Enter a valid date.")
        return parsed

    def choice(self, name: str, allowed) -> str:
        value = self.text(name)
        if value and value not in allowed:
            self.errors[name] = _("Choose a valid option.")
            return ""
        return value
