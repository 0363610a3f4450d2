"""The JSON shape of a slot, built by hand: one representation for a listing, a single slot and
a booking's answer alike.

DRF serializers describe the shape for the OpenAPI schema (``slots.serializers``); rendering
through them costs more than the rest of a request, so answers are built here instead
(``test_representation`` holds them to the schema's fields).

Times are always UTC, ISO 8601 with a ``Z``, with microseconds only when there are some.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slots.models import Slot


def utc_iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def slot_representation(slot: Slot) -> dict:
    return slot_json(
        slot_id=slot.pk,
        doctor_id=slot.doctor_id,
        doctor_name=slot.doctor.name,
        specialty=slot.doctor.specialty,
        start_time=slot.start_time,
        duration_minutes=slot.duration_minutes,
        total_seats=slot.total_seats,
        booked_seats=slot.booked_seats,
    )


def slot_json(
    *,
    slot_id: int,
    doctor_id: int,
    doctor_name: str,
    specialty: str,
    start_time: datetime,
    duration_minutes: int,
    total_seats: int,
    booked_seats: int,
) -> dict:
    """One slot's JSON from its plain values (a booking's answer has no Slot object to hand)."""
    return {
        "id": slot_id,
        "doctor_id": doctor_id,
        "doctor_name": doctor_name,
        "specialty": specialty,
        "start_time": utc_iso(start_time),
        "end_time": utc_iso(start_time + timedelta(minutes=duration_minutes)),
        "duration_minutes": duration_minutes,
        "total_seats": total_seats,
        "booked_seats": booked_seats,
        "available_seats": total_seats - booked_seats,
    }
