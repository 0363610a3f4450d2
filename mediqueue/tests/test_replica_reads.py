"""Listings from a real streaming replica (DATABASE_REPLICA_URL), still read-your-writes: a
client told "booked" sees the seat taken in its next listing whether the replica has replayed
the booking (then it serves) or not (the leader does), and a replica that is stopped costs no
error. The primary and its hot standby are PostgreSQL servers of this module's own
(``pg_basebackup -R``); gunicorn runs with production settings, as the cluster's app nodes do."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from urllib.parse import quote

import psycopg
import pytest

from loadtests.chaos.database import create_slots
from loadtests.chaos.postgres import DATABASE, ThrowawayCluster, ThrowawayReplica
from loadtests.harness import free_port, gunicorn, manage, patient_address, ports_for_tests
from loadtests.harness.environment import production_env


@pytest.fixture(scope="module")
def pair():
    primary = ThrowawayCluster()
    replica = None
    try:
        replica = ThrowawayReplica(primary)
        yield primary, replica
    finally:
        if replica is not None:
            replica.stop_and_delete()
        primary.stop_and_delete()


@pytest.fixture(scope="module")
def server(pair, tmp_path_factory):
    primary, replica = pair
    # Without the listing cache, every listing is read from a database, and counted.
    env = production_env(
        primary.url(),
        DATABASE_REPLICA_URL=replica.url(),
        REDIS_URL=None,
        MEDIQUEUE_LISTING_CACHE_SECONDS="0",
        DJANGO_LOG_FORMAT="plain",
    )
    manage(env, "migrate", "--noinput")
    log = tmp_path_factory.mktemp("replica-reads") / "gunicorn.log"
    with gunicorn(env, port=free_port(ports_for_tests()), workers=2, log_path=log) as running:
        yield running


@pytest.fixture
def slot(pair, server) -> tuple[int, int]:
    """(slot id, doctor id): a fresh slot, already on the replica."""
    primary, replica = pair
    (slot_id,) = create_slots(primary.url(), doctor="Dr. Replica", count=1, seats=1000)
    wait_replayed(primary, replica)
    with psycopg.connect(primary.url()) as conn:
        (doctor_id,) = conn.execute(
            "SELECT doctor_id FROM slots_slot WHERE id = %s", [slot_id]
        ).fetchone()
    return slot_id, doctor_id


def call(base_url: str, path: str, body: dict | None = None, *, patient: str = "x"):
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "X-Forwarded-For": patient_address(patient)},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        kind = response.headers["Content-Type"]
        return response.status, json.loads(text) if kind.startswith("application/json") else text


def book(base_url: str, slot_id: int, patient: str) -> int:
    body = {"userId": patient, "slotId": slot_id}
    status, answer = call(base_url, "/api/book", body, patient=patient)
    assert status == 201
    return answer["slot"]["booked_seats"]


def listed(base_url: str, slot_id: int, doctor_id: int) -> tuple[int, int]:
    """booked_seats as GET /api/slots and GET /api/slots/{id} show them."""
    _, slots = call(base_url, f"/api/slots?doctor={doctor_id}")
    _, one = call(base_url, f"/api/slots/{slot_id}")
    return next(s["booked_seats"] for s in slots if s["id"] == slot_id), one["booked_seats"]


def counters(base_url: str) -> dict[str, float]:
    """The listing counters of /metrics, summed over gunicorn's workers."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.findall(
        r'^mediqueue_listing_(reads|fallbacks)_total\{(?:source|reason)="(\w+)"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    return {f"{kind}:{label}": float(value) for kind, label, value in found}


def replayed(replica: ThrowawayReplica) -> int:
    with psycopg.connect(replica.url()) as conn:
        return int(conn.execute("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn").fetchone()[0])


def wait_replayed(primary: ThrowawayCluster, replica: ThrowawayReplica) -> None:
    with psycopg.connect(primary.url()) as conn:
        target = int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])
    deadline = time.monotonic() + 20
    while replayed(replica) < target:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.02)


def seats_on_the_replica(replica: ThrowawayReplica, slot_id: int) -> int:
    with psycopg.connect(replica.url()) as conn:
        return conn.execute(
            "SELECT booked_seats FROM slots_slot WHERE id = %s", [slot_id]
        ).fetchone()[0]


