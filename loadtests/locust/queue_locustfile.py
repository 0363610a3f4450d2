"""Locust users for the booking queue (``make loadtest SCENARIO=queue``).

A flash crowd books one slot with ``Prefer: respond-async``: each patient is told 202 with a
ticket, then asks for the outcome (``GET /api/book/requests/{ticket}``) until it is CONFIRMED or
FAILED. The runner then checks the database: exactly SEATS confirmed, every ticket with its
outcome, none lost, and first come first served in the order of record.

A patient asks again every POLL_SECONDS rather than holding a long poll (``Prefer: wait``): a
waiting request holds one of gunicorn's few threads, and two thousand of them would hold every
thread of the node. The time to an outcome a patient sees is so rounded up to its next look;
the runner reports the exact time in line from the database beside it.

Like ``locustfile.py`` it imports nothing from the project, only its sibling files.
"""

from __future__ import annotations

import time

from locust import between, task
from locustfile import MediQueueUser, _label, _patient_id, _slot_ids
from recorder import RECORDER

QUEUED = "202 QUEUED"
OUTCOMES = ("200 CONFIRMED", "200 slot_full")


class QueuedPatient(MediQueueUser):
    """One patient, one queued booking, then looks until it is decided."""

    pace = between(0.8, 1.2)  # between two looks at the ticket

    def on_start(self) -> None:
        self.user_id = _patient_id("queue", self)
        slot_ids = _slot_ids(self)
        if not slot_ids:
            raise ValueError("--slot-ids is required: the id of the slot the crowd books")
        self.slot_id = slot_ids[0]
        self.ticket = None

    def wait_time(self) -> float:
        if self.ticket is None and not self.finished:
            return 0  # the booking itself leaves at once
        return super().wait_time()

    @task
    def step(self) -> None:
        if self.finished:
            return
        if self.ticket is None:
            self._queue()
        else:
            self._look()

    def _queue(self) -> None:
        self.sent_at = time.time()
        payload = {"userId": self.user_id, "slotId": self.slot_id}
        with self.client.post(
            "/api/book",
            json=payload,
            headers={"Prefer": "respond-async"},
            catch_response=True,
            name="POST /api/book (respond-async)",
        ) as response:
            label = _label(response)
            ticket = response.json().get("ticket") if label == QUEUED else None
            accepted = (
                ticket is not None
                and response.headers.get("Preference-Applied") == "respond-async"
                and response.headers.get("Location") == f"/api/book/requests/{ticket}"
            )
            self.record("book", response, expected=accepted)
        if not accepted:
            self.finish()
            return
        self.ticket = ticket
        RECORDER.tickets[ticket] = ""

    def _look(self) -> None:
        with self.client.get(
            f"/api/book/requests/{self.ticket}",
            catch_response=True,
            name="GET /api/book/requests/{ticket}",
        ) as response:
            label = _label(response)
            self.record("look", response, expected=label in ("200 QUEUED", *OUTCOMES))
        if label == "200 QUEUED":
            return
        RECORDER.tickets[self.ticket] = label.split(" ", 1)[1]
        RECORDER.latencies_ms["outcome"].append(round((time.time() - self.sent_at) * 1000, 2))
        if label == "200 CONFIRMED":
            RECORDER.confirmed_users.append(self.user_id)
        self.finish()
