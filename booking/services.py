"""Booking, cancelling, handing freed seats to the waiting list and deciding queued requests
(``allocate``): the only code that changes a slot's seat count.

Each takes the slot's row lock and decides on the row as it is once the lock is held: ``book`` in
one statement (``booking.queries.take_seat``), ``cancel`` through ``slots.locks.lock_slot``.
A slot already full or started in the committed state is refused without any lock (the
statement does not match it, see booking.queries); a refusal is otherwise decided under the
lock. The CHECK constraints and the partial unique index are the last line behind this code.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from booking import notices, queries, waitlist
from booking.errors import (
    AlreadyBookedError,
    BookingNotFoundError,
    SlotClosedError,
    SlotFullError,
)
from booking.models import (
    Booking,
    BookingRequest,
    Notice,
    WaitlistEntry,
    is_well_formed_reference,
    new_booking_reference,
)
from booking.queue import QueuedBooking
from mediqueue import metrics, ratelimit
from mediqueue.audit import record_event
from mediqueue.db import busy_on_lock_timeout, is_unique_violation
from mediqueue.errors import MediQueueError
from mediqueue.ratelimit import Count
from slots.errors import SlotBusyError, SlotNotFoundError
from slots.locks import lock_slot, slot_lock_timeout
from slots.models import Slot
from slots.selectors import slot_listing_changed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Booked:
    """A seat taken: the booking's reference (the key to it) and the slot as it is after, as
    the booking statement returned them. The API answers from these plain values; ``booking``
    and ``slot`` build model instances for callers that want them."""

    reference: str
    user_id: str
    email: str
    slot_id: int
    seat: queries.TakeSeat

    @property
    def slot(self) -> Slot:
        return self.seat.slot(self.slot_id)

    @property
    def booking(self) -> Booking:
        return self.seat.booking(
            slot=self.slot, reference=self.reference, user_id=self.user_id, email=self.email
        )


@dataclass(frozen=True)
class BookingOutcome:
    booking: Booking
    slot: Slot
    changed: bool  # False for a cancel that found the booking already cancelled
    promoted: list[Booking] = field(default_factory=list)  # the freed seat's new holder


def book(
    *,
    slot_id: int,
    user_id: str,
    email: str = "",
    limits: Sequence[Count] = (),
) -> Booked:
    """Give ``user_id`` one seat of the slot, counting the request's rate ``limits`` first.

    Refusals, in the order they are decided: a limit is exceeded (RateLimitedError), the slot
    has started (SlotClosedError), has no seat left (SlotFullError, also when this patient
    holds one of them: the answer of a full slot must not tell who holds its seats), or the
    patient already holds a seat (AlreadyBookedError, which never carries the booking: its
    reference is the key to it). With the counters in PostgreSQL the booking statement counts
    the limits itself, in its one round trip; with Redis they are counted there first.

    Without an ``email`` the booking statement is a transaction of its own, so the slot's lock
    is never held across a round trip. With one, the booking and its confirmation notice (the
    outbox, ``booking.notices.record``) commit together, in one transaction.
    """
    limits = list(limits)
    if limits and not ratelimit.counted_by_the_database():
        ratelimit.enforce(limits)
        limits = []
    with transaction.atomic() if email else nullcontext():
        booked = _take_a_seat(
            slot_id=slot_id,
            user_id=user_id,
            email=email,
            limits=limits,
            attempts_left=1,
        )
        if email:
            notices.record(Notice.Kind.BOOKING_CONFIRMED, recipient=email, booking=booked.booking)
    return booked


def _take_a_seat(
    *, slot_id: int, user_id: str, email: str, limits: list[Count], attempts_left: int
) -> Booked:
    reference = new_booking_reference()
    try:
        with busy_on_lock_timeout(SlotBusyError):
            seat = queries.take_seat(
                slot_id=slot_id,
                user_id=user_id,
                reference=reference,
                lock_timeout=slot_lock_timeout(),
                counting=limits,
                email=email,
            )
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise  # a CHECK constraint: the statement is wrong, and the database stopped it
        # The partial unique index refused the insert: the same patient's other request took
        # their seat while this one waited for the lock. Nothing was committed.
        logger.info("concurrent repeat of a booking resolved by the unique index: %s", error)
        return _after_a_lock_wait(
            slot_id=slot_id, user_id=user_id, email=email, attempts_left=attempts_left
        )
    if limits:
        counted = ratelimit.counted_results(limits, seat.counted_hits, seat.counted_seconds_left)
        ratelimit.raise_if_exceeded(limits, counted)
    if not seat.slot_exists:
        raise SlotNotFoundError()
    if not seat.taken:
        _refuse_as_the_snapshot_explains(seat)
        return _after_a_lock_wait(
            slot_id=slot_id, user_id=user_id, email=email, attempts_left=attempts_left
        )

    transaction.on_commit(slot_listing_changed)
    record_event(
        "booking_confirmed",
        booking_id=seat.booking_id,
        slot_id=slot_id,
        user_id=user_id,
        booked_seats=seat.booked_seats,
        total_seats=seat.total_seats,
    )
    return Booked(reference=reference, user_id=user_id, email=email, slot_id=slot_id, seat=seat)


def _refuse_as_the_snapshot_explains(seat: queries.TakeSeat) -> None:
    """Raise why no seat was taken, as the statement's snapshot says. It cannot say when the
    refusal came from the re-check after a lock wait: then the snapshot predates the change."""
    if seat.started:
        raise SlotClosedError()
    if seat.full:
        raise SlotFullError()
    if seat.holds_a_seat:
        raise AlreadyBookedError()


def _after_a_lock_wait(*, slot_id: int, user_id: str, email: str, attempts_left: int) -> Booked:
    """Why no seat was taken, read afresh and decided in the same order as ``book``: the slot
    is gone, started (by the database's clock), full, or the patient's own concurrent request
    took their seat. When none of these holds, what the lock wait saw was undone since (a
    cancel freed the seat again): try once more, then answer busy."""
    metrics.LOCK_WAITS.labels("refused_after_wait").inc()
    slot = (
        Slot.objects.filter(pk=slot_id)
        .annotate(started=RawSQL("start_time <= now()", []))  # the database's clock, as above
        .values("started", "booked_seats", "total_seats")
        .first()
    )
    refusal = _refusal(
        exists=slot is not None,
        started=slot is not None and slot["started"],
        seats_left=0 if slot is None else slot["total_seats"] - slot["booked_seats"],
        holds_a_seat=lambda: _confirmed_booking(slot_id=slot_id, user_id=user_id) is not None,
    )
    if refusal is not None:
        raise refusal
    if attempts_left:
        return _take_a_seat(
            slot_id=slot_id,
            user_id=user_id,
            email=email,
            limits=[],
            attempts_left=attempts_left - 1,
        )
    raise SlotBusyError()


def _refusal(
    *, exists: bool, started: bool, seats_left: int, holds_a_seat
) -> MediQueueError | None:
    """Why a patient gets no seat, decided on the slot as it is under its lock, in the order
    the booking statement decides it: gone, started, full (also for a patient holding one of
    its seats: a full slot must not tell who holds them), the patient's seat already held.
    ``holds_a_seat`` is asked last, only when it matters. None: the patient gets a seat."""
    if not exists:
        return SlotNotFoundError()
    if started:
        return SlotClosedError()
    if seats_left <= 0:
        return SlotFullError()
    if holds_a_seat():
        return AlreadyBookedError()
    return None


def cancel(*, reference: str) -> BookingOutcome:
    """Cancel a booking and free its seat at once. Cancelling a cancelled booking is a no-op."""
    slot_id = None
    if is_well_formed_reference(reference):
        slot_id = (
            Booking.objects.filter(reference=reference).values_list("slot_id", flat=True).first()
        )
    if slot_id is None:
        raise BookingNotFoundError()

    with transaction.atomic():
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
        if booking.email:
            notices.record(Notice.Kind.BOOKING_CANCELLED, recipient=booking.email, booking=booking)
        # The freed seat goes to the earliest patient waiting, under the same lock: a seat is
        # never free while someone waits (I3).
        promoted = fill_free_seats(slot)
        transaction.on_commit(slot_listing_changed)
    return BookingOutcome(booking=booking, slot=slot, changed=True, promoted=promoted)


def _confirmed_booking(*, slot_id: int, user_id: str) -> Booking | None:
    return Booking.objects.filter(
        slot_id=slot_id, user_id=user_id, status=Booking.Status.CONFIRMED
    ).first()


def fill_free_seats(slot: Slot) -> list[Booking]:
    """Give each free seat of ``slot`` to the earliest WAITING entry, one seat each, and return
    the bookings made. ``slot`` must be locked (``lock_slot``) and its counts current: the
    caller has just freed or added seats in this transaction."""
    free = slot.total_seats - slot.booked_seats
    if free <= 0:
        return []
    if slot.has_started:
        waitlist.expire_waiting(slot)
        return []
    # Entries of patients who hold a seat are passed over on the way (booking.waitlist).
    bookings = [_promote(slot, entry) for entry in waitlist.entries_to_promote(slot, free)]
    _count_seats_taken(slot, len(bookings))
    return bookings


def _count_seats_taken(slot: Slot, seats: int) -> None:
    """``seats`` more of the locked ``slot`` are taken, by bookings of this transaction."""
    if not seats:
        return
    Slot.objects.filter(pk=slot.pk).update(booked_seats=F("booked_seats") + seats)
    slot.booked_seats += seats
    transaction.on_commit(slot_listing_changed)


def allocate(*, slot_id: int, requests: Sequence[QueuedBooking]) -> list[BookingRequest]:
    """Decide queued requests for one slot (booking.queue) in the order given, the broker's,
    under ONE lock of the slot's row, and record each outcome; return the outcomes recorded.

    The earliest requests of distinct patients get the seats left; the rest are refused with
    the code the direct path would answer (``_refusal``, the same order of reasons). Each
    outcome gets its place in the order of record (its id, drawn here under the lock). A
    request already decided (delivered again: the allocator died after the commit, before its
    ack) is skipped and changes nothing; the unique ticket is the last line behind that.
    Bookings with an email get their confirmation notice in the same transaction, as direct
    ones do. SlotBusyError when the lock cannot be had: nothing is recorded, retry the batch.
    """
    with transaction.atomic(durable=True):
        try:
            slot = lock_slot(slot_id)
        except SlotNotFoundError:
            slot = None
        fresh = _not_yet_decided(requests)
        if not fresh:
            return []
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")  # the database's clock, under the lock
            (decided_at,) = cursor.fetchone()
        started = slot is not None and slot.start_time <= decided_at
        seats_left = 0 if slot is None else slot.total_seats - slot.booked_seats
        holders = set(
            Booking.objects.filter(
                slot_id=slot_id,
                status=Booking.Status.CONFIRMED,
                user_id__in={request.user_id for request in fresh},
            ).values_list("user_id", flat=True)
        )
        outcomes, bookings = [], []
        for request in fresh:
            outcome = BookingRequest(
                ticket=request.ticket,
                slot=slot,
                user_id=request.user_id,
                accepted_at=request.accepted_at,
                decided_at=decided_at,
            )
            refusal = _refusal(
                exists=slot is not None,
                started=started,
                seats_left=seats_left,
                holds_a_seat=lambda user_id=request.user_id: user_id in holders,
            )
            if refusal is None:
                outcome.booking = Booking(slot=slot, user_id=request.user_id, email=request.email)
                outcome.status = BookingRequest.Status.CONFIRMED
                bookings.append(outcome.booking)
                holders.add(request.user_id)
                seats_left -= 1
            else:
                outcome.status, outcome.reason = BookingRequest.Status.FAILED, refusal.code
            outcomes.append(outcome)
        Booking.objects.bulk_create(bookings)
        if bookings:
            _count_seats_taken(slot, len(bookings))
        _in_order_of_record(outcomes)
        BookingRequest.objects.bulk_create(outcomes)
        for booking in bookings:
            if booking.email:
                notices.record(
                    Notice.Kind.BOOKING_CONFIRMED, recipient=booking.email, booking=booking
                )
            record_event(
                "booking_confirmed",
                booking_id=booking.pk,
                slot_id=slot_id,
                user_id=booking.user_id,
                queued=True,
            )
    return outcomes


def _not_yet_decided(requests: Sequence[QueuedBooking]) -> list[QueuedBooking]:
    """``requests`` without those already decided, nor repeats of one ticket, in order."""
    seen = set(
        BookingRequest.objects.filter(
            ticket__in=[request.ticket for request in requests]
        ).values_list("ticket", flat=True)
    )
    fresh = []
    for request in requests:
        if request.ticket not in seen:
            seen.add(request.ticket)
            fresh.append(request)
    return fresh


def _in_order_of_record(outcomes: list[BookingRequest]) -> None:
    """Give the outcomes ids in their order: the table's own sequence, drawn under the lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('booking_bookingrequest', 'id'))"
            " FROM generate_series(1, %s)",
            [len(outcomes)],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    for outcome, id_ in zip(outcomes, ids, strict=True):
        outcome.id = id_


def seats_added(sender, *, slot: Slot, **kwargs) -> None:
    """``slots.signals.seats_added``: an admin added seats to the locked ``slot``."""
    fill_free_seats(slot)


def _promote(slot: Slot, entry: WaitlistEntry) -> Booking:
    booking = Booking.objects.create(slot=slot, user_id=entry.user_id, email=entry.email)
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        status=WaitlistEntry.Status.BOOKED, booking=booking, closed_at=waitlist.DATABASE_CLOCK
    )
    if entry.email:
        notices.record(
            Notice.Kind.WAITLIST_PROMOTED,
            recipient=entry.email,
            booking=booking,
            waitlist_entry=entry,
        )
    record_event(
        "waitlist_promoted",
        entry_id=entry.pk,
        booking_id=booking.pk,
        slot_id=slot.pk,
        user_id=entry.user_id,
    )
    return booking
