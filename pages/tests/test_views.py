"""The patient pages, through Django's test client against real PostgreSQL."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking import services as booking_services
from booking.errors import SlotClosedError, SlotFullError
from booking.models import Booking
from slots.errors import SlotBusyError, SlotNotFoundError

pytestmark = pytest.mark.django_db


def book_url(slot) -> str:
    return reverse("pages:book", args=[slot.pk])


def booking_url(reference: str) -> str:
    return reverse("pages:booking", args=[reference])


def page(response) -> str:
    return response.content.decode()


def slot_card(html: str, slot) -> str:
    """The board's card of one slot (the <li> that carries its id)."""
    match = re.search(rf'<li class="[^"]*"\s+data-slot-id="{slot.pk}".*?</li>', html, re.S)
    assert match, f"slot {slot.pk} is not on the page"
    return match.group(0)


# --- The board ----------------------------------------------------------------------------


def test_board_groups_upcoming_slots_by_day_and_doctor_with_seats_left(
    client, make_doctor, make_slot
):
    cardiology = make_doctor(name="Dr. Heart", specialty="Cardiology")
    skin = make_doctor(name="Dr. Skin", specialty="Dermatology")
    heart_slot = make_slot(doctor=cardiology, seats=4, starts_in=timedelta(days=1, hours=1))
    skin_slot = make_slot(doctor=skin, seats=2, starts_in=timedelta(days=1, hours=2))
    booking_services.book(slot_id=heart_slot.pk, user_id="p1")

    html = page(client.get("/"))

    # The slot's own day: run just before midnight, "tomorrow + 1 h" is the day after tomorrow.
    assert f"{timezone.localtime(heart_slot.start_time):%A}" in html  # the day heading
    assert html.index("Dr. Heart") < html.index("Dr. Skin")  # doctors by name within the day
    assert "Cardiology" in html and "Dermatology" in html
    heart_card = slot_card(html, heart_slot)
    assert "<strong>3</strong> of 4 seats left" in heart_card
    assert "1/4 booked" in heart_card
    assert 'width="25"' in heart_card
    assert book_url(heart_slot) in heart_card
    assert "<strong>2</strong> of 2 seats left" in slot_card(html, skin_slot)


def test_board_shows_a_full_slot_as_full_without_a_book_button(client, make_slot):
    slot = make_slot(seats=1)
    booking_services.book(slot_id=slot.pk, user_id="the-only-one")

    card = slot_card(page(client.get("/")), slot)

    assert "is-full" in card
    assert ">Full<" in card
    assert "No seats left" in card
    assert book_url(slot) not in card


def test_board_filtered_by_today_shows_a_started_slot_as_started(client, make_slot):
    started = make_slot(seats=3, starts_in=timedelta(seconds=-1))
    today = timezone.localdate().isoformat()

    unfiltered = page(client.get("/"))
    today_page = page(client.get("/", {"date": today}))

    assert f'data-slot-id="{started.pk}"' not in unfiltered  # the default lists what is ahead
    card = slot_card(today_page, started)
    assert ">Started<" in card
    assert book_url(started) not in card


def test_board_filters_by_doctor(client, make_doctor, make_slot):
    wanted = make_slot(doctor=make_doctor(name="Dr. Wanted"))
    other = make_slot(doctor=make_doctor(name="Dr. Other"))

    html = page(client.get("/", {"doctor": wanted.doctor_id}))

    assert f'data-slot-id="{wanted.pk}"' in html
    assert f'data-slot-id="{other.pk}"' not in html


def test_board_filters_by_date(client, make_slot):
    soon = make_slot(starts_in=timedelta(days=2))
    later = make_slot(starts_in=timedelta(days=5))
    day = timezone.localtime(later.start_time).date().isoformat()

    html = page(client.get("/", {"date": day}))

    assert f'data-slot-id="{later.pk}"' in html
    assert f'data-slot-id="{soon.pk}"' not in html


def test_board_reports_a_bad_filter_and_shows_everything_upcoming(client, make_slot):
    slot = make_slot()

    response = client.get("/", {"doctor": "999999", "date": "not-a-date"})

    assert response.status_code == 200
    assert "Some filters could not be used" in page(response)
    assert f'data-slot-id="{slot.pk}"' in page(response)


