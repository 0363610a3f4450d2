"""How the admin writes times: in the clinic's time zone (``DJANGO_TIME_ZONE``), to the minute,
short enough for a list column ("Sat 5 Dec 2026, 09:00"); Django's default would be "Dec. 5,
2026, 9 a.m." in lists and the raw value, microseconds and offset, in read-only fields."""

from __future__ import annotations

from datetime import datetime

from django.utils.dateformat import format as format_date
from django.utils.timezone import localtime

CLINIC_TIME = "D j M Y, H:i"
NOTHING = "—"


def clinic_time(value: datetime | None) -> str:
    return format_date(localtime(value), CLINIC_TIME) if value else NOTHING
