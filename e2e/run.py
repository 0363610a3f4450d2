"""`make e2e`: MediQueue's browser tests against a real server on 127.0.0.1.

1. A fresh database, ``mediqueue_e2e`` on the embedded PostgreSQL (or ``<name>_e2e`` beside the
   database of DATABASE_URL when that is set), dropped and created anew on every run.
2. migrate, collectstatic, the demo data, and a superuser whose password is made up for this run
   and handed to Django's ``createsuperuser --noinput`` through DJANGO_SUPERUSER_PASSWORD: no
   password is written in the code.
3. gunicorn with the production settings (DJANGO_DEBUG=0, a throwaway secret key) over plain
   http. The session and CSRF cookies stay Secure, as in production: Chromium counts 127.0.0.1 as
   a secure context and keeps Secure cookies there, so logging in and posting forms work as they
   would behind TLS, and error pages are the ones patients would really get.
4. ``node --test`` in e2e/ (Playwright driving Debian's Chromium); screenshots in
   e2e/screenshots/, the server's log in e2e/server.log.
5. gunicorn stopped; the database dropped after a green run and kept after a red one.

Run from the repository root: ``.venv/bin/python -m e2e.run``.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
E2E_DIR = ROOT / "e2e"
SCREENSHOTS = E2E_DIR / "screenshots"
SERVER_LOG = E2E_DIR / "server.log"
ADMIN_USERNAME = "e2e-admin"
PORTS = range(8200, 8300)  # the range this project's machines keep for servers we start


def main() -> int:
    database_url, drop_database = fresh_database()
    env = server_env(database_url)
    password = secrets.token_urlsafe(16)
    prepare(env, password)
    token = api_token(env)
    port, other_port = free_ports(2)

    SCREENSHOTS.mkdir(exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()

    with gunicorn(env, port) as base_url:
        print(f"== e2e: MediQueue on {base_url}, second origin on port {other_port}", flush=True)
        tests = subprocess.run(
            ["npm", "test", "--silent"],
            cwd=E2E_DIR,
            env={
                **os.environ,
                "E2E_BASE_URL": base_url,
                "E2E_OTHER_PORT": str(other_port),
                "E2E_ADMIN_USERNAME": ADMIN_USERNAME,
                "E2E_ADMIN_PASSWORD": password,
                "E2E_API_TOKEN": token,
                "E2E_SCREENSHOTS": str(SCREENSHOTS),
            },
            timeout=20 * 60,
        )
    if tests.returncode == 0:
        drop_database()
    else:
        print(f"== e2e failed: server log in {SERVER_LOG}, screenshots in {SCREENSHOTS}")
    return tests.returncode


def fresh_database() -> tuple[str, callable]:
    """Create an empty e2e database; return its URL and a function that drops it."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        parts = urlsplit(configured)
        name = f"{parts.path.lstrip('/')}_e2e"
        admin_url = urlunsplit(parts._replace(path="/postgres"))
    else:
        sys.path.insert(0, str(ROOT))
        from mediqueue.embedded_db import embedded_database_url

        # This process registers with the embedded server, which keeps it running until we exit.
        admin_url = embedded_database_url(ROOT / ".mediqueue", database="postgres")
        parts = urlsplit(admin_url)
        name = "mediqueue_e2e"

    def run(statement: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))

    run("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    run("CREATE DATABASE {}")
    return urlunsplit(parts._replace(path=f"/{name}")), lambda: run(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)"
    )


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        # The tests pick days and hours in UTC; the clinic's zone must not shift them.
        "DJANGO_TIME_ZONE": "UTC",
        "WEB_CONCURRENCY": "3",
    }


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
    output = manage(env, "drf_create_token", ADMIN_USERNAME)
    match = re.search(r"Generated token (\w+) for user", output)
    if not match:
        raise RuntimeError(f"no token in: {output!r}")
    return match.group(1)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_ports(count: int) -> list[int]:
    chosen = []
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"fewer than {count} free ports in {PORTS}")


@contextmanager
def gunicorn(env: dict[str, str], port: int):
    base_url = f"http://127.0.0.1:{port}"
    with SERVER_LOG.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "mediqueue" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "-",
                "mediqueue.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(base_url, server)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_until_ready(base_url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {SERVER_LOG}")
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not become ready; see {SERVER_LOG}")


if __name__ == "__main__":
    sys.exit(main())
