"""What can go wrong when booking, cancelling or retrying, for the API and the pages alike."""

from enum import StrEnum

from mediqueue.errors import (
    ConflictError,
    ErrorCode,
    InvalidError,
    MediQueueError,
    NotFoundError,
)


class BookingErrorCode(StrEnum):
    SLOT_FULL = "slot_full"
    SLOT_CLOSED = "slot_closed"
    ALREADY_BOOKED = "already_booked"
    BOOKING_NOT_FOUND = "booking_not_found"
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    SEATS_AVAILABLE = "seats_available"
    ALREADY_WAITING = "already_waiting"
    WAITLIST_ENTRY_NOT_FOUND = "waitlist_entry_not_found"
    ALREADY_PROMOTED = "already_promoted"
    BOOKING_REQUEST_NOT_FOUND = "booking_request_not_found"


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


class SeatsAvailableError(ConflictError):
    code = BookingErrorCode.SEATS_AVAILABLE
    default_message = "This slot still has free seats: book one instead of joining the list."


class AlreadyWaitingError(ConflictError):
    """Like AlreadyBookedError, without the entry: its reference is the key to it."""

    code = BookingErrorCode.ALREADY_WAITING
    default_message = (
        "You are already on this slot's waiting list. Your entry's reference is in the "
        "confirmation you received."
    )


class WaitlistEntryNotFoundError(NotFoundError):
    code = BookingErrorCode.WAITLIST_ENTRY_NOT_FOUND
    default_message = "No waiting list entry with this reference exists."


class AlreadyPromotedError(ConflictError):
    code = BookingErrorCode.ALREADY_PROMOTED
    default_message = (
        "You already got a seat from the waiting list; cancel the booking to give it up."
    )


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


class BookingRequestNotFoundError(NotFoundError):
    code = BookingErrorCode.BOOKING_REQUEST_NOT_FOUND
    default_message = "No queued booking request with this ticket exists."


class QueueUnavailableError(MediQueueError):
    """RabbitMQ did not confirm the request durable: nothing was accepted, the client retries.
    The same code as a database that cannot be reached, for the same advice."""

    code = ErrorCode.UNAVAILABLE
    http_status = 503
    default_message = "The booking queue cannot take requests right now. Please retry."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}
