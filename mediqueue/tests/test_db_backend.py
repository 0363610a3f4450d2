"""The database backend: a connection PostgreSQL ended is noticed without a round trip, so a
request after a restart gets a fresh connection instead of an error; a connection that cannot
be opened is retried only as long as configured; the booking statement is prepared."""

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


def unreachable_database(alias: str = "unreachable"):
    """A connection of the same backend to a loopback port nothing listens on."""
    from django.db import connections

    from loadtests.harness import free_port

    settings_dict = {
        **connections["default"].settings_dict,
        "HOST": "127.0.0.1",
        "PORT": free_port(),
    }
    return connections["default"].__class__(settings_dict, alias=alias)


def test_a_replica_is_never_waited_for(settings):
    """A listing whose replica cannot be reached is read from the leader at once instead."""
    from django.db import OperationalError

    settings.MEDIQUEUE_DB_CONNECT_RETRY_SECONDS = 3
    database = unreachable_database(alias="replica")
    started = time.monotonic()

    with pytest.raises(OperationalError):
        database.ensure_connection()

    assert time.monotonic() - started < 0.5


def test_a_replica_connection_is_kept_while_its_server_is_in_recovery_and_the_leaders_not():
    """Each alias's connection must reach what it is for: the leader's a server out of
    recovery, the replica's one in it (a promoted replica's connection is replaced)."""
    from django.db import connections

    leader = connections["default"]
    leader.ensure_connection()
    replica = leader.__class__(leader.settings_dict, alias="replica")
    replica.connection = leader.connection  # the same server, out of recovery: a leader
    try:
        assert leader.is_usable()
        assert not replica.is_usable()
    finally:
        replica.connection = None


@pytest.mark.parametrize(("retry_seconds", "at_least", "at_most"), [(0, 0, 0.2), (0.8, 0.5, 2.5)])
def test_a_connection_that_cannot_be_opened_is_retried_only_as_long_as_configured(
    settings, retry_seconds, at_least, at_most
):
    """Opening a connection sends no statement, so retrying it is always safe: behind HAProxy
    it bridges a leader election. 0, the default, fails at once."""
    from django.db import OperationalError

    settings.MEDIQUEUE_DB_CONNECT_RETRY_SECONDS = retry_seconds
    database = unreachable_database()
    started = time.monotonic()

    with pytest.raises(OperationalError):
        database.ensure_connection()

    assert at_least <= time.monotonic() - started <= at_most


def test_a_booking_that_reached_a_server_refusing_writes_answers_unavailable(client, make_slot):
    """A server in recovery (a replica, or a leader still promoting) refuses the booking
    statement before it writes anything: 503 unavailable, retry safe, never a 500."""
    slot = make_slot(seats=2)
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
    try:
        answer = client.post(
            "/api/book", {"userId": "ro", "slotId": slot.pk}, content_type="application/json"
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET default_transaction_read_only")

    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"
    assert answer["Retry-After"] == "1"
    slot.refresh_from_db()
    assert slot.booked_seats == 0
