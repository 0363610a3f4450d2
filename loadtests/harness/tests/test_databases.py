"""Database URLs: the test database's for the servers a test starts, and a database beside it."""

from __future__ import annotations

from loadtests.harness import database_name, database_url_of, with_database


def test_with_database_replaces_only_the_database():
    url = "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable"

    assert with_database(url, "mediqueue_bench") == (
        "postgresql://postgres@127.0.0.1:5432/mediqueue_bench?sslmode=disable"
    )
    assert database_name(url) == "postgres"


def test_a_socket_directory_goes_percent_encoded_in_the_host_part():
    settings = {"USER": "postgres", "PASSWORD": "", "HOST": "/work/x/pgdata", "NAME": "test_m"}

    assert database_url_of(settings) == "postgresql://postgres@%2Fwork%2Fx%2Fpgdata/test_m"


def test_a_tcp_database_keeps_its_credentials_and_port():
    settings = {"USER": "clinic", "PASSWORD": "s@cret", "HOST": "db", "PORT": 6543, "NAME": "t"}

    assert database_url_of(settings) == "postgresql://clinic:s%40cret@db:6543/t"
    assert database_url_of({**settings, "PORT": None}).endswith("@db:5432/t")
