"""Real threads, real transactions, real PostgreSQL row locks; the database is checked after.

Each thread uses its own connection (Django's are per thread) and closes it when done. The
connection count stays under PostgreSQL's default max_connections (100), so patients are spread
over at most CONCURRENCY threads that all start at one barrier (``run_together``, conftest.py).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from booking import queries, services
from booking.errors import AlreadyBookedError, SlotFullError
from booking.invariants import find_violations
from booking.models import Booking
from mediqueue.errors import MediQueueError
from mediqueue.ratelimit import counting_params
from slots.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)


def outcome_kind(result) -> str:
    if isinstance(result, services.Booked):
        return "booked"
    if isinstance(result, MediQueueError):
        return result.code
    return f"unexpected {type(result).__name__}: {result}"


def test_200_patients_at_once_on_10_seats_sell_exactly_10(make_slot, run_together):
    slot = make_slot(seats=10)
    jobs = [
        (lambda n=n: services.book(slot_id=slot.pk, user_id=f"patient-{n}")) for n in range(200)
    ]

    kinds = Counter(outcome_kind(r) for r in run_together(jobs))

    assert kinds == {"booked": 10, "slot_full": 190}
    slot.refresh_from_db()
    assert slot.booked_seats == 10
    assert Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count() == 10
    call_command("check_bookings")  # raises CommandError on any violation


def test_same_patient_20_times_at_once_gets_one_booking(make_slot, run_together):
    slot = make_slot(seats=5)
    jobs = [lambda: services.book(slot_id=slot.pk, user_id="impatient")] * 20

    results = run_together(jobs, threads=20)

    kinds = Counter(outcome_kind(r) for r in results)
    assert kinds == {"booked": 1, "already_booked": 19}
    slot.refresh_from_db()
    assert slot.booked_seats == 1
    assert Booking.objects.filter(slot=slot).count() == 1


def test_interleaved_books_and_cancels_keep_the_counter_equal_to_confirmed_rows(
    make_slot, run_together
):
    slot = make_slot(seats=8)
    rng = random.Random(42)

    def churn(patient: str):
        def job():
            log, held = [], None
            for _ in range(6):
                try:
                    held = services.book(slot_id=slot.pk, user_id=patient).booking.reference
                    log.append("booked")
                except SlotFullError:
                    log.append("full")
                except AlreadyBookedError:
                    assert held is not None, "told already booked without holding a seat"
                    log.append("already_booked")
                if held is not None and rng.random() < 0.7:
                    services.cancel(reference=held)
                    held = None
                    log.append("cancelled")
            return log

        return job

    results = run_together([churn(f"p{n}") for n in range(30)], threads=30)

    assert all(isinstance(r, list) for r in results), results
    logs = Counter(entry for log in results for entry in log)
    assert logs["booked"] > 0 and logs["cancelled"] > 0
    slot.refresh_from_db()
    confirmed = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED).count()
    assert slot.booked_seats == confirmed <= slot.total_seats
    assert find_violations() == []


class TestTheDecisionUnderTheLockIsWhatPreventsTheRace:
    """A rival transaction takes the last seat and holds the slot's lock, uncommitted, while a
    second patient books. The second patient's pre-check still sees a free seat (the rival has
    not committed), so only the re-check made once the lock is granted can refuse them.

    The control swaps in a booking statement that decides on its snapshot, taken before the
    lock wait (the test-only seam is the module's SQL constant): the second patient then takes
    a seat that does not exist, and only the database's CHECK constraint stops the commit. So
    the guarded test can fail."""

    def _second_patient_books_while_a_rival_holds_the_last_seat(
        self, make_slot, *, seats=1, rival_user="rival", user="second"
    ):
        slot = make_slot(seats=seats)
        holding, release = threading.Event(), threading.Event()

        def rival():
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        queries.TAKE_SEAT,
                        {
                            "slot_id": slot.pk,
                            "user_id": rival_user,
                            "email": "",
                            "reference": "rival-reference",
                            "lock_timeout": "5s",
                            **counting_params([]),
                        },
                    )
                    holding.set()
                    release.wait(10)
            finally:
                connection.close()

        thread = threading.Thread(target=rival)
        thread.start()
        assert holding.wait(10)
        # Let the rival commit only once our booking is seen queued on the row lock.
        threading.Thread(target=release_once_a_booking_waits, args=(release,)).start()
        try:
            outcome = services.book(slot_id=slot.pk, user_id=user)
        except Exception as error:
            outcome = error
        thread.join(10)
        slot.refresh_from_db()
        return slot, outcome

    def test_the_queued_booking_is_refused_once_it_gets_the_lock(self, make_slot):
        slot, outcome = self._second_patient_books_while_a_rival_holds_the_last_seat(make_slot)

        assert isinstance(outcome, SlotFullError)
        assert slot.booked_seats == 1
        assert list(Booking.objects.values_list("user_id", flat=True)) == ["rival"]
        assert find_violations() == []

    def test_the_same_patients_racing_repeat_is_told_already_booked(self, make_slot):
        # The repeat's statement snapshot predates the winner's commit, so only the partial
        # unique index can stop a second seat: it must, and the answer is already_booked.
        slot, outcome = self._second_patient_books_while_a_rival_holds_the_last_seat(
            make_slot, seats=5, rival_user="same-patient", user="same-patient"
        )

        assert isinstance(outcome, AlreadyBookedError), outcome
        assert slot.booked_seats == 1
        assert Booking.objects.filter(slot=slot).count() == 1
        assert find_violations() == []

    def test_a_seat_freed_again_after_the_lock_wait_is_booked_by_one_retry(
        self, make_slot, monkeypatch
    ):
        # The queued statement re-checks the row once the rival commits and finds it full; by
        # the time the refusal is explained afresh the rival has cancelled, so nothing explains
        # it: the seat is free again, and one more attempt takes it.
        take_seat, attempts = queries.take_seat, []

        def the_rival_cancels_after_the_first_attempt(**kwargs):
            seat = take_seat(**kwargs)
            attempts.append(seat.taken)
            if len(attempts) == 1:
                with transaction.atomic():
                    Booking.objects.filter(user_id="rival").update(
                        status=Booking.Status.CANCELLED, cancelled_at=timezone.now()
                    )
                    freed = F("booked_seats") - 1
                    Slot.objects.filter(pk=kwargs["slot_id"]).update(booked_seats=freed)
            return seat

        monkeypatch.setattr(queries, "take_seat", the_rival_cancels_after_the_first_attempt)

        slot, outcome = self._second_patient_books_while_a_rival_holds_the_last_seat(make_slot)

        assert isinstance(outcome, services.Booked), outcome
        assert attempts == [False, True]
        assert slot.booked_seats == 1
        confirmed = Booking.objects.filter(status=Booking.Status.CONFIRMED)
        assert list(confirmed.values_list("user_id", flat=True)) == ["second"]
        assert find_violations() == []

    def test_control_deciding_on_the_snapshot_before_the_lock_overbooks(
        self, make_slot, monkeypatch
    ):
        # The seat check moved into a subquery PostgreSQL evaluates once, on the statement's
        # snapshot taken before the lock wait: the decision no longer sees the rival's seat.
        stale = queries.TAKE_SEAT.replace(
            "AND s.booked_seats < s.total_seats",
            "AND (SELECT booked_seats < total_seats FROM slots_slot WHERE id = %(slot_id)s)",
        )
        assert stale != queries.TAKE_SEAT
        monkeypatch.setattr(queries, "TAKE_SEAT", stale)

        slot, outcome = self._second_patient_books_while_a_rival_holds_the_last_seat(make_slot)

        assert isinstance(outcome, IntegrityError)  # booked_seats would be 2 of 1
        assert slot.booked_seats == 1


def release_once_a_booking_waits(release: threading.Event, timeout: float = 10) -> None:
    """Set ``release`` once some backend is blocked on a lock in the booking statement."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE %s",
                    ["%UPDATE slots_slot%"],
                )
                if cursor.fetchone()[0]:
                    break
            time.sleep(0.01)
    finally:
        connection.close()
        release.set()
