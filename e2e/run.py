"""`make e2e`: MediQueue's browser tests against a real server on 127.0.0.1.

1. A fresh database, ``mediqueue_e2e`` on the embedded PostgreSQL (or ``<name>_e2e`` beside the
   database of DATABASE_URL when that is set), dropped and created anew on every run.
2. migrate, collectstatic, the demo data, and a superuser whose password is made up for this run
   and handed to Django's ``createsuperuser --noinput`` through DJANGO_SUPERUSER_PASSWORD: no
   password is written in the code.
3. gunicorn with the production settings (the harness's ``production_env``: DJANGO_DEBUG=0, a
   throwaway secret key) over plain http, straight at the browser: no proxy is in front, so none
   is declared (MEDIQUEUE_NUM_PROXIES=0). The session and CSRF cookies stay Secure, as in
   production: Chromium counts 127.0.0.1 as a secure context and keeps Secure cookies there, so
   logging in and posting forms work as they would behind TLS, and error pages are the ones
   patients would really get.
4. the notices' worker beside it (e2e/worker.log), writing mail to e2e/mail/ as make run does.
5. ``node --test`` in e2e/ (Playwright driving Debian's Chromium); screenshots in
   e2e/screenshots/, the server's log (with its access log) in e2e/server.log.
6. gunicorn and the worker stopped; the database dropped after a green run and kept after a red one.

Run from the repository root: ``.venv/bin/python -m e2e.run``.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from loadtests.harness import (
    E2E_PORTS,
    create_database,
    database_name,
    drop_database,
    free_ports,
    gunicorn,
    manage,
    notice_worker,
    production_env,
    server_admin_url,
)

E2E_DIR = Path(__file__).resolve().parent
SCREENSHOTS = E2E_DIR / "screenshots"
SERVER_LOG = E2E_DIR / "server.log"
WORKER_LOG = E2E_DIR / "worker.log"
# The notices, as make run writes them: one file per message, which the pages link to.
MAIL_DIR = E2E_DIR / "mail"
ADMIN_USERNAME = "e2e-admin"


def main() -> int:
    admin_url, name = server_admin_url(), e2e_database_name()
    env = production_env(
        create_database(admin_url, name),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        # The tests pick days and hours in UTC; the clinic's zone must not shift them.
        DJANGO_TIME_ZONE="UTC",
        MEDIQUEUE_NUM_PROXIES="0",
        GUNICORN_ACCESSLOG="-",
        MEDIQUEUE_MAIL_DIR=str(MAIL_DIR),
    )
    password = secrets.token_urlsafe(16)
    prepare(env, password)
    token = api_token(env)
    port, other_port = free_ports(2, E2E_PORTS)

    SCREENSHOTS.mkdir(exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()

    for old in MAIL_DIR.glob("*.eml"):
        old.unlink()

    with (
        gunicorn(env, port=port, workers=3, log_path=SERVER_LOG) as server,
        notice_worker(env, log_path=WORKER_LOG),
    ):
        print(
            f"== e2e: MediQueue on {server.base_url}, second origin on port {other_port}",
            flush=True,
        )
        tests = subprocess.run(
            ["npm", "test", "--silent"],
            cwd=E2E_DIR,
            env={
                **os.environ,
                "E2E_BASE_URL": server.base_url,
                "E2E_OTHER_PORT": str(other_port),
                "E2E_ADMIN_USERNAME": ADMIN_USERNAME,
                "E2E_ADMIN_PASSWORD": password,
                "E2E_API_TOKEN": token,
                "E2E_SCREENSHOTS": str(SCREENSHOTS),
            },
            timeout=20 * 60,
        )
    if tests.returncode == 0:
        drop_database(admin_url, name)
    else:
        print(f"== e2e failed: server log in {SERVER_LOG}, screenshots in {SCREENSHOTS}")
    return tests.returncode


def e2e_database_name() -> str:
    configured = os.environ.get("DATABASE_URL")
    return f"{database_name(configured)}_e2e" if configured else "mediqueue_e2e"


def prepare(env: dict[str, str], password: str) -> None:
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "collectstatic_if_changed")
    manage(env, "seed_demo")
    manage(
        {**env, "DJANGO_SUPERUSER_PASSWORD": password},
        "createsuperuser",
        "--noinput",
        "--username",
        ADMIN_USERNAME,
        "--email",
        "e2e-admin@example.invalid",
    )


def api_token(env: dict[str, str]) -> str:
    """A token of the e2e admin, for the tests to set up doctors and slots through the API."""
    output = manage(env, "drf_create_token", ADMIN_USERNAME).stdout
    match = re.search(r"Generated token (\w+) for user", output)
    if not match:
        raise RuntimeError(f"no token in: {output!r}")
    return match.group(1)


if __name__ == "__main__":
    sys.exit(main())
