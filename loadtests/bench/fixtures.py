"""The benchmark's data, written and read through Django in a child process of the bench.

    DATABASE_URL=... python -m loadtests.bench.fixtures migrate
    DATABASE_URL=... python -m loadtests.bench.fixtures listing --total 100
    DATABASE_URL=... python -m loadtests.bench.fixtures booking-slots --label db [--clear-listing]
    DATABASE_URL=... python -m loadtests.bench.fixtures after-pass 4 5
    DATABASE_URL=... python -m loadtests.bench.fixtures serve

Each command prints one JSON document on stdout (Django's log goes to stderr). ``serve`` reads
commands, one JSON array of arguments per line, and answers each with one JSON line: the bench
keeps one such process for the whole run (``FixturesProcess``), so Django starts once, not once
per command. The bench process itself never imports Django settings: without ``DATABASE_URL``
they would start the embedded server on their own, and each gunicorn has its own settings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import traceback
from datetime import timedelta
from pathlib import Path
from typing import IO

from loadtests.harness import BASE_DIR
from loadtests.harness.in_process import check_bookings, migrate, setup_django
from loadtests.harness.slots import create_slots, read_slots

LISTING_DOCTOR = "Dr. Listing (bench)"
BIG = 10_000_000  # seats of a slot that never fills during a run
FLASH_SEATS = 100
SERVERS = ("mediqueue", "reference")
# Per server: a slot to warm up on, the hot slot, the one-connection run's slot, the flash
# crowd's 100 seats, and a slot of one seat, booked here, for the refusal run.
PER_SERVER = {"warm": BIG, "hot": BIG, "one_conn": BIG, "flash": FLASH_SEATS, "full": 1}


def listing(total: int) -> dict:
    """Future slots of the listing doctor until the database holds ``total`` slots in all:
    both servers list every slot there is, so there must be no other."""
    from django.utils import timezone

    from slots.models import Doctor, Slot

    doctor, _ = Doctor.objects.get_or_create(name=LISTING_DOCTOR, specialty="Browsing")
    others = Slot.objects.exclude(doctor=doctor).count()
    if others:
        raise RuntimeError(f"{others} other slots exist: the listing must be measured alone")
    have = Slot.objects.count()
    start = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    Slot.objects.bulk_create(
        Slot(doctor=doctor, start_time=start + timedelta(minutes=n), total_seats=20)
        for n in range(have, total)
    )
    return {"slots": Slot.objects.count()}


def clear_listing() -> dict:
    from slots.models import Doctor, Slot

    deleted, _ = Slot.objects.filter(doctor__name=LISTING_DOCTOR).delete()
    Doctor.objects.filter(name=LISTING_DOCTOR).delete()
    return {"deleted": deleted}


def clear_slots() -> dict:
    """Empty every table a run writes (slots and what hangs off them, the rate-limit counters,
    idempotency keys), dead rows included: each build the ablation compares starts on the same
    empty database, whatever ran before it (a table grown by earlier builds would slow the
    later ones)."""
    from django.apps import apps
    from django.db import connection

    from slots.models import Slot

    # Every table of the booking app, whatever it gains (a table left out that references a
    # booking makes the TRUNCATE fail), and the slots; the doctors stay.
    booking_tables = [model._meta.db_table for model in apps.get_app_config("booking").get_models()]
    tables = [*booking_tables, Slot._meta.db_table]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join([*tables, 'mediqueue_ratelimit'])}")
    return {"cleared": True}


def booking_slots(label: str) -> dict:
    """Fresh slots for one pass: one of each kind per server, a probe slot for the rate-limit
    check and one for pgbench, all through the slot service; the "full" ones booked through
    the booking service."""
    from booking.services import book

    ids: dict = {}
    for server in SERVERS:
        ids[server] = {
            kind: create_slots(count=1, seats=seats, label=f"bench {label} {server} {kind}")[0]
            for kind, seats in PER_SERVER.items()
        }
        book(slot_id=ids[server]["full"], user_id=f"bench-{label}-filler")
    for kind in ("probe", "pgbench", "queue"):
        ids[kind] = create_slots(count=1, seats=BIG, label=f"bench {label} {kind}")[0]
    return ids


def after_pass(slot_ids: list[int]) -> dict:
    """The given slots as the database holds them, and check_bookings on every slot."""
    ok, output = check_bookings()
    states = [
        {
            "slot_id": state.slot_id,
            "total_seats": state.total_seats,
            "booked_seats": state.booked_seats,
            "confirmed_bookings": state.confirmed_bookings,
        }
        for state in read_slots(slot_ids)
    ]
    return {"slots": states, "invariants_ok": ok, "invariants_output": output}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench.fixtures")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate")
    commands.add_parser("listing").add_argument("--total", type=int, required=True)
    commands.add_parser("clear-slots")
    slots = commands.add_parser("booking-slots")
    slots.add_argument("--label", required=True)
    slots.add_argument("--clear-listing", action="store_true", help="delete the listing first")
    commands.add_parser("after-pass").add_argument("slot_ids", type=int, nargs="+")
    commands.add_parser("serve", help="answer commands from stdin, one JSON array a line")
    return parser


def execute(args: argparse.Namespace) -> object:
    if args.command == "migrate":
        migrate()
        return {"migrated": True}
    if args.command == "listing":
        return listing(args.total)
    if args.command == "clear-slots":
        return clear_slots()
    if args.command == "booking-slots":
        if args.clear_listing:
            clear_listing()
        return booking_slots(args.label)
    return after_pass(args.slot_ids)


def serve(commands: IO[str], answers: IO[str]) -> None:
    for line in commands:
        try:
            answer = {"result": execute(parser().parse_args(json.loads(line)))}
        except (Exception, SystemExit):  # argparse exits on bad arguments
            answer = {"error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    setup_django(os.environ["DATABASE_URL"])
    if args.command == "serve":
        serve(sys.stdin, sys.stdout)
    else:
        json.dump(execute(args), sys.stdout)
        sys.stdout.write("\n")


class FixturesProcess:
    """The bench's side of ``serve``: ``fixtures("listing", "--total", "100")`` returns what
    the command returned; its Django log goes to ``log_path``."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "loadtests.bench.fixtures", "serve"],
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def __call__(self, *args: str) -> object:
        self.process.stdin.write(json.dumps(list(args)) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            log = self.log_path.read_text()[-3000:]
            raise RuntimeError(f"the fixtures process died during {args}:\n{log}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"fixtures {' '.join(args)} failed:\n{answer['error']}")
        return answer["result"]

    def close(self) -> None:
        """End it (and its database connection, before the database is dropped)."""
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> FixturesProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":
    main()
