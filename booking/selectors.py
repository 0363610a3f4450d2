from booking.errors import BookingNotFoundError
from booking.models import Booking, is_well_formed_reference


def booking_get(*, reference: str) -> Booking:
    """The booking with this reference. Malformed references answer the same "not found" as
    unknown ones, without a query, so a prober learns nothing from the difference."""
    if not is_well_formed_reference(reference):
        raise BookingNotFoundError()
    booking = Booking.objects.select_related("slot__doctor").filter(reference=reference).first()
    if booking is None:
        raise BookingNotFoundError()
    return booking
