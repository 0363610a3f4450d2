"""The engines of docker-compose.cluster.yml, each run here from its service's own command,
environment and mounted files (moved onto loopback by :class:`Loopback`): etcd, HAProxy, Redis,
Prometheus, and the jobs that run once (db-init, migrate). Each is a real Debian package run
from the cluster's throwaway directory in the foreground, on 127.0.0.1 only.

Each starter is a context manager that yields once the engine answers and stops it on the way
out (also after an error or Ctrl+C). What a starter adds to the service's command is only what
the engine's image gives it or where it must listen here (``LOCAL_FLAGS``), never a setting.
Nothing of a system service is used or touched: not its configuration, data, port nor pid file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from loadtests.cluster.config import tune_prometheus
from loadtests.cluster.loopback import HOST, Loopback
from loadtests.harness import stop, wait_until_answering
from mediqueue.deployment import APP_PROGRAMS, Service

# The only words a local run adds to a service's command, and why.
LOCAL_FLAGS = {
    # The image's entrypoint adds -W -db: in the foreground.
    "haproxy": lambda service, loopback: ["-db"],
    # The image listens on all of its addresses, port 6379, in /data.
    "redis-server": lambda service, loopback: [
        "--bind",
        HOST,
        "--port",
        str(loopback.port(service.name, 6379)),
        "--dir",
        str(loopback.directory(service.name)),
    ],
    # The image listens on :9090.
    "prometheus": lambda service, loopback: [
        f"--web.listen-address={loopback.address(service.name, 9090)}",
        "--log.level=warn",
    ],
}


def binary(name: str) -> str:
    # /usr/sbin (haproxy) is not on a normal user's PATH on Debian.
    found = shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if not found:
        raise RuntimeError(f"{name} is not installed: `make cluster-engines` installs it")
    return found


def local_command(
    service: Service,
    loopback: Loopback,
    paths: dict[str, Path],
    *,
    programs: Mapping[str, list[str]] | None = None,
) -> list[str]:
    """The service's command as this machine runs it: the program found here (this interpreter
    for the app image's, else ``programs``' or the Debian package's), the arguments moved onto
    loopback, plus its ``LOCAL_FLAGS``."""
    program, *arguments = loopback.argv(service, paths=paths)
    name = Path(program).name
    known = {**APP_PROGRAMS, **(programs or {})}
    found = list(known[name]) if name in known else [binary(name)]
    extra = LOCAL_FLAGS.get(name, lambda service, loopback: [])(service, loopback)
    return [*found, *arguments, *extra]


@contextmanager
def background(
    name: str,
    command: list[str],
    *,
    log_path: Path,
    ready_url: str | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in a process group of its own, output to ``log_path``; yield once
    ``ready_url`` answers 200 (when given); stop it afterwards (``stop_signal``, then SIGKILL)."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            user=user,
            cwd=cwd,
            start_new_session=True,
        )
    try:
        if ready_url:
            wait_until_answering(
                ready_url, process=process, log_path=log_path, seconds=60, name=name
            )
        yield process
    finally:
        stop(process, sig=stop_signal, seconds=20, group=True)


def run_once(
    service: Service,
    loopback: Loopback,
    logs: Path,
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    seconds: float = 180,
) -> None:
    """A service that runs to its end (db-init, migrate), as compose runs it before the
    services that wait for it; raises unless it exits 0 within ``seconds``."""
    log_path = logs / f"{service.name}.log"
    command = local_command(service, loopback, {})
    with log_path.open("ab") as log:
        result = subprocess.run(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **loopback.environment(service), **env},
            cwd=cwd,
            timeout=seconds,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"{service.name} exited with {result.returncode}: {log_path.read_text()[-2000:]}"
        )


@contextmanager
def etcd(service: Service, loopback: Loopback, logs: Path) -> Iterator[str]:
    """The consensus store Patroni keeps the leader key in; its client URL."""
    client = loopback.url(service.name, 2379)
    command = local_command(service, loopback, {})
    with background("etcd", command, log_path=logs / "etcd.log", ready_url=f"{client}/health"):
        yield client


@contextmanager
def haproxy(service: Service, loopback: Loopback, logs: Path) -> Iterator[None]:
    """deploy/haproxy/haproxy.cfg, addresses from the environment; checked first (-c)."""
    copies = loopback.copy_mounts(service)
    command = local_command(service, loopback, copies)
    env = {**os.environ, **loopback.environment(service)}
    subprocess.run([*command, "-c", "-q"], env=env, check=True)
    # Stopped after the app nodes: no connection is left to finish, so no graceful stop.
    with background("haproxy", command, log_path=logs / "haproxy.log", env=env):
        yield


@contextmanager
def redis(service: Service, loopback: Loopback, logs: Path) -> Iterator[str]:
    """The rate limits' counters and the listing's version, shared by the app nodes."""
    command = local_command(service, loopback, {})
    with background("redis", command, log_path=logs / "redis.log") as process:
        url = f"redis://{loopback.address(service.name, 6379)}/0"
        _wait_for_redis(url, process)
        yield url


def _wait_for_redis(url: str, process: subprocess.Popen) -> None:
    import time

    import redis as redis_client

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            redis_client.Redis.from_url(url, socket_timeout=1).ping()
            return
        except redis_client.RedisError:
            time.sleep(0.1)
    raise RuntimeError(f"redis-server did not answer at {url}")


@contextmanager
def prometheus(service: Service, loopback: Loopback, logs: Path) -> Iterator[str]:
    """deploy/prometheus/prometheus.yml and the cluster's targets, scraping more often; its URL."""
    copies = loopback.copy_mounts(service, tune=tune_prometheus)
    command = local_command(service, loopback, copies)
    url = loopback.url(service.name, 9090)
    with background(
        "prometheus",
        command,
        log_path=logs / "prometheus.log",
        ready_url=f"{url}/-/ready",
        cwd=loopback.directory(service.name),
    ):
        yield url


