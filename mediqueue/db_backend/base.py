"""Django's PostgreSQL backend, with a health check that costs no round trip.

Django's CONN_HEALTH_CHECKS run ``SELECT 1`` before the first query of every request: on the
booking path that is a second round trip beside the booking statement, paid by the app and by
PostgreSQL alike. A connection PostgreSQL has ended (a restart, a crash, a
terminated backend) announces it: the server's goodbye, or the end of the stream, is waiting on
the idle socket. So the check asks the socket instead (one poll, no round trip): readable while
idle means the connection is gone, and Django opens a new one before the request's first query.

Opening that new connection may fail for a moment when the database is behind HAProxy and
Patroni is promoting a new leader: HAProxy then has no server for the leader port and hangs up
on the handshake. A connection that could not be opened never carried a statement, so trying
again is always safe; ``MEDIQUEUE_DB_CONNECT_RETRY_SECONDS`` (0 by default: one database, nothing
to wait for) lets a request wait that long for a leader before it answers 503 ``unavailable``.
A statement whose connection dropped is never re-sent: it may have committed.

A connection can also end up on a server that is not (or no longer, or not yet) the leader:
Patroni says "leader" as soon as it holds the key, a moment before its PostgreSQL has finished
promoting, and HAProxy believes it. PostgreSQL tells every client whether it is a hot standby
(the ``in_hot_standby`` parameter, sent again whenever it changes), so such a connection is
found unusable without a round trip too, and replaced before the next request's first query.

Measured (docs/performance.md, the ablation): with Django's own backend and options instead
(server-side binding, psycopg's prepare threshold, ``SELECT 1`` before each request's first
query), refusals ran at 0.70x their rate, at +31 % CPU per answer.
"""

from __future__ import annotations

import select
import time

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from psycopg import pq

from mediqueue.replicas import REPLICA_DB_ALIAS

# Between two attempts at a connection: a leader election takes seconds, a handshake a millisecond.
CONNECT_RETRY_PAUSE_SECONDS = 0.25


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        # A replica is never waited for: a listing whose replica cannot be reached is read from
        # the leader at once instead (mediqueue/replicas.py).
        retry = 0 if self.alias == REPLICA_DB_ALIAS else settings.MEDIQUEUE_DB_CONNECT_RETRY_SECONDS
        deadline = time.monotonic() + retry
        while True:
            try:
                return super().get_new_connection(conn_params)
            except psycopg.OperationalError:
                if time.monotonic() + CONNECT_RETRY_PAUSE_SECONDS > deadline:
                    raise
                time.sleep(CONNECT_RETRY_PAUSE_SECONDS)

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError):
            return False
        if readable:
            # Idle between requests, nothing is due from the server: anything is a farewell.
            return False
        # The leader's connections must reach a leader; a replica's, a replica (a replica being
        # promoted leaves hot standby, and HAProxy's replica port will send a new connection to
        # one still in recovery).
        # (PostgreSQL before 14 does not report it: a replica's connection is then kept.)
        in_hot_standby = pgconn.parameter_status(b"in_hot_standby")
        if self.alias == REPLICA_DB_ALIAS:
            return in_hot_standby != b"off"
        return in_hot_standby != b"on"
