"""The slots a run books, made through the slot service and read back from the database, with
Django set up in this process (:mod:`loadtests.harness.in_process`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# Slots made for a run start this far ahead: bookable for the whole run, and listed after the
# demo's slots of the coming days.
SLOTS_START_IN = timedelta(days=30)


@dataclass(frozen=True)
class SlotState:
    """A slot as read back after a run. The booking details are None when it was read through
    the public API (the load test's ``--host`` without ``DATABASE_URL``), which does not list
    bookings."""

    slot_id: int
    total_seats: int
    booked_seats: int
    confirmed_bookings: int | None = None
    confirmed_references: frozenset[str] | None = None
    confirmed_users: frozenset[str] | None = None


def create_slots(*, count: int, seats: int, label: str) -> list[int]:
    """A fresh doctor with ``count`` future slots of ``seats`` seats, through the slot service."""
    from django.utils import timezone

    from slots import services

    doctor = services.doctor_create(name=f"Load test {label}", specialty="Load testing")
    start = (timezone.now() + SLOTS_START_IN).replace(second=0, microsecond=0)
    return [
        services.slot_create(
            doctor_id=doctor.pk,
            start_time=start + timedelta(minutes=30 * number),
            total_seats=seats,
        ).pk
        for number in range(count)
    ]


def read_slots(slot_ids: list[int]) -> list[SlotState]:
    from booking.models import Booking
    from slots.models import Slot

    states = []
    for slot in Slot.objects.filter(pk__in=slot_ids).order_by("pk"):
        confirmed = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED)
        states.append(
            SlotState(
                slot_id=slot.pk,
                total_seats=slot.total_seats,
                booked_seats=slot.booked_seats,
                confirmed_bookings=confirmed.count(),
                confirmed_references=frozenset(confirmed.values_list("reference", flat=True)),
                confirmed_users=frozenset(confirmed.values_list("user_id", flat=True)),
            )
        )
    return states


@dataclass(frozen=True)
class WaitlistState:
    """A slot's waiting list as read back after a run: each entry's status, in join order, and
    the promotion notices in the outbox."""

    statuses: tuple[str, ...]
    promotion_notices: int

    @property
    def promoted(self) -> int:
        return self.statuses.count("BOOKED")


def read_waitlist(slot_id: int) -> WaitlistState:
    from booking.models import Notice, WaitlistEntry

    entries = WaitlistEntry.objects.filter(slot_id=slot_id).order_by("id")
    notices = Notice.objects.filter(
        kind=Notice.Kind.WAITLIST_PROMOTED, waitlist_entry__slot_id=slot_id
    )
    return WaitlistState(
        statuses=tuple(entries.values_list("status", flat=True)),
        promotion_notices=notices.count(),
    )


@dataclass(frozen=True)
class QueuedOutcome:
    """A queued request's outcome as the allocator recorded it; ``order`` is its place in the
    order of record."""

    order: int
    ticket: str
    user_id: str
    status: str
    reason: str
    seconds_in_line: float


def read_booking_requests(slot_id: int) -> list[QueuedOutcome]:
    """The slot's decided queued requests, in the order of record."""
    from booking.models import BookingRequest

    rows = BookingRequest.objects.filter(slot_id=slot_id).order_by("id")
    return [
        QueuedOutcome(
            order=row.pk,
            ticket=row.ticket,
            user_id=row.user_id,
            status=row.status,
            reason=row.reason,
            seconds_in_line=(row.decided_at - row.accepted_at).total_seconds(),
        )
        for row in rows
    ]
