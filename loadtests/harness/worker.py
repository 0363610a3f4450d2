"""The notices' worker beside the service, with docker-compose.yml's worker command (``python
manage.py procrastinate worker``), as ``make run`` and production run it: for the browser tests,
chaos, the local cluster and the live-server tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from loadtests.harness.environment import BASE_DIR
from loadtests.harness.processes import stop
from mediqueue.deployment import app_process


def start_notice_worker(
    env: Mapping[str, str], log_path: Path, *, command: list[str] | None = None
) -> subprocess.Popen:
    """The worker, started with ``env`` (and ``command``, when not docker-compose.yml's); its
    output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command or app_process("worker"),
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


# The booking queue's allocator, as the compose cluster runs one beside each app node.
ALLOCATOR_COMMAND = ["python", "manage.py", "allocate"]


def start_allocator(
    env: Mapping[str, str], log_path: Path, *, args: tuple[str, ...] = ()
) -> subprocess.Popen:
    """``manage.py allocate`` (booking.allocator) with ``env``, which names the queue
    (MEDIQUEUE_BOOKING_QUEUE_URL); its output appended to ``log_path``."""
    from mediqueue.deployment import APP_PROGRAMS

    command = [*APP_PROGRAMS["python"], *ALLOCATOR_COMMAND[1:], *args]
    return start_notice_worker(env, log_path, command=command)


@contextmanager
def allocator(
    env: Mapping[str, str], *, log_path: Path, args: tuple[str, ...] = ()
) -> Iterator[subprocess.Popen]:
    """A context manager: the allocator while the block runs, stopped (SIGTERM: it finishes
    its batch) afterwards."""
    process = start_allocator(env, log_path, args=args)
    try:
        yield process
    finally:
        stop(process)
