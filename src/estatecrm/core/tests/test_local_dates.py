"""`local_minute` / `local_day` give the text of Django's `date` filter with the list pages' formats."""

import datetime
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from estatecrm.core.templatetags.local_dates import local_day, local_minute

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
VALUES = [
    None, "", "2026-12-07", 0,
    datetime.datetime(2026, 12, 6, 15, 30, 59, tzinfo=datetime.UTC),  # the next day in Tokyo
    datetime.datetime(2026, 1, 1, 0, 0, tzinfo=TOKYO),
    datetime.datetime(999, 3, 4, 5, 6, tzinfo=datetime.UTC),
    datetime.datetime(2026, 12, 7, 9, 5),  # naive: shown as it is
    datetime.date(2026, 2, 3),
]


def django_date(value, format_string: str) -> str:
    return Template('{{ value|date:"' + format_string + '" }}').render(Context({"value": value}))


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
@pytest.mark.parametrize("value", VALUES)
def test_local_dates_match_the_date_filter(value, zone):
    # given the active time zone of a request
    with timezone.override(zone):
        # then (`date` refuses a time format for a date: the pages pass it datetimes only)
        if type(value) is datetime.date:
            assert local_minute(value) == ""
        else:
            assert local_minute(value) == django_date(value, "Y-m-d H:i")
        assert local_day(value) == django_date(value, "Y-m-d")


def test_local_minute_shows_the_active_time_zone():
    # given a moment in UTC
    value = datetime.datetime(2026, 12, 6, 15, 30, tzinfo=datetime.UTC)
    # when / then
    with timezone.override("Asia/Tokyo"):
        assert (local_minute(value), local_day(value)) == ("2026-12-07 00:30", "2026-12-07")
    with timezone.override("UTC"):
        assert (local_minute(value), local_day(value)) == ("2026-12-06 15:30", "2026-12-06")
