"""The SQL of the booking hot path, in one place.

``booking.services.book`` runs ``TAKE_SEAT`` through ``take_seat()`` as a transaction of its
own, and the benchmark (``loadtests/bench/pgbench.py``) runs the very same statement under
pgbench to measure the database's own ceiling for one hot slot.

One statement, autocommitted, does the whole booking, the request's rate limits counted first
(``mediqueue.ratelimit.COUNTING``: no seat when one is exceeded): every moment a slot's row lock
is held is time that every other patient of that slot waits. With the ORM the lock is held
across five round trips (lock, look for an existing booking, insert, bump the counter, commit)
and across any pause of the worker process between them. Here the lock is taken, used and
released inside PostgreSQL, which commits before it answers. Measured against that ORM shape,
and against the limits counted in a round trip of their own (docs/performance.md, the
ablation), each pays: the hot slot at 0.33x without the one statement, refusals at 0.71x
without the counting in it. It is one text whatever the counters, prepared once a connection.

How it stays exact: the UPDATE takes the slot's row lock. Under READ COMMITTED an UPDATE that
had to wait for the lock re-reads the newest committed version of the row and re-checks its
WHERE clause on it, so "a seat is left and the slot has not started" is decided on the row as
it is once the lock is held, never on a stale snapshot. The NOT EXISTS spares the usual repeat
of a patient who already holds a seat; a repeat that raced it (committed while this one waited,
so invisible to the statement's snapshot) is refused by the partial unique index, which fails
the whole statement: nothing is counted, and the caller answers already_booked.

Why a full slot costs no lock: the UPDATE first tests its WHERE clause on the statement's
snapshot. A slot that is already full (or started) there does not match, so no lock is even
requested: a flash crowd's losers are answered without queueing behind the winners. The rest of
the statement reads that same snapshot (the slot, its doctor, whether the patient holds a
seat), so one round trip also explains a refusal; only a refusal decided after a lock wait needs
a fresh look (``booking.services``).

The booking status is written into the statement from ``Booking.Status`` rather than bound as a
parameter: a prepared statement's generic plan cannot match a parameter against the partial
unique index's ``status = 'CONFIRMED'``, and would scan the slot's bookings instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import sql
from psycopg.rows import class_row

from booking.models import Booking
from mediqueue.db import run_as_own_transaction
from mediqueue.ratelimit import COUNTED_RESULTS, COUNTING, Count, counting_params, maybe_purge
from slots.models import Doctor, Slot
from slots.representation import slot_json

CONFIRMED = sql.Literal(str(Booking.Status.CONFIRMED)).as_string()


TAKE_SEAT = f"""
WITH {COUNTING},
seat AS (
    UPDATE slots_slot s
    SET booked_seats = s.booked_seats + 1
    WHERE s.id = %(slot_id)s
      AND s.booked_seats < s.total_seats
      AND s.start_time > now()
      AND NOT EXISTS (
          SELECT 1 FROM booking_booking b
          WHERE b.slot_id = s.id AND b.user_id = %(user_id)s AND b.status = {CONFIRMED}
      )
      AND (SELECT ok FROM within_limits)
      -- Local to the transaction; set before the row lock is requested, so it caps the wait.
      AND set_config('lock_timeout', %(lock_timeout)s, true) IS NOT NULL
    RETURNING s.id, s.booked_seats
),
booking AS (
    INSERT INTO booking_booking (reference, slot_id, user_id, email, status, created_at)
    SELECT %(reference)s, seat.id, %(user_id)s, %(email)s, {CONFIRMED}, now() FROM seat
    RETURNING id, created_at
)
SELECT s.id IS NOT NULL AS slot_exists,
       booking.id AS booking_id,
       booking.created_at AS booked_at,
       coalesce(seat.booked_seats, s.booked_seats) AS booked_seats,
       s.total_seats,
       s.start_time <= now() AS started,
       s.start_time,
       s.duration_minutes,
       s.created_at AS slot_created_at,
       s.doctor_id,
       d.name AS doctor_name,
       d.specialty,
       EXISTS (
           SELECT 1 FROM booking_booking existing
           WHERE existing.slot_id = s.id AND existing.user_id = %(user_id)s
             AND existing.status = {CONFIRMED}
       ) AS holds_a_seat,
       (SELECT ok FROM within_limits) AS within_limits,
       {COUNTED_RESULTS}
