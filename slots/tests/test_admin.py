from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from booking import services as booking_services
from booking.models import Booking
from slots.models import Slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


def slot_form(doctor, start, total_seats):
    local = timezone.localtime(start)
    return {
        "doctor": doctor.pk,
        "start_time_0": local.strftime("%Y-%m-%d"),
        "start_time_1": local.strftime("%H:%M:%S"),
        "duration_minutes": 30,
        "total_seats": total_seats,
        "bookings-TOTAL_FORMS": 0,
        "bookings-INITIAL_FORMS": 0,
        "bookings-MIN_NUM_FORMS": 0,
        "bookings-MAX_NUM_FORMS": 1000,
    }


def test_admin_creates_a_slot_through_the_form(admin_browser, make_doctor):
    doctor = make_doctor()
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0, second=0)

    response = admin_browser.post(reverse("admin:slots_slot_add"), slot_form(doctor, start, 12))

    assert response.status_code == 302, response.content.decode()[:2000]
    slot = Slot.objects.get()
    assert (slot.doctor, slot.start_time, slot.total_seats, slot.booked_seats) == (
        doctor,
        start,
        12,
        0,
    )
    assert LogEntry.objects.filter(object_id=str(slot.pk)).exists()


def test_lowering_total_seats_below_booked_is_refused_with_a_form_error(admin_browser, make_slot):
    slot = make_slot(seats=5)
    for patient in ("a", "b", "c"):
        booking_services.book(slot_id=slot.pk, user_id=patient)

    response = admin_browser.post(
        reverse("admin:slots_slot_change", args=[slot.pk]),
        slot_form(slot.doctor, slot.start_time, 2),
    )

    assert response.status_code == 200
    assert "3 seats are already booked" in response.content.decode()
    slot.refresh_from_db()
    assert slot.total_seats == 5


def test_total_seats_can_shrink_down_to_the_booked_count(admin_browser, make_slot):
    slot = make_slot(seats=5)
    booking_services.book(slot_id=slot.pk, user_id="a")

    response = admin_browser.post(
        reverse("admin:slots_slot_change", args=[slot.pk]),
        slot_form(slot.doctor, slot.start_time, 1),
    )

    assert response.status_code == 302
    slot.refresh_from_db()
    assert (slot.total_seats, slot.booked_seats) == (1, 1)


def test_slot_list_and_change_page_show_seats_and_bookings(admin_browser, make_slot):
    slot = make_slot(seats=4)
    booking = booking_services.book(slot_id=slot.pk, user_id="patient-x").booking

    listing = admin_browser.get(reverse("admin:slots_slot_changelist")).content.decode()
    change = admin_browser.get(reverse("admin:slots_slot_change", args=[slot.pk])).content.decode()

    assert "1 / 4" in listing
    assert booking.reference in change
    assert "patient-x" in change
    assert 'name="booked_seats"' not in change  # read-only


def test_cancel_action_goes_through_the_service(admin_browser, make_slot):
    slot = make_slot(seats=3)
    first = booking_services.book(slot_id=slot.pk, user_id="a").booking
    second = booking_services.book(slot_id=slot.pk, user_id="b").booking
    booking_services.cancel(reference=second.reference)

    response = admin_browser.post(
        reverse("admin:booking_booking_changelist"),
        {"action": "cancel_bookings", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )

    assert "Cancelled 1 booking(s); 1 were already cancelled." in response.content.decode()
    slot.refresh_from_db()
    assert slot.booked_seats == 0
    assert set(Booking.objects.values_list("status", flat=True)) == {"CANCELLED"}
    assert LogEntry.objects.filter(object_id=str(first.pk)).exists()


def test_bookings_cannot_be_added_or_deleted_by_hand(admin_browser):
    assert admin_browser.get(reverse("admin:booking_booking_add")).status_code == 403
