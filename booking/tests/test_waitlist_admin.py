"""The waiting list and the outbox in the admin: read only, promotions in the admin log."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from booking import services, waitlist
from booking.models import Booking, Notice, WaitlistEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


def slot_form(slot, total_seats):
    local = timezone.localtime(slot.start_time)
    return {
        "doctor": slot.doctor_id,
        "start_time_0": local.strftime("%Y-%m-%d"),
        "start_time_1": local.strftime("%H:%M:%S"),
        "duration_minutes": slot.duration_minutes,
        "total_seats": total_seats,
        "bookings-TOTAL_FORMS": 0,
        "bookings-INITIAL_FORMS": 0,
        "bookings-MIN_NUM_FORMS": 0,
        "bookings-MAX_NUM_FORMS": 1000,
    }


def test_the_slot_page_shows_its_waiting_list_in_join_order(admin_browser, make_full_slot):
    slot, _ = make_full_slot(seats=1)
    for patient in ("zoe", "adam", "maya"):
        waitlist.waitlist_join(slot_id=slot.pk, user_id=patient)

    html = admin_browser.get(reverse("admin:slots_slot_change", args=[slot.pk])).content.decode()

    positions = [html.index(f"{patient} — Waiting") for patient in ("zoe", "adam", "maya")]
    assert positions == sorted(positions)


def test_seats_added_in_the_admin_promote_and_are_logged(admin_browser, make_full_slot):
    slot, _ = make_full_slot(seats=1)
    waitlist.waitlist_join(slot_id=slot.pk, user_id="w1")
    waitlist.waitlist_join(slot_id=slot.pk, user_id="w2")

    response = admin_browser.post(
        reverse("admin:slots_slot_change", args=[slot.pk]), slot_form(slot, 2)
    )

    assert response.status_code == 302
    promoted = Booking.objects.get(user_id="w1")
    log = LogEntry.objects.get(object_id=str(promoted.pk))
    assert "Promoted from the waiting list: seats were added" in log.change_message
    assert WaitlistEntry.objects.get(user_id="w2").status == WaitlistEntry.Status.WAITING


def test_the_cancel_action_logs_the_promotion_it_caused(admin_browser, make_full_slot):
    slot, _ = make_full_slot(seats=1)
    waitlist.waitlist_join(slot_id=slot.pk, user_id="w1")
    holder = Booking.objects.get(user_id="holder-0")

    admin_browser.post(
        reverse("admin:booking_booking_changelist"),
        {"action": "cancel_bookings", "_selected_action": [holder.pk]},
    )

    promoted = Booking.objects.get(user_id="w1")
    assert LogEntry.objects.filter(
        object_id=str(promoted.pk), change_message__contains="a booking was cancelled"
    ).exists()


def test_the_outbox_lists_notices_with_their_errors_and_no_address(admin_browser, make_slot):
    slot = make_slot(seats=2)
    services.book(slot_id=slot.pk, user_id="a", email="a@example.org")
    services.book(slot_id=slot.pk, user_id="b", email="b@example.org")
    failed = Notice.objects.order_by("pk").last()
    Notice.objects.filter(pk=failed.pk).update(
        status=Notice.Status.FAILED, last_error="SMTPServerDisconnected: gone"
    )

    html = admin_browser.get(reverse("admin:booking_notice_changelist")).content.decode()

    assert "SMTPServerDisconnected: gone" in html
    assert "Pending" in html and "Failed" in html
    assert "a@example.org" not in html
    assert admin_browser.get(reverse("admin:booking_notice_add")).status_code == 403
