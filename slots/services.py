"""Writes of doctors and slots. Seat counts are not changed here: that is booking.services."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from mediqueue.audit import record_event
from mediqueue.db import is_unique_violation
from slots.errors import (
    DoctorNotFoundError,
    SlotChangeRefusedError,
    SlotExistsError,
    SlotGenerationError,
    SlotInPastError,
    SlotTooFarAheadError,
)
from slots.locks import lock_slot
from slots.models import Doctor, Slot
from slots.selectors import slot_listing_changed
from slots.signals import seats_added

# How far ahead a slot may start: a clinic plans months, not centuries, and a year-9999 start
# would overflow the slot's end time.
BOOKING_HORIZON = timedelta(days=10 * 365)
MAX_SLOT_MINUTES = 24 * 60


def doctor_create(*, name: str, specialty: str = "") -> Doctor:
    doctor = Doctor.objects.create(name=name, specialty=specialty)
    record_event("doctor_created", doctor_id=doctor.pk)
    transaction.on_commit(slot_listing_changed)
    return doctor


def slot_create(
    *, doctor_id: int, start_time: datetime, total_seats: int, duration_minutes: int = 30
) -> Slot:
    if start_time <= timezone.now():
        raise SlotInPastError()
    if start_time > timezone.now() + BOOKING_HORIZON:
        raise SlotTooFarAheadError()
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
    transaction.on_commit(slot_listing_changed)
    return slot


def check_slot_change(
    slot: Slot, *, doctor_id: int, start_time: datetime, duration_minutes: int, total_seats: int
) -> None:
    """Refuse a change that would break the slot's bookings. ``slot`` must be locked
    (``lock_slot``), so that no booking lands between this check and the write.

    Patients booked a doctor at a time: a booked slot keeps its doctor, start and length (a
    slot moved into the past could not even be cancelled any more), and its seats never go
    below those booked. Seats may always be added."""
    booked = slot.booked_seats
    if booked and (
        doctor_id != slot.doctor_id
        or start_time != slot.start_time
        or duration_minutes != slot.duration_minutes
    ):
        patients = "1 patient has" if booked == 1 else f"{booked} patients have"
        raise SlotChangeRefusedError(
            f"{patients} booked this slot: its doctor, start time and duration cannot change. "
            "Cancel the bookings first, or create a new slot."
        )
    if total_seats < booked:
        raise SlotChangeRefusedError(
            f"{booked} seats are already booked: total seats cannot go below that. "
            "Cancel bookings first to shrink the slot."
        )


def slot_update(
    *, slot_id: int, doctor_id: int, start_time: datetime, duration_minutes: int, total_seats: int
) -> Slot:
    """Change a slot, checked under the slot's lock (``check_slot_change``) so that no booking
    can land between the check and the write. Not durable: the admin runs it inside the
    transaction that also records its log entry, and the lock is then held until that one
    commits."""
    change = {
        "doctor_id": doctor_id,
        "start_time": start_time,
        "duration_minutes": duration_minutes,
        "total_seats": total_seats,
    }
    with transaction.atomic():
        slot = lock_slot(slot_id)
        check_slot_change(slot, **change)
        seats_before = slot.total_seats
        for field, value in change.items():
            setattr(slot, field, value)
        slot.save(update_fields=["doctor", "start_time", "duration_minutes", "total_seats"])
        if slot.total_seats > seats_before:
            seats_added.send(sender=Slot, slot=slot)
    transaction.on_commit(slot_listing_changed)
    return slot


# --- Generating a schedule ------------------------------------------------------------------

# A quarter of a year of slots at most in one go: enough for any schedule a clinic plans, small
# enough that a typo in a date cannot insert years of slots in one transaction.
MAX_GENERATION_DAYS = 92
MAX_GENERATED_SLOTS = 5_000
MAX_SEATS_PER_SLOT = 1_000_000


@dataclass(frozen=True)
class SlotGeneration:
    created: list[Slot]
    skipped_existing: int  # the doctor already had a slot starting then
    skipped_past: int  # the time has already passed today

    @property
    def skipped(self) -> int:
        return self.skipped_existing + self.skipped_past


def slots_generate(
    *,
    doctor_id: int,
    first_day: date,
    last_day: date,
    weekdays: Collection[int],
    day_start: time,
    day_end: time,
    slot_minutes: int,
    seats_per_slot: int,
) -> SlotGeneration:
    """Create back-to-back slots of ``slot_minutes`` from ``day_start`` to ``day_end`` (clinic
    time) on every day from ``first_day`` to ``last_day`` whose weekday (Monday = 0) is in
    ``weekdays``, all in one transaction. Times the doctor already has a slot at, and times
    already past, are skipped and counted, so running it twice creates nothing new."""
    if not 1 <= seats_per_slot <= MAX_SEATS_PER_SLOT:
        raise SlotGenerationError(f"Seats per slot must be between 1 and {MAX_SEATS_PER_SLOT}.")
    if last_day > (timezone.now() + BOOKING_HORIZON).date():
        raise SlotGenerationError("Slots can be generated at most ten years ahead.")
    starts = generation_start_times(
        first_day=first_day,
        last_day=last_day,
        weekdays=weekdays,
        day_start=day_start,
        day_end=day_end,
        slot_minutes=slot_minutes,
    )
    doctor = Doctor.objects.filter(pk=doctor_id).first()
    if doctor is None:
        raise DoctorNotFoundError()
    now = timezone.now()
    future = [start for start in starts if start > now]
    try:
        with transaction.atomic():
            taken = _taken_start_times(doctor, future)
            created = Slot.objects.bulk_create(
                Slot(
                    doctor=doctor,
                    start_time=start,
                    duration_minutes=slot_minutes,
                    total_seats=seats_per_slot,
                )
                for start in future
                if start not in taken
            )
    except IntegrityError as error:
        if is_unique_violation(error):
            # Someone created one of these slots between our read and our insert.
            raise SlotExistsError(
                "Another change created some of these slots just now; nothing was generated. "
                "Please try again: existing slots will be skipped."
            ) from error
        raise
    transaction.on_commit(slot_listing_changed)
    return SlotGeneration(
        created=created,
        skipped_existing=len(taken),
        skipped_past=len(starts) - len(future),
    )


def _taken_start_times(doctor: Doctor, starts: list[datetime]) -> set[datetime]:
    return set(
        Slot.objects.filter(doctor=doctor, start_time__in=starts).values_list(
            "start_time", flat=True
        )
    )


def generation_start_times(
    *,
    first_day: date,
    last_day: date,
    weekdays: Collection[int],
    day_start: time,
    day_end: time,
    slot_minutes: int,
) -> list[datetime]:
    """The start times a schedule describes, as aware datetimes in the clinic's time zone."""
    if last_day < first_day:
        raise SlotGenerationError("The last day must not be before the first day.")
    if (last_day - first_day).days >= MAX_GENERATION_DAYS:
        raise SlotGenerationError(
            f"Generate at most {MAX_GENERATION_DAYS} days at once; split longer periods."
        )
    if not weekdays or not set(weekdays) <= set(range(7)):
        raise SlotGenerationError("Pick at least one weekday.")
    if not 1 <= slot_minutes <= 24 * 60:
        raise SlotGenerationError("A slot lasts between 1 minute and 24 hours.")
    if day_end <= day_start:
        raise SlotGenerationError("The day must end after it starts.")

    times_of_day = _times_of_day(day_start, day_end, timedelta(minutes=slot_minutes))
    if not times_of_day:
        raise SlotGenerationError(
            f"No {slot_minutes}-minute slot fits between {day_start:%H:%M} and {day_end:%H:%M}."
        )
    days = (first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1))
    starts = [
        timezone.make_aware(datetime.combine(day, time_of_day))
        for day in days
        if day.weekday() in weekdays
        for time_of_day in times_of_day
    ]
    if len(starts) > MAX_GENERATED_SLOTS:
        raise SlotGenerationError(
            f"That is {len(starts)} slots; generate at most {MAX_GENERATED_SLOTS} at once."
        )
    return starts


def _times_of_day(day_start: time, day_end: time, length: timedelta) -> list[time]:
    # Any date will do: only the time of day is kept.
    start = datetime.combine(date.min, day_start)
    end = datetime.combine(date.min, day_end)
    times = []
    while start + length <= end:
        times.append(start.time())
        start += length
    return times
