"""Whose booking it is, with verified patients (MEDIQUEUE_PATIENT_AUTH=oidc).

A reference is the key to a booking or an entry in open mode. With verified patients it is not
enough: the request must also carry the token of the patient it belongs to. Someone else's
reference answers exactly like an unknown one (404), so a token holder learns nothing about
other patients' bookings. Each function is one line in a view, lean or plain DRF alike.
"""

from __future__ import annotations

from booking.errors import BookingNotFoundError, WaitlistEntryNotFoundError
from booking.models import Booking, WaitlistEntry
from mediqueue.patients import request_patient


def check_booking_holder(request, reference: str) -> None:
    """Nothing in open mode; with verified patients, 401 without a valid token and 404 unless
    the booking is the token's patient's."""
    patient = request_patient(request)
    if (
        patient is not None
        and not Booking.objects.filter(reference=reference, user_id=patient).exists()
    ):
        raise BookingNotFoundError()


def check_entry_holder(request, reference: str) -> None:
    """check_booking_holder for a waiting-list entry."""
    patient = request_patient(request)
    if (
        patient is not None
        and not WaitlistEntry.objects.filter(reference=reference, user_id=patient).exists()
    ):
        raise WaitlistEntryNotFoundError()


def bookings_of_patient(*, patient: str):
    """Every booking of one patient, the latest appointment first."""
    return (
        Booking.objects.select_related("slot__doctor")
        .filter(user_id=patient)
        .order_by("-slot__start_time", "-id")
    )
