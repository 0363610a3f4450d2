"""The database URL as libpq variables, for the reference server's node-postgres."""

from __future__ import annotations

from loadtests.bench.database import libpq_env


def test_a_socket_directory_url_becomes_a_path_in_pghost():
    url = "postgresql://postgres@%2Fwork%2FWT%2F.mediqueue%2Fpgdata/mediqueue_bench"

    assert libpq_env(url) == {
        "PGHOST": "/work/WT/.mediqueue/pgdata",
        "PGPORT": "5432",
        "PGUSER": "postgres",
        "PGDATABASE": "mediqueue_bench",
    }


def test_host_port_user_password_and_database_are_split():
    env = libpq_env("postgres://bench:s%40cret@db.example:6543/mediqueue_bench?sslmode=disable")

    assert env == {
        "PGHOST": "db.example",
        "PGPORT": "6543",
        "PGUSER": "bench",
        "PGPASSWORD": "s@cret",
        "PGDATABASE": "mediqueue_bench",
    }


def test_an_ipv6_host_loses_its_brackets():
    env = libpq_env("postgresql://postgres@[::1]:5433/x")

    assert (env["PGHOST"], env["PGPORT"]) == ("::1", "5433")
