"""The waiting list of a full slot: joining, leaving, and handing freed seats to the earliest
patients waiting.

Every change here runs under the slot's row lock (``slots.locks.lock_slot``), the same lock the
booking statement and cancel take, and always that lock first: nothing else is locked before
it, so two of these can never wait on each other (no deadlock). Under the lock:

- joining is refused while a seat is free (``seats_available``), so a free seat and a waiting
  patient never coexist (invariant I3). That is also why the booking statement needs no look at
  the waiting list: while anyone waits, the slot is full, and the statement refuses;
- a freed seat (a cancel, or an admin adding seats) goes to the earliest WAITING entries, one
  per seat, in the same transaction (``booking.services.fill_free_seats``, with every other
  change of a seat count): invariants I3 and I4;
- who holds a seat is decided when a seat is handed over, not at the join. In open mode
  (mediqueue.patients) anyone may join in any patient's name, so a join that answered
  "already booked" would tell a stranger who sees which doctor: every join of a full slot makes
  an entry, the same statements, answer and side effects whoever the patient is. When an
  entry's turn comes and its patient holds a seat of the slot, it is PASSED over and the seat
  goes to the next entry (``entries_to_promote``, I5): that is a booking's own "already
  booked", which cannot be kept from whoever asked for the seat. With verified patients
  (oidc), a patient is told their own state at the join (already booked, already waiting).

Expiry at the start: a slot that has started takes no bookings, so its WAITING entries can never
be promoted. They read as EXPIRED from the moment the slot starts (``effective_status``), and a
periodic task (booking.tasks) records that in the rows; a seat freed on a started slot (an
admin adding seats) expires them at once instead of promoting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.expressions import RawSQL
from django.utils import timezone

from booking import notices
from booking.errors import (
    AlreadyBookedError,
    AlreadyPromotedError,
    AlreadyWaitingError,
    SeatsAvailableError,
    SlotClosedError,
    WaitlistEntryNotFoundError,
)
from booking.models import Booking, Notice, WaitlistEntry, is_well_formed_reference
from mediqueue.audit import record_event
from mediqueue.patients import patients_verified
from slots.locks import lock_slot
from slots.models import Slot

Status = WaitlistEntry.Status

# The database's clock, read when the row is written: the changes of one slot are serialised by
# its lock, so these times follow their order (now() would be the transaction's start instead).
DATABASE_CLOCK = RawSQL("clock_timestamp()", [])


@dataclass(frozen=True)
class Waiting:
    """An entry as a patient sees it: its status as of now, and its place in the queue."""

    entry: WaitlistEntry
    status: str
    position: int | None  # 1 for the next patient to get a seat; None unless WAITING


@dataclass(frozen=True)
class Left:
    waiting: Waiting
    changed: bool  # False when the entry had already left or expired


def waitlist_join(*, slot_id: int, user_id: str, email: str = "") -> Waiting:
    """Put ``user_id`` at the end of the slot's waiting list. Refusals, in the order they are
    decided under the lock: the slot is gone or started; with verified patients only, the
    patient holds a seat, or is already waiting (no entry in the answer: its reference is a
    secret); a seat is free. In open mode nothing here depends on the patient (module
    docstring)."""
    with transaction.atomic():
        slot = lock_slot(slot_id)
        if slot.has_started:
            raise SlotClosedError()
        if patients_verified():
            holds, waits = _holds_or_waits(slot, user_id)
            if holds:
                raise AlreadyBookedError()
            if waits:
                raise AlreadyWaitingError()
        if not slot.is_full:
            raise SeatsAvailableError()
        entry = WaitlistEntry.objects.create(slot=slot, user_id=user_id, email=email)
        entry.slot = slot
        if email:
            notices.record(Notice.Kind.WAITLIST_JOINED, recipient=email, waitlist_entry=entry)
        record_event("waitlist_joined", entry_id=entry.pk, slot_id=slot.pk, user_id=user_id)
    return Waiting(entry=entry, status=Status.WAITING, position=_position(entry))


def _holds_or_waits(slot: Slot, user_id: str) -> tuple[bool, bool]:
    """Whether the patient holds a seat of the slot, and whether they wait for one: one round
    trip, under the slot's lock (every moment of it is a moment other joins wait)."""
    row = (
        Slot.objects.filter(pk=slot.pk)
        .annotate(
            holds=Exists(
                Booking.objects.filter(
                    slot=OuterRef("pk"), user_id=user_id, status=Booking.Status.CONFIRMED
                )
            ),
            waits=Exists(
                WaitlistEntry.objects.filter(
                    slot=OuterRef("pk"), user_id=user_id, status=Status.WAITING
                )
            ),
        )
        .values_list("holds", "waits")
    )
    return row.get()


