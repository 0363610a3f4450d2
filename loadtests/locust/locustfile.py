"""Locust users for MediQueue: a flash crowd, browsing patients and booking churn.

Run headless through the runner (``make loadtest``), which prepares the slots, passes their ids
with ``--slot-ids`` and checks the outcome against the database. Or open Locust's web UI against
a running server::

    locust -f loadtests/locust/locustfile.py --class-picker --host http://127.0.0.1:8000 \
        --slot-ids 42

Every answer is recorded by what it was (``book 201 CONFIRMED``, ``book 409 slot_full``, ...)
so that the runner can count them exactly. With ``--results-file`` the counts are written there as
JSON when the test stops. With ``--quit-when-done`` Locust quits as soon as every user has
finished (a flash-crowd patient after its one booking, a churn patient when ``--churn-seconds``
are over), instead of waiting for ``--run-time``.

This file imports nothing from the project, so that the plain ``locust`` command can load it;
the recording, its command-line options and the test events are in ``recorder.py`` beside it,
which it imports by its plain name from its own directory (Locust puts that on ``sys.path``).
"""

from __future__ import annotations

import functools
import itertools
import random
import secrets
import time

from locust import FastHttpUser, between, constant, task
from recorder import RECORDER

# Far longer than any run: a user that has finished idles here rather than stopping, because
# Locust tops the user count back up while it is still spawning and would replace a stopped
# user with a new patient, who would book a second time.
IDLE_SECONDS = 24 * 3600

_patient_numbers = itertools.count(1)


def _slot_ids(user) -> list[int]:
    raw = user.environment.parsed_options.slot_ids if user.environment.parsed_options else ""
    return [int(part) for part in raw.split(",") if part.strip()]


def _patient_id(kind: str, user) -> str:
    tag = user.environment.parsed_options.run_tag or _RANDOM_TAG
    return f"{tag}-{kind}-{next(_patient_numbers)}"


_RANDOM_TAG = secrets.token_hex(4)
# 10.0.0.1, 10.0.0.2, …: an address per simulated patient (16 million before they repeat).
_client_addresses = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in itertools.count(1))


def _label(response) -> str:
    """Status and meaning: ``201 CONFIRMED``, ``409 slot_full``, ``0 ConnectionRefusedError``;
    ``200 ok`` for a read that carries neither an error code nor a booking status."""
    if response.status_code == 0:
        return f"0 {type(response.error).__name__}"
    try:
        body = response.json()
    except (ValueError, TypeError):
        return f"{response.status_code} not-json"
    meaning = (body.get("code") or body.get("status")) if isinstance(body, dict) else None
    return f"{response.status_code} {meaning or 'ok'}"


def _latency_ms(response) -> float:
    return response.request_meta["response_time"]


class MediQueueUser(FastHttpUser):
    """A patient on a machine of their own: every user sends its own client address, as the
    proxy in front of production would (the runner serves with MEDIQUEUE_NUM_PROXIES=1), so
    the rate limits stay on and are paid for, yet no patient is limited for the crowd's sake.
    """

    abstract = True
    # A flash crowd waits in gunicorn's listen backlog: give it time rather than call it an error.
    network_timeout = 60.0
    connection_timeout = 60.0
    # Never retry: a retried booking could count one patient twice, or hide a lost answer.
    max_retries = 0
    finished = False
    pace = constant(0)  # the wait between tasks while the user is still busy

    def __init__(self, environment) -> None:
        self.default_headers = {"X-Forwarded-For": next(_client_addresses)}
        super().__init__(environment)

    def wait_time(self) -> float:
        return IDLE_SECONDS if self.finished else self.pace()

    def finish(self) -> None:
        """Count this user as done, then idle until the test stops (see IDLE_SECONDS)."""
        RECORDER.finished_users += 1
        self.finished = True

    def record(self, kind: str, response, *, expected: bool) -> None:
        RECORDER.answer(kind, _label(response), _latency_ms(response), expected=expected)
        if expected:
            response.success()
        else:
            response.failure(f"unexpected answer {_label(response)}")


class FlashCrowdPatient(MediQueueUser):
    """One patient, one attempt on the target slot, no retry: 201 or 409 slot_full is an answer,
    anything else is an error."""

    def on_start(self) -> None:
        self.user_id = _patient_id("flash", self)
        slot_ids = _slot_ids(self)
        if not slot_ids:
            raise ValueError("--slot-ids is required: the id of the slot the crowd books")
        self.slot_id = slot_ids[0]

    @task
    def book_once(self) -> None:
        if self.finished:
            return
        payload = {"userId": self.user_id, "slotId": self.slot_id}
        with self.client.post(
            "/api/book", json=payload, catch_response=True, name="POST /api/book"
        ) as response:
            label = _label(response)
            self.record("book", response, expected=label in ("201 CONFIRMED", "409 slot_full"))
        if label == "201 CONFIRMED":
            RECORDER.confirmed_users.append(self.user_id)
        self.finish()


