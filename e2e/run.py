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
5. for the verified-patient tests, a real OpenID provider (node-oidc-provider, e2e/oidc/,
   e2e/oidc.log) and a second gunicorn with MEDIQUEUE_PATIENT_AUTH=oidc trusting it, on the
   same database (e2e/server-verified.log);
6. ``node --test`` in e2e/ (Playwright driving Debian's Chromium); screenshots in
   e2e/screenshots/, the server's log (with its access log) in e2e/server.log.
7. gunicorn, the provider and the worker stopped; the database dropped after a green run and
   kept after a red one.

Run from the repository root: ``.venv/bin/python -m e2e.run``.
"""

from __future__ import annotations

import contextlib
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
from loadtests.harness.processes import stop, wait_until_answering

E2E_DIR = Path(__file__).resolve().parent
SCREENSHOTS = E2E_DIR / "screenshots"
SERVER_LOG = E2E_DIR / "server.log"
VERIFIED_SERVER_LOG = E2E_DIR / "server-verified.log"
OIDC_LOG = E2E_DIR / "oidc.log"
OIDC_CLIENT_ID = "mediqueue-pages"
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
    port, other_port, verified_port, oidc_port = free_ports(4, E2E_PORTS)
    oidc_secret = secrets.token_urlsafe(24)
    verified_env = verified_patients_env(env, verified_port, oidc_port, oidc_secret)

    SCREENSHOTS.mkdir(exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()

    for old in MAIL_DIR.glob("*.eml"):
        old.unlink()

    with (
        gunicorn(env, port=port, workers=3, log_path=SERVER_LOG) as server,
        notice_worker(env, log_path=WORKER_LOG),
        openid_provider(oidc_port, verified_port, oidc_secret) as issuer,
        gunicorn(
            verified_env, port=verified_port, workers=2, log_path=VERIFIED_SERVER_LOG
        ) as verified,
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
                "E2E_VERIFIED_BASE_URL": verified.base_url,
                "E2E_OIDC_ISSUER": issuer,
            },
            timeout=20 * 60,
        )
    if tests.returncode == 0:
        drop_database(admin_url, name)
    else:
        print(f"== e2e failed: server log in {SERVER_LOG}, screenshots in {SCREENSHOTS}")
    return tests.returncode


def verified_patients_env(
    env: dict[str, str], port: int, oidc_port: int, client_secret: str
) -> dict[str, str]:
    """The second server's environment: the same database, patients verified by the provider."""
    issuer = f"http://127.0.0.1:{oidc_port}"
    return {
        **env,
        "MEDIQUEUE_PATIENT_AUTH": "oidc",
        "MEDIQUEUE_OIDC_ISSUER": issuer,
        "MEDIQUEUE_OIDC_JWKS_URL": f"{issuer}/jwks",
        "MEDIQUEUE_OIDC_AUTHORIZATION_URL": f"{issuer}/auth",
        "MEDIQUEUE_OIDC_TOKEN_URL": f"{issuer}/token",
        "MEDIQUEUE_OIDC_USERINFO_URL": f"{issuer}/me",
        "MEDIQUEUE_OIDC_CLIENT_ID": OIDC_CLIENT_ID,
        "MEDIQUEUE_OIDC_CLIENT_SECRET": client_secret,
    }


@contextlib.contextmanager
def openid_provider(port: int, app_port: int, client_secret: str):
    """node-oidc-provider (e2e/oidc/provider.mjs) on 127.0.0.1:``port``, its one client the
    pages of the server on ``app_port``; yields its issuer URL."""
    issuer = f"http://127.0.0.1:{port}"
    with OIDC_LOG.open("wb") as log:
        process = subprocess.Popen(
            ["node", "oidc/provider.mjs"],
            cwd=E2E_DIR,
            env={
                **os.environ,
                "E2E_OIDC_PORT": str(port),
                "E2E_OIDC_CLIENT_ID": OIDC_CLIENT_ID,
                "E2E_OIDC_CLIENT_SECRET": client_secret,
                "E2E_OIDC_REDIRECT_URI": f"http://127.0.0.1:{app_port}/oidc/callback/",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_answering(
                f"{issuer}/.well-known/openid-configuration", process=process, log_path=OIDC_LOG
            )
            yield issuer
        finally:
            stop(process)


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
