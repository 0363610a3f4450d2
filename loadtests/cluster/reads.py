"""Read-your-writes across app nodes: book on one node, list on the other at once.

The listing must show the seat the 201 just took: each node caches listing pages, but serves
one only under the listing version current in Redis, which a booking moves on before its 201
leaves (mediqueue/shared_version.py), and renders a fresh one from the leader otherwise.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time

from loadtests.chaos import clients
from loadtests.harness import patient_address


class ReadYourWrites:
    """One check per call of :meth:`one`, alternating the direction between the two nodes."""

    def __init__(self, node_ports: list[int], slot_ids: list[int], doctor_id: int, patients):
        self.node_ports = node_ports
        self.slot_ids = slot_ids
        self.doctor_id = doctor_id
        self.patients = patients
        self.checks = 0
        self.stale = 0
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def one(self, elapsed: float) -> clients.Outcome:
        turn = next(self._turn)
        booking_node = self.node_ports[turn % len(self.node_ports)]
        listing_node = self.node_ports[(turn + 1) % len(self.node_ports)]
        slot_id = self.slot_ids[turn % len(self.slot_ids)]
        user_id = self.patients.next("ryw")
        outcome, booked_seats = _book(booking_node, user_id, slot_id)
        if outcome.acknowledged:
            listed = _listed_seats(listing_node, self.doctor_id, slot_id)
            with self._lock:
                self.checks += 1
                if listed is None or listed < booked_seats:
                    self.stale += 1
        return outcome


def _book(port: int, user_id: str, slot_id: int) -> tuple[clients.Outcome, int]:
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=clients.PATIENT_TIMEOUT_SECONDS
    )
    sent_at = time.monotonic()
    try:
        connection.request(
            "POST",
            "/api/book",
            body=clients.booking_body(user_id, slot_id),
            headers={
                "Content-Type": "application/json",
                "X-Forwarded-For": patient_address(user_id),
            },
        )
        response = connection.getresponse()
        status, body = response.status, json.loads(response.read() or b"{}")
    except (OSError, http.client.HTTPException, ValueError):
        return clients.Outcome("crowd", user_id, slot_id, None, sent_at=sent_at), 0
    finally:
        connection.close()
    booking = body.get("booking") or {}
    outcome = clients.Outcome(
        "crowd",
        user_id,
        slot_id,
        status,
        code=body.get("code") or body.get("status"),
        reference=booking.get("reference"),
        sent_at=sent_at,
        answered_at=time.monotonic(),
    )
    return outcome, (body.get("slot") or {}).get("booked_seats", 0)


def _listed_seats(port: int, doctor_id: int, slot_id: int) -> int | None:
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=clients.PATIENT_TIMEOUT_SECONDS
    )
    try:
        connection.request("GET", f"/api/slots?doctor={doctor_id}")
        response = connection.getresponse()
        slots = json.loads(response.read())
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        connection.close()
    return next((s["booked_seats"] for s in slots if s["id"] == slot_id), None)
