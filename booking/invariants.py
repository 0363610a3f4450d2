"""The invariants of DESIGN.md, checked against what is committed.

I1: a slot's booked_seats equals the number of its CONFIRMED bookings.
I2: 0 <= booked_seats <= total_seats.
I3: a slot that has not started and has a free seat has no WAITING entry.
I4: promotions follow join order: no entry was promoted while an earlier one was waiting.
I5: an entry is passed over only for a patient with a seat of its slot: no PASSED entry whose
    patient never had a booking there (in open mode a seat holder may join; booking.waitlist).
I6: queued bookings are first come, first served: in the order of record, no request refused
    slot_full precedes a confirmed request of the same slot, unless a seat of the slot was
    freed between their decisions (a cancel). An admin raising total_seats leaves no trace to
    tell it by: right after one, a slot with no waiting list may show a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q

from booking.models import Booking
from slots.models import Slot


@dataclass(frozen=True)
class SlotViolation:
    slot_id: int
    booked_seats: int
    total_seats: int
    confirmed_bookings: int

    def describe(self) -> str:
        problems = []
        if self.booked_seats != self.confirmed_bookings:
            problems.append(
                f"booked_seats={self.booked_seats} but {self.confirmed_bookings} confirmed "
                "bookings (I1)"
            )
        if not 0 <= self.booked_seats <= self.total_seats:
            problems.append(
                f"booked_seats={self.booked_seats} outside 0..total_seats={self.total_seats} (I2)"
            )
        return f"slot {self.slot_id}: " + "; ".join(problems)


@dataclass(frozen=True)
class WaitlistViolation:
    slot_id: int
    invariant: str
    detail: str

    def describe(self) -> str:
        return f"slot {self.slot_id}: {self.detail} ({self.invariant})"


def find_violations() -> list[SlotViolation | WaitlistViolation]:
    """Every slot breaking I1 to I6."""
    return find_seat_violations() + find_waitlist_violations()


# An entry "was waiting when another was promoted" if it is still waiting, or stopped waiting
# after that promotion (closed_at is the database's clock under the slot's lock, so the order
# of these times is the order of the changes).
_WAITLIST_CHECKS = {
    "I3": """
        SELECT s.id, count(*) || ' waiting while ' || (s.total_seats - s.booked_seats)
                     || ' seat(s) are free'
        FROM slots_slot s JOIN booking_waitlistentry w ON w.slot_id = s.id
        WHERE w.status = 'WAITING' AND s.booked_seats < s.total_seats AND s.start_time > now()
        GROUP BY s.id, s.total_seats, s.booked_seats
    """,
    "I4": """
        SELECT promoted.slot_id, 'entry ' || promoted.id || ' was promoted while earlier entry '
                                 || earlier.id || ' was waiting'
        FROM booking_waitlistentry promoted
        JOIN booking_waitlistentry earlier
          ON earlier.slot_id = promoted.slot_id AND earlier.id < promoted.id
        WHERE promoted.status = 'BOOKED'
          AND (earlier.status = 'WAITING' OR earlier.closed_at > promoted.closed_at)
    """,
    "I5": """
        SELECT w.slot_id, 'entry ' || w.id || ' was passed over though its patient had no seat'
        FROM booking_waitlistentry w
        WHERE w.status = 'PASSED'
          AND NOT EXISTS (
              SELECT 1 FROM booking_booking b
              WHERE b.slot_id = w.slot_id AND b.user_id = w.user_id
          )
    """,
    "I6": """
        SELECT confirmed.slot_id, 'queued request ' || confirmed.id
                                  || ' was confirmed after request ' || refused.id
                                  || ' was refused slot_full'
        FROM booking_bookingrequest confirmed
        JOIN booking_bookingrequest refused
          ON refused.slot_id = confirmed.slot_id AND refused.id < confirmed.id
        WHERE confirmed.status = 'CONFIRMED'
          AND refused.status = 'FAILED' AND refused.reason = 'slot_full'
          AND NOT EXISTS (
              SELECT 1 FROM booking_booking b
              WHERE b.slot_id = confirmed.slot_id
                AND b.cancelled_at BETWEEN refused.decided_at AND confirmed.decided_at
          )
    """,
}


def find_waitlist_violations() -> list[WaitlistViolation]:
    """Every slot breaking I3 to I6, each check in one snapshot of its own."""
    violations = []
    with connection.cursor() as cursor:
        for invariant, query in _WAITLIST_CHECKS.items():
            cursor.execute(query)
            violations += [
                WaitlistViolation(slot_id, invariant, detail)
                for slot_id, detail in cursor.fetchall()
            ]
    return sorted(violations, key=lambda violation: (violation.slot_id, violation.invariant))


def find_seat_violations() -> list[SlotViolation]:
    """Every slot breaking I1 or I2, read in one consistent snapshot."""
    rows = (
        Slot.objects.annotate(
            confirmed=Count("bookings", filter=Q(bookings__status=Booking.Status.CONFIRMED))
        )
        .values_list("pk", "booked_seats", "total_seats", "confirmed")
        .order_by("pk")
    )
    return [
        SlotViolation(slot_id, booked, total, confirmed)
        for slot_id, booked, total, confirmed in rows
        if booked != confirmed or not 0 <= booked <= total
    ]
