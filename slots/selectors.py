"""Reads of doctors and slots for the API, the admin and the pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import F, QuerySet
from django.utils import timezone

from slots.errors import SlotNotFoundError
from slots.models import Doctor, Slot


@dataclass(frozen=True)
class SlotFilters:
    doctor_id: int | None = None
    day: date | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    only_available: bool = False


def slot_queryset() -> QuerySet[Slot]:
    return Slot.objects.select_related("doctor").order_by("start_time", "id")


def slot_list(
    *, filters: SlotFilters, offset: int = 0, limit: int = 100
) -> tuple[list[Slot], bool]:
    """Slots matching ``filters`` ordered by start time, and whether more follow this page.

    Without any time filter only slots that have not started yet are listed: a patient has
    nothing to do with the past. An explicit ``from``, ``to`` or ``date`` lifts that default.
    """
    slots = slot_queryset()
    if filters.doctor_id is not None:
        slots = slots.filter(doctor_id=filters.doctor_id)
    if filters.day is not None:
        slots = slots.filter(start_time__date=filters.day)
    if filters.start_from is not None:
        slots = slots.filter(start_time__gte=filters.start_from)
    if filters.start_to is not None:
        slots = slots.filter(start_time__lt=filters.start_to)
    if filters.day is None and filters.start_from is None and filters.start_to is None:
        slots = slots.filter(start_time__gt=timezone.now())
    if filters.only_available:
        slots = slots.filter(booked_seats__lt=F("total_seats"))
    page = list(slots[offset : offset + limit + 1])
    return page[:limit], len(page) > limit


def slot_get(*, slot_id: int) -> Slot:
    slot = slot_queryset().filter(pk=slot_id).first()
    if slot is None:
        raise SlotNotFoundError()
    return slot


def doctor_list() -> QuerySet[Doctor]:
    return Doctor.objects.order_by("name", "id")


@dataclass(frozen=True)
class DoctorSlots:
    doctor: Doctor
    slots: list[Slot]

    @property
    def total_seats(self) -> int:
        return sum(slot.total_seats for slot in self.slots)

    @property
    def booked_seats(self) -> int:
        return sum(slot.booked_seats for slot in self.slots)


@dataclass(frozen=True)
class DaySlots:
    """One day of slots, per doctor, with the day's totals (for the pages and the overview)."""

    day: date
    doctors: list[DoctorSlots]

    @property
    def slots(self) -> list[Slot]:
        return [slot for doctor in self.doctors for slot in doctor.slots]

    @property
    def total_seats(self) -> int:
        return sum(slot.total_seats for slot in self.slots)

    @property
    def booked_seats(self) -> int:
        return sum(slot.booked_seats for slot in self.slots)

    @property
    def full_slots(self) -> int:
        return sum(1 for slot in self.slots if slot.is_full)


def slots_by_day_and_doctor(slots: list[Slot]) -> list[DaySlots]:
    """Group slots by their day in the clinic's time zone, then by doctor (by name).

    Slots keep their order (start time) inside each doctor; days come in date order.
    """
    by_day: dict[date, dict[Doctor, list[Slot]]] = {}
    for slot in sorted(slots, key=lambda slot: (slot.start_time, slot.pk)):
        day = timezone.localtime(slot.start_time).date()
        by_day.setdefault(day, {}).setdefault(slot.doctor, []).append(slot)
    return [DaySlots(day=day, doctors=_doctors_by_name(by_day[day])) for day in sorted(by_day)]


def _doctors_by_name(slots_of: dict[Doctor, list[Slot]]) -> list[DoctorSlots]:
    doctors = sorted(slots_of, key=lambda doctor: (doctor.name, doctor.pk))
    return [DoctorSlots(doctor=doctor, slots=slots_of[doctor]) for doctor in doctors]


def slot_overview(*, first_day: date, days: int) -> list[DaySlots]:
    """Every slot of ``days`` days from ``first_day`` (clinic time), one entry per day, including
    days without any slot, so the clinic sees the gaps too. Started slots are included."""
    window_start = start_of_day(first_day)
    window_end = start_of_day(first_day + timedelta(days=days))
    slots = list(slot_queryset().filter(start_time__gte=window_start, start_time__lt=window_end))
    grouped = {day_slots.day: day_slots for day_slots in slots_by_day_and_doctor(slots)}
    every_day = (first_day + timedelta(days=offset) for offset in range(days))
    return [grouped.get(day, DaySlots(day=day, doctors=[])) for day in every_day]


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in the clinic's time zone (settings.TIME_ZONE)."""
    return timezone.make_aware(datetime.combine(day, time.min))