def test_board_labels_every_filter_and_names_each_book_button(client, make_slot):
    slot = make_slot()

    html = page(client.get("/"))

    assert '<label for="id_doctor">Doctor</label>' in html
    assert '<label for="id_date">Date</label>' in html
    assert f'aria-label="Book {timezone.localtime(slot.start_time):%A}' in html
    assert '<meta name="viewport"' in html
    assert '<html lang="en">' in html


# --- Booking through the form -------------------------------------------------------------


def test_booking_form_shows_the_slot_and_a_labelled_patient_field(client, make_slot):
    slot = make_slot(seats=5)

    html = page(client.get(book_url(slot)))

    assert slot.doctor.name in html
    assert '<label for="id_patient">Your name or patient number</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_booking_through_the_form_confirms_with_the_reference_and_a_cancel_button(
    client, make_slot
):
    slot = make_slot(seats=3)

    response = client.post(book_url(slot), {"patient": "  Ada Lovelace "}, follow=True)

    booking = Booking.objects.get(slot=slot)
    assert booking.user_id == "Ada Lovelace"
    assert booking.status == Booking.Status.CONFIRMED
    assert response.redirect_chain == [(booking_url(booking.reference), 302)]
    html = page(response)
    assert "Booking confirmed" in html
    assert booking.reference in html
    assert slot.doctor.name in html
    assert reverse("pages:cancel", args=[booking.reference]) in html
    slot.refresh_from_db()
    assert slot.booked_seats == 1


def test_booking_again_says_so_on_the_form_without_the_booking(client, make_slot):
    slot = make_slot(seats=3)
    first = booking_services.book(slot_id=slot.pk, user_id="patient-7").booking

    response = client.post(book_url(slot), {"patient": "patient-7"})

    assert response.status_code == 409
    html = page(response)
    assert "You already hold a seat in this slot" in html
    assert first.reference not in html
    assert first.reference not in response.get("Location", "")
    slot.refresh_from_db()
    assert slot.booked_seats == 1


def test_booking_a_slot_that_filled_up_shows_the_full_message_and_changes_nothing(
    client, make_slot
):
    slot = make_slot(seats=1)
    booking_services.book(slot_id=slot.pk, user_id="faster-patient")

    response = client.post(book_url(slot), {"patient": "slower-patient"})

    assert response.status_code == 409
    html = page(response)
    assert SlotFullError.default_message in html
    assert 'role="alert"' in html
    assert "Traceback" not in html
    assert not Booking.objects.filter(user_id="slower-patient").exists()
    slot.refresh_from_db()
    assert slot.booked_seats == 1


def test_booking_a_started_slot_shows_the_closed_message(client, make_slot):
    slot = make_slot(seats=3, starts_in=timedelta(seconds=-1))

    response = client.post(book_url(slot), {"patient": "late"})

    assert response.status_code == 409
    assert SlotClosedError.default_message in page(response)
    assert not Booking.objects.exists()


def test_form_for_a_full_slot_says_so_and_offers_no_form(client, make_slot):
    slot = make_slot(seats=1)
    booking_services.book(slot_id=slot.pk, user_id="someone")

    html = page(client.get(book_url(slot)))

    assert SlotFullError.default_message in html
    assert 'name="patient"' not in html


def test_a_busy_slot_asks_the_patient_to_retry(client, make_slot, monkeypatch):
    slot = make_slot(seats=3)

    def busy(**kwargs):
        raise SlotBusyError()

    monkeypatch.setattr(booking_services, "book", busy)
    response = client.post(book_url(slot), {"patient": "p"})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert SlotBusyError.default_message in page(response)
    assert 'name="patient"' in page(response)  # the form is still there to retry


def test_a_slot_removed_while_the_form_was_open_is_a_404_page(client, make_slot, monkeypatch):
    slot = make_slot(seats=3)

    def removed(**kwargs):
        slot.delete()  # the clinic removes the slot just before the patient's booking lands
        raise SlotNotFoundError()

    monkeypatch.setattr(booking_services, "book", removed)
    response = client.post(book_url(slot), {"patient": "p"})

    assert response.status_code == 404
    assert SlotNotFoundError.default_message in page(response)


