"""Run the real gunicorn, with the project's config, against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import connection

from loadtests import server as loadtest_server
from loadtests.nginx import nginx_proxy

BASE_DIR = Path(settings.BASE_DIR)


def current_database_url() -> str:
    """A URL for the database the tests use (the test database, not the dev one)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host") or ""
    if host.startswith("/"):
        return f"postgresql://{credentials}@{quote(host, safe='')}/{db['NAME']}"
    return f"postgresql://{credentials}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def free_port() -> int:
    """A free loopback port: any, or the first free one of MEDIQUEUE_TEST_PORTS ("8400-8499")
    on a machine where each person's servers keep to a range of their own."""
    first, _, last = os.environ.get("MEDIQUEUE_TEST_PORTS", "0-0").partition("-")
    return loadtest_server.free_port(range(int(first), int(last or first) + 1))


def production_env(**overrides) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": current_database_url(),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "live-server-test-secret-key-that-is-long-enough-0123456789",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "MEDIQUEUE_NUM_PROXIES": "1",
        "DJANGO_LOG_FORMAT": "plain",
        **overrides,
    }


@dataclass(frozen=True)
class LiveGunicorn:
    base_url: str
    process: subprocess.Popen  # the master, for tests that signal it themselves


@contextmanager
def gunicorn(workers: int = 3, log_path: Path | None = None, **env_overrides):
    """Yield the base URL of a gunicorn serving MediQueue; stop it (SIGTERM) afterwards.

    Its log (stderr) goes to ``log_path`` when given."""
    with gunicorn_process(workers, log_path, **env_overrides) as server:
        yield server.base_url


@contextmanager
def gunicorn_process(workers: int = 3, log_path: Path | None = None, **env_overrides):
    """Yield a LiveGunicorn serving MediQueue; stop it (SIGTERM) afterwards if still running."""
    port = free_port()
    log_path = log_path or Path(
        tempfile.mkstemp(prefix="mediqueue-test-gunicorn-", suffix=".log")[1]
    )
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(BASE_DIR / "mediqueue" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "mediqueue.wsgi:application",
        ],
        cwd=BASE_DIR,
        env=production_env(**env_overrides),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        loadtest_server.wait_until_ready(base_url, process, log_path)
        yield LiveGunicorn(base_url, process)
    finally:
        loadtest_server.stop(process)
        log.close()


@contextmanager
def gunicorn_behind_nginx(
    workers: int = 2,
    *,
    nginx_settings: dict[str, str] | None = None,
    nginx_log_dir: Path | None = None,
    **env_overrides,
):
    """Yield (LiveGunicorn, the proxy's base URL): gunicorn as above behind nginx with the
    deployment's configuration (deploy/nginx/; ``nginx_settings`` override its production
    values), the app trusting that one proxy as in production (MEDIQUEUE_NUM_PROXIES=1).
    nginx's access and error logs go to ``nginx_log_dir`` when given."""
    with gunicorn_process(workers, MEDIQUEUE_NUM_PROXIES="1", **env_overrides) as server:
        upstream = urlsplit(server.base_url).netloc
        with nginx_proxy(
            [upstream], listen_port=free_port(), log_dir=nginx_log_dir, **(nginx_settings or {})
        ) as proxy_url:
            yield server, proxy_url


def post_book(
    base_url: str, user_id: str, slot_id: int, *, address: str | None = None
) -> tuple[int, str]:
    """POST /api/book from the patient's own address (or ``address``, as the proxy the
    server is told of would say); the status and the answer's status (201) or error code."""
    request = urllib.request.Request(
        f"{base_url}/api/book",
        data=json.dumps({"userId": user_id, "slotId": slot_id}).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Forwarded-For": address or loadtest_server.patient_address(user_id),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())["status"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["code"]
