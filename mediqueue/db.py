"""Database helpers every app uses: capped lock waits, and one statement run as a transaction of
its own, prepared on the server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from psycopg import errors as pg_errors

from mediqueue import metrics
from mediqueue.errors import BusyError


def set_lock_timeout(value: str) -> None:
    """Cap every lock wait for the rest of the current transaction (e.g. "2000ms"). Local to the
    transaction, it never leaks to the next request on a persistent connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [value])


def is_lock_timeout(error: Exception) -> bool:
    return isinstance(error, OperationalError) and isinstance(
        error.__cause__, pg_errors.LockNotAvailable
    )


def is_unique_violation(error: Exception) -> bool:
    return isinstance(error, IntegrityError) and isinstance(
        error.__cause__, pg_errors.UniqueViolation
    )


@contextmanager
def busy_on_lock_timeout(busy: type[BusyError] = BusyError) -> Iterator[None]:
    """Turn "the lock could not be had in time" into ``busy`` (503 + Retry-After)."""
    try:
        yield
    except OperationalError as error:
        if is_lock_timeout(error):
            metrics.LOCK_WAITS.labels("timeout").inc()
            # The transaction is aborted; the caller's atomic() rolls it back on the way out.
            raise busy() from error
        raise


def run_as_own_transaction(
    sql: str, params: dict, *, row_factory=None, returns_rows: bool = True
) -> list:
    """Run one statement as a transaction of its own, prepared, and return its rows.

    With the connection in autocommit mode PostgreSQL commits the statement before it answers,
    so a row lock the statement takes is released before the answer even leaves the server:
    no client round trip, and no pause of a busy worker process, ever happens while it is held.
    Inside an atomic block (an idempotent request's transaction, or a test's) it runs in a
    savepoint instead, so a failed statement leaves that block usable; the lock is then held
    until that transaction commits.
    """
    # The connection of this thread, looked up once: each access through django.db.connection
    # looks it up again, and a statement would do that a dozen times.
    database = connections[DEFAULT_DB_ALIAS]
    if database.in_atomic_block:
        with transaction.atomic():
            return _execute_prepared(database, sql, params, row_factory, returns_rows)
    return _execute_prepared(database, sql, params, row_factory, returns_rows)


def _execute_prepared(database, sql: str, params: dict, row_factory, returns_rows: bool) -> list:
    """Execute as a server-side prepared statement on this (persistent) connection.

    Django binds parameters client-side, so PostgreSQL would parse and plan the statement on
    every request. Prepared once per connection, it is only executed. Errors are wrapped into
    django.db's exceptions like any other query's, and the statement is in Django's query log
    when that is kept (DEBUG, or a test capturing queries).
    """
    # What connection.cursor() does first: a persistent connection that PostgreSQL dropped
    # (a restart) is replaced here instead of failing this request.
    database.close_if_health_check_failed()
    database.ensure_connection()
    started = time.monotonic()
    cursor = psycopg.Cursor(database.connection, row_factory=row_factory)
    with database.wrap_database_errors, cursor:
        cursor.execute(sql, params, prepare=True)
        rows = cursor.fetchall() if returns_rows else []
    if database.queries_logged:
        database.queries_log.append(
            {"sql": sql, "time": f"{time.monotonic() - started:.3f}", "prepared": True}
        )
    return rows
