"""The waiting list's pages: joining from a full slot, the entry's page, leaving, and the
emails a patient can view when mail goes to files (make run)."""

import re

import pytest
from django.urls import reverse

from booking import notices, services
from booking.errors import SeatsAvailableError
from booking.models import Notice, WaitlistEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_slot(make_slot):
    slot = make_slot(seats=1)
    held = services.book(slot_id=slot.pk, user_id="holder")
    return slot, held.reference


def join_url(slot) -> str:
    return reverse("pages:join-waitlist", args=[slot.pk])


def html_of(response) -> str:
    return response.content.decode()


def test_the_board_offers_a_full_slot_s_waiting_list(client, full_slot):
    slot, _ = full_slot

    board = html_of(client.get("/"))

    card = re.search(rf'data-slot-id="{slot.pk}".*?</li>', board, re.S).group(0)
    assert ">Full<" in card
    assert join_url(slot) in card


def test_a_full_slot_s_booking_page_leads_to_the_waiting_list(client, full_slot):
    slot, _ = full_slot

    html = html_of(client.get(reverse("pages:book", args=[slot.pk])))

    assert "Full — join the waiting list" in html
    assert join_url(slot) in html


def test_joining_shows_the_place_in_line(client, full_slot):
    slot, _ = full_slot
    client.post(join_url(slot), {"patient": "first"})

    response = client.post(join_url(slot), {"patient": "second"}, follow=True)

    entry = WaitlistEntry.objects.get(user_id="second")
    assert response.redirect_chain[-1][0] == reverse("pages:waitlist-entry", args=[entry.reference])
    html = html_of(response)
    assert 'data-position="2"' in html
    assert entry.reference in html
    assert "Leave the waiting list" in html


def test_a_slot_with_a_free_seat_offers_booking_instead(client, make_slot):
    slot = make_slot(seats=2)

    html = html_of(client.get(join_url(slot)))

    assert SeatsAvailableError.default_message in html
    assert 'name="patient"' not in html
    assert reverse("pages:book", args=[slot.pk]) in html


def test_joining_twice_is_answered_like_a_first_join(client, full_slot):
    # Open mode tells nobody whether a patient already waits (booking/tests/test_waitlist_oracle).
    slot, _ = full_slot
    client.post(join_url(slot), {"patient": "first"})

    response = client.post(join_url(slot), {"patient": "first"})

    assert response.status_code == 302
    assert WaitlistEntry.objects.count() == 2


def test_a_bad_name_is_shown_on_the_form(client, full_slot):
    slot, _ = full_slot

    response = client.post(join_url(slot), {"patient": " padded ", "email": "nope"})

    assert response.status_code == 200
    assert "errorlist" in html_of(response)
    assert not WaitlistEntry.objects.exists()


def test_once_promoted_the_entry_s_page_leads_to_the_booking(client, full_slot):
    slot, holder = full_slot
    client.post(join_url(slot), {"patient": "waiter"})
    entry = WaitlistEntry.objects.get()
    services.cancel(reference=holder)

    html = html_of(client.get(reverse("pages:waitlist-entry", args=[entry.reference])))

    entry.refresh_from_db()
    assert 'data-status="BOOKED"' in html
    assert reverse("pages:booking", args=[entry.booking.reference]) in html


def test_leaving_from_the_page(client, full_slot):
    slot, _ = full_slot
    client.post(join_url(slot), {"patient": "waiter"})
    entry = WaitlistEntry.objects.get()

    response = client.post(reverse("pages:leave-waitlist", args=[entry.reference]), follow=True)

    assert 'data-status="LEFT"' in html_of(response)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT


def test_unknown_entries_are_a_404_page(client):
    response = client.get(reverse("pages:waitlist-entry", args=["no-such-entry"]))

    assert response.status_code == 404


def test_with_mail_in_files_the_patient_s_page_links_to_the_email(
    client, full_slot, settings, tmp_path
):
    settings.EMAIL_BACKEND = "mediqueue.mail.MessageFileBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    slot, _ = full_slot
    client.post(join_url(slot), {"patient": "waiter", "email": "w@example.org"})
    entry = WaitlistEntry.objects.get()
    notices.deliver(Notice.objects.get().pk, last_attempt=False)

    html = html_of(client.get(reverse("pages:waitlist-entry", args=[entry.reference])))

    link = re.search(r'href="(/mail/[^"]+)"', html).group(1)
    assert "View the email" in html
    mail = client.get(link)
    assert mail.status_code == 200
    assert mail["Cache-Control"].startswith("max-age=0")
    assert entry.reference in html_of(mail)
    assert client.get("/mail/no-such-key").status_code == 404
