"""The listing's version stamp carries the leader's WAL position: the larger one stays, whatever
order writers store theirs in, so a replica is never taken for fresh because a change that
committed earlier was stamped later; an unknown position sends listings to the leader until
the next change. Both stores: shared memory, and Redis's script."""

import socket

import pytest

from mediqueue import shared_version
from mediqueue.replicas import UNKNOWN_LSN


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


STORES = [
    pytest.param("", id="shared-memory"),
    pytest.param(
        "redis://127.0.0.1:6379/13",
        id="redis",
        marks=pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379"),
    ),
]


@pytest.fixture(params=STORES)
def store(request, settings):
    settings.REDIS_URL = request.param
    name = "test-stamp"
    # Back to 0: the position only grows, but for "unknown", which the next one replaces.
    shared_version.bump(name, lsn=UNKNOWN_LSN)
    shared_version.bump(name, lsn=0)
    return name


def test_every_bump_is_a_new_version(store):
    first = shared_version.current(store)
    shared_version.bump(store, lsn=5)
    second = shared_version.current(store)
    shared_version.bump(store, lsn=5)

    assert len({first, second, shared_version.current(store)}) == 3


def test_the_larger_position_stays_whatever_the_order_of_the_writers(store):
    shared_version.bump(store, lsn=0x3_0000_0100)
    shared_version.bump(store, lsn=0x2_FFFF_FFFF)  # committed earlier, stamped later

    assert shared_version.lsn_of(shared_version.current(store)) == 0x3_0000_0100


def test_an_unknown_position_holds_until_the_next_change_stores_its_own(store):
    shared_version.bump(store, lsn=900)
    shared_version.bump(store, lsn=UNKNOWN_LSN)
    assert shared_version.lsn_of(shared_version.current(store)) == UNKNOWN_LSN

    shared_version.bump(store, lsn=1000)
    assert shared_version.lsn_of(shared_version.current(store)) == 1000


def test_a_stamp_without_a_position_asks_for_none():
    assert shared_version.lsn_of(b"") == 0
    assert shared_version.lsn_of(b"12345678") == 0
