"""The SQL of the booking hot path, in one place.

``booking.services`` runs these inside its transaction, and ``loadtests/bench.py`` runs the very
same statements under pgbench to measure the database's own ceiling for one hot slot.

Why raw SQL: every round trip made while the slot's row lock is held is time every other
patient of that slot waits. The ORM needs four statements under the lock (lock, look for an
existing booking, insert, bump); these need two, and the second one carries the duplicate
check inside the partial unique index.
"""

# Lock the slot row and read what the decision needs. The lock timeout is set in the same
# statement: the filter runs before the row lock is requested, and `true` makes it local to the
# transaction, so it ends with the commit and never leaks to the next request's queries.
LOCK_SLOT = """
SELECT s.total_seats, s.booked_seats, s.start_time, s.duration_minutes, s.created_at,
       s.doctor_id, d.name, d.specialty
FROM slots_slot s JOIN slots_doctor d ON d.id = s.doctor_id
WHERE s.id = %(slot_id)s AND set_config('lock_timeout', %(lock_timeout)s, true) IS NOT NULL
FOR NO KEY UPDATE OF s
"""

# Insert the booking and count it, in one statement. A patient who already holds a seat in
# this slot hits the partial unique index: nothing is inserted, so nothing is counted.
INSERT_BOOKING_AND_COUNT = """
WITH booking AS (
    INSERT INTO booking_booking (reference, slot_id, user_id, status, created_at)
    VALUES (%(reference)s, %(slot_id)s, %(user_id)s, 'CONFIRMED', now())
    ON CONFLICT (slot_id, user_id) WHERE status = 'CONFIRMED' DO NOTHING
    RETURNING id, created_at
)
UPDATE slots_slot SET booked_seats = booked_seats + 1
FROM booking
WHERE slots_slot.id = %(slot_id)s
RETURNING booking.id, booking.created_at, slots_slot.booked_seats
"""


def as_pgbench(statement: str) -> str:
    """The statement in pgbench's script syntax, with a fresh patient and reference each time."""
    return (
        statement.replace("%(slot_id)s", ":slot")
        .replace("%(lock_timeout)s", "'2000ms'")
        .replace("%(reference)s", "md5(random()::text)")
        .replace("%(user_id)s", "gen_random_uuid()::text")
        .strip()
        .replace("\n", " ")
        + ";"
    )


PGBENCH_STATEMENTS = "\n".join(as_pgbench(s) for s in (LOCK_SLOT, INSERT_BOOKING_AND_COUNT))
