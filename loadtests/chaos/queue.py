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
    answers: Counter[str] = Counter()
    accepted: set[str] = set()
    lock = threading.Lock()
    deadline = time.monotonic() + run.args.seconds

    def crowd() -> None:
        while time.monotonic() < deadline:
            answer, ticket = _queue(run, slot_id)
            with lock:
                answers[answer] += 1
                if ticket:
                    accepted.add(ticket)
            allocators.keep_running()

    threads = [threading.Thread(target=crowd) for _ in range(run.args.clients)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(run.args.seconds / 2)
        node.restart()
        for thread in threads:
            thread.join()
        _wait_until_decided(run, accepted, allocators)
    finally:
        allocators.stop()
    outcomes = _outcomes(run, slot_id)
    (booked_seats, confirmed), *_ = _query(
        run,
        "SELECT s.booked_seats, (SELECT count(*) FROM booking_booking b"
        " WHERE b.slot_id = s.id AND b.status = 'CONFIRMED') FROM slots_slot s WHERE s.id = %s",
        [slot_id],
    )
    return judge_queue(
        QueueEvidence(
            seats=seats,
            answers=answers,
            accepted=frozenset(accepted),
            outcomes=tuple(outcomes),
            booked_seats=booked_seats,
            confirmed_bookings=confirmed,
            crashes=tuple(allocators.crashed),
            broker_restarts=1,
            invariants_hold=manage(run.env, "check_bookings", check=False).returncode == 0,
        )
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


def _queue(run: Run, slot_id: int) -> tuple[str, str | None]:
    user_id = run.patients.next("queue")
    connection = http.client.HTTPConnection(run.service.host, run.service.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/api/book",
            body=json.dumps({"userId": user_id, "slotId": slot_id}).encode(),
            headers={
                "Content-Type": "application/json",
                "Prefer": "respond-async",
                "X-Forwarded-For": patient_address(user_id),
            },
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


def _wait_until_decided(run: Run, accepted: set[str], allocators: _Allocators) -> None:
    deadline = time.monotonic() + DECIDE_SECONDS
    while time.monotonic() < deadline:
        allocators.keep_running()
        (decided,), *_ = _query(
            run, "SELECT count(*) FROM booking_bookingrequest WHERE ticket = ANY(%s)", [accepted]
        )
        if decided >= len(accepted):
            return
        time.sleep(0.5)


def _outcomes(run: Run, slot_id: int) -> list[QueuedOutcome]:
    rows = _query(
        run,
        "SELECT id, ticket, user_id, status, reason,"
        " extract(epoch FROM decided_at - accepted_at)"
        " FROM booking_bookingrequest WHERE slot_id = %s ORDER BY id",
        [slot_id],
    )
    return [QueuedOutcome(row[0], row[1], row[2], row[3], row[4], float(row[5])) for row in rows]


def _query(run: Run, sql: str, params=None) -> list[tuple]:
    import psycopg

    with psycopg.connect(run.database_url) as conn:
        return conn.execute(sql, [list(p) if isinstance(p, set) else p for p in params]).fetchall()
