from mediqueue.errors import ConflictError, NotFoundError


class SlotFullError(ConflictError):
    code = "slot_full"
    default_message = "Sorry, this slot is fully booked."


class SlotClosedError(ConflictError):
    code = "slot_closed"
    default_message = "This slot has already started and can no longer be booked or cancelled."


class AlreadyBookedError(ConflictError):
    """The patient holds a seat in this slot. Deliberately without the booking: its reference
    is the key to it, and whoever sends a patient's userId is not necessarily that patient."""

    code = "already_booked"
    default_message = (
        "You already hold a seat in this slot; no second seat was taken. Your booking "
        "reference is in the confirmation you received."
    )


class BookingNotFoundError(NotFoundError):
    code = "booking_not_found"
    default_message = "No booking with this reference exists."
