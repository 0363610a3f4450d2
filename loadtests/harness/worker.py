"""The notices' worker (``manage.py procrastinate worker``) beside the service, as ``make run``
and production run it: for the browser tests, chaos and the live-server tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from loadtests.harness.environment import BASE_DIR
from loadtests.harness.processes import stop


def start_notice_worker(env: Mapping[str, str], log_path: Path) -> subprocess.Popen:
    """The worker, started with ``env``; its output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "procrastinate", "worker"],
            cwd=BASE_DIR,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def notice_worker(env: Mapping[str, str], *, log_path: Path) -> Iterator[subprocess.Popen]:
    """A context manager: the worker while the block runs, stopped (SIGTERM) afterwards."""
    process = start_notice_worker(env, log_path)
    try:
        yield process
    finally:
        stop(process)
