"""What can go wrong when booking, cancelling or retrying, for the API and the pages alike."""

from enum import StrEnum

from mediqueue.errors import ConflictError, InvalidError, MediQueueError, NotFoundError


class BookingErrorCode(StrEnum):
    SLOT_FULL = "slot_full"
    SLOT_CLOSED = "slot_closed"
    ALREADY_BOOKED = "already_booked"
    BOOKING_NOT_FOUND = "booking_not_found"
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"


class SlotFullError(ConflictError):
    code = BookingErrorCode.SLOT_FULL
    default_message = "Sorry, this slot is fully booked."


class SlotClosedError(ConflictError):
    code = BookingErrorCode.SLOT_CLOSED
    default_message = "This slot has already started and can no longer be booked or cancelled."


class AlreadyBookedError(ConflictError):
    """The patient holds a seat in this slot. Deliberately without the booking: its reference
    is the key to it, and whoever sends a patient's userId is not necessarily that patient."""

    code = BookingErrorCode.ALREADY_BOOKED
    default_message = (
        "You already hold a seat in this slot; no second seat was taken. Your booking "
        "reference is in the confirmation you received."
    )


class BookingNotFoundError(NotFoundError):
    code = BookingErrorCode.BOOKING_NOT_FOUND
    default_message = "No booking with this reference exists."


class IdempotencyMismatchError(MediQueueError):
    code = BookingErrorCode.IDEMPOTENCY_MISMATCH
    http_status = 422
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyInProgressError(ConflictError):
    code = BookingErrorCode.IDEMPOTENCY_IN_PROGRESS
    default_message = (
        "A request with this Idempotency-Key is still being processed. Retry in a moment."
    )


class InvalidIdempotencyKeyError(InvalidError):
    default_message = "Idempotency-Key must be 1 to 255 printable ASCII characters."
