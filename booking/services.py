"""Booking and cancelling: the only code that changes a slot's seat count.

Both take the slot's row lock (``slots.locks.lock_slot``), decide from what they read under it,
and write before committing. Nothing read outside the lock is an authority: the lock-free
pre-check in :func:`book` only short-cuts an answer that is already certain ("full", "started").
The CHECK constraints and the partial unique index are the last line behind this code.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from booking.errors import BookingNotFoundError, SlotClosedError, SlotFullError
from booking.models import Booking, is_well_formed_reference
from slots.errors import SlotNotFoundError
from slots.locks import in_locking_transaction, lock_slot
from slots.models import Slot


@dataclass(frozen=True)
class BookingOutcome:
    booking: Booking
    slot: Slot
    changed: bool  # False for a repeat that found the work already done (idempotent)


def book(*, slot_id: int, user_id: str) -> BookingOutcome:
    """Give ``user_id`` one seat of the slot, or return the seat they already hold."""
    _refuse_if_certainly_unbookable(slot_id=slot_id, user_id=user_id)

    with in_locking_transaction():
        slot = lock_slot(slot_id)
        # Looked up only now: a query issued before the lock was granted would run on a
        # snapshot that misses a booking committed by the transaction we waited for.
        existing = _confirmed_booking(slot_id=slot.pk, user_id=user_id)
        if existing is not None:
            return BookingOutcome(booking=existing, slot=slot, changed=False)
        if slot.start_time <= timezone.now():
            raise SlotClosedError()
        if slot.booked_seats >= slot.total_seats:
            raise SlotFullError()

        booking = Booking.objects.create(slot=slot, user_id=user_id)
        Slot.objects.filter(pk=slot.pk).update(booked_seats=F("booked_seats") + 1)
        slot.booked_seats += 1
    return BookingOutcome(booking=booking, slot=slot, changed=True)


def cancel(*, reference: str) -> BookingOutcome:
    """Cancel a booking and free its seat at once. Cancelling a cancelled booking is a no-op."""
    slot_id = None
    if is_well_formed_reference(reference):
        slot_id = (
            Booking.objects.filter(reference=reference).values_list("slot_id", flat=True).first()
        )
    if slot_id is None:
        raise BookingNotFoundError()

    with in_locking_transaction():
        slot = lock_slot(slot_id)
        booking = Booking.objects.get(reference=reference)  # re-read: status may have changed
        if booking.status == Booking.Status.CANCELLED:
            return BookingOutcome(booking=booking, slot=slot, changed=False)
        if slot.start_time <= timezone.now():
            raise SlotClosedError()

        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = timezone.now()
        booking.save(update_fields=["status", "cancelled_at"])
        Slot.objects.filter(pk=slot.pk).update(booked_seats=F("booked_seats") - 1)
        slot.booked_seats -= 1
    return BookingOutcome(booking=booking, slot=slot, changed=True)


def _refuse_if_certainly_unbookable(*, slot_id: int, user_id: str) -> None:
    """Answer a flash crowd's losers without queueing them on the row lock.

    A slot seen full or started in a committed state answers "no" for certain at that instant,
    unless this patient holds a seat in it (then the locked path returns their booking).
    """
    slot = (
        Slot.objects.filter(pk=slot_id).values("start_time", "total_seats", "booked_seats").first()
    )
    if slot is None:
        raise SlotNotFoundError()
    started = slot["start_time"] <= timezone.now()
    full = slot["booked_seats"] >= slot["total_seats"]
    if not (started or full):
        return
    if _confirmed_booking(slot_id=slot_id, user_id=user_id) is not None:
        return
    raise SlotClosedError() if started else SlotFullError()


def _confirmed_booking(*, slot_id: int, user_id: str) -> Booking | None:
    return Booking.objects.filter(
        slot_id=slot_id, user_id=user_id, status=Booking.Status.CONFIRMED
    ).first()