def waitlist_leave(*, reference: str) -> Left:
    """Take an entry off the list. Leaving twice, or leaving an expired entry, changes nothing;
    an entry that already got its seat cannot leave (the patient cancels the booking)."""
    entry = _entry_or_404(reference)
    with transaction.atomic():
        slot = lock_slot(entry.slot_id)
        entry = WaitlistEntry.objects.select_related("booking").get(pk=entry.pk)  # re-read
        entry.slot = slot
        if entry.status == Status.BOOKED:
            raise AlreadyPromotedError()
        if entry.status == Status.WAITING and slot.has_started:
            expire_waiting(slot)
            entry.refresh_from_db()
        if entry.status != Status.WAITING:
            return Left(waiting=waiting_view(entry), changed=False)
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            status=Status.LEFT, closed_at=DATABASE_CLOCK
        )
        entry.refresh_from_db(fields=["status", "closed_at"])
        record_event("waitlist_left", entry_id=entry.pk, slot_id=slot.pk, user_id=entry.user_id)
    return Left(waiting=waiting_view(entry), changed=True)


def waitlist_entry_get(*, reference: str) -> Waiting:
    entry = _entry_or_404(reference)
    return waiting_view(entry)


def entries_to_promote(slot: Slot, seats: int) -> Iterator[WaitlistEntry]:
    """The earliest WAITING entries of the locked ``slot`` that may take a freed seat, up to
    ``seats`` of them, in join order, each to be promoted before the next is asked for. An
    entry whose patient holds a seat of the slot (or got one from an earlier entry) is PASSED
    over on the way."""
    given: set[str] = set()
    after_id = 0
    while len(given) < seats:
        entries = _next_waiting(slot, after_id=after_id, count=seats - len(given))
        if not entries:
            return
        for entry in entries:
            after_id = entry.pk
            if entry.holds or entry.user_id in given:
                _pass_over(slot, entry)
            elif len(given) < seats:
                given.add(entry.user_id)
                yield entry


def _next_waiting(slot: Slot, *, after_id: int, count: int) -> list[WaitlistEntry]:
    """The next ``count`` WAITING entries after ``after_id`` in join order, each annotated with
    whether its patient holds a seat of the slot (``holds``)."""
    holds = Exists(
        Booking.objects.filter(
            slot=OuterRef("slot_id"), user_id=OuterRef("user_id"), status=Booking.Status.CONFIRMED
        )
    )
    return list(
        WaitlistEntry.objects.filter(slot=slot, status=Status.WAITING, id__gt=after_id)
        .annotate(holds=holds)
        .order_by("id")[:count]
    )


def _pass_over(slot: Slot, entry: WaitlistEntry) -> None:
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=Status.PASSED, closed_at=DATABASE_CLOCK)
    record_event("waitlist_passed_over", entry_id=entry.pk, slot_id=slot.pk, user_id=entry.user_id)


def expire_started(*, now=None) -> int:
    """Record EXPIRED on the WAITING entries of every slot that has started; the count."""
    now = now or timezone.now()
    slot_ids = (
        WaitlistEntry.objects.filter(status=Status.WAITING, slot__start_time__lte=now)
        .values_list("slot_id", flat=True)
        .distinct()
    )
    expired = 0
    for slot_id in list(slot_ids):
        with transaction.atomic():
            expired += expire_waiting(lock_slot(slot_id))
    return expired


def expire_waiting(slot: Slot) -> int:
    """Record EXPIRED on the WAITING entries of ``slot`` (locked, and started)."""
    return WaitlistEntry.objects.filter(slot=slot, status=Status.WAITING).update(
        status=Status.EXPIRED, closed_at=DATABASE_CLOCK
    )


def effective_status(entry: WaitlistEntry) -> str:
    """A WAITING entry of a started slot has expired, whether or not the row says so yet."""
    if entry.status == Status.WAITING and entry.slot.has_started:
        return Status.EXPIRED
    return entry.status


def waiting_view(entry: WaitlistEntry) -> Waiting:
    status = effective_status(entry)
    position = _position(entry) if status == Status.WAITING else None
    return Waiting(entry=entry, status=status, position=position)


def _position(entry: WaitlistEntry) -> int:
    return WaitlistEntry.objects.filter(
        slot_id=entry.slot_id, status=Status.WAITING, id__lte=entry.pk
    ).count()


def _entry_or_404(reference: str) -> WaitlistEntry:
    """Malformed references answer the same "not found" as unknown ones, without a query."""
    if not is_well_formed_reference(reference):
        raise WaitlistEntryNotFoundError()
    entry = (
        WaitlistEntry.objects.select_related("slot__doctor", "booking")
        .filter(reference=reference)
        .first()
    )
    if entry is None:
        raise WaitlistEntryNotFoundError()
    return entry
