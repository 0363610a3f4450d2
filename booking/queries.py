"""The SQL of the booking hot path, in one place.

``booking.services.book`` runs ``TAKE_SEAT`` as a transaction of its own, and the benchmark
(``loadtests/bench/pgbench.py``) runs the very same statement under pgbench to measure the
database's own ceiling for one hot slot.

One statement, autocommitted, does the whole booking: every moment a slot's row lock is held
is time that every other patient of that slot waits. With the ORM the lock is held across five
round trips (lock, look for an existing booking, insert, bump the counter, commit) and across
any pause of the worker process between them. Here the lock is taken, used and released inside
PostgreSQL, which commits before it answers.

How it stays exact: the UPDATE takes the slot's row lock. Under READ COMMITTED an UPDATE that
had to wait for the lock re-reads the newest committed version of the row and re-checks its
WHERE clause on it, so "a seat is left and the slot has not started" is decided on the row as
it is once the lock is held, never on a stale snapshot. The NOT EXISTS spares the usual repeat
of a patient who already holds a seat; a repeat that raced it (committed while this one waited,
so invisible to the statement's snapshot) is refused by the partial unique index, which fails
the whole statement: nothing is counted, and the caller answers with the existing booking.

Why a full slot costs no lock: the UPDATE first tests its WHERE clause on the statement's
snapshot. A slot that is already full (or started) there does not match, so no lock is even
requested: a flash crowd's losers are answered without queueing behind the winners. The rest of
the statement reads that same snapshot (the slot, its doctor, the patient's existing booking),
so one round trip also explains a refusal; only a refusal decided after a lock wait needs a
fresh look (``booking.services``).
"""

TAKE_SEAT = """
WITH seat AS (
    UPDATE slots_slot s
    SET booked_seats = s.booked_seats + 1
    WHERE s.id = %(slot_id)s
      AND s.booked_seats < s.total_seats
      AND s.start_time > now()
      AND NOT EXISTS (
          SELECT 1 FROM booking_booking b
          WHERE b.slot_id = s.id AND b.user_id = %(user_id)s AND b.status = 'CONFIRMED'
      )
      -- Local to the transaction; set before the row lock is requested, so it caps the wait.
      AND set_config('lock_timeout', %(lock_timeout)s, true) IS NOT NULL
    RETURNING s.id, s.booked_seats
),
booking AS (
    INSERT INTO booking_booking (reference, slot_id, user_id, status, created_at)
    SELECT %(reference)s, seat.id, %(user_id)s, 'CONFIRMED', now() FROM seat
    RETURNING id, created_at
)
SELECT booking.id, booking.created_at, seat.booked_seats,
       s.booked_seats, s.total_seats, s.start_time <= now(), s.start_time, s.duration_minutes,
       s.created_at,
       s.doctor_id, d.name, d.specialty,
       existing.id, existing.reference, existing.created_at
FROM slots_slot s
JOIN slots_doctor d ON d.id = s.doctor_id
LEFT JOIN seat ON true
LEFT JOIN booking ON true
LEFT JOIN booking_booking existing
       ON existing.slot_id = s.id AND existing.user_id = %(user_id)s
      AND existing.status = 'CONFIRMED'
WHERE s.id = %(slot_id)s
"""
