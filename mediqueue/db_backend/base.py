"""Django's PostgreSQL backend, with a health check that costs no round trip, and the hot path's
statements prepared on the server.

Django's CONN_HEALTH_CHECKS run ``SELECT 1`` before the first query of every request: on the
booking path that is a third round trip beside the rate limits and the booking statement, paid
by the app and by PostgreSQL alike. A connection PostgreSQL has ended (a restart, a crash, a
terminated backend) announces it: the server's goodbye, or the end of the stream, is waiting on
the idle socket. So the check asks the socket instead (one poll, no round trip): readable while
idle means the connection is gone, and Django opens a new one before the request's first query.

Django turns psycopg's prepared statements off (``prepare_threshold=None``, for the sake of
transaction-pooling proxies), and psycopg then ignores even an explicit ``prepare=True``: the
booking statement, a dozen joined relations, was parsed and planned on every request. Django's
own queries run on client-side binding cursors, which never prepare, so turning the threshold
back on prepares only what asks for it (``mediqueue.db.run_as_own_transaction``).
"""

from __future__ import annotations

import select
import sys

from django.db.backends.postgresql import base
from psycopg import pq

# Prepare a statement only when asked to (prepare=True), never after a number of executions.
ONLY_WHEN_ASKED = sys.maxsize


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        if self.settings_dict["OPTIONS"].get("prepare_threshold") is None:
            params["prepare_threshold"] = ONLY_WHEN_ASKED
        return params

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
        # Idle between requests, nothing is due from the server: anything there is a farewell.
        return not readable
