"""The invariants of DESIGN.md, checked against what is committed.

I1: a slot's booked_seats equals the number of its CONFIRMED bookings.
I2: 0 <= booked_seats <= total_seats.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def find_violations() -> list[SlotViolation]:
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
