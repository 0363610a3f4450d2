"""Booking and cancelling: the only code that changes a slot's seat count.

Both take the slot's row lock and decide on the row as it is once the lock is held: ``book`` in
one statement (``booking.queries.TAKE_SEAT``), ``cancel`` through ``slots.locks.lock_slot``.
A slot already full or started in the committed state is refused without any lock (the
statement does not match it, see booking.queries); a refusal is otherwise decided under the
lock. The CHECK constraints and the partial unique index are the last line behind this code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from psycopg import errors as pg_errors

from booking import queries
from booking.errors import (
    AlreadyBookedError,
    BookingNotFoundError,
    SlotClosedError,
    SlotFullError,
)
from booking.models import Booking, is_well_formed_reference, new_booking_reference
from mediqueue.audit import record_event
from slots.errors import SlotBusyError, SlotNotFoundError
from slots.locks import (
    busy_on_lock_timeout,
    in_locking_transaction,
    lock_slot,
    lock_timeout,
    run_as_own_transaction,
)
from slots.models import Doctor, Slot
from slots.selectors import slot_listing_changed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookingOutcome:
    booking: Booking
    slot: Slot
    changed: bool  # False for a cancel that found the booking already cancelled


def book(*, slot_id: int, user_id: str, attempts_left: int = 1) -> BookingOutcome:
    """Give ``user_id`` one seat of the slot.

    Refusals, in the order they are decided: the slot has started (SlotClosedError), has no
    seat left (SlotFullError, also when this patient holds one of them: the answer of a full
    slot must not tell who holds its seats), or the patient already holds a seat
    (AlreadyBookedError, which never carries the booking: its reference is the key to it).
    """
    reference = new_booking_reference()
    params = {
        "slot_id": slot_id,
        "user_id": user_id,
        "reference": reference,
        "lock_timeout": lock_timeout(),
    }
    try:
        with busy_on_lock_timeout():
            row = run_as_own_transaction(queries.TAKE_SEAT, params)
    except IntegrityError as error:
        if not isinstance(error.__cause__, pg_errors.UniqueViolation):
            raise  # a CHECK constraint: the statement is wrong, and the database stopped it
        # The partial unique index refused the insert: the same patient's other request took
        # their seat while this one waited for the lock. Nothing was committed.
        logger.info("concurrent repeat of a booking resolved by the unique index: %s", error)
        return _after_a_lock_wait(slot_id=slot_id, user_id=user_id, attempts_left=attempts_left)
    if row is None:
        raise SlotNotFoundError()

    (booking_id, booked_at, booked_now, booked_before, total, started, start, duration, created,
     doctor_id, name, specialty, holds_a_seat) = row  # fmt: skip
    if booking_id is None:
        # No seat taken. The statement's snapshot explains why, unless the refusal came from
        # the re-check after a lock wait: then the snapshot predates what changed, so look again.
        if started:  # by the database's clock, the one the statement decided with
            raise SlotClosedError()
        if booked_before >= total:
            raise SlotFullError()
        if holds_a_seat:
            raise AlreadyBookedError()
        return _after_a_lock_wait(slot_id=slot_id, user_id=user_id, attempts_left=attempts_left)

    slot = Slot(
        pk=slot_id,
        doctor=Doctor(pk=doctor_id, name=name, specialty=specialty),
        total_seats=total,
        booked_seats=booked_now,
        start_time=start,
        duration_minutes=duration,
        created_at=created,
    )
    transaction.on_commit(slot_listing_changed)
    record_event(
        "booking_confirmed",
        booking_id=booking_id,
        slot_id=slot_id,
        user_id=user_id,
        booked_seats=booked_now,
        total_seats=total,
    )
    booking = Booking(pk=booking_id, reference=reference, slot=slot, user_id=user_id,
                      status=Booking.Status.CONFIRMED, created_at=booked_at)  # fmt: skip
    return BookingOutcome(booking=booking, slot=slot, changed=True)


def _after_a_lock_wait(*, slot_id: int, user_id: str, attempts_left: int) -> BookingOutcome:
    """Why no seat was taken, read afresh and decided in the same order as ``book``: the slot
    is gone, started (by the database's clock), full, or the patient's own concurrent request
    took their seat. When none of these holds, what the lock wait saw was undone since (a
    cancel freed the seat again): try once more, then answer busy."""
    slot = (
        Slot.objects.filter(pk=slot_id)
        .annotate(started=RawSQL("start_time <= now()", []))
        .values("started", "booked_seats", "total_seats")
        .first()
    )
    if slot is None:
        raise SlotNotFoundError()
    if slot["started"]:
        raise SlotClosedError()
    if slot["booked_seats"] >= slot["total_seats"]:
        raise SlotFullError()
    if _confirmed_booking(slot_id=slot_id, user_id=user_id) is not None:
        raise AlreadyBookedError()
    if attempts_left:
        return book(slot_id=slot_id, user_id=user_id, attempts_left=attempts_left - 1)
    raise SlotBusyError()


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
        record_event(
            "booking_cancelled",
            booking_id=booking.pk,
            slot_id=slot.pk,
            user_id=booking.user_id,
            booked_seats=slot.booked_seats,
        )
        transaction.on_commit(slot_listing_changed)
    return BookingOutcome(booking=booking, slot=slot, changed=True)


def _confirmed_booking(*, slot_id: int, user_id: str) -> Booking | None:
    return Booking.objects.filter(
        slot_id=slot_id, user_id=user_id, status=Booking.Status.CONFIRMED
    ).first()