-- One row even for a slot that does not exist, so that the counted limits come back too.
FROM (VALUES (true)) AS one_row (always)
LEFT JOIN (slots_slot s JOIN slots_doctor d ON d.id = s.doctor_id) ON s.id = %(slot_id)s
LEFT JOIN seat ON true
LEFT JOIN booking ON true
"""


@dataclass(frozen=True)
class TakeSeat:
    """What TAKE_SEAT found: the booking it made, or, when it made none, the slot as its
    snapshot saw it (started? full? does the patient hold a seat?)."""

    slot_exists: bool  # the other fields of the slot are None when it does not
    booking_id: int | None
    booked_at: datetime | None
    booked_seats: int  # after the booking when one was made
    total_seats: int
    started: bool  # by the database's clock, the one the statement decided with
    start_time: datetime
    duration_minutes: int
    slot_created_at: datetime
    doctor_id: int
    doctor_name: str
    specialty: str
    holds_a_seat: bool  # on the statement's snapshot
    # The rate limits the statement counted: whether none was exceeded (no seat was taken
    # otherwise), and each counter's hits and seconds left, in key order.
    within_limits: bool
    counted_hits: list[int]
    counted_seconds_left: list[float]

    @property
    def taken(self) -> bool:
        return self.booking_id is not None

    @property
    def full(self) -> bool:
        return self.booked_seats >= self.total_seats

    def slot_json(self, slot_id: int) -> dict:
        return slot_json(
            slot_id=slot_id,
            doctor_id=self.doctor_id,
            doctor_name=self.doctor_name,
            specialty=self.specialty,
            start_time=self.start_time,
            duration_minutes=self.duration_minutes,
            total_seats=self.total_seats,
            booked_seats=self.booked_seats,
        )

    def slot(self, slot_id: int) -> Slot:
        return Slot(
            pk=slot_id,
            doctor=Doctor(pk=self.doctor_id, name=self.doctor_name, specialty=self.specialty),
            total_seats=self.total_seats,
            booked_seats=self.booked_seats,
            start_time=self.start_time,
            duration_minutes=self.duration_minutes,
            created_at=self.slot_created_at,
        )

    def booking(self, *, slot: Slot, reference: str, user_id: str, email: str) -> Booking:
        return Booking(
            pk=self.booking_id,
            reference=reference,
            slot=slot,
            user_id=user_id,
            email=email,
            status=Booking.Status.CONFIRMED,
            created_at=self.booked_at,
        )


def take_seat_statement(
    *,
    slot_id: int,
    user_id: str,
    reference: str,
    lock_timeout: str,
    counting: list[Count] = (),
    email: str = "",
) -> tuple[str, dict]:
    """The booking statement and its parameters for this request, counting the rate limits of
    ``counting`` in it (those the counters in PostgreSQL keep)."""
    params = {
        "slot_id": slot_id,
        "user_id": user_id,
        "email": email,
        "reference": reference,
        "lock_timeout": lock_timeout,
        **counting_params(list(counting)),
    }
    return TAKE_SEAT, params


def take_seat(
    *,
    slot_id: int,
    user_id: str,
    reference: str,
    lock_timeout: str,
    counting: list[Count] = (),
    email: str = "",
) -> TakeSeat:
    """Run the booking statement (``take_seat_statement``) as a transaction of its own."""
    if counting:
        maybe_purge()
    statement, params = take_seat_statement(
        slot_id=slot_id,
        user_id=user_id,
        reference=reference,
        lock_timeout=lock_timeout,
        counting=counting,
        email=email,
    )
    (row,) = run_as_own_transaction(statement, params, row_factory=class_row(TakeSeat))
    return row
