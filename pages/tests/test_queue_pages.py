"""The patient pages in queue mode: the booking form queues, "you are in line" refreshes itself
without script, then the booking or the reason; real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import re

import pytest

from booking import queue
from booking.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


def _queue_from_the_form(client, slot, patient: str) -> str:
    response = client.post(f"/slots/{slot.pk}/book", {"patient": patient})
    assert response.status_code == 302, response.content
    match = re.fullmatch(r"/book/requests/([A-Za-z0-9_.-]+)", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def test_in_queue_mode_the_form_queues_and_the_page_says_you_are_in_line(
    client, make_slot, booking_queue
):
    slot = make_slot(seats=1)
    ticket = _queue_from_the_form(client, slot, "Ada")
    assert booking_queue.depth() == 1 and not Booking.objects.exists()
    page = client.get(f"/book/requests/{ticket}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "You are in line" in html
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "<script" not in html
    assert "unsafe-inline" not in page["Content-Security-Policy"]
    assert "no-store" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]


def test_once_decided_the_page_leads_to_the_booking_or_tells_why_not(
    client, make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=1)
    first = _queue_from_the_form(client, slot, "Ada")
    second = _queue_from_the_form(client, slot, "Bob")
    with allocator_running():
        wait_for_outcomes(2)
    booked = client.get(f"/book/requests/{first}", follow=True)
    reference = Booking.objects.get(user_id="Ada").reference
    assert booked.redirect_chain[-1][0] == f"/bookings/{reference}"
    assert reference in booked.content.decode()
    refused = client.get(f"/book/requests/{second}").content.decode()
    assert "Sorry, this slot is fully booked." in refused
    assert f"/slots/{slot.pk}/waitlist" in refused
    assert 'http-equiv="refresh"' not in refused


def test_a_ticket_nobody_minted_is_a_not_found_page(client, booking_queue):
    forged = queue.mint_ticket()[:-2] + "zz"
    response = client.get(f"/book/requests/{forged}")
    assert response.status_code == 404
    assert "No queued booking request with this ticket exists." in response.content.decode()


def test_with_the_queue_off_the_form_books_directly(client, make_slot, settings):
    settings.MEDIQUEUE_BOOKING_QUEUE_URL = ""
    slot = make_slot(seats=1)
    response = client.post(f"/slots/{slot.pk}/book", {"patient": "Ada"})
    assert response["Location"].startswith("/bookings/")
