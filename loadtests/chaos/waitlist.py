"""The chaos waitlist phase: cancels hand seats to a waiting list while gunicorn workers and the
notices' worker are killed and PostgreSQL restarts; then nothing may be lost or doubled.

1. One slot of ``--seats`` seats, filled by holders who gave an email; as many patients again
   and half as many more join its waiting list, in a known order.
2. The notices' worker starts beside the service, sending to an SMTP server of this process.
3. Every holder cancels, from several threads at once, while: a gunicorn worker is killed, the
   notices' worker is killed (SIGKILL, then started again), PostgreSQL restarts, the notices'
   worker is killed once more.
4. Cancels whose answer was lost are sent again (a repeat is a no-op 200), the worker catches up,
   and the verdict (``waitlist_verdict``) reads the database and the SMTP server's inbox.
"""

from __future__ import annotations

import http.client
import json
import random
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from loadtests.chaos.database import create_slots
from loadtests.chaos.scenarios import Run, kill_a_worker
from loadtests.chaos.waitlist_verdict import WaitlistEvidence, WaitlistVerdict, judge_waitlist
from loadtests.harness import free_port, manage, patient_address, start_notice_worker, stop

CATCH_UP_SECONDS = 120  # a worker killed mid-job is taken for dead after its heartbeats stop


def run_waitlist_phase(run: Run, log_path: Path) -> WaitlistVerdict:
    seats = run.args.seats
    (slot_id,) = create_slots(run.database_url, doctor="Dr. Chaos (waitlist)", count=1, seats=seats)
    holders = [
        _ok(run, "POST", "/api/book", _patient(run, "holder", slot_id)) for _ in range(seats)
    ]
    references = [body["booking"]["reference"] for body in holders]
    for _ in range(seats + seats // 2):
        _ok(run, "POST", f"/api/slots/{slot_id}/waitlist", _patient(run, "waiter"))

    with _Inbox() as inbox:
        env = {
            **run.env,
            "EMAIL_URL": f"smtp://127.0.0.1:{inbox.port}",
            "MEDIQUEUE_STALLED_WORKER_SECONDS": "3",
        }
        worker = _Worker(env, log_path)
        try:
            acknowledged, faults = _cancel_under_faults(run, references, worker)
            for reference in set(references) - acknowledged:
                _ok(run, "POST", f"/api/bookings/{reference}/cancel", None)
            _wait_until_sent(run, worker)
        finally:
            worker.stop()
        evidence = _evidence(run, slot_id, references, acknowledged, faults, inbox.received)
    return judge_waitlist(evidence)


def _cancel_under_faults(run: Run, references: list[str], worker: _Worker):
    acknowledged: set[str] = set()
    lock = threading.Lock()

    def cancel(reference: str) -> None:
        time.sleep(random.uniform(0, run.args.seconds))  # spread over the faults
        status, _ = _call(run, "POST", f"/api/bookings/{reference}/cancel", None)
        if status == 200:
            with lock:
                acknowledged.add(reference)

    def inject() -> int:
        step = run.args.seconds / 5
        faults = 0
        for at, fault in (
            (1, lambda: kill_a_worker(run.service)),
            (2, worker.kill_and_restart),
            (3, run.cluster.restart_fast),
            (4, worker.kill_and_restart),
        ):
            time.sleep(step if at > 1 else step / 2)
            fault()
            faults += 1
        return faults

    with ThreadPoolExecutor(max_workers=run.args.clients) as pool:
        cancels = [pool.submit(cancel, reference) for reference in references]
        faults = inject()
        for future in cancels:
            future.result()
    run.service.ready_within(30)
    return acknowledged, faults


class _Worker:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process = start_notice_worker(env, log_path)

    def kill_and_restart(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = start_notice_worker(self.env, self.log_path)

    def keep_running(self) -> None:
        """Start it again if it exited, as its supervisor would (systemd, the container
        runtime): procrastinate's worker stops when it loses its database for too long."""
        if self.process.poll() is not None:
            self.process = start_notice_worker(self.env, self.log_path)

    def stop(self) -> None:
        stop(self.process)


class _Inbox:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that keeps the Message-ID of every message."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        import email

        self.received.append(email.message_from_bytes(envelope.content)["Message-ID"])
        return "250 Message accepted for delivery"

    def __enter__(self) -> _Inbox:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def _wait_until_sent(run: Run, worker: _Worker) -> None:
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while time.monotonic() < deadline and _query(
        run, "SELECT count(*) FROM booking_notice WHERE status = 'PENDING'"
    ) != [(0,)]:
        worker.keep_running()
        time.sleep(1)


def _evidence(run, slot_id, references, acknowledged, faults, received) -> WaitlistEvidence:
    cancelled = _query(
        run,
        "SELECT reference FROM booking_booking WHERE reference = ANY(%s) AND status = 'CANCELLED'",
        [references],
    )
    statuses = _query(
        run, "SELECT status FROM booking_waitlistentry WHERE slot_id = %s ORDER BY id", [slot_id]
    )
    notices = _query(
        run,
        "SELECT n.kind, n.status, n.key FROM booking_notice n"
        " LEFT JOIN booking_booking b ON b.id = n.booking_id"
        " LEFT JOIN booking_waitlistentry w ON w.id = n.waitlist_entry_id"
        " WHERE b.slot_id = %(slot)s OR w.slot_id = %(slot)s",
        {"slot": slot_id},
    )
    return WaitlistEvidence(
        holders=len(references),
        waiting=len(statuses),
        acknowledged_cancels=frozenset(acknowledged),
        cancelled=frozenset(row[0] for row in cancelled),
        statuses=tuple(row[0] for row in statuses),
        notices=Counter(kind for kind, _, _ in notices),
        notice_statuses=Counter(status for _, status, _ in notices),
        notice_keys=frozenset(f"<notice-{key}@mediqueue>" for _, _, key in notices),
        received=list(received),
        faults=faults,
        invariants_hold=manage(run.env, "check_bookings", check=False).returncode == 0,
    )


def _query(run: Run, sql: str, params=None) -> list[tuple]:
    import psycopg

    with psycopg.connect(run.database_url) as conn:
        return conn.execute(sql, params).fetchall()


def _patient(run: Run, kind: str, slot_id: int | None = None) -> dict:
    user_id = run.patients.next(kind)
    body = {"userId": user_id, "email": f"{user_id}@patients.example"}
    return {**body, "slotId": slot_id} if slot_id is not None else body


def _ok(run: Run, method: str, path: str, body: dict | None) -> dict:
    """A request that must succeed (the scene is set, or a lost answer is retried, after the
    faults): retried a few times while the service recovers."""
    for _ in range(20):
        status, answer = _call(run, method, path, body)
        if status is not None and status < 300:
            return answer
        time.sleep(0.5)
    raise RuntimeError(f"{method} {path}: {status} {answer}")


def _call(run: Run, method: str, path: str, body: dict | None):
    connection = http.client.HTTPConnection(run.service.host, run.service.port, timeout=10)
    user = (body or {}).get("userId", path)
    try:
        connection.request(
            method,
            path,
            body=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "X-Forwarded-For": patient_address(user)},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    except (OSError, http.client.HTTPException, ValueError):
        return None, None
    finally:
        connection.close()
