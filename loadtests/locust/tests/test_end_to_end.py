"""The runner as QA runs it: a real Locust crowd against a real gunicorn, judged from the database.

Small crowds keep these to a few seconds each; ``make loadtest`` runs the full-size ones. The
runner runs in its own process on the test database, exactly as ``python -m loadtests`` would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.authtoken.models import Token

from booking.models import Booking
from loadtests.harness import BASE_DIR, free_port, ports_for_tests
from slots.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)


def run_loadtest(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """(exit code, what it printed, the last line printed: the summary).

    Locust's logs go to stderr; they follow the runner's stdout in the returned output so that
    a failing assertion shows both."""
    done = subprocess.run(
        [sys.executable, "-m", "loadtests", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = done.stdout.strip().splitlines()
    return done.returncode, done.stdout + done.stderr[-4000:], lines[-1] if lines else ""


def env_on_test_database(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url}


def env_without_database(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **extra}


def test_a_flash_crowd_of_60_on_10_seats_sells_exactly_10_through_the_gunicorn_it_starts(
    tmp_path, live_database_url
):
    code, output, summary = run_loadtest(
        *("--users", "60", "--seats", "10", "--reports-dir", str(tmp_path)),
        env=env_on_test_database(live_database_url),
    )

    assert code == 0, output
    assert re.fullmatch(
        r"flash-crowd: users=60 seats=10 confirmed=10 full=50 errors=0 overbooked=0 "
        r"p50_ms=\d+ p99_ms=\d+",
        summary,
    ), output
    assert "check_bookings: OK" in output
    slot = Slot.objects.get()
    assert slot.booked_seats == 10 == Booking.objects.filter(slot=slot, status="CONFIRMED").count()
    locust_report = tmp_path / re.search(r"Locust report: (\S+)", output)[1]
    assert "locust" in locust_report.read_text().lower()
    reports = sorted(path.name for path in tmp_path.iterdir())
    for ending in ("-results.json", "-status.html", "-gunicorn.log", "_stats.csv"):
        assert any(name.endswith(ending) for name in reports), (ending, reports)


def test_churn_leaves_every_slot_holding_exactly_what_the_patients_hold(
    tmp_path, live_database_url
):
    code, output, summary = run_loadtest(
        "--scenario=churn",
        "--users=20",
        "--slots=2",
        "--seats=3",
        "--seconds=4",
        "--spawn-seconds=1",
        f"--reports-dir={tmp_path}",
        env=env_on_test_database(live_database_url),
    )

    assert code == 0, output
    assert summary.startswith("churn: users=20 slots=2 seats=3 "), output
    held, db_held = (int(re.search(rf" {key}=(\d+)", summary)[1]) for key in ("held", "db_held"))
    assert held == db_held == sum(slot.booked_seats for slot in Slot.objects.all())
    assert " errors=0 " in summary


@pytest.mark.parametrize("checked_through", ["api", "database"])
def test_against_a_running_server_the_slot_is_made_through_the_admin_api(
    tmp_path, staff_user, checked_through, live_database_url, live_gunicorn
):
    token = Token.objects.create(user=staff_user).key
    if checked_through == "database":
        env = {**env_on_test_database(live_database_url), "MEDIQUEUE_ADMIN_TOKEN": token}
    else:
        env = env_without_database(MEDIQUEUE_ADMIN_TOKEN=token)
    with live_gunicorn(workers=3, log_path=tmp_path / "server.log") as server:
        code, output, summary = run_loadtest(
            f"--host={server.base_url}",
            "--users=40",
            "--seats=5",
            f"--reports-dir={tmp_path}",
            env=env,
        )

    assert code == 0, output
    if checked_through == "database":
        assert "check_bookings: OK" in output
    else:
        assert "check_bookings: not run" in output
    assert summary.startswith(
        "flash-crowd: users=40 seats=5 confirmed=5 full=35 errors=0 overbooked=0 "
    ), output
    assert Slot.objects.get().booked_seats == 5


def test_against_a_running_server_without_a_token_it_says_where_to_find_one(tmp_path):
    code, output, _ = run_loadtest(
        "--host=http://127.0.0.1:8199", f"--reports-dir={tmp_path}", env=env_without_database()
    )

    assert code == 2
    assert "MEDIQUEUE_ADMIN_TOKEN" in output
    assert "admin-credentials.txt" in output


class OverbookingServer(BaseHTTPRequestHandler):
    """The control: a server that confirms every booking, whatever the seats. The load test
    must catch it, or its passing runs prove nothing."""

    booked = 0
    total_seats = 0
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"] or 0)) or b"{}")
        if self.path == "/api/admin/slots":
            type(self).total_seats = body["totalSeats"]
        if self.path == "/api/book":
            with self.lock:
                type(self).booked += 1
            self._answer(201, {"status": "CONFIRMED", "booking": {"reference": "r", "slot_id": 1}})
        else:
            self._answer(201, {"id": 1})

    def do_GET(self):
        self._answer(200, {"id": 1, "total_seats": self.total_seats, "booked_seats": self.booked})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_control_a_server_that_overbooks_fails_the_run(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", free_port(ports_for_tests())), OverbookingServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, output, summary = run_loadtest(
            f"--host=http://127.0.0.1:{server.server_port}",
            "--users=30",
            "--seats=5",
            f"--reports-dir={tmp_path}",
            env=env_without_database(MEDIQUEUE_ADMIN_TOKEN="any"),
        )
    finally:
        server.shutdown()
        server.server_close()

    assert code == 1, output
    assert "VIOLATION confirmed=30, expected exactly 5" in output
    assert re.match(
        r"flash-crowd: users=30 seats=5 confirmed=30 full=0 errors=0 overbooked=25 ", summary
    ), output