def test_listings_come_from_the_replica_once_it_has_replayed_the_last_booking(pair, server, slot):
    primary, replica = pair
    slot_id, doctor_id = slot
    base = server.base_url
    for n in range(20):
        seats = book(base, slot_id, f"fresh-{n}")
        assert listed(base, slot_id, doctor_id) == (seats, seats)
    wait_replayed(primary, replica)
    before = counters(base)

    assert listed(base, slot_id, doctor_id) == (20, 20)
    status, doctors = call(base, "/api/doctors")
    status_board, board = call(base, f"/?doctor={doctor_id}")

    after = counters(base)
    assert status == status_board == 200
    assert any(d["id"] == doctor_id for d in doctors)
    assert b"Dr. Replica" in board
    # Four listings (slots, one slot, doctors, the board), every one from the replica.
    assert after["reads:replica"] - before["reads:replica"] == 4
    assert after["reads:leader"] == before["reads:leader"]


def test_a_replica_behind_the_last_booking_is_not_read(pair, server, slot):
    _, replica = pair
    slot_id, doctor_id = slot
    base = server.base_url
    with psycopg.connect(replica.url(), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            seats = book(base, slot_id, "while-paused")
            before = counters(base)
            shown = listed(base, slot_id, doctor_id)
            # The control: the replica itself does not have the booking yet, so a listing
            # read from it would have missed the seat.
            assert seats_on_the_replica(replica, slot_id) == seats - 1
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")

    after = counters(base)
    assert shown == (seats, seats)
    assert after["fallbacks:lagging"] - before["fallbacks:lagging"] == 2
    assert after["reads:leader"] - before["reads:leader"] == 2
    assert after["reads:replica"] == before["reads:replica"]


def test_a_stopped_replica_leaves_the_listings_to_the_leader_without_an_error(pair, server, slot):
    primary, replica = pair
    slot_id, doctor_id = slot
    base = server.base_url
    listed(base, slot_id, doctor_id)  # every worker's replica connection is open
    replica.stop()
    try:
        before = counters(base)
        for n in range(6):
            seats = book(base, slot_id, f"replica-down-{n}")
            assert listed(base, slot_id, doctor_id) == (seats, seats)
        after = counters(base)
    finally:
        replica.start()

    assert after["reads:leader"] - before["reads:leader"] == 12
    assert after["reads:replica"] == before["reads:replica"]
    assert after["fallbacks:unavailable"] + after["fallbacks:error"] > (
        before["fallbacks:unavailable"] + before["fallbacks:error"]
    )
    # Back: once the replica has caught up, it serves listings again.
    wait_replayed(primary, replica)
    time.sleep(1.1)  # past the pause after a failure (mediqueue.replicas)
    deadline = time.monotonic() + 10
    while counters(base)["reads:replica"] == after["reads:replica"]:
        assert time.monotonic() < deadline, "listings never went back to the replica"
        assert listed(base, slot_id, doctor_id) == (seats, seats)


def test_what_one_replica_replayed_is_never_taken_for_another(pair, tmp_path):
    """GitLab's bug: with several replicas behind one address, a listing must be checked on the
    server that serves it. One worker thread, so one replica connection: it first reaches a
    replica that is up to date; that replica dies, and the connection's replacement reaches
    another, paused before the last booking. The listing must not take the first one's word."""
    primary, paused = pair
    current = ThrowawayReplica(primary, name="second-replica")
    # libpq tries the hosts in order: the up-to-date replica first, the paused one once it is down.
    hosts = f"{current.socket_dir},{paused.socket_dir}"
    env = production_env(
        primary.url(),
        DATABASE_REPLICA_URL=f"postgresql://postgres@/{DATABASE}?host={quote(hosts, safe='')}",
        REDIS_URL=None,
        MEDIQUEUE_LISTING_CACHE_SECONDS="0",
        GUNICORN_THREADS="1",
        DJANGO_LOG_FORMAT="plain",
    )
    try:
        (slot_id,) = create_slots(primary.url(), doctor="Dr. Two replicas", count=1, seats=50)
        wait_replayed(primary, paused)
        with (
            gunicorn(
                env, port=free_port(ports_for_tests()), workers=1, log_path=tmp_path / "g.log"
            ) as server,
            psycopg.connect(paused.url(), autocommit=True) as conn,
        ):
            conn.execute("SELECT pg_wal_replay_pause()")
            try:
                seats = book(server.base_url, slot_id, "two-replicas")
                wait_replayed(primary, current)
                before = counters(server.base_url)
                assert call(server.base_url, f"/api/slots/{slot_id}")[1]["booked_seats"] == seats
                assert counters(server.base_url)["reads:replica"] == before["reads:replica"] + 1
                current.stop()

                shown = call(server.base_url, f"/api/slots/{slot_id}")[1]["booked_seats"]
                # The control: the replica now reached misses the booking.
                assert seats_on_the_replica(paused, slot_id) == seats - 1
            finally:
                conn.execute("SELECT pg_wal_replay_resume()")
    finally:
        current.stop_and_delete()

    assert shown == seats
