"""The SQL of the booking hot path, in one place.

``booking.services.book`` runs ``TAKE_SEAT`` inside its transaction, and ``loadtests/bench.py``
runs the very same statement under pgbench to measure the database's own ceiling for one hot
slot.

Why one statement: every round trip made while a slot's row lock is held is time that every
other patient of that slot waits. The ORM needs four statements under the lock (lock, look for
an existing booking, insert, bump the counter); this needs one, and the commit.

How it stays exact: the UPDATE takes the slot's row lock. Under READ COMMITTED, an UPDATE that
had to wait for the lock re-reads the newest committed version of the row and re-checks its
WHERE clause on it, so "a seat is left and the slot has not started" is decided on the row as
it is once we hold the lock, never on a stale snapshot. A patient who already holds a seat in
the slot hits the partial unique index: the INSERT does nothing, the caller sees
``booking_id IS NULL`` and rolls the counter back with the transaction.
"""

# The lock-free pre-check: whether the slot is full or started, and only then (CASE evaluates
# lazily) whether this patient already holds a seat in it.
PRE_CHECK = """
SELECT s.booked_seats >= s.total_seats AS full,
       s.start_time <= now() AS started,
       CASE WHEN s.booked_seats >= s.total_seats OR s.start_time <= now() THEN EXISTS (
           SELECT 1 FROM booking_booking b
           WHERE b.slot_id = s.id AND b.user_id = %(user_id)s AND b.status = 'CONFIRMED'
       ) END AS holds_a_seat
FROM slots_slot s
WHERE s.id = %(slot_id)s
"""

TAKE_SEAT = """
WITH seat AS (
    UPDATE slots_slot s
    SET booked_seats = s.booked_seats + 1
    FROM slots_doctor d
    WHERE s.id = %(slot_id)s
      AND d.id = s.doctor_id
      AND s.booked_seats < s.total_seats
      AND s.start_time > now()
      -- Local to the transaction; set before the row lock is requested, so it caps the wait.
      AND set_config('lock_timeout', %(lock_timeout)s, true) IS NOT NULL
    RETURNING s.id, s.total_seats, s.booked_seats, s.start_time, s.duration_minutes,
              s.created_at, s.doctor_id, d.name, d.specialty
),
booking AS (
    INSERT INTO booking_booking (reference, slot_id, user_id, status, created_at)
    SELECT %(reference)s, seat.id, %(user_id)s, 'CONFIRMED', now() FROM seat
    ON CONFLICT (slot_id, user_id) WHERE status = 'CONFIRMED' DO NOTHING
    RETURNING id, created_at
)
SELECT seat.total_seats, seat.booked_seats, seat.start_time, seat.duration_minutes,
       seat.created_at, seat.doctor_id, seat.name, seat.specialty,
       booking.id, booking.created_at
FROM seat LEFT JOIN booking ON true
"""


def as_pgbench(statement: str) -> str:
    """The statement in pgbench's script syntax, with a fresh patient and reference each time."""
    lines = [line for line in statement.strip().splitlines() if not line.strip().startswith("--")]
    return (
        " ".join(line.strip() for line in lines)
        .replace("%(slot_id)s", ":slot")
        .replace("%(lock_timeout)s", "'2000ms'")
        .replace("%(reference)s", "md5(random()::text)")
        .replace("%(user_id)s", "gen_random_uuid()::text")
        + ";"
    )


PGBENCH_TRANSACTION = f"BEGIN;\n{as_pgbench(TAKE_SEAT)}\nCOMMIT;\n"
