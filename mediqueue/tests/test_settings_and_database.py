"""How MediQueue finds its database, and its production settings."""

import json
import subprocess
import sys

import psycopg
from django.conf import settings

from mediqueue.embedded_db import embedded_database_url
from mediqueue.tests.live_server import production_env


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**production_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


SHOW_DATABASE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; "
    "print(json.dumps({k: d[k] for k in ('ENGINE', 'NAME', 'HOST', 'PORT', 'USER')}))"
)


def test_database_url_is_used_when_set():
    result = run_python(
        SHOW_DATABASE,
        DJANGO_SETTINGS_MODULE="mediqueue.settings",
        DATABASE_URL="postgres://clinic:secret@db.internal:6543/bookings",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "bookings",
        "HOST": "db.internal",
        "PORT": 6543,
        "USER": "clinic",
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


def test_production_refuses_the_development_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_check_deploy_passes_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={
            **production_env(DJANGO_SECURE_SSL_REDIRECT="1"),
            "DJANGO_ALLOWED_HOSTS": "clinic.example",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
