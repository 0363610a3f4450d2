"""Serve MediQueue the way production does: gunicorn with the project's config, DEBUG off."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = BASE_DIR / "mediqueue" / "gunicorn.conf.py"
# The load tests keep to their own ports, clear of `make run` (8000) and other local servers.
LOADTEST_PORTS = range(8100, 8200)


def free_port(candidates: range = LOADTEST_PORTS) -> int:
    """The first free loopback port among ``candidates`` (``range(0, 1)``: any, as the OS picks)."""
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in {candidates.start}-{candidates.stop - 1}")


def production_env(database_url: str) -> dict[str, str]:
    """Production settings with a secret key made for this run; no TLS proxy sits in front.

    The rate limits stay on, as in production. The load tests stand in for the proxy that
    production has in front (MEDIQUEUE_NUM_PROXIES=1): each simulated patient sends its own
    address in X-Forwarded-For (``patient_address``), so every limit is paid for and none is
    hit by the crowd as a whole."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "MEDIQUEUE_NUM_PROXIES": "1",
    }


def patient_address(user_id: str) -> str:
    """The client address a simulated patient books from (always the same for one patient)."""
    digest = hashlib.blake2b(user_id.encode(), digest_size=3).digest()
    return "10." + ".".join(str(byte) for byte in digest)


@contextmanager
def gunicorn_server(
    *,
    database_url: str,
    port: int,
    log_path: Path,
    workers: int | None = None,
    extra_env: dict[str, str | None] | None = None,
) -> Iterator[str]:
    """Yield the base URL of a gunicorn serving MediQueue; stop it (SIGTERM) afterwards.

    ``extra_env`` is laid over ``production_env``; a None value removes the variable (the bench
    removes the rate-limit switches, so that the product's default limits apply)."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(GUNICORN_CONFIG),
        "--bind",
        f"127.0.0.1:{port}",
        "mediqueue.wsgi:application",
    ]
    if workers:
        command[-1:-1] = ["--workers", str(workers)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=_without_nones({**production_env(database_url), **(extra_env or {})}),
            stdout=log,
            stderr=log,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base_url, process, log_path)
            yield base_url
        finally:
            stop(process)


def _without_nones(env: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in env.items() if value is not None}


def wait_until_ready(
    base_url: str,
    process: subprocess.Popen | None = None,
    log_path: Path | None = None,
    *,
    seconds: float = 60,
) -> None:
    """Wait for /readyz (the database answers); fail early if the server process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log = log_path.read_text()[-3000:] if log_path else ""
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base_url} did not become ready within {seconds:.0f} s")


def stop(process: subprocess.Popen) -> None:
    # SIGTERM lets gunicorn finish the requests in flight (graceful_timeout) before it exits.
    process.terminate()
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
