"""The service under test: the project's gunicorn config in production mode, on loopback, against
the throwaway database; and the database-side facts the verdict needs, read with psycopg.

The chaos process never imports Django itself: it sets the service up and asks it questions
the way an operator would (``manage.py migrate``, ``manage.py check_bookings``, HTTP).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from loadtests.chaos_verdict import SlotCount, StoredBooking
from loadtests.server import production_env as load_test_env

BASE_DIR = Path(__file__).resolve().parent.parent


def production_env(database_url: str, *, workers: int) -> dict[str, str]:
    """The load tests' production environment (each patient has an address of its own)."""
    return {
        **load_test_env(database_url),
        "DJANGO_SETTINGS_MODULE": "mediqueue.settings",
        "WEB_CONCURRENCY": str(workers),
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


class Gunicorn:
    """gunicorn with the project's config; its output goes to ``log_path``."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path):
        self.host, self.port = "127.0.0.1", port
        self.base_url = f"http://{self.host}:{port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(BASE_DIR / "mediqueue" / "gunicorn.conf.py"),
                "--bind",
                f"{self.host}:{port}",
                "mediqueue.wsgi:application",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            if self.is_ready():
                return True
            time.sleep(0.2)
        return False

    def worker_pids(self) -> list[int]:
        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def kill_a_worker(self) -> int | None:
        """SIGKILL one worker, whatever it is doing; the master notices and starts another."""
        pids = self.worker_pids()
        if not pids:
            return None
        victim = random.choice(pids)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return victim

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


# --- the database, read directly --------------------------------------------------------------


def create_slots(database_url: str, *, doctor: str, count: int, seats: int) -> list[int]:
    """``count`` future slots of ``seats`` seats with a doctor of their own."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        (doctor_id,) = conn.execute(
            "INSERT INTO slots_doctor (name, specialty) VALUES (%s, 'Fault injection') "
            "RETURNING id",
            [doctor],
        ).fetchone()
        rows = conn.execute(
            """
            INSERT INTO slots_slot
                (doctor_id, start_time, duration_minutes, total_seats, booked_seats, created_at)
            SELECT %(doctor)s, date_trunc('minute', now()) + interval '30 days'
                   + n * interval '30 minutes', 30, %(seats)s, 0, now()
            FROM generate_series(1, %(count)s) AS n
            RETURNING id
            """,
            {"doctor": doctor_id, "seats": seats, "count": count},
        ).fetchall()
    return sorted(row[0] for row in rows)


def stored_bookings(database_url: str, slot_ids: list[int]) -> dict[str, StoredBooking]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT reference, slot_id, user_id, status FROM booking_booking "
            "WHERE slot_id = ANY(%s)",
            [slot_ids],
        ).fetchall()
    return {row[0]: StoredBooking(*row) for row in rows}


def slot_counts(database_url: str, slot_ids: list[int]) -> list[SlotCount]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT s.id, s.total_seats, s.booked_seats,
                   count(b.id) FILTER (WHERE b.status = 'CONFIRMED')
            FROM slots_slot s LEFT JOIN booking_booking b ON b.slot_id = s.id
            WHERE s.id = ANY(%s)
            GROUP BY s.id ORDER BY s.id
            """,
            [slot_ids],
        ).fetchall()
    return [SlotCount(*row) for row in rows]
