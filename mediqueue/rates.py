"""The rates of the rate limits as a deployer writes them ("600/min", "30/hour", "off"): read
from the environment by the settings, counted by ``mediqueue.ratelimit``. Imports nothing of
the project, so that the settings can use it."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

# By the first letter of the period: s(ec), m(in), h(our), d(ay).
PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_setting(name: str, default: str) -> str | None:
    """The rate ``name`` of the environment, "N/sec|min|hour|day", or None when it is "off"."""
    value = os.environ.get(name, default).strip()
    if value.lower() in ("", "off", "none", "0"):
        return None
    count, _, period = value.partition("/")
    if not count.isdigit() or not period or period.lower()[:1] not in PERIOD_SECONDS:
        raise ImproperlyConfigured(f"{name} looks like 600/min or off, not {value!r}")
    return value
