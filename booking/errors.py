from mediqueue.errors import ConflictError, NotFoundError


class SlotFullError(ConflictError):
    code = "slot_full"
    default_message = "Sorry, this slot is fully booked."


class SlotClosedError(ConflictError):
    code = "slot_closed"
    default_message = "This slot has already started and can no longer be booked or cancelled."


class BookingNotFoundError(NotFoundError):
    code = "booking_not_found"
    default_message = "No booking with this reference exists."
