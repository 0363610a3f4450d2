"""The environment MediQueue runs with in production, built in this one place for every server
and process the load tests, chaos, the bench, the browser tests and the live-server tests start.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def production_env(database_url: str, **overrides: str | None) -> dict[str, str]:
    """This process's environment with the production settings on ``database_url``.

    DEBUG off, a secret key made for this call, no TLS redirect (no TLS proxy sits in front), and
    the rate limits on as in production, behind one declared proxy (``MEDIQUEUE_NUM_PROXIES=1``):
    the harness's clients stand in for that proxy, each simulated patient sending its own
    address in X-Forwarded-For (``patient_address``), so that every limit is checked and paid
    for and none is hit by the crowd as a whole. ``overrides`` are laid over the result; a None
    value removes the variable (the bench removes any rate-limit setting of the calling shell,
    so that the product's defaults apply)."""
    env: dict[str, str | None] = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "mediqueue.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "MEDIQUEUE_NUM_PROXIES": "1",
        **overrides,
    }
    return {name: value for name, value in env.items() if value is not None}


def patient_address(user_id: str) -> str:
    """The client address a simulated patient books from (always the same for one patient)."""
    digest = hashlib.blake2b(user_id.encode(), digest_size=3).digest()
    return "10." + ".".join(str(byte) for byte in digest)


def patient_loopback_address(user_id: str) -> str:
    """A source address of the loopback range (127.0.0.0/8, all of it this machine's) that a
    simulated patient connects from, always the same for one patient: for traffic through
    nginx, which writes the address it saw into X-Forwarded-For, so that each patient is a
    client of their own to the per-client limit, as behind a real proxy."""
    digest = hashlib.blake2b(user_id.encode(), digest_size=3).digest()
    return "127." + ".".join(str(1 + byte % 254) for byte in digest)
