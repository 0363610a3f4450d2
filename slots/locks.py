"""Every row lock on a slot is taken here (or, for a booking, by booking.queries.TAKE_SEAT,
whose UPDATE takes the same lock in the same way).

A lock wait is capped with a transaction-local ``lock_timeout`` so that a request under a flash
crowd answers "busy, retry" within the timeout instead of hanging; being local to the
transaction, it never leaks to the next request on a persistent connection.
"""

from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db import OperationalError, connection, transaction
from psycopg import errors as pg_errors

from slots.errors import SlotBusyError, SlotNotFoundError
from slots.models import Slot


def lock_timeout() -> str:
    return f"{settings.MEDIQUEUE_LOCK_TIMEOUT_MS}ms"


def lock_slot(slot_id: int) -> Slot:
    """Lock one slot row for the rest of the current transaction and return it, fresh.

    FOR NO KEY UPDATE still serialises every change of the slot's seats, but does not block
    the inserts of bookings that reference the slot by foreign key.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_slot() must run inside transaction.atomic()")
    with busy_on_lock_timeout():
        set_lock_timeout(lock_timeout())
        slot = (
            Slot.objects.select_for_update(no_key=True, of=("self",))
            .select_related("doctor")
            .filter(pk=slot_id)
            .first()
        )
    if slot is None:
        raise SlotNotFoundError()
    return slot


def set_lock_timeout(value: str) -> None:
    """Cap every lock wait for the rest of the current transaction (e.g. "2000ms")."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [value])


def is_lock_timeout(error: Exception) -> bool:
    return isinstance(error, OperationalError) and isinstance(
        error.__cause__, pg_errors.LockNotAvailable
    )


@contextmanager
def busy_on_lock_timeout():
    """Turn "the lock could not be had in time" into SlotBusyError (503 busy + Retry-After)."""
    try:
        yield
    except OperationalError as error:
        if is_lock_timeout(error):
            # The transaction is aborted; the caller's atomic() rolls it back on the way out.
            raise SlotBusyError() from error
        raise


def in_locking_transaction():
    """The transaction a seat change runs in, or a savepoint of the caller's: an idempotent
    request (booking.idempotency) commits the change together with its stored answer."""
    return transaction.atomic()


def run_as_own_transaction(sql: str, params: dict) -> tuple | None:
    """Run one statement as a transaction of its own and return its first row.

    With the connection in autocommit mode PostgreSQL commits the statement before it answers,
    so a row lock the statement takes is released before the answer even leaves the server:
    no client round trip, and no pause of a busy worker process, ever happens while it is held.
    Inside an atomic block (an idempotent request's transaction, or a test's) it runs in a
    savepoint instead, so a failed statement leaves that block usable; the lock is then held
    until that transaction commits.
    """
    if connection.in_atomic_block:
        with in_locking_transaction():
            return _execute_prepared(sql, params)
    return _execute_prepared(sql, params)


def _execute_prepared(sql: str, params: dict) -> tuple | None:
    """Execute as a server-side prepared statement on this (persistent) connection.

    Django binds parameters client-side, so PostgreSQL would parse and plan the booking
    statement on every request: half its cost. Prepared once per connection, it is only
    executed. Errors are wrapped into django.db's exceptions like any other query's.
    """
    # What connection.cursor() does first: a persistent connection that PostgreSQL dropped
    # (a restart) is replaced here instead of failing this request.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()
