"""The database backend's health check: a connection PostgreSQL ended is noticed without a
round trip, so a request after a restart gets a fresh connection instead of an error."""

import time

import psycopg
import pytest
from django.db import connection

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
