"""Bookings in the clinic's admin: the slot page's bookings, the cancel action, the CSV exports."""

import csv
import io
import re
from datetime import UTC, date, datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from booking import queue, waitlist
from booking import services as booking_services
from booking.exports import COLUMNS
from booking.models import Booking
from slots.models import Slot

pytestmark = pytest.mark.django_db

MONDAY = date(2031, 3, 3)


def test_slot_list_and_change_page_show_seats_and_bookings(admin_browser, make_slot):
    slot = make_slot(seats=4)
    booking = booking_services.book(slot_id=slot.pk, user_id="patient-x").booking

    listing = admin_browser.get(reverse("admin:slots_slot_changelist")).content.decode()
    change = admin_browser.get(reverse("admin:slots_slot_change", args=[slot.pk])).content.decode()

    assert "1 of 4" in listing
    assert booking.reference in change
    assert "patient-x" in change
    assert 'name="booked_seats"' not in change  # read-only


def test_lists_read_as_a_clinic_would_in_its_own_time_zone(admin_browser, make_doctor, settings):
    """Issue 23: "Django administration", raw timestamps, a status cut to "Confi"."""
    settings.TIME_ZONE = "Europe/Berlin"
    slot = Slot.objects.create(
        doctor=make_doctor("Dr. Ana Lopes"),
        start_time=datetime(2031, 3, 3, 8, 0, tzinfo=UTC),  # 09:00 in Berlin
        total_seats=1,
    )
    booking = booking_services.book(slot_id=slot.pk, user_id="patient-x").booking
    waitlist.waitlist_join(slot_id=slot.pk, user_id="patient-y")

    def page(name: str, *args) -> str:
        return admin_browser.get(reverse(f"admin:{name}", args=args)).content.decode()

    slots = page("slots_slot_changelist")
    bookings = page("booking_booking_changelist")
    entries = page("booking_waitlistentry_changelist")
    change = page("slots_slot_change", slot.pk)

    assert "MediQueue admin" in slots and "Django administration" not in slots
    assert re.search(r'<th class="field-starts"><a [^>]*>Mon 3 Mar 2031, 09:00</a>', slots)
    assert '<td class="field-available">Full</td>' in slots
    assert '<td class="field-waiting">1</td>' in slots
    assert '<td class="field-slot_starts">Mon 3 Mar 2031, 09:00</td>' in bookings
    assert '<td class="field-status">Confirmed</td>' in bookings
    assert f"{booking.reference[:8]}…" in bookings and booking.reference not in bookings
    assert '<td class="field-status">Waiting</td>' in entries
    assert "patient-y" in entries
    # The slot's waiting list: clinic time, to the minute, no offset nor microseconds.
    assert re.search(r"patient-y — Waiting since \w{3} \d+ \w{3} \d{4}, \d\d:\d\d<", change)
    assert "+00:00" not in change and "+01:00" not in change


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


# --- CSV exports --------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


def test_a_slots_bookings_as_csv(admin_browser, make_slot):
    slot = make_slot(seats=3)
    kept = booking_services.book(slot_id=slot.pk, user_id="patient-a").booking
    dropped = booking_services.book(slot_id=slot.pk, user_id="patient-b").booking
    booking_services.cancel(reference=dropped.reference)
    make_slot(seats=3)  # another slot, whose bookings stay out

    response = admin_browser.get(reverse("admin:slots_slot_bookings_csv", args=[slot.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="bookings-slot-{slot.pk}-'
    )
    header, *rows = csv_rows(response)
    assert header == COLUMNS
    assert [(row[0], row[1], row[2], row[5]) for row in rows] == [
        (kept.reference, "CONFIRMED", "patient-a", str(slot.pk)),
        (dropped.reference, "CANCELLED", "patient-b", str(slot.pk)),
    ]
    assert rows[0][3] == slot.doctor.name
    assert rows[0][6] == timezone.localtime(slot.start_time).isoformat()


def test_a_days_bookings_as_csv_holds_that_day_only(admin_browser, make_doctor):
    doctor = make_doctor()
    day = MONDAY
    first = Slot.objects.create(
        doctor=doctor, start_time=timezone.make_aware(datetime(2031, 3, 3, 9)), total_seats=2
    )
    second = Slot.objects.create(
        doctor=doctor, start_time=timezone.make_aware(datetime(2031, 3, 3, 17)), total_seats=2
    )
    next_day = Slot.objects.create(
        doctor=doctor, start_time=timezone.make_aware(datetime(2031, 3, 4, 9)), total_seats=2
    )
    for slot in (second, first, next_day):
        booking_services.book(slot_id=slot.pk, user_id=f"patient-{slot.pk}")

    response = admin_browser.get(reverse("admin:slots_slot_day_bookings_csv", args=[str(day)]))

    assert response["Content-Disposition"] == 'attachment; filename="bookings-2031-03-03.csv"'
    _, *rows = csv_rows(response)
    assert [row[5] for row in rows] == [str(first.pk), str(second.pk)]


def test_a_patient_id_that_looks_like_a_formula_is_exported_inert(admin_browser, make_slot):
    slot = make_slot(seats=2)
    booking_services.book(slot_id=slot.pk, user_id='=HYPERLINK("http://evil.example","x")')

    response = admin_browser.get(reverse("admin:slots_slot_bookings_csv", args=[slot.pk]))

    _, row = csv_rows(response)
    assert row[2] == '\'=HYPERLINK("http://evil.example","x")'


def test_csv_of_an_unknown_slot_or_a_bad_day_is_404(admin_browser):
    assert (
        admin_browser.get(reverse("admin:slots_slot_bookings_csv", args=[999999])).status_code
        == 404
    )
    bad_day = reverse("admin:slots_slot_day_bookings_csv", args=["2031-02-30"])
    assert admin_browser.get(bad_day).status_code == 404


def test_csv_export_needs_the_right_to_see_bookings(client, django_user_model, make_slot):
    slot = make_slot()
    clerk = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_slot"))
    client.force_login(clerk)
    url = reverse("admin:slots_slot_bookings_csv", args=[slot.pk])

    assert client.get(url).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_booking"))
    assert client.get(url).status_code == 200


def test_slot_change_page_links_to_its_csv(admin_browser, make_slot):
    slot = make_slot()

    html = admin_browser.get(reverse("admin:slots_slot_change", args=[slot.pk])).content.decode()

    assert reverse("admin:slots_slot_bookings_csv", args=[slot.pk]) in html


@pytest.mark.django_db
def test_the_queue_outcomes_are_listed_read_only_without_their_tickets(admin_browser, make_slot):
    slot = make_slot(seats=1)
    request = queue.QueuedBooking(
        ticket=queue.mint_ticket(),
        slot_id=slot.pk,
        user_id="queued-ada",
        email="",
        accepted_at=datetime.now(tz=UTC),
    )
    (outcome,) = booking_services.allocate(slot_id=slot.pk, requests=[request])
    listing = admin_browser.get("/admin/booking/bookingrequest/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "queued-ada" in html and request.ticket not in html
    detail = admin_browser.get(f"/admin/booking/bookingrequest/{outcome.pk}/change/")
    assert detail.status_code == 200
    assert request.ticket not in detail.content.decode()
    assert outcome.booking.reference not in detail.content.decode()
    assert admin_browser.get("/admin/booking/bookingrequest/add/").status_code == 403
