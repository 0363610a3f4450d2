"""Django's PostgreSQL backend, with a health check that costs no round trip.

Django's CONN_HEALTH_CHECKS run ``SELECT 1`` before the first query of every request: on the
booking path that is a third round trip beside the rate limits and the booking statement, paid
by the app and by PostgreSQL alike. A connection PostgreSQL has ended (a restart, a crash, a
terminated backend) announces it: the server's goodbye, or the end of the stream, is waiting on
the idle socket. So the check asks the socket instead (one poll, no round trip): readable while
idle means the connection is gone, and Django opens a new one before the request's first query.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
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
