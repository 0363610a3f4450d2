"""The chaos queue phase: a crowd books one slot through the booking queue (``Prefer:
respond-async``) while the allocator dies inside a batch's transaction, then between a batch's
commit and its ack, and RabbitMQ restarts; then nothing accepted may be lost, nothing booked
twice, and first come first served must still hold.

1. One slot of four times ``--seats`` seats; RabbitMQ (a node of the run's own) is the queue of
   the service under test.
2. ``--clients`` threads queue bookings for fresh patients for ``--seconds``.
3. Allocators take turns, each started when the one before died, as a supervisor restarts
   them: one that dies before the commit of its second batch, one that dies after the commit of
   its second batch (before the ack), then ``manage.py allocate`` itself.
4. Halfway through the crowd, RabbitMQ restarts (SIGTERM, then started on the same data).
5. Once the crowd is over and every accepted ticket decided (or a timeout), the verdict
   (``judge_queue``) reads the database.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from loadtests.chaos.database import create_slots
from loadtests.chaos.queue_verdict import QueueEvidence, QueueVerdict, judge_queue
from loadtests.chaos.scenarios import Run
from loadtests.harness import manage, patient_address, start_allocator, start_notice_worker, stop
from loadtests.harness.rabbitmq import RabbitMQNode
from loadtests.harness.slots import QueuedOutcome

DECIDE_SECONDS = 90  # after the crowd, for the allocator to decide every accepted ticket
CRASHES = ("before-commit", "after-commit")


def run_queue_phase(run: Run, node: RabbitMQNode, log_path: Path) -> QueueVerdict:
    seats = run.args.seats * 4
    (slot_id,) = create_slots(run.database_url, doctor="Dr. Chaos (queue)", count=1, seats=seats)
    allocators = _Allocators(run.env, log_path)

    def post() -> tuple[str, str | None]:
        return post_queued(run.service.host, run.service.port, run.patients.next("queue"), slot_id)

    try:
        answers, accepted = queue_crowd(
            post,
            clients=run.args.clients,
            seconds=run.args.seconds,
            fault=node.restart,
            tick=allocators.keep_running,
        )
        wait_until_decided(run.database_url, accepted, tick=allocators.keep_running)
    finally:
        allocators.stop()
    return judge_queue(
        queue_evidence(
            run.database_url,
            slot_id,
            seats=seats,
            answers=answers,
            accepted=accepted,
            crashes=tuple(allocators.crashed),
            broker_restarts=1,
            invariants_hold=manage(run.env, "check_bookings", check=False).returncode == 0,
        )
    )


def queue_crowd(
    post: Callable[[], tuple[str, str | None]],
    *,
    clients: int,
    seconds: float,
    fault: Callable[[], None],
    tick: Callable[[], None] = lambda: None,
) -> tuple[Counter[str], set[str]]:
    """``clients`` threads ``post()`` queued bookings for ``seconds``; ``fault()`` runs halfway
    through, ``tick()`` after every request. (answers by kind, the accepted tickets)."""
    answers: Counter[str] = Counter()
    accepted: set[str] = set()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def crowd() -> None:
        while time.monotonic() < deadline:
            answer, ticket = post()
            with lock:
                answers[answer] += 1
                if ticket:
                    accepted.add(ticket)
            tick()

    threads = [threading.Thread(target=crowd) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 2)
    try:
        fault()
    finally:
        for thread in threads:
            thread.join()
    return answers, accepted


def queue_evidence(database_url: str, slot_id: int, **evidence) -> QueueEvidence:
    """What the database holds of the slot, with what the clients saw (``evidence``)."""
    (booked_seats, confirmed), *_ = _query(
        database_url,
        "SELECT s.booked_seats, (SELECT count(*) FROM booking_booking b"
        " WHERE b.slot_id = s.id AND b.status = 'CONFIRMED') FROM slots_slot s WHERE s.id = %s",
        [slot_id],
    )
    return QueueEvidence(
        outcomes=tuple(_outcomes(database_url, slot_id)),
        booked_seats=booked_seats,
        confirmed_bookings=confirmed,
        **{**evidence, "accepted": frozenset(evidence["accepted"])},
    )


class _Allocators:
    """The allocators' supervisor: the two crashing ones, then the real one, each started when
    the one before exited."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.crashed: list[str] = []
        self._next = list(CRASHES)
        self._lock = threading.Lock()
        self.process = self._start()

    def _start(self):
        if self._next:
            self.mode = self._next.pop(0)
            command = [sys.executable, "-m", "loadtests.chaos.crashing_allocator"]
            return start_notice_worker(
                self.env, self.log_path, command=[*command, "--crash", self.mode]
            )
        self.mode = "allocate"
        return start_allocator(self.env, self.log_path)

    def keep_running(self) -> None:
        with self._lock:
            if self.process.poll() is None:
                return
            if self.process.returncode == 137 and self.mode in CRASHES:
                self.crashed.append(self.mode)
            self.process = self._start()

    def stop(self) -> None:
        stop(self.process)


def post_queued(
    host: str, port: int, user_id: str, slot_id: int, *, source: str | None = None
) -> tuple[str, str | None]:
    """One queued booking (``Prefer: respond-async``): ("202 QUEUED", ticket), or the answer
    ("503 unavailable", "no answer", ...) and None. ``source``: the client's own loopback
    address (through nginx, which forwards it); else an X-Forwarded-For of its own."""
    headers = {"Content-Type": "application/json", "Prefer": "respond-async"}
    if source is None:
        headers["X-Forwarded-For"] = patient_address(user_id)
    connection = http.client.HTTPConnection(
        host, port, timeout=10, source_address=(source, 0) if source else None
    )
    try:
        connection.request(
            "POST",
            "/api/book",
            body=json.dumps({"userId": user_id, "slotId": slot_id}).encode(),
            headers=headers,
        )
        response = connection.getresponse()
        body = json.loads(response.read() or b"{}")
    except (OSError, http.client.HTTPException, ValueError):
        time.sleep(0.1)
        return "no answer", None
    finally:
        connection.close()
    answer = f"{response.status} {body.get('code') or body.get('status')}"
    if answer == "503 unavailable":
        time.sleep(0.1)  # a client backs off while the queue is away
    return answer, body.get("ticket") if response.status == 202 else None


def wait_until_decided(
    database_url: str, accepted: set[str], *, tick: Callable[[], None] = lambda: None
) -> None:
    deadline = time.monotonic() + DECIDE_SECONDS
    while time.monotonic() < deadline:
        tick()
        (decided,), *_ = _query(
            database_url,
            "SELECT count(*) FROM booking_bookingrequest WHERE ticket = ANY(%s)",
            [list(accepted)],
        )
        if decided >= len(accepted):
            return
        time.sleep(0.5)


def _outcomes(database_url: str, slot_id: int) -> list[QueuedOutcome]:
    rows = _query(
        database_url,
        "SELECT id, ticket, user_id, status, reason,"
        " extract(epoch FROM decided_at - accepted_at)"
        " FROM booking_bookingrequest WHERE slot_id = %s ORDER BY id",
        [slot_id],
    )
    return [QueuedOutcome(row[0], row[1], row[2], row[3], row[4], float(row[5])) for row in rows]


def _query(database_url: str, sql: str, params) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()
