"""The benchmark's data, written and read through Django in a child process of the bench.

    DATABASE_URL=... python -m loadtests.bench.fixtures listing --total 100
    DATABASE_URL=... python -m loadtests.bench.fixtures clear-listing
    DATABASE_URL=... python -m loadtests.bench.fixtures booking-slots --label pass1
    DATABASE_URL=... python -m loadtests.bench.fixtures slot-states 4 5
    DATABASE_URL=... python -m loadtests.bench.fixtures check-bookings

Each prints one JSON document on stdout (Django's log goes to stderr). The bench process itself
never imports Django settings: without ``DATABASE_URL`` they would start the embedded server
on their own, and the bench wants one settings module per gunicorn, not a second copy here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta

from loadtests.database import check_bookings, create_slots, read_slots, setup_django

LISTING_DOCTOR = "Dr. Listing (bench)"
BIG = 10_000_000  # seats of a slot that never fills during a run
FLASH_SEATS = 100
SERVERS = ("mediqueue", "reference")
# Per server: a slot to warm up on, the hot slot, the one-connection run's slot and the flash
# crowd's 100 seats (which, once sold out, serve the refusal run).
PER_SERVER = {"warm": BIG, "hot": BIG, "one_conn": BIG, "flash": FLASH_SEATS}


def listing(total: int) -> dict:
    """Future slots of the listing doctor until the database holds ``total`` slots in all:
    both servers list every slot there is, so there must be no other."""
    from django.utils import timezone

    from slots.models import Doctor, Slot

    doctor, _ = Doctor.objects.get_or_create(name=LISTING_DOCTOR, specialty="Browsing")
    others = Slot.objects.exclude(doctor=doctor).count()
    if others:
        raise SystemExit(f"{others} other slots exist: the listing must be measured alone")
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


def booking_slots(label: str) -> dict:
    """Fresh slots for one pass: one of each kind per server, a probe slot for the rate-limit
    check and one for pgbench, all through the slot service."""
    ids: dict = {}
    for server in SERVERS:
        ids[server] = {
            kind: create_slots(count=1, seats=seats, label=f"bench {label} {server} {kind}")[0]
            for kind, seats in PER_SERVER.items()
        }
    for kind in ("probe", "pgbench"):
        ids[kind] = create_slots(count=1, seats=BIG, label=f"bench {label} {kind}")[0]
    return ids


def slot_states(slot_ids: list[int]) -> list[dict]:
    return [
        {
            "slot_id": state.slot_id,
            "total_seats": state.total_seats,
            "booked_seats": state.booked_seats,
            "confirmed_bookings": state.confirmed_bookings,
        }
        for state in read_slots(slot_ids)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench.fixtures")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("listing").add_argument("--total", type=int, required=True)
    commands.add_parser("clear-listing")
    commands.add_parser("booking-slots").add_argument("--label", required=True)
    commands.add_parser("slot-states").add_argument("slot_ids", type=int, nargs="+")
    commands.add_parser("check-bookings")
    args = parser.parse_args(argv)

    setup_django(os.environ["DATABASE_URL"])
    if args.command == "listing":
        result = listing(args.total)
    elif args.command == "clear-listing":
        result = clear_listing()
    elif args.command == "booking-slots":
        result = booking_slots(args.label)
    elif args.command == "slot-states":
        result = slot_states(args.slot_ids)
    else:
        ok, output = check_bookings()
        result = {"ok": ok, "output": output}
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
