"""The patients of the chaos run: a flash crowd of well-behaved clients, and clients that give up.

Every request books a seat for a patient id never used before, so each answer can be matched
to the database afterwards: a 201's booking reference must be CONFIRMED there, for that patient.
Plain threads and ``http.client`` (or a raw socket) give exact control over timeouts and
hang-ups, which a load tool would hide.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from loadtests.harness import patient_address

# A patient's app waits this long for an answer before giving up.
PATIENT_TIMEOUT_SECONDS = 10.0
# After a failure a real client backs off a little instead of hammering a sick service.
BACKOFF_SECONDS = 0.1


@dataclass(frozen=True)
class Outcome:
    """What one client saw. ``status`` is None when no complete HTTP answer arrived."""

    kind: str  # "crowd", "recovery", or the way a misbehaving client gave up
    user_id: str
    slot_id: int
    status: int | None
    code: str | None = None  # the error envelope's code, or the booking's status
    reference: str | None = None  # the booking reference of a 201 or 200
    sent_at: float = 0.0  # time.monotonic() when the request was sent…
    answered_at: float = 0.0  # …and when its answer (or the failure) came

    @property
    def acknowledged(self) -> bool:
        return self.status == 201 and self.reference is not None


class PatientIds:
    """Patient ids that are unique across the whole run, from any thread."""

    def __init__(self, prefix: str):
        self._prefix = prefix
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next(self, kind: str) -> str:
        with self._lock:
            return f"{self._prefix}-{kind}-{next(self._counter)}"


def booking_body(user_id: str, slot_id: int) -> bytes:
    return json.dumps({"userId": user_id, "slotId": slot_id}).encode()


def book(
    host: str,
    port: int,
    user_id: str,
    slot_id: int,
    *,
    kind: str,
    timeout: float,
    source: str | None = None,
) -> Outcome:
    """One booking over a fresh connection, answer read in full (or no answer at all); from
    the local address ``source`` when given."""
    connection = http.client.HTTPConnection(
        host, port, timeout=timeout, source_address=(source, 0) if source else None
    )
    sent_at = time.monotonic()
    try:
        connection.request(
            "POST",
            "/api/book",
            body=booking_body(user_id, slot_id),
            headers={
                "Content-Type": "application/json",
                "X-Forwarded-For": patient_address(user_id),
            },
        )
        response = connection.getresponse()
        status, raw = response.status, response.read()
    except (OSError, http.client.HTTPException):
        # Refused, reset, timed out, or cut mid-answer: the client was told nothing.
        return Outcome(kind, user_id, slot_id, None, sent_at=sent_at, answered_at=time.monotonic())
    finally:
        connection.close()
    code, reference = _read_answer(raw)
    return Outcome(
        kind,
        user_id,
        slot_id,
        status,
        code=code,
        reference=reference,
        sent_at=sent_at,
        answered_at=time.monotonic(),
    )


def _read_answer(raw: bytes) -> tuple[str | None, str | None]:
    """The envelope's error code (or the booking's status) and the booking reference."""
    try:
        body = json.loads(raw)
    except ValueError:
        return "not_json", None
    booking = body.get("booking") or {}
    return body.get("code") or body.get("status"), booking.get("reference")


def run_for(
    seconds: float, threads: int, one_request: Callable[[float], Outcome], *, started: float
) -> list[Outcome]:
    """Call ``one_request(elapsed)`` in a loop from ``threads`` threads until ``seconds`` after
    ``started`` (a time.monotonic())."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def loop() -> None:
        mine = []
        while (elapsed := time.monotonic() - started) < seconds:
            outcome = one_request(elapsed)
            mine.append(outcome)
            if outcome.status is None or outcome.status >= 500:
                time.sleep(BACKOFF_SECONDS)
        with lock:
            outcomes.extend(mine)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        # Bounded: a request gives up after PATIENT_TIMEOUT_SECONDS.
        worker.join(max(0.0, started + seconds - time.monotonic()) + PATIENT_TIMEOUT_SECONDS + 5)
    return outcomes


# --- clients that give up ----------------------------------------------------------------------


def _raw_request(user_id: str, slot_id: int) -> bytes:
    body = booking_body(user_id, slot_id)
    head = (
        "POST /api/book HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Forwarded-For: {patient_address(user_id)}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _connect(host: str, port: int) -> socket.socket | None:
    try:
        return socket.create_connection((host, port), timeout=PATIENT_TIMEOUT_SECONDS)
    except OSError:
        return None


def _hang_up(sock: socket.socket, *, reset: bool) -> None:
    if reset:
        # SO_LINGER with a zero timeout turns close() into a TCP reset.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def send_and_leave(host: str, port: int, user_id: str, slot_id: int, *, reset: bool) -> Outcome:
    """A whole booking request, then the socket closed before the answer (a FIN or a reset)."""
    kind = "sent-then-reset" if reset else "sent-then-closed"
    sock = _connect(host, port)
    if sock is not None:
        with contextlib.suppress(OSError):  # the server may hang up first; same outcome
            sock.sendall(_raw_request(user_id, slot_id))
        _hang_up(sock, reset=reset)
    return Outcome(kind, user_id, slot_id, None)


def half_request(host: str, port: int, user_id: str, slot_id: int, *, cut_in_body: bool) -> Outcome:
    """Part of a request (the headers and half the body, or half the headers), a short pause
    like a phone losing its signal, then the hang-up."""
    kind = "half-body" if cut_in_body else "half-headers"
    raw = _raw_request(user_id, slot_id)
    header_end = raw.index(b"\r\n\r\n") + 4
    cut = (header_end + len(raw)) // 2 if cut_in_body else header_end // 2
    sock = _connect(host, port)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.sendall(raw[:cut])
            time.sleep(random.uniform(0.05, 0.3))
        _hang_up(sock, reset=False)
    return Outcome(kind, user_id, slot_id, None)


def impatient(host: str, port: int, user_id: str, slot_id: int) -> Outcome:
    """A client with a timeout far below the service's latency under load: it mostly gives up
    mid-request, and when the answer beats its timeout, that answer counts like any other."""
    return book(host, port, user_id, slot_id, kind="impatient", timeout=random.uniform(0.001, 0.02))


def misbehaving_request(host: str, port: int, user_id: str, slot_id: int) -> Outcome:
    """One of the ways of giving up, chosen at random."""
    way = random.randrange(5)
    if way < 2:
        return send_and_leave(host, port, user_id, slot_id, reset=way == 1)
    if way < 4:
        return half_request(host, port, user_id, slot_id, cut_in_body=way == 3)
    return impatient(host, port, user_id, slot_id)
