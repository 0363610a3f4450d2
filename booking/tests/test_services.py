from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from booking import services
from booking.errors import (
    AlreadyBookedError,
    BookingNotFoundError,
    SlotClosedError,
    SlotFullError,
)
from booking.models import Booking
from slots.errors import SlotNotFoundError
from slots.models import Slot

pytestmark = pytest.mark.django_db


def test_book_takes_a_seat_and_records_a_confirmed_booking(make_slot):
    slot = make_slot(seats=2)

    outcome = services.book(slot_id=slot.pk, user_id="patient-1")

    assert outcome.booking.status == Booking.Status.CONFIRMED
    assert outcome.slot.booked_seats == 1
    slot.refresh_from_db()
    assert slot.booked_seats == 1
    assert Booking.objects.get(slot=slot).user_id == "patient-1"


def test_booking_reference_is_long_random_and_url_safe(make_slot):
    slot = make_slot(seats=2)
    first = services.book(slot_id=slot.pk, user_id="a").booking.reference
    second = services.book(slot_id=slot.pk, user_id="b").booking.reference

    assert first != second
    assert len(first) >= 22  # 16 random bytes, base64url: 128 bits
    assert all(c.isalnum() or c in "-_" for c in first)


def test_same_patient_booking_again_is_refused_without_the_booking(make_slot):
    # The reference is the key to the booking: whoever knows a patient's userId must not get
    # it back by booking again in their name.
    slot = make_slot(seats=3)
    services.book(slot_id=slot.pk, user_id="patient-1")

    with pytest.raises(AlreadyBookedError) as refused:
        services.book(slot_id=slot.pk, user_id="patient-1")

    assert refused.value.code == "already_booked"
    assert refused.value.http_status == 409
    slot.refresh_from_db()
    assert slot.booked_seats == 1
    assert Booking.objects.filter(slot=slot).count() == 1


def test_full_slot_refuses_a_new_patient_and_changes_nothing(make_slot):
    slot = make_slot(seats=1)
    services.book(slot_id=slot.pk, user_id="first")

    with pytest.raises(SlotFullError):
        services.book(slot_id=slot.pk, user_id="second")

    slot.refresh_from_db()
    assert slot.booked_seats == 1
    assert not Booking.objects.filter(user_id="second").exists()


def test_a_full_slot_answers_full_to_its_seat_holders_too(make_slot):
    # Otherwise "already booked" against "full" would tell a prober who holds a seat.
    slot = make_slot(seats=1)
    services.book(slot_id=slot.pk, user_id="holder")

    with pytest.raises(SlotFullError):
        services.book(slot_id=slot.pk, user_id="holder")


def test_started_slot_is_closed_for_booking(make_slot):
    slot = make_slot(seats=5, starts_in=timedelta(minutes=-1))

    with pytest.raises(SlotClosedError):
        services.book(slot_id=slot.pk, user_id="late")

    assert Booking.objects.count() == 0
    slot.refresh_from_db()
    assert slot.booked_seats == 0


def test_unknown_slot_is_not_found(db):
    with pytest.raises(SlotNotFoundError):
        services.book(slot_id=987654, user_id="x")


def test_cancel_frees_the_seat_at_once(make_slot):
    slot = make_slot(seats=1)
    booking = services.book(slot_id=slot.pk, user_id="first").booking

    outcome = services.cancel(reference=booking.reference)

    assert outcome.changed is True
    assert outcome.booking.status == Booking.Status.CANCELLED
    assert outcome.booking.cancelled_at is not None
    slot.refresh_from_db()
    assert slot.booked_seats == 0
    # The freed seat can be sold again, to the same patient too.
    assert services.book(slot_id=slot.pk, user_id="second").booking.user_id == "second"
    assert services.cancel(reference=booking.reference).changed is False


def test_cancel_is_idempotent(make_slot):
    slot = make_slot(seats=2)
    booking = services.book(slot_id=slot.pk, user_id="p").booking
    services.cancel(reference=booking.reference)

    again = services.cancel(reference=booking.reference)

    assert again.changed is False
    assert again.booking.status == Booking.Status.CANCELLED
    slot.refresh_from_db()
    assert slot.booked_seats == 0


def test_patient_can_rebook_after_cancelling(make_slot):
    slot = make_slot(seats=1)
    first = services.book(slot_id=slot.pk, user_id="p").booking
    services.cancel(reference=first.reference)

    second = services.book(slot_id=slot.pk, user_id="p")

    assert second.booking.reference != first.reference
    assert Booking.objects.filter(slot=slot, user_id="p").count() == 2


def test_cancel_of_a_started_slot_is_refused(make_slot):
    slot = make_slot(seats=2)
    booking = services.book(slot_id=slot.pk, user_id="p").booking
    Slot.objects.filter(pk=slot.pk).update(start_time=timezone.now() - timedelta(minutes=5))

    with pytest.raises(SlotClosedError):
        services.cancel(reference=booking.reference)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_cancel_unknown_reference_is_not_found(db):
    with pytest.raises(BookingNotFoundError):
        services.cancel(reference="does-not-exist")


@override_settings(MEDIQUEUE_LOCK_TIMEOUT_MS=100)
def test_a_lock_held_too_long_answers_busy_instead_of_hanging(make_slot, slot_lock_held_elsewhere):
    from slots.errors import SlotBusyError

    slot = make_slot(seats=5)

    with slot_lock_held_elsewhere(slot.pk), pytest.raises(SlotBusyError) as busy:
        services.book(slot_id=slot.pk, user_id="waiting")

    assert busy.value.headers() == {"Retry-After": "1"}
    slot.refresh_from_db()
    assert slot.booked_seats == 0
    # Nothing leaked: once the lock is free, the same connection books normally.
    assert services.book(slot_id=slot.pk, user_id="waiting").booking.user_id == "waiting"


@override_settings(MEDIQUEUE_LOCK_TIMEOUT_MS=100)
def test_cancel_also_answers_busy_when_the_lock_is_held(make_slot, slot_lock_held_elsewhere):
    from slots.errors import SlotBusyError

    slot = make_slot(seats=5)
    booking = services.book(slot_id=slot.pk, user_id="p").booking

    with slot_lock_held_elsewhere(slot.pk), pytest.raises(SlotBusyError):
        services.cancel(reference=booking.reference)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
