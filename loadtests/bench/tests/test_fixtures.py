"""The ablation's clean slate: each build starts on empty tables (loadtests.bench.fixtures)."""

import pytest
from django.utils import timezone

from booking.models import Booking, BookingRequest
from booking.services import book
from loadtests.bench.fixtures import clear_slots
from slots.models import Doctor, Slot


# TRUNCATE as the bench runs it: outside a test transaction.
@pytest.mark.django_db(transaction=True)
def test_clearing_empties_the_slots_and_every_table_that_hangs_off_a_booking(make_slot):
    slot = make_slot(seats=5)
    book(slot_id=slot.pk, user_id="cleared-1")
    booking = Booking.objects.get(slot=slot, user_id="cleared-1")
    # A queued booking's outcome references its booking: left out of the TRUNCATE, it made
    # PostgreSQL refuse the whole statement and the ablation stop.
    BookingRequest.objects.create(
        ticket="t" * 22,
        slot=slot,
        user_id="cleared-1",
        status=BookingRequest.Status.CONFIRMED,
        booking_id=booking.pk,
        accepted_at=timezone.now(),
        decided_at=timezone.now(),
    )

    clear_slots()

    assert not Slot.objects.exists()
    assert not Booking.objects.exists()
    assert not BookingRequest.objects.exists()
    assert Doctor.objects.filter(pk=slot.doctor_id).exists()
