import time
from datetime import date, timedelta

from django.db.models import QuerySet

from booking import queue
from booking.errors import (
    AlreadyBookedError,
    BookingNotFoundError,
    BookingRequestNotFoundError,
    SlotClosedError,
    SlotFullError,
)
from booking.models import Booking, BookingRequest, is_well_formed_reference
from mediqueue.errors import MediQueueError
from slots.errors import SlotNotFoundError
from slots.selectors import start_of_day


def booking_get(*, reference: str) -> Booking:
    """The booking with this reference. Malformed references answer the same "not found" as
    unknown ones, without a query, so a prober learns nothing from the difference."""
    if not is_well_formed_reference(reference):
        raise BookingNotFoundError()
    booking = Booking.objects.select_related("slot__doctor").filter(reference=reference).first()
    if booking is None:
        raise BookingNotFoundError()
    return booking


def bookings_of_slot(*, slot_id: int) -> QuerySet[Booking]:
    """Every booking of one slot, confirmed and cancelled, oldest first."""
    return _bookings_for_listing().filter(slot_id=slot_id)


def bookings_of_day(*, day: date) -> QuerySet[Booking]:
    """Every booking of the slots that start on ``day`` (clinic time), by slot, oldest first."""
    return _bookings_for_listing().filter(
        slot__start_time__gte=start_of_day(day),
        slot__start_time__lt=start_of_day(day + timedelta(days=1)),
    )


def _bookings_for_listing() -> QuerySet[Booking]:
    return Booking.objects.select_related("slot__doctor").order_by(
        "slot__start_time", "slot_id", "created_at", "id"
    )


def booking_request_outcome(*, ticket: str, wait_seconds: float = 0) -> BookingRequest | None:
    """The outcome of the queued request with this ticket, None while it is in line (waiting up
    to ``wait_seconds`` for one, looking again every 50 to 250 ms: one indexed read each).
    A ticket this service did not mint answers "not found", without a query."""
    if not queue.is_genuine_ticket(ticket):
        raise BookingRequestNotFoundError()
    deadline = time.monotonic() + wait_seconds
    pause = 0.05
    while True:
        outcome = (
            BookingRequest.objects.select_related("booking", "slot__doctor")
            .filter(ticket=ticket)
            .first()
        )
        left = deadline - time.monotonic()
        if outcome is not None or left <= 0:
            return outcome
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.25)


# A refusal's code, as the allocator recorded it, back to the error the direct path raises.
_REFUSALS = {
    refusal.code: refusal
    for refusal in (SlotFullError, SlotClosedError, AlreadyBookedError, SlotNotFoundError)
}


def booking_request_refusal(outcome: BookingRequest) -> MediQueueError:
    """Why a FAILED queued request got no seat: the error (code, message) of the direct path."""
    return _REFUSALS[outcome.reason]()
