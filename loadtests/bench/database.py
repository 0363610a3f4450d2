"""The benchmark's database server: a fresh ``mediqueue_bench`` is made on the server the service
is configured for (``loadtests.harness.databases``: the embedded PostgreSQL under
``.mediqueue/``, or ``DATABASE_URL``'s server); here, which server that is, the PostgreSQL
processes whose CPU the bench counts, and its URL for node-postgres.

Plain psycopg: this process never imports Django settings (the fixtures run in a child process,
``loadtests.bench.fixtures``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from loadtests.bench import cpu

BENCH_DATABASE = "mediqueue_bench"


@dataclass(frozen=True)
class PostgresServer:
    """Which PostgreSQL the run used, for the report."""

    kind: str  # "embedded" or "DATABASE_URL"
    version: str
    where: str
    postmaster_pid: int | None

    def describe(self) -> str:
        if not self.postmaster_pid:
            cpu_note = "not on this machine: PostgreSQL CPU not measured"
        elif self.kind == "embedded":
            cpu_note = f"postmaster pid {self.postmaster_pid}"
        else:  # a shared server: its CPU figure includes whatever else it serves meanwhile
            cpu_note = f"postmaster pid {self.postmaster_pid}; its CPU counts all its databases"
        return f"PostgreSQL {self.version} ({self.kind}, {self.where}; {cpu_note})"


def describe_server(url: str) -> PostgresServer:
    """Version, place and postmaster of the server behind ``url``. The postmaster is the parent
    of our own backend; it is None when that backend is not a process of this machine."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        info = conn.info
        where = f"{info.host}:{info.port}" if not info.host.startswith("/") else info.host
        postmaster = cpu.snapshot().get(backend)
        is_postgres = postmaster and "postgres" in cpu.command_line(postmaster.ppid)
    return PostgresServer(
        kind="DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded",
        version=version.split()[0],
        where=where,
        postmaster_pid=postmaster.ppid if is_postgres else None,
    )


def libpq_env(url: str) -> dict[str, str]:
    """``url`` as libpq's PG* variables (what node-postgres reads). The host part may be a
    socket directory, percent-encoded, as the embedded server's URL has it."""
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    host, port = hostport, ""
    if hostport.startswith("["):  # [IPv6]:port
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    env = {
        "PGHOST": unquote(host),
        "PGPORT": port or "5432",
        "PGUSER": unquote(user),
        "PGDATABASE": unquote(parts.path.lstrip("/")),
    }
    if password:
        env["PGPASSWORD"] = unquote(password)
    return env
