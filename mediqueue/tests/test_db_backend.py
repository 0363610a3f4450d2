"""The database backend's health check: a connection PostgreSQL ended is noticed without a
round trip, so a request after a restart gets a fresh connection instead of an error."""

import time

import psycopg
import pytest
from django.db import connection

from booking import services
from slots.models import Slot

pytestmark = pytest.mark.django_db(transaction=True)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_live_connection_is_usable():
    pid = backend_pid()

    assert connection.is_usable()
    assert backend_pid() == pid  # the same connection, not a new one


def test_a_connection_the_server_ended_is_not_usable_and_is_replaced():
    pid = backend_pid()
    admin_url = connection.connection.info.dsn
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)

    assert not connection.is_usable()
    connection.health_check_enabled = True
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert backend_pid() != pid  # the next query ran on a new connection


def prepared_statements() -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return cursor.fetchall()


def test_the_booking_statement_is_prepared_once_and_then_only_executed(make_slot):
    # Django turns psycopg's prepared statements off, and psycopg then ignores even an explicit
    # prepare=True: the statement would be parsed and planned on every request.
    slot = make_slot(seats=50)
    for n in range(12):
        services.book(slot_id=slot.pk, user_id=f"patient-{n}")

    generic_plans, custom_plans = next(
        (generic, custom)
        for statement, generic, custom in prepared_statements()
        if "UPDATE slots_slot" in statement
    )
    assert generic_plans + custom_plans == 12  # one statement, executed twelve times
    assert generic_plans > 0  # and planned once for good, not once a request


def test_djangos_own_queries_are_never_prepared(make_slot):
    slot = make_slot()
    for _ in range(10):
        Slot.objects.filter(pk=slot.pk).update(booked_seats=0)

    assert [row for row in prepared_statements() if "UPDATE" in row[0]] == []