class BrowsingPatient(MediQueueUser):
    """Looks at slots the way the patient pages do: upcoming with free seats, by doctor, by day,
    one slot's detail. Every answer should be a 200."""

    pace = between(0.5, 2)

    def on_start(self) -> None:
        self.slots = self._known_slots()

    def _known_slots(self) -> list[dict]:
        ids = _slot_ids(self)
        if not ids:
            with self.client.get(
                "/api/slots?limit=100", catch_response=True, name="GET /api/slots"
            ) as response:
                self.record("browse", response, expected=response.status_code == 200)
                return response.json() if response.status_code == 200 else []
        known = []
        for slot_id in ids:
            with self.client.get(
                f"/api/slots/{slot_id}", catch_response=True, name="GET /api/slots/{id}"
            ) as response:
                self.record("browse", response, expected=response.status_code == 200)
                if response.status_code == 200:
                    known.append(response.json())
        return known

    def _browse(self, path: str, name: str) -> None:
        with self.client.get(path, catch_response=True, name=name) as response:
            self.record("browse", response, expected=response.status_code == 200)

    @task(3)
    def upcoming_with_free_seats(self) -> None:
        self._browse("/api/slots?available=true&limit=20", "GET /api/slots?available")

    @task(2)
    def by_doctor(self) -> None:
        if self.slots:
            doctor = random.choice(self.slots)["doctor_id"]
            self._browse(f"/api/slots?doctor={doctor}", "GET /api/slots?doctor")

    @task(2)
    def by_day(self) -> None:
        if self.slots:
            day = random.choice(self.slots)["start_time"][:10]
            self._browse(f"/api/slots?date={day}", "GET /api/slots?date")

    @task(3)
    def one_slot(self) -> None:
        if self.slots:
            slot_id = random.choice(self.slots)["id"]
            self._browse(f"/api/slots/{slot_id}", "GET /api/slots/{id}")


def _on_a_held_booking(task_body):
    """A churn task on one of the patient's bookings, chosen at random: skipped while it holds
    none, and once its time is up."""

    @functools.wraps(task_body)
    def run(user) -> None:
        if user._time_is_up() or not user.held:
            return
        task_body(user, *random.choice(list(user.held.items())))

    return run


class ChurnPatient(MediQueueUser):
    """Books, looks up and cancels at random across a few slots until --churn-seconds are over.

    It knows which bookings it holds, so it knows the one right answer to each request: booking a
    slot it holds answers 409 already_booked (or slot_full: a full slot answers the same to
    everyone), else 201 or 409 slot_full; looking a booking up
    says CONFIRMED; cancelling says CANCELLED. What it holds at the end must be what the database
    holds.
    """

    pace = between(0.5, 1.5)

    def on_start(self) -> None:
        self.user_id = _patient_id("churn", self)
        self.slot_ids = _slot_ids(self)
        self.held: dict[int, str] = {}  # slot id -> reference of this patient's live booking
        self.deadline = RECORDER.started_at + self.environment.parsed_options.churn_seconds

    def _time_is_up(self) -> bool:
        if not self.finished and time.time() >= self.deadline:
            self.finish()
        return self.finished

    @task(3)
    def book(self) -> None:
        if self._time_is_up():
            return
        slot_id = random.choice(self.slot_ids)
        payload = {"userId": self.user_id, "slotId": slot_id}
        with self.client.post(
            "/api/book", json=payload, catch_response=True, name="POST /api/book"
        ) as response:
            label = _label(response)
            reference = _reference(response)
            if slot_id in self.held:
                expected = label in ("409 already_booked", "409 slot_full")
            else:
                expected = label in ("201 CONFIRMED", "409 slot_full")
            self.record("book", response, expected=expected)
        if label == "201 CONFIRMED" and slot_id not in self.held:
            self.held[slot_id] = reference
            RECORDER.held[slot_id].add(reference)

    @task(1)
    @_on_a_held_booking
    def look_up(self, slot_id: int, reference: str) -> None:
        with self.client.get(
            f"/api/bookings/{reference}", catch_response=True, name="GET /api/bookings/{ref}"
        ) as response:
            expected = _label(response) == "200 CONFIRMED" and _slot_of(response) == slot_id
            self.record("look-up", response, expected=expected)

    @task(2)
    @_on_a_held_booking
    def cancel(self, slot_id: int, reference: str) -> None:
        with self.client.post(
            f"/api/bookings/{reference}/cancel",
            catch_response=True,
            name="POST /api/bookings/{ref}/cancel",
        ) as response:
            label = _label(response)
            self.record("cancel", response, expected=label == "200 CANCELLED")
        # Only a clear "cancelled" frees the seat in our books; any other answer leaves the
        # booking counted as held, and the mismatch with the database is then reported.
        if label == "200 CANCELLED":
            del self.held[slot_id]
            RECORDER.held[slot_id].discard(reference)


def _reference(response) -> str | None:
    return _booking_field(response, "reference")


def _slot_of(response) -> int | None:
    return _booking_field(response, "slot_id")


def _booking_field(response, name: str):
    try:
        return response.json()["booking"][name]
    except (ValueError, TypeError, KeyError):
        return None
