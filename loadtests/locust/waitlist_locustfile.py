"""Locust users for the waiting list (``make loadtest SCENARIO=waitlist``).

A flash crowd fills one slot; each patient who is told "full" joins its waiting list (with an
email, so that every promotion leaves a notice in the outbox); holders cancel at random until
``--churn-seconds`` are over, and each cancel hands the seat to the earliest patient waiting;
waiting patients watch their entry until it says BOOKED, then hold that booking like any other.
The runner then checks the database: I1-I5, promotions in join order, one promotion notice per
promotion, and exactly the bookings the patients believe they hold.

Like ``locustfile.py`` it imports nothing from the project, only its sibling files by their
plain names (Locust puts this directory on ``sys.path``).
"""

from __future__ import annotations

import random
import time

from locust import between, task
from locustfile import MediQueueUser, _label, _patient_id, _slot_ids
from recorder import RECORDER

# Cancels stop at the deadline; a waiting patient looks at its entry once more this long after,
# so that no promotion made by a late cancel goes unseen.
SETTLE_SECONDS = 3.0
CANCEL_CHANCE = 0.25  # per step of a holder


class WaitlistPatient(MediQueueUser):
    pace = between(0.2, 1.0)

    def on_start(self) -> None:
        self.user_id = _patient_id("wait", self)
        self.email = f"{self.user_id}@patients.example"
        self.slot_id = _slot_ids(self)[0]
        self.state = "new"  # new -> holding, or -> waiting -> holding; holding -> done
        self.reference = self.entry = None
        self.deadline = RECORDER.started_at + self.environment.parsed_options.churn_seconds

    @task
    def step(self) -> None:
        if self.finished:
            return
        now = time.time()
        if self.state == "waiting":
            self._watch(last_look=now >= self.deadline + SETTLE_SECONDS)
        elif self.state == "done" or now >= self.deadline:
            self.finish()
        elif self.state == "new":
            self._book()
        elif random.random() < CANCEL_CHANCE:
            self._cancel()

    def _post(self, kind: str, path: str, payload, name: str, expected: tuple[str, ...]):
        with self.client.post(path, json=payload, catch_response=True, name=name) as response:
            label = _label(response)
            self.record(kind, response, expected=label in expected)
            return label, _json(response)

    def _book(self) -> None:
        label, body = self._post(
            "book",
            "/api/book",
            {"userId": self.user_id, "slotId": self.slot_id, "email": self.email},
            "POST /api/book",
            ("201 CONFIRMED", "409 slot_full"),
        )
        if label == "201 CONFIRMED":
            self._hold(body["booking"]["reference"])
        elif label == "409 slot_full":
            self._join()

    def _join(self) -> None:
        label, body = self._post(
            "join",
            f"/api/slots/{self.slot_id}/waitlist",
            {"userId": self.user_id, "email": self.email},
            "POST /api/slots/{id}/waitlist",
            ("201 WAITING", "409 seats_available"),
        )
        if label == "201 WAITING":
            self.entry, self.state = body["entry"]["reference"], "waiting"
        # seats_available: a seat freed with nobody waiting; the next step books it.

    def _hold(self, reference: str) -> None:
        self.reference, self.state = reference, "holding"
        RECORDER.held[self.slot_id].add(reference)

    def _cancel(self) -> None:
        label, _ = self._post(
            "cancel",
            f"/api/bookings/{self.reference}/cancel",
            None,
            "POST /api/bookings/{ref}/cancel",
            ("200 CANCELLED",),
        )
        if label == "200 CANCELLED":
            RECORDER.held[self.slot_id].discard(self.reference)
            self.state = "done"

    def _watch(self, *, last_look: bool) -> None:
        with self.client.get(
            f"/api/waitlist/{self.entry}", catch_response=True, name="GET /api/waitlist/{ref}"
        ) as response:
            label = _label(response)
            self.record("watch", response, expected=label in ("200 WAITING", "200 BOOKED"))
        if label == "200 BOOKED":
            self._hold(_json(response)["booking"]["reference"])
        elif last_look:
            self.finish()


def _json(response) -> dict:
    try:
        body = response.json()
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}
