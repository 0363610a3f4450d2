"""Real threads, real transactions, real PostgreSQL row locks; the database is checked after.

Each thread uses its own connection (Django's are per thread) and closes it when done. The
connection count stays under PostgreSQL's default max_connections (100), so patients are spread
over at most CONCURRENCY threads that all start at one barrier.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection

from booking import services
from booking.errors import SlotFullError
from booking.invariants import find_violations
from booking.models import Booking
from mediqueue.errors import MediQueueError
from slots.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)

CONCURRENCY = 40


def run_together(jobs: list, threads: int = CONCURRENCY) -> list:
    """Run callables on `threads` threads released together by a barrier; return what each
    returned, or the exception it raised."""
    threads = min(threads, len(jobs))
    barrier = threading.Barrier(threads)
    chunks = [jobs[i::threads] for i in range(threads)]

    def worker(chunk):
        results = []
        try:
            barrier.wait(timeout=30)
            for job in chunk:
                try:
                    results.append(job())
                except Exception as error:  # the outcome under test, kept for asserting
                    results.append(error)
        finally:
            connection.close()
        return results

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [result for chunk in pool.map(worker, chunks) for result in chunk]


def outcome_kind(result) -> str:
    if isinstance(result, services.BookingOutcome):
        return "booked" if result.changed else "repeat"
    if isinstance(result, MediQueueError):
        return result.code
    return f"unexpected {type(result).__name__}: {result}"


def test_200_patients_at_once_on_10_seats_sell_exactly_10(make_slot):
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


def test_same_patient_20_times_at_once_gets_one_booking(make_slot):
    slot = make_slot(seats=5)
    jobs = [lambda: services.book(slot_id=slot.pk, user_id="impatient")] * 20

    results = run_together(jobs, threads=20)

    kinds = Counter(outcome_kind(r) for r in results)
    assert kinds == {"booked": 1, "repeat": 19}
    assert len({r.booking.reference for r in results}) == 1
    slot.refresh_from_db()
    assert slot.booked_seats == 1
    assert Booking.objects.filter(slot=slot).count() == 1


def test_interleaved_books_and_cancels_keep_the_counter_equal_to_confirmed_rows(make_slot):
    slot = make_slot(seats=8)
    rng = random.Random(42)

    def churn(patient: str):
        def job():
            log = []
            for _ in range(6):
                try:
                    outcome = services.book(slot_id=slot.pk, user_id=patient)
                    log.append("booked")
                    if rng.random() < 0.7:
                        services.cancel(reference=outcome.booking.reference)
                        log.append("cancelled")
                except SlotFullError:
                    log.append("full")
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


class TestTheLockIsWhatPreventsTheRace:
    """A rival booking is injected at one exact point: after `book()` has read the slot and
    before it writes. With the row lock the rival has to wait and then finds the slot full;
    with the lock bypassed (the control) both believe the last seat is theirs, and only the
    CHECK constraint stops the second write. The control shows the guard test can fail."""

    def _race_for_the_last_seat(self, monkeypatch, make_slot, *, bypass_lock: bool):
        slot = make_slot(seats=1)
        rival_result = {}
        real_lookup = services._confirmed_booking
        injected = threading.Event()

        def rival():
            try:
                rival_result["outcome"] = services.book(slot_id=slot.pk, user_id="rival")
            except Exception as error:
                rival_result["outcome"] = error
            finally:
                connection.close()

        def lookup_then_let_the_rival_in(**kwargs):
            if kwargs["user_id"] == "first" and not injected.is_set():
                injected.set()
                thread = threading.Thread(target=rival)
                thread.start()
                # With the lock the rival blocks until we commit: give it time to try.
                thread.join(timeout=1.0)
                lookup_then_let_the_rival_in.thread = thread
            return real_lookup(**kwargs)

        monkeypatch.setattr(services, "_confirmed_booking", lookup_then_let_the_rival_in)
        if bypass_lock:
            monkeypatch.setattr(services, "lock_slot", lambda slot_id: Slot.objects.get(pk=slot_id))
        try:
            first = services.book(slot_id=slot.pk, user_id="first")
        except Exception as error:
            first = error
        lookup_then_let_the_rival_in.thread.join(timeout=10)
        slot.refresh_from_db()
        return slot, first, rival_result["outcome"]

    def test_with_the_lock_the_rival_waits_and_finds_the_slot_full(self, monkeypatch, make_slot):
        slot, first, rival = self._race_for_the_last_seat(monkeypatch, make_slot, bypass_lock=False)

        assert isinstance(first, services.BookingOutcome) and first.changed
        assert isinstance(rival, SlotFullError)
        assert slot.booked_seats == 1
        assert find_violations() == []

    def test_control_without_the_lock_both_take_the_last_seat(self, monkeypatch, make_slot):
        slot, first, rival = self._race_for_the_last_seat(monkeypatch, make_slot, bypass_lock=True)

        # The rival got in during the window; the first booking still believed the seat free
        # and was stopped only by the database's CHECK constraint.
        assert isinstance(rival, services.BookingOutcome) and rival.changed
        assert isinstance(first, IntegrityError)
        assert slot.booked_seats == 1
