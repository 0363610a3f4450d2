"""Listings from a replica, never older than what a client was told (read-your-writes).

With ``DATABASE_REPLICA_URL`` set there is a second database alias, ``replica`` (in the cluster:
HAProxy's replica port, which reaches the members Patroni reports as running replicas). Only
the listings read from it (``GET /api/slots``, ``/api/slots/{id}``, ``/api/doctors``, the
patients' board, through ``slots.selectors``); every write, and every read inside a write,
stays on the leader (``default``).

How a listing stays fresh: after every change of slots or seats commits, the writer reads the
leader's WAL position (``leader_lsn``: ``pg_current_wal_lsn()``, which is past the commit
record once the commit has returned) and stores it with the listing's version stamp
(``mediqueue.shared_version``: the larger LSN wins, in Redis across nodes), before its answer
leaves. A listing reads the stamp, then asks its own replica connection how far that server has
replayed (``pg_last_wal_replay_lsn()``): at or past the stamp's LSN, every change acknowledged
before the stamp was read is visible there, and the replica serves the listing; otherwise the
leader does (GitLab's "sticking", checked per connection).

Per connection, because of GitLab's bug: several replicas stand behind one port, and "a replica
has caught up" says nothing of another. The answer is kept on the connection it was asked on
(replay only moves forward on one server), and forgotten when that connection is replaced, so a
listing needs no extra round trip while its server is known to be far enough, and one query
otherwise.

A replica that cannot be reached, that is not a replica (a member being promoted), that lags,
or that fails the listing's own query, never costs the patient an error or a stale page: the
leader answers. After a failure to reach it, the leader serves this process's listings for
``RETRY_AFTER_FAILURE_SECONDS`` before the replica is tried again, so a dead replica costs one
failed connection a second, not one a request. Prometheus counts both
(``mediqueue_listing_reads_total{source}``, ``mediqueue_listing_fallbacks_total{reason}``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from mediqueue import metrics
from mediqueue.db import run_as_own_transaction

REPLICA_DB_ALIAS = "replica"
RETRY_AFTER_FAILURE_SECONDS = 1.0
# Stored when the writer could not read the leader's position (its connection broke after the
# commit): every listing goes to the leader until a later change stores a real position, which
# is past this change's commit, since it was read after it (mediqueue.shared_version).
UNKNOWN_LSN = 2**64 - 1

logger = logging.getLogger(__name__)
T = TypeVar("T")

_replica_down_until = 0.0


def configured() -> bool:
    return REPLICA_DB_ALIAS in settings.DATABASES


def leader_lsn() -> int:
    """The leader's WAL position now, for a change that has just committed on ``default``;
    0 when no replica is configured (nobody will compare it with anything)."""
    if not configured():
        return 0
    try:
        rows = run_as_own_transaction("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn", {})
    except DatabaseError as error:
        logger.warning("the leader's WAL position after a commit is unknown: %s", error)
        return UNKNOWN_LSN
    return int(rows[0][0])


def read_listing(read: Callable[[str], T], *, required_lsn: int) -> T:
    """``read(alias)`` on the replica if it has replayed ``required_lsn``, else on the leader."""
    alias, reason = _alias_for(required_lsn) if configured() else (DEFAULT_DB_ALIAS, None)
    if alias == REPLICA_DB_ALIAS:
        try:
            result = read(REPLICA_DB_ALIAS)
        except DatabaseError as error:
            # A connection cut by HAProxy (its server is being demoted or promoted), a query
            # cancelled by a recovery conflict, a table a migration has not replayed yet there.
            logger.info("listing from the replica failed, served by the leader: %s", error)
            _forget_replica()
            reason = "error"
        else:
            metrics.listing_reads("replica").inc()
            return result
    if reason is not None:
        metrics.listing_fallbacks(reason).inc()
    metrics.listing_reads("leader").inc()
    return read(DEFAULT_DB_ALIAS)


def _alias_for(required_lsn: int) -> tuple[str, str | None]:
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return DEFAULT_DB_ALIAS, "unavailable"
    try:
        replayed = replayed_lsn(required_lsn)
    except DatabaseError as error:
        logger.info("replica unreachable, listings on the leader for a moment: %s", error)
        _forget_replica()
        _replica_down_until = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
        return DEFAULT_DB_ALIAS, "unavailable"
    if replayed is None:
        # Not in recovery: HAProxy still sends us to a member that is being promoted. A new
        # connection next time reaches a real replica once HAProxy has seen it.
        _forget_replica()
        return DEFAULT_DB_ALIAS, "not_replica"
    if replayed < required_lsn:
        return DEFAULT_DB_ALIAS, "lagging"
    return REPLICA_DB_ALIAS, None


def replayed_lsn(required_lsn: int) -> int | None:
    """How far the server behind this thread's replica connection has replayed, at least as far
    as it is known to have, asking it only when what is known is short of ``required_lsn``;
    None when that server is not a replica."""
    replica = connections[REPLICA_DB_ALIAS]
    # What the listing's own query would do first: replace a connection found dead, so that the
    # answer below is about the server that will serve the listing.
    replica.close_if_health_check_failed()
    replica.ensure_connection()
    known = getattr(replica, "mediqueue_replayed", None)
    if known is not None and known[0] is replica.connection and known[1] >= required_lsn:
        return known[1]
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
        value = cursor.fetchone()[0]
    if value is None:
        return None
    replica.mediqueue_replayed = (replica.connection, int(value))
    return int(value)


def _forget_replica() -> None:
    replica = connections[REPLICA_DB_ALIAS]
    replica.mediqueue_replayed = None
    with suppress(DatabaseError):  # already broken: closing it is all that was asked
        replica.close()
