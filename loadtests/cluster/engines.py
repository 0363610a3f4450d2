"""The engines around the database members, each a real Debian package run from the cluster's
throwaway directory in the foreground, on 127.0.0.1 only: etcd, HAProxy, Redis, Prometheus.

Each starter is a context manager that yields once the engine answers and stops it on the way
out (also after an error or Ctrl+C). Nothing of a system service is used or touched: not its
configuration, data, port nor pid file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from loadtests.cluster.config import HAPROXY_CONFIG, HOST, Ports, haproxy_env, prometheus_files
from loadtests.harness import stop, wait_until_answering

MACHINE_REDIS = f"redis://{HOST}:6379"
# The cluster's own database number on the machine's Redis: the rate limits and listing
# versions of a run never mix with anyone else's keys (db 0).
REDIS_DATABASE = 13


def binary(name: str) -> str:
    # /usr/sbin (haproxy) is not on a normal user's PATH on Debian.
    found = shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if not found:
        raise RuntimeError(f"{name} is not installed: `make cluster-engines` installs it")
    return found


@contextmanager
def background(
    name: str,
    command: list[str],
    *,
    log_path: Path,
    ready_url: str | None = None,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
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


@contextmanager
def etcd(root: Path, ports: Ports, logs: Path) -> Iterator[str]:
    """A one-member etcd (the consensus store Patroni keeps the leader key in); its v3 address."""
    client = f"http://{HOST}:{ports.etcd_client}"
    peer = f"http://{HOST}:{ports.etcd_peer}"
    command = [
        binary("etcd"),
        "--name=mediqueue",
        f"--data-dir={root / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=mediqueue={peer}",
        "--initial-cluster-state=new",
    ]
    with background("etcd", command, log_path=logs / "etcd.log", ready_url=f"{client}/health"):
        yield client


@contextmanager
def haproxy(root: Path, ports: Ports, logs: Path) -> Iterator[None]:
    """deploy/haproxy/haproxy.cfg, addresses from the environment, in the foreground (-db)."""
    env = {**os.environ, **haproxy_env(ports)}
    subprocess.run([binary("haproxy"), "-c", "-q", "-f", str(HAPROXY_CONFIG)], env=env, check=True)
    command = [binary("haproxy"), "-db", "-f", str(HAPROXY_CONFIG)]
    # Stopped after the app nodes: no connection is left to finish, so no graceful stop.
    with background("haproxy", command, log_path=logs / "haproxy.log", env=env):
        yield


@contextmanager
def redis(root: Path, ports: Ports, logs: Path) -> Iterator[str]:
    """REDIS_URL for the app nodes: the machine's Redis when it answers (a database of the
    cluster's own, emptied first), else a redis-server of the run's own, without persistence."""
    import redis as redis_client

    machine = f"{MACHINE_REDIS}/{REDIS_DATABASE}"
    try:
        redis_client.Redis.from_url(machine, socket_timeout=2).flushdb()
        yield machine
        return
    except redis_client.RedisError:
        pass
    command = [
        binary("redis-server"),
        "--bind",
        HOST,
        "--port",
        str(ports.redis),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(root),
    ]
    with background("redis", command, log_path=logs / "redis.log") as process:
        url = f"redis://{HOST}:{ports.redis}/0"
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
def prometheus(root: Path, ports: Ports, logs: Path) -> Iterator[str]:
    """deploy/prometheus/prometheus.yml scraping every app node and Patroni member; its URL."""
    config_dir = root / "prometheus"
    for relative, content in prometheus_files(ports).items():
        path = config_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    url = f"http://{HOST}:{ports.prometheus}"
    command = [
        binary("prometheus"),
        f"--config.file={config_dir / 'prometheus.yml'}",
        f"--storage.tsdb.path={config_dir / 'data'}",
        f"--web.listen-address={HOST}:{ports.prometheus}",
        "--log.level=warn",
    ]
    with background(
        "prometheus", command, log_path=logs / "prometheus.log", ready_url=f"{url}/-/ready"
    ):
        yield url
