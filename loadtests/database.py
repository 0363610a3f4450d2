"""Prepare and read back the load test's slots straight through Django, on the service's database.

Django is imported only inside these functions: a run against ``--host`` without
``DATABASE_URL`` never touches a database of its own (importing the settings without
``DATABASE_URL`` would start the embedded one).
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

from loadtests.verdict import SlotState

BASE_DIR = Path(__file__).resolve().parent.parent
# Load-test slots start this far ahead: bookable for the whole run, and listed after the
# demo's slots of the coming days.
SLOTS_START_IN = timedelta(days=30)


def resolve_database_url() -> str:
    """DATABASE_URL when set, else the embedded server under .mediqueue/, started or joined.

    This process then holds the embedded server up until it exits; gunicorn is given the URL
    and so only connects to it.
    """
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from mediqueue.embedded_db import embedded_database_url

    return embedded_database_url(BASE_DIR / ".mediqueue")


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediqueue.settings")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def create_slots(*, count: int, seats: int, label: str) -> list[int]:
    """A fresh doctor with ``count`` future slots of ``seats`` seats, through the slot service."""
    from django.utils import timezone

    from slots import services

    doctor = services.doctor_create(name=f"Load test {label}", specialty="Load testing")
    start = (timezone.now() + SLOTS_START_IN).replace(second=0, microsecond=0)
    return [
        services.slot_create(
            doctor_id=doctor.pk,
            start_time=start + timedelta(minutes=30 * number),
            total_seats=seats,
        ).pk
        for number in range(count)
    ]


def read_slots(slot_ids: list[int]) -> list[SlotState]:
    from booking.models import Booking
    from slots.models import Slot

    states = []
    for slot in Slot.objects.filter(pk__in=slot_ids).order_by("pk"):
        confirmed = Booking.objects.filter(slot=slot, status=Booking.Status.CONFIRMED)
        states.append(
            SlotState(
                slot_id=slot.pk,
                total_seats=slot.total_seats,
                booked_seats=slot.booked_seats,
                confirmed_bookings=confirmed.count(),
                confirmed_references=frozenset(confirmed.values_list("reference", flat=True)),
                confirmed_users=frozenset(confirmed.values_list("user_id", flat=True)),
            )
        )
    return states


def check_bookings() -> tuple[bool, str]:
    """Run ``manage.py check_bookings`` (every slot, not only ours); return (passed, output)."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_bookings", stdout=out, stderr=err)
    except CommandError as error:
        return False, f"{err.getvalue()}{error}".strip()
    return True, out.getvalue().strip()
