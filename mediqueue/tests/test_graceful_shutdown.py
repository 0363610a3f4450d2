"""Graceful shutdown: SIGTERM to gunicorn's master lets the requests in flight finish.

A booking is held in flight for as long as the test likes by holding its slot's row lock from
another connection (the server's lock timeout is raised so that the booking waits instead of
answering busy). SIGTERM goes to the master while the booking waits; only then is the lock
released.
"""

import contextlib
import http.client
import json
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection

from booking.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough that the booking in flight waits on the lock for the whole test, never busy.
SERVER_LOCK_TIMEOUT_MS = "20000"
# Well beyond the control's one-second graceful timeout, well within the default thirty.
HOLD_AFTER_SIGTERM_SECONDS = 4


def book(base_url: str, user_id: str, slot_id: int) -> tuple[int | None, dict]:
    """POST /api/book; (None, {}) when the connection dies before a whole answer arrives."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/book",
            body=json.dumps({"userId": user_id, "slotId": slot_id}),
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        status, raw = response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None, {}
    finally:
        conn.close()
    try:
        return status, json.loads(raw)
    except ValueError:  # e.g. gunicorn's own plain error page for a worker that was stopped
        return status, {}


def bookings_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' "
            # The booking statement's UPDATE, within the first kilobyte PostgreSQL shows of it.
            "AND query LIKE '%%UPDATE slots_slot%%'"
        )
        return cursor.fetchone()[0]


def wait_for(condition, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


def book_while_shutting_down(
    live_gunicorn, slot, slot_lock_held_elsewhere, *, graceful_timeout: str
):
    """Send a booking, SIGTERM the master while it waits for the slot lock, give the master a
    few seconds to exit, release the lock. Returns the answer, whether the master was still up
    at the release, and its exit code."""
    with (
        live_gunicorn(
            workers=1,
            MEDIQUEUE_LOCK_TIMEOUT_MS=SERVER_LOCK_TIMEOUT_MS,
            GUNICORN_GRACEFUL_TIMEOUT=graceful_timeout,
        ) as server,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        with slot_lock_held_elsewhere(slot.pk):
            answer = pool.submit(book, server.base_url, "patient-in-flight", slot.pk)
            wait_for(lambda: bookings_waiting_for_a_lock() == 1, "the booking waits for the lock")
            server.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=HOLD_AFTER_SIGTERM_SECONDS)
            up_at_release = server.process.poll() is None
        status, body = answer.result(timeout=30)
        exit_code = server.process.wait(timeout=30)
    # A booking cut off on the client side still waited in PostgreSQL; let it end before the
    # test database is flushed.
    wait_for(lambda: bookings_waiting_for_a_lock() == 0, "no booking waits for a lock")
    return status, body, up_at_release, exit_code


def test_sigterm_lets_a_booking_in_flight_finish_with_201_and_then_gunicorn_exits(
    make_slot, slot_lock_held_elsewhere, live_gunicorn
):
    slot = make_slot(seats=3)

    status, body, up_at_release, exit_code = book_while_shutting_down(
        live_gunicorn, slot, slot_lock_held_elsewhere, graceful_timeout="30"
    )

    assert up_at_release, "gunicorn exited with a request in flight"
    assert status == 201
    assert body["status"] == "CONFIRMED"
    booking = Booking.objects.get(reference=body["booking"]["reference"])
    assert (booking.slot_id, booking.user_id, booking.status) == (
        slot.pk,
        "patient-in-flight",
        Booking.Status.CONFIRMED,
    )
    slot.refresh_from_db()
    assert slot.booked_seats == 1
    assert exit_code == 0


def test_control_a_graceful_timeout_shorter_than_the_wait_cuts_the_booking_off(
    make_slot, slot_lock_held_elsewhere, live_gunicorn
):
    """The same shutdown, but gunicorn may wait only one second for its workers: the worker is
    killed with the booking in flight and the client gets no answer. So the test above can tell
    a graceful shutdown from an abrupt one."""
    slot = make_slot(seats=3)

    status, _, up_at_release, _ = book_while_shutting_down(
        live_gunicorn, slot, slot_lock_held_elsewhere, graceful_timeout="1"
    )

    assert status is None
    assert not up_at_release
