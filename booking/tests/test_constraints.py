"""The database is the last line: even code that skips the service cannot commit these."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from booking.models import Booking
from slots.models import Slot

pytestmark = pytest.mark.django_db


def test_booked_seats_cannot_exceed_total_seats(make_slot):
    slot = make_slot(seats=1)
    Slot.objects.filter(pk=slot.pk).update(booked_seats=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked_seats=F("booked_seats") + 1)


def test_booked_seats_cannot_go_negative(make_slot):
    slot = make_slot(seats=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked_seats=-1)


def test_a_slot_needs_at_least_one_seat(make_slot):
    slot = make_slot(seats=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(total_seats=0)


def test_one_doctor_cannot_have_two_slots_at_the_same_time(make_slot):
    slot = make_slot(seats=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.create(doctor=slot.doctor, start_time=slot.start_time, total_seats=2)


def test_one_confirmed_booking_per_patient_and_slot(make_slot):
    slot = make_slot(seats=5)
    Booking.objects.create(slot=slot, user_id="p")

    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(slot=slot, user_id="p")


def test_cancelled_bookings_do_not_block_a_new_confirmed_one(make_slot):
    slot = make_slot(seats=5)
    Booking.objects.create(slot=slot, user_id="p", status=Booking.Status.CANCELLED)
    Booking.objects.create(slot=slot, user_id="p", status=Booking.Status.CANCELLED)

    Booking.objects.create(slot=slot, user_id="p")

    assert Booking.objects.filter(slot=slot, user_id="p").count() == 3
