"""The waiting list under real threads, transactions and row locks; the database is checked
after. Lock order: every change of a slot (book, cancel, join, leave, promote) takes the slot's
row lock first and nothing before it, so none can wait on another in a cycle."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from booking import services, waitlist
from booking.invariants import find_violations
from booking.models import Booking, WaitlistEntry
from mediqueue.errors import MediQueueError

pytestmark = pytest.mark.django_db(transaction=True)

Status = WaitlistEntry.Status


def labelled(action: str, call):
    """A job whose outcome says what it was (run_together returns outcomes in its own order)."""

    def job():
        try:
            result = call()
        except MediQueueError as error:
            return action, str(error.code)
        return action, type(result).__name__

    return job


def test_50_cancels_racing_50_joins_and_50_bookings_hand_each_seat_to_one_waiter_in_order(
    make_full_slot, run_together
):
    slot, holders = make_full_slot(seats=50)
    # A queue already stands when the race starts, so that joins and cancels really meet.
    for n in range(10):
        waitlist.waitlist_join(slot_id=slot.pk, user_id=f"waiter-early-{n}")
    jobs = [labelled("cancel", lambda r=r: services.cancel(reference=r)) for r in holders]
    jobs += [
        labelled("join", lambda n=n: waitlist.waitlist_join(slot_id=slot.pk, user_id=f"waiter-{n}"))
        for n in range(50)
    ]
    jobs += [
        labelled("book", lambda n=n: services.book(slot_id=slot.pk, user_id=f"booker-{n}"))
        for n in range(50)
    ]
    random.Random(15).shuffle(jobs)

    outcomes = Counter(run_together(jobs))
    expected = {
        ("cancel", "BookingOutcome"),
        ("join", "Waiting"),
        ("join", "seats_available"),  # a seat was free and nobody waiting: book it instead
        ("book", "Booked"),
        ("book", "slot_full"),
        ("join", "busy"),  # a lock wait over the timeout answers busy, never hangs
        ("book", "busy"),
        ("cancel", "busy"),
    }
    assert set(outcomes) <= expected, outcomes
    assert outcomes[("cancel", "BookingOutcome")] == 50, outcomes
    assert outcomes[("join", "Waiting")] > 0, outcomes  # joins met a standing queue

    # I1-I5 on what was committed.
    assert find_violations() == []
    slot.refresh_from_db()
    entries = list(WaitlistEntry.objects.filter(slot=slot).order_by("id"))
    promoted = [e for e in entries if e.status == Status.BOOKED]
    waiting = [e for e in entries if e.status == Status.WAITING]
    assert {e.status for e in entries} <= {Status.BOOKED, Status.WAITING}
    # Join order: every promoted entry joined before every entry still waiting, and the
    # earliest in line, there before the race, all got seats.
    assert entries == promoted + waiting
    assert all(e.status == Status.BOOKED for e in entries[:10])
    # Each promoted waiter got exactly one seat, the booking its entry points to.
    confirmed = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED)
    waiter_bookings = confirmed.filter(user_id__startswith="waiter-")
    assert sorted(waiter_bookings.values_list("pk", flat=True)) == sorted(
        e.booking_id for e in promoted
    )
    assert all(e.booking.user_id == e.user_id for e in promoted)
    # Every freed seat went to exactly one patient, or is free with nobody waiting.
    bookers = confirmed.filter(user_id__startswith="booker-").count()
    assert outcomes[("book", "Booked")] == bookers
    assert not confirmed.filter(user_id__startswith="holder-").exists()
    assert slot.booked_seats == len(promoted) + bookers == confirmed.count()
    assert slot.booked_seats == slot.total_seats or not waiting


def test_control_cancels_that_do_not_promote_leave_seats_free_while_patients_wait(
    make_full_slot, run_together, monkeypatch
):
    # The same scene with the promotion switched off: the check of I3 above can fail, and does.
    monkeypatch.setattr(services, "fill_free_seats", lambda slot: [])
    slot, holders = make_full_slot(seats=10)
    for n in range(10):
        waitlist.waitlist_join(slot_id=slot.pk, user_id=f"waiter-{n}")

    run_together([lambda r=r: services.cancel(reference=r) for r in holders])

    assert {v.invariant for v in find_violations()} == {"I3"}
    assert not WaitlistEntry.objects.filter(status=Status.BOOKED).exists()
