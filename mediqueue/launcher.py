"""The local environment of the project's own entry points: manage.py, the test suite (through
the pytest plugin ``mediqueue.pytest_plugin``) and so ``make run``, ``make dev`` and ``make test``.

Importing the settings starts nothing and writes nothing. These entry points call
:func:`prepare_local_environment` first instead: with ``DATABASE_URL`` unset ("local mode") it
starts (or joins) the embedded PostgreSQL under ``.mediqueue/`` and exports its URL, and gives
the process the secret key kept in ``.mediqueue/secret_key`` (made once, readable by its owner
only) unless ``DJANGO_SECRET_KEY`` is set. Child processes (gunicorn and its workers, test
servers) inherit both and never start or stop anything themselves.

Production entry points (gunicorn through ``mediqueue.wsgi``, the Dockerfile) do not call this:
they are given ``DATABASE_URL`` and ``DJANGO_SECRET_KEY`` and refuse to start without them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# The same place as settings.DATA_DIR, which cannot be imported before the environment is set.
DATA_DIR = Path(os.environ.get("MEDIQUEUE_DATA_DIR") or BASE_DIR / ".mediqueue")
SECRET_KEY_FILE = DATA_DIR / "secret_key"


def prepare_local_environment() -> None:
    if os.environ.get("DATABASE_URL"):
        return  # a configured database: nothing local to prepare
    from mediqueue.embedded_db import embedded_database_url

    os.environ["DATABASE_URL"] = embedded_database_url(DATA_DIR)
    os.environ["MEDIQUEUE_EMBEDDED_DATABASE"] = "1"
    os.environ.setdefault("DJANGO_SECRET_KEY", local_secret_key())


def local_secret_key() -> str:
    """This checkout's secret key: made on first use, so sessions survive a restart of make run."""
    if not SECRET_KEY_FILE.exists():
        SECRET_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(secrets.token_urlsafe(50))
    return SECRET_KEY_FILE.read_text().strip()
