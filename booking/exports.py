"""Bookings as CSV, for the clinic's desk (opened in a spreadsheet more often than not)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from django.utils import timezone

from booking.models import Booking

COLUMNS = [
    "reference",
    "status",
    "patient",
    "doctor",
    "specialty",
    "slot_id",
    "slot_start",
    "slot_end",
    "booked_at",
    "cancelled_at",
]

# A cell starting with one of these is run as a formula by spreadsheets (OWASP's list, with the
# full-width forms spreadsheets also accept); patient ids are typed by patients, so such a cell
# could carry a formula into the clinic's spreadsheet (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# What a spreadsheet skips before it looks at the first character: spaces, a byte-order mark
# and the zero-width characters.
_SKIPPED_IN_FRONT = " \ufeff\u200b\u200c\u200d\u2060"


def write_bookings_csv(bookings: Iterable[Booking], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for booking in bookings:
        slot = booking.slot
        writer.writerow(
            [
                booking.reference,
                booking.status,
                _inert(booking.user_id),
                _inert(slot.doctor.name),
                _inert(slot.doctor.specialty),
                slot.pk,
                _local_iso(slot.start_time),
                _local_iso(slot.end_time),
                _local_iso(booking.created_at),
                _local_iso(booking.cancelled_at),
            ]
        )


def _inert(text: str) -> str:
    """The text with a leading apostrophe (shown as text, never run) if it could be a formula."""
    return f"'{text}" if text.lstrip(_SKIPPED_IN_FRONT).startswith(_FORMULA_STARTS) else text


def _local_iso(moment) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""
