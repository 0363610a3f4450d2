"""The stack's lower bound: the booking with nothing of Django's request path, for the bench.

A bare WSGI application served by gunicorn with the product's own config and environment
(``loadtests.bench.run.bare_stack_bound``). For ``POST /api/book`` it does the least a booking
can do on this stack: read the JSON body, count the product's rate limits of the request
(``booking.throttles.booking_limits``) and take the seat in the product's own statement and
parameters (``booking.queries.take_seat_statement``), prepared, through one psycopg connection
per thread, read into the product's ``TakeSeat``, and answer 201 or 409 in a few bytes of
JSON. No validation, no error envelope, no idempotency, no metrics, no log, no middleware, no
Django handler: never a way to serve patients, only the measure of what gunicorn, CPython and
psycopg cost before MediQueue adds anything. ``GET /readyz`` answers 200 for the harness.
"""

from __future__ import annotations

import json
import os
import threading

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediqueue.settings")
django.setup()

import psycopg  # noqa: E402 (Django's settings first: the limits read them)
from django.conf import settings  # noqa: E402
from psycopg.rows import class_row  # noqa: E402

from booking.models import new_booking_reference  # noqa: E402
from booking.queries import TakeSeat, take_seat_statement  # noqa: E402
from booking.throttles import booking_limits  # noqa: E402
from slots.locks import slot_lock_timeout  # noqa: E402

_connections = threading.local()


class _Meta:
    """What ``booking_limits`` reads of a request: its WSGI environ, as Django's META."""

    def __init__(self, environ: dict):
        self.META = environ


def _connection() -> psycopg.Connection:
    """This thread's connection to the database Django is configured for (autocommit, as
    the service runs the statement)."""
    connection = getattr(_connections, "connection", None)
    if connection is None:
        database = settings.DATABASES["default"]
        connection = psycopg.connect(
            dbname=database["NAME"],
            user=database["USER"] or None,
            password=database["PASSWORD"] or None,
            host=database["HOST"] or None,
            port=database["PORT"] or None,
            autocommit=True,
        )
        _connections.connection = connection
    return connection


def _answer(start_response, status: str, body: dict) -> list[bytes]:
    payload = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response(status, headers)
    return [payload]


def book(environ: dict, start_response) -> list[bytes]:
    data = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    user_id, slot_id = str(data["userId"]), int(data["slotId"])
    statement, params = take_seat_statement(
        slot_id=slot_id,
        user_id=user_id,
        reference=new_booking_reference(),
        lock_timeout=slot_lock_timeout(),
        counting=booking_limits(_Meta(environ), patient=user_id),
    )
    with _connection().cursor(row_factory=class_row(TakeSeat)) as cursor:
        cursor.execute(statement, params, prepare=True)
        seat = cursor.fetchone()
    if not seat.taken:
        return _answer(start_response, "409 Conflict", {"status": "FAILED"})
    return _answer(start_response, "201 Created", {"status": "CONFIRMED", "id": seat.booking_id})


def application(environ: dict, start_response) -> list[bytes]:
    if environ["PATH_INFO"] == "/api/book" and environ["REQUEST_METHOD"] == "POST":
        return book(environ, start_response)
    return _answer(start_response, "200 OK", {"status": "ok"})
