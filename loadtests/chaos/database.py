"""The database-side facts the chaos verdict needs, and the slots its crowds book: read and
written with psycopg, straight in the tables.

The chaos process never imports Django itself: it sets the service up and asks it questions the
way an operator would (``manage.py migrate``, ``manage.py check_bookings``, HTTP, SQL).
"""

from __future__ import annotations

from loadtests.chaos.verdict import SlotCount, StoredBooking


def create_slots(database_url: str, *, doctor: str, count: int, seats: int) -> list[int]:
    """``count`` future slots of ``seats`` seats with a doctor of their own."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        (doctor_id,) = conn.execute(
            "INSERT INTO slots_doctor (name, specialty) VALUES (%s, 'Fault injection') "
            "RETURNING id",
            [doctor],
        ).fetchone()
        rows = conn.execute(
            """
            INSERT INTO slots_slot
                (doctor_id, start_time, duration_minutes, total_seats, booked_seats, created_at)
            SELECT %(doctor)s, date_trunc('minute', now()) + interval '30 days'
                   + n * interval '30 minutes', 30, %(seats)s, 0, now()
            FROM generate_series(1, %(count)s) AS n
            RETURNING id
            """,
            {"doctor": doctor_id, "seats": seats, "count": count},
        ).fetchall()
    return sorted(row[0] for row in rows)


def stored_bookings(database_url: str, slot_ids: list[int]) -> dict[str, StoredBooking]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT reference, slot_id, user_id, status FROM booking_booking "
            "WHERE slot_id = ANY(%s)",
            [slot_ids],
        ).fetchall()
    return {row[0]: StoredBooking(*row) for row in rows}


def slot_counts(database_url: str, slot_ids: list[int]) -> list[SlotCount]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT s.id, s.total_seats, s.booked_seats,
                   count(b.id) FILTER (WHERE b.status = 'CONFIRMED')
            FROM slots_slot s LEFT JOIN booking_booking b ON b.slot_id = s.id
            WHERE s.id = ANY(%s)
            GROUP BY s.id ORDER BY s.id
            """,
            [slot_ids],
        ).fetchall()
    return [SlotCount(*row) for row in rows]
