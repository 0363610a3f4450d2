"""Writes of doctors and slots. Seat counts are not changed here: that is booking.services."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from mediqueue.audit import record_event
from mediqueue.errors import MediQueueError
from slots.errors import DoctorNotFoundError, SlotExistsError
from slots.locks import lock_slot
from slots.models import Doctor, Slot
from slots.selectors import slot_listing_changed


class SlotInPastError(MediQueueError):
    code = "invalid"
    default_message = "startTime must be in the future."


def doctor_create(*, name: str, specialty: str = "") -> Doctor:
    doctor = Doctor.objects.create(name=name, specialty=specialty)
    record_event("doctor_created", doctor_id=doctor.pk)
    slot_listing_changed()
    return doctor


def slot_create(
    *, doctor_id: int, start_time: datetime, total_seats: int, duration_minutes: int = 30
) -> Slot:
    if start_time <= timezone.now():
        raise SlotInPastError()
    doctor = Doctor.objects.filter(pk=doctor_id).first()
    if doctor is None:
        raise DoctorNotFoundError()
    try:
        with transaction.atomic():
            slot = Slot.objects.create(
                doctor=doctor,
                start_time=start_time,
                total_seats=total_seats,
                duration_minutes=duration_minutes,
            )
    except IntegrityError as error:
        if Slot.objects.filter(doctor=doctor, start_time=start_time).exists():
            raise SlotExistsError() from error
        raise
    record_event("slot_created", slot_id=slot.pk, doctor_id=doctor.pk, total_seats=total_seats)
    slot_listing_changed()
    return slot


class SeatsBelowBookedError(MediQueueError):
    code = "invalid"
    default_message = "Total seats cannot go below the number of seats already booked."


def slot_update(
    *, slot_id: int, doctor_id: int, start_time: datetime, duration_minutes: int, total_seats: int
) -> Slot:
    """Change a slot, re-checking capacity under the slot's lock so that no booking can land
    between the check and the write. Not durable: the admin runs it inside the transaction
    that also records its log entry, and the lock is then held until that one commits."""
    with transaction.atomic():
        slot = lock_slot(slot_id)
        if total_seats < slot.booked_seats:
            raise SeatsBelowBookedError()
        slot.doctor_id = doctor_id
        slot.start_time = start_time
        slot.duration_minutes = duration_minutes
        slot.total_seats = total_seats
        slot.save(update_fields=["doctor", "start_time", "duration_minutes", "total_seats"])
    slot_listing_changed()
    return slot
