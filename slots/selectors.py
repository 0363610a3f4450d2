"""Reads of doctors and slots for the API, the admin and the pages."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.models import F, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from mediqueue import replicas, shared_version
from slots.errors import SlotNotFoundError
from slots.models import Doctor, Slot
from slots.representation import slot_representation


@dataclass(frozen=True)
class SlotFilters:
    doctor_id: int | None = None
    day: date | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    only_available: bool = False


def slot_queryset(*, using: str = DEFAULT_DB_ALIAS) -> QuerySet[Slot]:
    return Slot.objects.using(using).select_related("doctor").order_by("start_time", "id")


# Per-process cache of listing pages: a browsing crowd asks for the same page thousands of times
# a second, and rendering it costs the database more than everything else in the request. An
# entry is served only while the shared listing version (mediqueue.shared_version) is the one
# it was rendered under: every change of slots or seats committed through the service stamps a
# new version before its answer leaves, so a patient told "booked" never sees a page from before
# the booking, from any worker or node. MEDIQUEUE_LISTING_CACHE_SECONDS bounds an entry's life
# too, for changes made behind the service's back (SQL by hand). Bookings never read it.
LISTING = "slot-listing"
_listing_cache: dict[tuple, tuple[bytes, float, str, bool]] = {}
# Distinct query strings a worker keeps (a page of 1,000 slots is about 250 KB).
_LISTING_CACHE_MAX_ENTRIES = 64


def slot_listing_changed() -> None:
    """Call once a change of slots or seats is committed (transaction.on_commit): every cached
    page, in every process, is then under an older version, and never served again; and a
    listing is read from a replica only once it has replayed this change (mediqueue.replicas)."""
    shared_version.bump(LISTING, lsn=replicas.leader_lsn())


# The listings patients browse (GET /api/slots, /api/slots/{id}, /api/doctors, the board) are
# read where mediqueue.replicas says: a replica that has replayed every change acknowledged
# before the listing's version was read, else the leader. Everything else reads the leader.
def _listing_read(read, version: bytes | None = None):
    if not replicas.configured():
        return replicas.read_listing(read, required_lsn=0)
    if version is None:
        version = shared_version.current(LISTING)
    return replicas.read_listing(read, required_lsn=shared_version.lsn_of(version))


def slot_list_json(*, filters: SlotFilters, offset: int = 0, limit: int = 100) -> tuple[str, bool]:
    """Slots matching ``filters`` ordered by start time, as a JSON array, and whether more
    follow this page; served from this process's cache while it is current."""
    ttl = settings.MEDIQUEUE_LISTING_CACHE_SECONDS
    if ttl <= 0 or offset != 0:
        return _listing_read(
            lambda using: _render_slot_list(
                filters=filters, offset=offset, limit=limit, using=using
            )
        )
    key = (filters, limit)
    version = shared_version.current(LISTING)
    now = time.monotonic()
    cached = _listing_cache.get(key)
    if cached is not None and cached[0] == version and cached[1] > now:
        return cached[2], cached[3]
    body, has_more = _listing_read(
        lambda using: _render_slot_list(filters=filters, offset=offset, limit=limit, using=using),
        version,
    )
    if len(_listing_cache) >= _LISTING_CACHE_MAX_ENTRIES:
        _listing_cache.clear()  # many distinct queries: not a crowd on one page, so no loss
    # Under the version read before rendering: a change committed meanwhile moves the version on.
    _listing_cache[key] = (version, now + ttl, body, has_more)
    return body, has_more


def _render_slot_list(
    *, filters: SlotFilters, offset: int, limit: int, using: str
) -> tuple[str, bool]:
    slots, has_more = slot_list(filters=filters, offset=offset, limit=limit, using=using)
    body = json.dumps([slot_representation(slot) for slot in slots], separators=(",", ":"))
    return body, has_more


def slot_list(
    *, filters: SlotFilters, offset: int = 0, limit: int = 100, using: str = DEFAULT_DB_ALIAS
) -> tuple[list[Slot], bool]:
    """Slots matching ``filters`` ordered by start time, with their doctors, and whether more
    follow this page.

    Without any time filter only slots that have not started yet are listed: a patient has
    nothing to do with the past. An explicit ``from``, ``to`` or ``date`` lifts that default.
    """
    slots = slot_queryset(using=using)
    if filters.doctor_id is not None:
        slots = slots.filter(doctor_id=filters.doctor_id)
    if filters.day is not None:
        slots = slots.filter(start_time__date=filters.day)  # the day in the clinic's time zone
    if filters.start_from is not None:
        slots = slots.filter(start_time__gte=filters.start_from)
    if filters.start_to is not None:
        slots = slots.filter(start_time__lt=filters.start_to)
    if filters.day is None and filters.start_from is None and filters.start_to is None:
        slots = slots.filter(start_time__gt=Now())
    if filters.only_available:
        slots = slots.filter(booked_seats__lt=F("total_seats"))
    page = list(slots[offset : offset + limit + 1])
    return page[:limit], len(page) > limit


def slot_board(*, filters: SlotFilters, limit: int) -> tuple[list[Slot], bool]:
    """The patients' board: ``slot_list`` read as a listing (from a replica when fresh)."""
    return _listing_read(lambda using: slot_list(filters=filters, limit=limit, using=using))


def slot_get(*, slot_id: int, using: str = DEFAULT_DB_ALIAS) -> Slot:
    slot = slot_queryset(using=using).filter(pk=slot_id).first()
    if slot is None:
        raise SlotNotFoundError()
    return slot


def listed_slot(*, slot_id: int) -> Slot:
    """``GET /api/slots/{id}``: ``slot_get`` read as a listing (from a replica when fresh)."""
    return _listing_read(lambda using: slot_get(slot_id=slot_id, using=using))


def doctor_list(*, using: str = DEFAULT_DB_ALIAS) -> QuerySet[Doctor]:
    return Doctor.objects.using(using).order_by("name", "id")


def listed_doctors() -> list[Doctor]:
    """``GET /api/doctors``, read as a listing (from a replica when fresh)."""
    return _listing_read(lambda using: list(doctor_list(using=using)))


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
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
