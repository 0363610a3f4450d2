"""Open mode's waiting list tells nobody who holds a seat (security review 2, finding 1: a
stranger's join as "alice-123" answered 409 already_booked when Alice held a seat, and
seats_available or 201 for anyone else, leaving no trace). In open mode any client may send
any userId, so no answer, page, side effect or statement run may depend on whether that
patient holds a seat or already waits."""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking import services, waitlist
from booking.models import Booking, Notice, WaitlistEntry

pytestmark = pytest.mark.django_db

PATIENT = "alice-123"


@pytest.fixture
def join(api_client, post_json):
    def join(slot, user_id=PATIENT, **extra):
        return post_json(api_client, f"/api/slots/{slot.pk}/waitlist", {"userId": user_id, **extra})

    return join


def comparable(body: dict) -> dict:
    """An answer without what is the entry's own (its reference, time, slot and place)."""
    entry = {
        k: v for k, v in body["entry"].items() if k not in {"reference", "created_at", "slot_id"}
    }
    own = {"id", "doctor_id", "start_time", "end_time"}
    slot = {k: v for k, v in body["slot"].items() if k not in own}
    return {**body, "entry": entry, "slot": slot}


def test_a_full_slot_s_list_answers_a_seat_holder_exactly_like_anyone_else(
    make_full_slot, book_seat, join
):
    held, _ = make_full_slot(seats=1)
    other, _ = make_full_slot(seats=1)
    services.cancel(reference=Booking.objects.get(slot=held).reference)
    book_seat(slot_id=held.pk, user_id=PATIENT)  # Alice holds held's only seat

    as_holder = join(held, email="a@example.org")
    as_stranger = join(other, email="a@example.org")

    assert as_holder.status_code == as_stranger.status_code == 201
    assert comparable(as_holder.json()) == comparable(as_stranger.json())
    assert set(as_holder.headers) == set(as_stranger.headers)
    # The same side effects: an entry and a notice each.
    for slot in (held, other):
        entry = WaitlistEntry.objects.get(slot=slot, user_id=PATIENT)
        assert entry.status == WaitlistEntry.Status.WAITING
        assert Notice.objects.filter(waitlist_entry=entry).count() == 1


def test_a_slot_with_a_free_seat_answers_a_seat_holder_like_anyone_else(
    make_slot, book_seat, join, assert_error
):
    slot = make_slot(seats=2)
    book_seat(slot_id=slot.pk, user_id=PATIENT)

    as_holder = assert_error(join(slot), 409, "seats_available")
    as_stranger = assert_error(join(slot, "someone-else"), 409, "seats_available")

    assert as_holder == as_stranger


def test_joining_again_answers_like_a_first_join(make_full_slot, join):
    slot, _ = make_full_slot(seats=1)

    first, again = join(slot), join(slot)

    assert first.status_code == again.status_code == 201
    assert first.json()["entry"]["reference"] != again.json()["entry"]["reference"]


def test_the_same_statements_run_for_a_seat_holder_and_for_anyone_else(make_full_slot, book_seat):
    held, _ = make_full_slot(seats=1)
    other, _ = make_full_slot(seats=1)
    services.cancel(reference=Booking.objects.get(slot=held).reference)
    book_seat(slot_id=held.pk, user_id=PATIENT)

    with CaptureQueriesContext(connection) as for_holder:
        waitlist.waitlist_join(slot_id=held.pk, user_id=PATIENT)
    with CaptureQueriesContext(connection) as for_stranger:
        waitlist.waitlist_join(slot_id=other.pk, user_id=PATIENT)

    def statements(captured):
        # Literals differ (ids, a new reference, a time); the statements themselves may not.
        literals = r"'[^']*'|\"s\d[^\"]*\"|\b\d+\b"
        return [re.sub(literals, "?", query["sql"]) for query in captured]

    assert len(for_holder) == len(for_stranger)
    assert statements(for_holder) == statements(for_stranger)


def test_the_page_answers_a_seat_holder_like_anyone_else(client, make_full_slot, book_seat):
    held, _ = make_full_slot(seats=1)
    other, _ = make_full_slot(seats=1)
    services.cancel(reference=Booking.objects.get(slot=held).reference)
    book_seat(slot_id=held.pk, user_id=PATIENT)
    form = {"patient": PATIENT, "email": ""}

    as_holder = client.post(reverse("pages:join-waitlist", args=[held.pk]), form)
    as_stranger = client.post(reverse("pages:join-waitlist", args=[other.pk]), form)

    assert as_holder.status_code == as_stranger.status_code == 302
    assert as_holder["Location"].startswith("/waitlist/")
    assert as_stranger["Location"].startswith("/waitlist/")


def test_a_holder_s_entry_is_passed_over_and_the_seat_goes_to_the_next_patient(
    make_full_slot, book_seat, capsys
):
    slot, references = make_full_slot(seats=2)
    holder_entry = waitlist.waitlist_join(slot_id=slot.pk, user_id="holder-1").entry
    next_entry = waitlist.waitlist_join(slot_id=slot.pk, user_id="next-patient").entry

    services.cancel(reference=references[0])  # holder-0's seat frees; holder-1 still holds one

    holder_entry.refresh_from_db()
    next_entry.refresh_from_db()
    assert holder_entry.status == WaitlistEntry.Status.PASSED
    assert holder_entry.booking is None
    assert next_entry.status == WaitlistEntry.Status.BOOKED
    assert Booking.objects.filter(slot=slot, user_id="holder-1", status="CONFIRMED").count() == 1
    call_command("check_bookings")
    assert "invariants hold" in capsys.readouterr().out


def test_a_patient_waiting_twice_gets_one_seat_and_the_second_entry_is_passed_over(
    make_full_slot,
):
    slot, references = make_full_slot(seats=2)
    first = waitlist.waitlist_join(slot_id=slot.pk, user_id="twice").entry
    second = waitlist.waitlist_join(slot_id=slot.pk, user_id="twice").entry
    third = waitlist.waitlist_join(slot_id=slot.pk, user_id="third").entry

    services.cancel(reference=references[0])  # "twice" gets this seat
    services.cancel(reference=references[1])  # "twice" holds one: "third" gets this one

    statuses = [WaitlistEntry.objects.get(pk=e.pk).status for e in (first, second, third)]
    assert statuses == ["BOOKED", "PASSED", "BOOKED"]