@pytest.mark.parametrize(
    ("patient", "message"),
    [("", "This field is required."), ("x" * 65, "Must be at most 64 characters.")],
)
def test_an_invalid_patient_id_is_a_form_error_and_books_nothing(
    client, make_slot, patient, message
):
    slot = make_slot(seats=3)

    response = client.post(book_url(slot), {"patient": patient})

    assert response.status_code == 200
    assert message in page(response)
    assert 'aria-invalid="true"' in page(response)
    assert not Booking.objects.exists()


def test_booking_an_unknown_slot_is_a_404_page_with_the_message(client):
    response = client.get(reverse("pages:book", args=[987654]))

    assert response.status_code == 404
    assert "No slot with this id exists." in page(response)


def test_booking_form_enforces_csrf(make_slot):
    slot = make_slot(seats=3)
    browser = Client(enforce_csrf_checks=True)

    refused = browser.post(book_url(slot), {"patient": "no-token"})

    assert refused.status_code == 403
    assert "Nothing was booked or changed" in page(refused)
    assert not Booking.objects.exists()

    # The same browser with the token from the form gets its seat: the check is the CSRF one.
    browser.get(book_url(slot))
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(book_url(slot), {"patient": "with-token", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert Booking.objects.filter(user_id="with-token").exists()


# --- The booking page and cancelling ------------------------------------------------------


def test_booking_page_shows_the_booking(client, make_slot):
    slot = make_slot(seats=3)
    booking = booking_services.book(slot_id=slot.pk, user_id="patient-9").booking

    response = client.get(booking_url(booking.reference))

    assert response.status_code == 200
    html = page(response)
    assert booking.reference in html
    assert "patient-9" in html
    assert 'data-status="CONFIRMED"' in html
    assert "no-store" in response.headers["Cache-Control"]  # the URL holds the secret


@pytest.mark.parametrize("reference", ["AAAAAAAAAAAAAAAAAAAAAA", "not%20a%20reference"])
def test_an_unknown_or_malformed_reference_is_a_404_page(client, reference):
    response = client.get(f"/bookings/{reference}")

    assert response.status_code == 404
    assert "No booking with this reference exists." in page(response)


def test_cancelling_frees_the_seat_and_shows_the_cancelled_booking(client, make_slot):
    slot = make_slot(seats=2)
    booking = booking_services.book(slot_id=slot.pk, user_id="patient-3").booking

    response = client.post(reverse("pages:cancel", args=[booking.reference]), follow=True)

    html = page(response)
    assert "Booking cancelled; the seat is free again." in html
    assert 'data-status="CANCELLED"' in html
    assert "Cancel this booking" not in html
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert slot.booked_seats == 0


def test_cancelling_twice_is_a_harmless_no_op(client, make_slot):
    slot = make_slot(seats=2)
    booking = booking_services.book(slot_id=slot.pk, user_id="patient-3").booking
    booking_services.cancel(reference=booking.reference)

    response = client.post(reverse("pages:cancel", args=[booking.reference]), follow=True)

    assert "This booking was already cancelled." in page(response)
    slot.refresh_from_db()
    assert slot.booked_seats == 0


def test_cancelling_a_started_appointment_shows_why_it_cannot_be(client, make_slot):
    slot = make_slot(seats=2)
    booking = booking_services.book(slot_id=slot.pk, user_id="patient-3").booking
    type(slot).objects.filter(pk=slot.pk).update(start_time=timezone.now() - timedelta(minutes=1))

    response = client.post(reverse("pages:cancel", args=[booking.reference]))

    assert response.status_code == 409
    assert SlotClosedError.default_message in page(response)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_cancelling_an_unknown_booking_is_a_404_page(client):
    response = client.post(reverse("pages:cancel", args=["AAAAAAAAAAAAAAAAAAAAAA"]))

    assert response.status_code == 404
    assert "No booking with this reference exists." in page(response)


def test_cancel_needs_a_post(client, make_slot):
    slot = make_slot(seats=2)
    booking = booking_services.book(slot_id=slot.pk, user_id="patient-3").booking

    response = client.get(reverse("pages:cancel", args=[booking.reference]))

    assert response.status_code == 405
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED


def test_an_unknown_page_is_a_friendly_404_not_a_debug_page(client):
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert "There is no page at this address." in page(response)
