from datetime import date, timedelta

from django.db.models import QuerySet

from booking.errors import BookingNotFoundError
from booking.models import Booking, is_well_formed_reference
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