# --- RabbitMQ: three nodes, one cluster ------------------------------------------------------


class RabbitMQCluster:
    """The booking queue's nodes (rabbit1..3), each a Debian rabbitmq-server run by the harness
    (loadtests.harness.rabbitmq) from its service's mounted rabbitmq.conf and environment."""

    def __init__(self, services: list[Service], loopback: Loopback, logs: Path) -> None:
        from loadtests.harness.rabbitmq import RabbitMQNode

        # Node names unique to the run: every node of the machine registers with one epmd.
        tag = loopback.root.name.rsplit("-", 1)[-1][:8]
        names = {s.name: f"{s.name}-{tag}@localhost" for s in services}
        self.nodes: list[RabbitMQNode] = []
        for service in services:
            env = loopback.environment(service)
            copies = loopback.copy_mounts(service)
            deployed = copies[RABBITMQ_CONFIG].read_text()
            self.nodes.append(
                RabbitMQNode(
                    directory=loopback.directory(service.name) / "node",
                    port=loopback.port(service.name, 5672),
                    dist_port=loopback.port(service.name, 25672),
                    name=names[service.name],
                    cookie=env["RABBITMQ_ERLANG_COOKIE"],
                    config=local_rabbitmq_config(
                        deployed, names=names, port=loopback.port(service.name, 5672), env=env
                    ),
                )
            )
        self.logs = logs

    def start(self) -> None:
        # The first node forms the cluster; the others find it by name and join (a node opens
        # its AMQP port only once it has joined: then all three hold the quorum queues).
        first, *others = self.nodes
        first.start()
        for node in others:
            node.start(wait=False)
        for node in others:
            node.wait_until_ready()

    def restart(self, index: int) -> None:
        self.nodes[index].restart()

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
            if node.log_path.exists():
                shutil.copyfile(node.log_path, self.logs / f"{node.name.split('@')[0]}.log")


RABBITMQ_CONFIG = "/etc/rabbitmq/rabbitmq.conf"


def local_rabbitmq_config(text: str, *, names: dict[str, str], port: int, env: dict) -> str:
    """deploy/rabbitmq/rabbitmq.conf for a node on this machine: the nodes' names here (the
    image's are rabbit@<host name>), its loopback port, and what the image's entrypoint makes of
    RABBITMQ_DEFAULT_USER and _PASS (the first user)."""
    for service, local in names.items():
        text = text.replace(f"rabbit@{service}\n", f"{local}\n")
    text = text.replace("listeners.tcp.default = 5672", f"listeners.tcp.1 = {HOST}:{port}")
    return (
        f"{text}\ndefault_user = {env['RABBITMQ_DEFAULT_USER']}\n"
        f"default_pass = {env['RABBITMQ_DEFAULT_PASS']}\n"
        "log.console = true\nlog.console.level = warning\nlog.file = false\n"
    )


@contextmanager
def rabbitmq(services: list[Service], loopback: Loopback, logs: Path) -> Iterator[RabbitMQCluster]:
    nodes = RabbitMQCluster(services, loopback, logs)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.stop()
