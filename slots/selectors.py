"""Reads of doctors and slots for the API, the admin and the pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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
