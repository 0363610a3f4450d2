"""Listings from the replicas under a flash crowd: browsers listing through nginx, and patients
who re-read their slot after each 201 and each cancel, through the other app node.

Each re-reading patient books and cancels on a slot of their own (no one else touches it), so
the count they must see is exact: after their k-th seat is taken, ``GET /api/slots?doctor=``
and ``GET /api/slots/{id}`` must both say k, whichever node answers and whichever database it
read from; anything else is a stale listing. Which database served is the nodes' own count
(``mediqueue_listing_reads_total{source}`` on each node's /metrics, before and after).
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import threading
import time
import urllib.request
from collections import Counter

from loadtests.chaos import clients
from loadtests.cluster.reads import _book
from loadtests.harness import patient_address

# A patient holds at most this many seats before cancelling the oldest.
HELD_SEATS = 3


class ReplicaReadsChecker:
    """One check per call of :meth:`one` on the calling thread's own slot: book (or cancel, every
    third turn) on one node, then read the slot's listing and detail on the other."""

    def __init__(self, node_ports: list[int], slot_ids: list[int], doctor_id: int, patients):
        self.node_ports = node_ports
        self.doctor_id = doctor_id
        self.patients = patients
        self.checks = 0
        self.stale = 0
        self.errors = 0  # listings or cancels that got no 200
        self.outcomes: list[clients.Outcome] = []
        self.cancelled: set[str] = set()  # references this checker cancelled itself
        self._free_slots = list(slot_ids)
        self._mine = threading.local()
        self._lock = threading.Lock()

    def _slot(self):
        if not hasattr(self._mine, "slot"):
            with self._lock:
                self._mine.slot = self._free_slots.pop()
            self._mine.expected, self._mine.held, self._mine.turn = 0, [], itertools.count()
        return self._mine

    def one(self, elapsed: float) -> None:
        mine = self._slot()
        turn = next(mine.turn)
        writing_node = self.node_ports[turn % len(self.node_ports)]
        reading_node = self.node_ports[(turn + 1) % len(self.node_ports)]
        if turn % 3 == 2 and mine.held:
            reference = mine.held.pop(0)
            if _cancel(writing_node, reference) != 200:
                # Whether it cancelled is unknown: this patient's count can no longer be checked.
                with self._lock:
                    self.errors += 1
                return
            mine.expected -= 1
            with self._lock:
                self.cancelled.add(reference)
            self._check(reading_node, mine)
            return
        outcome, booked_seats = _book(writing_node, self.patients.next("ryw"), mine.slot)
        with self._lock:
            self.outcomes.append(outcome)
        if not outcome.acknowledged:
            return
        mine.expected += 1
        mine.held.append(outcome.reference)
        if booked_seats != mine.expected:
            with self._lock:
                self.stale += 1  # the 201 itself disagrees: someone else wrote here
        self._check(reading_node, mine)

    def bookings(self) -> list[clients.Outcome]:
        """The checker's booking answers, but those it cancelled itself afterwards (they are
        rightly not CONFIRMED on the leader)."""
        return [o for o in self.outcomes if o.reference not in self.cancelled]

    def _check(self, port: int, mine) -> None:
        seen = (_listed(port, self.doctor_id, mine.slot), _detail(port, mine.slot))
        with self._lock:
            self.checks += 1
            if None in seen:
                self.errors += 1
            elif seen != (mine.expected, mine.expected):
                self.stale += 1


class Browsers:
    """Patients looking: the crowd's listing, one of its slots, the doctors, through nginx."""

    def __init__(self, port: int, doctor_id: int, slot_ids: list[int]):
        self.port = port
        self.paths = itertools.cycle(
            [f"/api/slots?doctor={doctor_id}", "/api/doctors"]
            + [f"/api/slots/{slot_id}" for slot_id in slot_ids[:8]]
        )
        self.requests = 0
        self.failures: Counter = Counter()
        self._lock = threading.Lock()

    def one(self, elapsed: float) -> None:
        with self._lock:
            path = next(self.paths)
            self.requests += 1
        status = _get_status(self.port, path)
        if status != 200:
            with self._lock:
                self.failures[status] += 1
        return None


def run_for(seconds: float, threads: int, one, *, started: float) -> None:
    """``one(elapsed)`` in a loop from ``threads`` threads until ``seconds`` after ``started``."""

    def loop() -> None:
        while (elapsed := time.monotonic() - started) < seconds:
            one(elapsed)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(
            max(0.0, started + seconds - time.monotonic()) + clients.PATIENT_TIMEOUT_SECONDS * 3
        )


def listing_reads(node_ports: list[int]) -> tuple[Counter, Counter]:
    """(listings by source, fallbacks by reason), summed over the app nodes' /metrics."""
    sources: Counter = Counter()
    reasons: Counter = Counter()
    for port in node_ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
        for kind, label, value in re.findall(
            r'^mediqueue_listing_(reads|fallbacks)_total\{(?:source|reason)="(\w+)"\} (\S+)$',
            text,
            re.MULTILINE,
        ):
            (sources if kind == "reads" else reasons)[label] += int(float(value))
    return sources, reasons


def _request(port: int, method: str, path: str, *, patient: str = "browser"):
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=clients.PATIENT_TIMEOUT_SECONDS
    )
    try:
        connection.request(method, path, headers={"X-Forwarded-For": patient_address(patient)})
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None, b""
    finally:
        connection.close()


def _get_status(port: int, path: str) -> int | None:
    return _request(port, "GET", path)[0]


def _cancel(port: int, reference: str) -> int | None:
    return _request(port, "POST", f"/api/bookings/{reference}/cancel", patient=reference)[0]


def _listed(port: int, doctor_id: int, slot_id: int) -> int | None:
    status, body = _request(port, "GET", f"/api/slots?doctor={doctor_id}")
    if status != 200:
        return None
    slots = json.loads(body)
    return next((s["booked_seats"] for s in slots if s["id"] == slot_id), None)


def _detail(port: int, slot_id: int) -> int | None:
    status, body = _request(port, "GET", f"/api/slots/{slot_id}")
    return json.loads(body)["booked_seats"] if status == 200 else None
