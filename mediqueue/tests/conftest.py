"""Helpers shared by the project-level tests."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings


@pytest.fixture(scope="session")
def run_python(live_env):
    """``run_python(code, **env)``: run ``code`` in a fresh Python process with the production
    environment on the test database (``live_env``), ``env`` laid over it."""

    def run(code: str, **env) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=settings.BASE_DIR,
            env={**live_env(), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run
