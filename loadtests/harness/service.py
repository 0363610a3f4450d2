"""Serve MediQueue the way production does: gunicorn with the project's config, on loopback.

The one place that starts gunicorn for the load tests, chaos, the bench, the browser tests and
the live-server tests, with the app's command of docker-compose.yml (mediqueue.deployment). The
settings come from the environment it is given, which callers build with
:func:`loadtests.harness.environment.production_env`.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loadtests.harness.environment import BASE_DIR
from loadtests.harness.processes import answering_within, stop, wait_until_answering
from mediqueue.deployment import app_process

HOST = "127.0.0.1"
APPLICATION = "mediqueue.wsgi:application"


@dataclass(frozen=True)
class Gunicorn:
    """A running gunicorn: where it answers, its master process (for tests and faults that
    signal it), and its log (stdout and stderr)."""

    port: int
    process: subprocess.Popen
    log_path: Path
    host: str = HOST

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ready_within(self, seconds: float) -> bool:
        """Whether /readyz (the database answers) answers 200 within ``seconds``; raises if the
        master has exited."""
        return answering_within(
            f"{self.base_url}/readyz",
            seconds,
            process=self.process,
            log_path=self.log_path,
            name="gunicorn",
        )

    def worker_pids(self) -> list[int]:
        """The master's children: its workers at this moment."""
        import psutil

        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []


@contextmanager
def gunicorn(
    env: Mapping[str, str],
    *,
    port: int,
    workers: int | None = None,
    log_path: Path | None = None,
    ready_seconds: float = 60,
    application: str = APPLICATION,
    source_dir: Path = BASE_DIR,
    command: list[str] | None = None,
) -> Iterator[Gunicorn]:
    """Start gunicorn with ``env`` on 127.0.0.1:``port`` and yield it once /readyz answers;
    stop it afterwards (SIGTERM: the requests in flight finish first) unless it has exited.

    ``workers`` overrides the config's count (WEB_CONCURRENCY, else cores + 1). Its output
    goes to ``log_path``, else to a temporary file removed afterwards. ``application`` is the
    WSGI application to serve (the bench's bare lower bound, ``loadtests.bench.bare``);
    ``source_dir`` the checkout whose code is served (the bench compares builds of the
    service, each checked out apart, ``loadtests.bench.variants``); ``command`` the app's
    command when not docker-compose.yml's (the local cluster's nodes run
    docker-compose.cluster.yml's)."""
    # docker-compose.yml's app command, as production runs it (its configuration file is
    # relative: the served checkout's); where it listens and how many workers come through the
    # environment that configuration reads, as in the compose files.
    command = list(command or app_process("app"))
    if application != APPLICATION:
        if command[-1] != APPLICATION:
            raise RuntimeError(f"the app's command does not end with {APPLICATION}: {command}")
        command[-1] = application
    env = {**env, "MEDIQUEUE_BIND": f"{HOST}:{port}"}
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    if source_dir != BASE_DIR:
        # Before the virtualenv's editable install of this checkout on sys.path.
        env["PYTHONPATH"] = str(source_dir)
    with _log_file(log_path) as path, path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=source_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Gunicorn(port, process, path)
        try:
            wait_until_answering(
                f"{server.base_url}/readyz",
                process=process,
                log_path=path,
                seconds=ready_seconds,
                name="gunicorn",
            )
            yield server
        finally:
            stop(process)


@contextmanager
def _log_file(log_path: Path | None) -> Iterator[Path]:
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        yield log_path
        return
    with tempfile.TemporaryDirectory(prefix="mediqueue-gunicorn-") as directory:
        yield Path(directory) / "gunicorn.log"
