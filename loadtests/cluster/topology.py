"""The whole cluster on loopback, started in order and stopped in the reverse order:

    Redis -> etcd -> 3 Patroni members -> HAProxy -> migrate -> app nodes -> nginx -> Prometheus

The app nodes are started by the harness (``loadtests.harness.gunicorn``, production settings),
nginx by the harness too (deploy/nginx's configuration, both nodes as upstreams). Every write
and every listing goes through HAProxy's leader port; the listing cache's version lives in
Redis, shared by the nodes, so a patient told "booked" by one node sees the seat taken in a
listing from the other (README, "Scale-out and high availability").
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from loadtests.cluster import engines
from loadtests.cluster.config import HOST, Ports, ports_needed
from loadtests.cluster.patroni import Members
from loadtests.harness import (
    CLUSTER_PORTS,
    Gunicorn,
    free_ports,
    gunicorn,
    manage,
    notice_worker,
    production_env,
)
from loadtests.harness.nginx import nginx_proxy

APP_DATABASE = "mediqueue"
APP_ROLE = "mediqueue"


@dataclass
class Topology:
    root: Path
    logs: Path
    ports: Ports
    members: Members
    nodes: AppNodes
    env: dict[str, str]  # the app nodes' environment (DATABASE_URL: HAProxy's leader port)
    admin_url: str  # the superuser, through HAProxy's leader port
    replica_url: str  # the app's role, through HAProxy's replica port
    redis_url: str
    nginx_url: str
    prometheus_url: str

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]


class AppNodes:
    """Independent gunicorn masters, each on its own port as separate machines would be."""

    def __init__(self, env: dict[str, str], ports: tuple[int, ...], logs: Path, workers: int):
        self.env, self.ports, self.logs, self.workers = env, ports, logs, workers
        self._stacks: list[ExitStack | None] = [None] * len(ports)
        self.servers: list[Gunicorn | None] = [None] * len(ports)
        self.notice_workers: list[subprocess.Popen | None] = [None] * len(ports)
        self._starts = 0

    def __enter__(self) -> AppNodes:
        try:
            for index in range(len(self.ports)):
                self.start(index)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for index in range(len(self.ports)):
            self._stop(index)

    def start(self, index: int) -> Gunicorn:
        self._starts += 1
        stack = ExitStack()
        log_path = self.logs / f"app{index + 1}-{self._starts}.log"
        server = stack.enter_context(
            gunicorn(self.env, port=self.ports[index], workers=self.workers, log_path=log_path)
        )
        # Each node runs its own notices' worker, as a machine of its own would: one lock per
        # notice in PostgreSQL keeps two workers from sending the same one.
        worker_log = self.logs / f"notices{index + 1}-{self._starts}.log"
        self.notice_workers[index] = stack.enter_context(
            notice_worker(self.env, log_path=worker_log)
        )
        self._stacks[index], self.servers[index] = stack, server
        return server

    def kill(self, index: int) -> None:
        """SIGKILL the node's master and its workers at once, as when its machine dies."""
        server = self.servers[index]
        for pid in [server.process.pid, *server.worker_pids(), self.notice_workers[index].pid]:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def restart(self, index: int) -> Gunicorn:
        self._stop(index)
        return self.start(index)

    def _stop(self, index: int) -> None:
        stack, self._stacks[index] = self._stacks[index], None
        if stack is not None:
            stack.close()

    def base_url(self, index: int) -> str:
        return self.servers[index].base_url


@contextmanager
def cluster(*, logs: Path, workers: int = 2, apps: int = 2, **app_env: str) -> Iterator[Topology]:
    """Start everything in a fresh throwaway directory; stop it all and delete the directory
    on the way out, whatever happened. ``app_env`` is laid over the app nodes' production
    environment."""
    logs.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="mediqueue-cluster-"))
    # The members' system user must reach its own directories below this one.
    root.chmod(0o755)
    ports = Ports.from_list(free_ports(ports_needed(apps=apps), CLUSTER_PORTS), apps=apps)
    # Made up for this run, never written to the repository.
    passwords = {name: secrets.token_urlsafe(24) for name in ("superuser", "replication", "app")}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        redis_url = stack.enter_context(engines.redis(root, ports, logs))
        stack.enter_context(engines.etcd(root, ports, logs))
        members = stack.enter_context(Members(root, ports, logs, passwords=passwords))
        stack.enter_context(engines.haproxy(root, ports, logs))
        admin_url = _url("postgres", passwords["superuser"], ports.haproxy_leader, "postgres")
        _wait_for_the_leader_port(admin_url)
        _create_app_database(admin_url, passwords["app"])
        env = production_env(
            _url(APP_ROLE, passwords["app"], ports.haproxy_leader, APP_DATABASE),
            REDIS_URL=redis_url,
            # A leader election takes seconds: a new connection may wait that long for one.
            MEDIQUEUE_DB_CONNECT_RETRY_SECONDS="3",
            # The throwaway directory, not the checkout's .mediqueue/ (admin credentials).
            MEDIQUEUE_DATA_DIR=str(root / "app"),
            **app_env,
        )
        manage(env, "migrate", "--noinput", "-v0")
        nodes = stack.enter_context(AppNodes(env, ports.apps, logs, workers))
        upstreams = [f"{HOST}:{port}" for port in ports.apps]
        nginx_url = stack.enter_context(
            nginx_proxy(upstreams, listen_port=ports.nginx, log_dir=logs)
        )
        prometheus_url = stack.enter_context(engines.prometheus(root, ports, logs))
        yield Topology(
            root=root,
            logs=logs,
            ports=ports,
            members=members,
            nodes=nodes,
            env=env,
            admin_url=admin_url,
            replica_url=_url(APP_ROLE, passwords["app"], ports.haproxy_replicas, APP_DATABASE),
            redis_url=redis_url,
            nginx_url=nginx_url,
            prometheus_url=prometheus_url,
        )


def _url(user: str, password: str, port: int, database: str) -> str:
    # connect_timeout: a frozen server accepts TCP and never answers; give up after 3 s.
    return f"postgresql://{user}:{password}@{HOST}:{port}/{database}?connect_timeout=3"


def _wait_for_the_leader_port(admin_url: str, seconds: float = 30) -> None:
    """Until ten connections in a row reach the leader: HAProxy starts with every member up
    and takes a second of failed checks to leave the replicas out."""
    import psycopg

    deadline = time.monotonic() + seconds
    in_a_row = 0
    while in_a_row < 10:
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                primary = not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        except psycopg.Error:
            primary = False
        in_a_row = in_a_row + 1 if primary else 0
        if time.monotonic() > deadline:
            raise RuntimeError("HAProxy's leader port did not reach the leader alone")
        time.sleep(0.2)


def _create_app_database(admin_url: str, password: str) -> None:
    """The app's own role and database: the app never connects as the superuser."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(APP_ROLE), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(APP_DATABASE), sql.Identifier(APP_ROLE)
            )
        )
