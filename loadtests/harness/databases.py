"""Which PostgreSQL the service is configured for, and throwaway databases beside it.

With ``DATABASE_URL`` unset that is the embedded PostgreSQL under ``.mediqueue/`` (started, or
joined: this process then holds it up until it exits, while the servers it starts are given the
URL and only connect). Plain psycopg: nothing here imports Django's settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from mediqueue.launcher import DATA_DIR


def configured_database_url() -> str:
    """``DATABASE_URL`` when set, else the embedded server's ``mediqueue`` database."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from mediqueue.embedded_db import embedded_database_url

    return embedded_database_url(DATA_DIR)


def server_admin_url() -> str:
    """The ``postgres`` database of the configured server: where databases are made and
    dropped."""
    if os.environ.get("DATABASE_URL"):
        return with_database(os.environ["DATABASE_URL"], "postgres")
    from mediqueue.embedded_db import embedded_database_url

    return embedded_database_url(DATA_DIR, database="postgres")


def with_database(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (query parameters kept)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def create_database(admin_url: str, name: str) -> str:
    """A fresh, empty database ``name`` beside ``admin_url`` (an older one of that name is
    dropped first); its URL."""
    drop_database(admin_url, name)
    _execute(admin_url, "CREATE DATABASE {}", name)
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop ``name`` if it exists, even with sessions still connected."""
    _execute(admin_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def _execute(admin_url: str, statement: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


def database_url_of(settings_dict: Mapping[str, Any]) -> str:
    """A URL for the database of a Django connection's ``settings_dict`` (the test suite's
    database, for the servers a test starts); a socket directory goes percent-encoded in the
    host part, as the embedded server's URL has it."""
    credentials = quote(settings_dict["USER"] or "", safe="")
    if settings_dict.get("PASSWORD"):
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = settings_dict.get("HOST") or settings_dict.get("OPTIONS", {}).get("host") or ""
    name = settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgresql://{credentials}@{quote(host, safe='')}/{name}"
    return f"postgresql://{credentials}@{host}:{settings_dict.get('PORT') or 5432}/{name}"
