"""The allocator (booking.allocator, booking.services.allocate): first come first served, one
lock per slot and batch, outcomes recorded before the ack, a redelivered request changing
nothing; against real PostgreSQL and a real RabbitMQ, with real threads."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pika.exceptions
import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test.utils import CaptureQueriesContext

from booking import queue, services, waitlist
from booking.invariants import find_violations
from booking.models import Booking, BookingRequest, Notice, WaitlistEntry
from mediqueue import metrics

pytestmark = pytest.mark.django_db(transaction=True)


def _queued(slot_id: int, user_id: str, **fields) -> queue.QueuedBooking:
    return queue.QueuedBooking(
        ticket=queue.mint_ticket(),
        slot_id=slot_id,
        user_id=user_id,
        email=fields.get("email", ""),
        accepted_at=datetime.now(tz=UTC),
    )


def _accept_all(slot, users, **fields) -> list[queue.QueuedBooking]:
    return [queue.accept(slot_id=slot.pk, user_id=user, **fields) for user in users]


def test_the_earliest_distinct_patients_get_the_seats_in_broker_order(
    make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=3)
    users = ["p0", "p1", "p1", "p2", "p3", "p4", "p5"]  # p1 twice: one seat each patient
    requests = _accept_all(slot, users)
    with allocator_running(batch_size=50):
        outcomes = wait_for_outcomes(len(users))
    assert [o.ticket for o in outcomes] == [r.ticket for r in requests]  # the order of record
    assert [(o.user_id, o.status, o.reason) for o in outcomes] == [
        ("p0", "CONFIRMED", ""),
        ("p1", "CONFIRMED", ""),
        ("p1", "FAILED", "already_booked"),
        ("p2", "CONFIRMED", ""),
        ("p3", "FAILED", "slot_full"),
        ("p4", "FAILED", "slot_full"),
        ("p5", "FAILED", "slot_full"),
    ]
    slot.refresh_from_db()
    assert slot.booked_seats == 3
    assert sorted(Booking.objects.values_list("user_id", flat=True)) == ["p0", "p1", "p2"]
    assert booking_queue.depth() == 0  # every message acked
    assert find_violations() == []


def test_a_patient_holding_a_seat_is_refused_already_booked(
    make_slot, book_seat, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=3)
    book_seat(slot_id=slot.pk, user_id="ada")
    _accept_all(slot, ["ada", "bob"])
    with allocator_running():
        outcomes = wait_for_outcomes(2)
    assert [(o.user_id, o.status, o.reason) for o in outcomes] == [
        ("ada", "FAILED", "already_booked"),
        ("bob", "CONFIRMED", ""),
    ]
    assert find_violations() == []


def test_a_full_slot_answers_slot_full_to_its_seat_holders_too(make_slot, book_seat):
    slot = make_slot(seats=1)
    book_seat(slot_id=slot.pk, user_id="ada")
    (outcome,) = services.allocate(slot_id=slot.pk, requests=[_queued(slot.pk, "ada")])
    assert (outcome.status, outcome.reason) == ("FAILED", "slot_full")


def test_requests_for_a_slot_deleted_while_in_line_are_refused_slot_not_found(
    api_client, make_slot
):
    slot = make_slot(seats=1)
    request = _queued(slot.pk, "ada")
    slot.delete()
    (outcome,) = services.allocate(slot_id=request.slot_id, requests=[request])
    assert (outcome.slot_id, outcome.status, outcome.reason) == (None, "FAILED", "slot_not_found")
    body = api_client.get(f"/api/book/requests/{request.ticket}").json()
    assert (body["status"], body["code"]) == ("FAILED", "slot_not_found")


def test_a_batch_locks_each_slot_once_and_writes_in_a_fixed_number_of_statements(make_slot):
    slot = make_slot(seats=30)
    requests = [_queued(slot.pk, f"p{n}") for n in range(60)]
    with CaptureQueriesContext(connection) as queries:
        outcomes = services.allocate(slot_id=slot.pk, requests=requests)
    locks = [q["sql"] for q in queries.captured_queries if "FOR NO KEY UPDATE" in q["sql"]]
    assert len(locks) == 1
    # Lock, decided?, clock, holders, bookings, count, ids, outcomes, and the transaction's
    # own: the same for 60 requests as for 2 (no statement per request).
    assert len(queries.captured_queries) <= 12
    assert sum(o.status == "CONFIRMED" for o in outcomes) == 30
    slot.refresh_from_db()
    assert slot.booked_seats == 30


def test_batches_of_several_slots_are_decided_slot_by_slot(
    make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slots = [make_slot(seats=2) for _ in range(5)]
    for n in range(4):
        for slot in slots:
            queue.accept(slot_id=slot.pk, user_id=f"p{n}")
    with allocator_running(batch_size=7):
        outcomes = wait_for_outcomes(20)
    for slot in slots:
        mine = [o for o in outcomes if o.slot_id == slot.pk]
        assert [o.user_id for o in mine if o.status == "CONFIRMED"] == ["p0", "p1"]
        assert [o.user_id for o in mine if o.status == "FAILED"] == ["p2", "p3"]
    assert find_violations() == []


def test_a_request_delivered_again_after_its_commit_changes_nothing(
    make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    """The allocator dies after the commit and before the ack: here the connection is lost
    right after the first commit, so the broker delivers those messages again."""
    slot = make_slot(seats=2)
    _accept_all(slot, ["a", "b", "c"])
    lost = []

    def lose_the_connection_once(outcomes):
        if not lost:
            lost.append(outcomes)
            raise pika.exceptions.AMQPConnectionError("lost after the commit")

    with allocator_running(after_commit=lose_the_connection_once):
        outcomes = wait_for_outcomes(3)
        deadline = datetime.now(tz=UTC) + timedelta(seconds=10)
        while booking_queue.depth() and datetime.now(tz=UTC) < deadline:
            time.sleep(0.05)
    assert len(lost) == 1 and len(lost[0]) == 3
    assert BookingRequest.objects.count() == 3
    assert [o.status for o in outcomes] == ["CONFIRMED", "CONFIRMED", "FAILED"]
    slot.refresh_from_db()
    assert slot.booked_seats == Booking.objects.count() == 2
    assert booking_queue.depth() == 0  # acked on the second delivery
    assert find_violations() == []


def test_a_batch_that_fails_before_its_commit_is_handed_back_and_decided_again(
    make_slot, booking_queue, allocator_running, wait_for_outcomes, monkeypatch
):
    """The database fails inside the batch's transaction (here: once, after the bookings were
    written): nothing was committed nor acked, the broker delivers the batch again, in order."""
    slot = make_slot(seats=2)
    requests = _accept_all(slot, ["a", "b", "c"])
    record_order = services._in_order_of_record
    failures = []

    def fail_once(outcomes):
        record_order(outcomes)
        if not failures:
            failures.append(len(outcomes))
            raise OperationalError("the database went away mid-batch")

    monkeypatch.setattr(services, "_in_order_of_record", fail_once)
    with allocator_running():
        outcomes = wait_for_outcomes(3)
    assert failures == [3]
    assert [o.ticket for o in outcomes] == [r.ticket for r in requests]
    assert [o.status for o in outcomes] == ["CONFIRMED", "CONFIRMED", "FAILED"]
    slot.refresh_from_db()
    assert slot.booked_seats == Booking.objects.count() == 2
    assert find_violations() == []


def test_deciding_the_same_requests_twice_records_them_once(make_slot):
    slot = make_slot(seats=1)
    requests = [_queued(slot.pk, "a"), _queued(slot.pk, "b")]
    first = services.allocate(slot_id=slot.pk, requests=requests)
    again = services.allocate(slot_id=slot.pk, requests=[*requests, requests[0]])
    assert len(first) == 2 and again == []
    assert BookingRequest.objects.count() == 2
    assert Booking.objects.count() == 1


def test_control_without_the_check_for_decided_tickets_the_unique_ticket_stops_a_second_seat(
    make_slot, monkeypatch
):
    """The database's last line: skip the look-up of decided tickets and the repeat fails on
    the unique ticket, rolling back its seat; nothing is counted twice."""
    slot = make_slot(seats=2)
    request = _queued(slot.pk, "a")
    services.allocate(slot_id=slot.pk, requests=[request])
    monkeypatch.setattr(services, "_not_yet_decided", lambda requests: list(requests))
    other = _queued(slot.pk, "b")
    with pytest.raises(IntegrityError):
        services.allocate(slot_id=slot.pk, requests=[other, request])
    slot.refresh_from_db()
    assert slot.booked_seats == Booking.objects.count() == 1
    assert find_violations() == []


def test_a_malformed_or_forged_message_is_dropped_and_the_line_moves_on(
    make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=1)
    booking_queue.publish_raw(slot.pk, b"not json")
    forged = {
        "ticket": "A" * 22 + "." + "B" * 16,
        "slot_id": slot.pk,
        "user_id": "mallory",
        "accepted_at": 0,
    }
    booking_queue.publish_raw(slot.pk, json.dumps(forged).encode())
    queue.accept(slot_id=slot.pk, user_id="ada")
    before = metrics.QUEUE_OUTCOMES.labels("malformed")._value.get()
    with allocator_running():
        (outcome,) = wait_for_outcomes(1)
    assert (outcome.user_id, outcome.status) == ("ada", "CONFIRMED")
    assert metrics.QUEUE_OUTCOMES.labels("malformed")._value.get() == before + 2
    assert booking_queue.depth() == 0


def test_queued_bookings_get_their_notice_like_direct_ones(
    make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=1)
    _accept_all(slot, ["ada"], email="ada@example.org")
    with allocator_running():
        wait_for_outcomes(1)
    notice = Notice.objects.get()
    assert notice.kind == Notice.Kind.BOOKING_CONFIRMED
    assert notice.booking.user_id == "ada"
    assert notice.recipient == "ada@example.org"


def test_a_refused_patient_can_join_the_waiting_list_and_a_cancel_promotes_them(
    make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=1)
    _accept_all(slot, ["ada", "bob"])
    with allocator_running():
        outcomes = wait_for_outcomes(2)
    waitlist.waitlist_join(slot_id=slot.pk, user_id="bob")
    services.cancel(reference=outcomes[0].booking.reference)
    assert WaitlistEntry.objects.get().status == WaitlistEntry.Status.BOOKED
    assert find_violations() == []  # I6 knows the cancel freed the seat


def test_invariants_hold_with_direct_bookings_and_cancels_racing_the_allocator(
    make_slot, booking_queue, allocator_running, wait_for_outcomes, run_together
):
    slot = make_slot(seats=20)
    direct = [f"d{n}" for n in range(30)]
    queued = [f"q{n}" for n in range(60)]
    _accept_all(slot, queued)

    def book_then_cancel(user_id):
        def job():
            booked = services.book(slot_id=slot.pk, user_id=user_id)
            if user_id.endswith(("0", "5")):
                services.cancel(reference=booked.reference)
            return booked

        return job

    with allocator_running(batch_size=10):
        run_together([book_then_cancel(user) for user in direct], threads=10)
        wait_for_outcomes(len(queued))
    slot.refresh_from_db()
    confirmed = Booking.objects.filter(slot=slot, status="CONFIRMED").count()
    assert slot.booked_seats == confirmed <= 20
    assert find_violations() == []


def test_the_allocator_counts_batches_outcomes_and_time_in_line(
    make_slot, booking_queue, allocator_running, wait_for_outcomes
):
    slot = make_slot(seats=1)

    def total(metric, *labels):
        child = metric.labels(*labels) if labels else metric
        return {s.name: s.value for s in child.collect()[0].samples}

    confirmed = metrics.QUEUE_OUTCOMES.labels("confirmed")._value.get()
    full = metrics.QUEUE_OUTCOMES.labels("slot_full")._value.get()
    waits = total(metrics.QUEUE_WAIT_SECONDS)["mediqueue_booking_queue_wait_seconds_count"]
    batches = total(metrics.ALLOCATOR_BATCH_SIZE)["mediqueue_allocator_batch_size_count"]
    _accept_all(slot, ["a", "b", "c"])
    with allocator_running():
        wait_for_outcomes(3)
        deadline = datetime.now(tz=UTC) + timedelta(seconds=5)
        while (
            metrics.QUEUE_OUTCOMES.labels("slot_full")._value.get() < full + 2
            and datetime.now(tz=UTC) < deadline
        ):
            time.sleep(0.02)
    assert metrics.QUEUE_OUTCOMES.labels("confirmed")._value.get() == confirmed + 1
    assert metrics.QUEUE_OUTCOMES.labels("slot_full")._value.get() == full + 2
    after = total(metrics.QUEUE_WAIT_SECONDS)["mediqueue_booking_queue_wait_seconds_count"]
    assert after == waits + 3
    assert total(metrics.ALLOCATOR_BATCH_SIZE)["mediqueue_allocator_batch_size_count"] > batches
