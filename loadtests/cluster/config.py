"""The cluster's configuration, from deploy/'s files: what a local run changes in them, and the
environment each engine reads its addresses from. Pure functions (no process is started here),
tested in loadtests/cluster/tests/.

deploy/ holds one configuration per engine for every deployment (docker-compose.cluster.yml
and the local cluster): Patroni's and HAProxy's take their per-machine values from environment
variables, Prometheus its targets from files beside its configuration. A local run only
shortens Patroni's timings (a failover within seconds, so the whole test fits in minutes) and
Prometheus's scrape interval (to see a failover second by second).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from loadtests.harness import BASE_DIR

DEPLOY_DIR = BASE_DIR / "deploy"
PATRONI_CONFIG = DEPLOY_DIR / "patroni" / "patroni.yml"
HAPROXY_CONFIG = DEPLOY_DIR / "haproxy" / "haproxy.cfg"
PROMETHEUS_CONFIG = DEPLOY_DIR / "prometheus" / "prometheus.yml"
HOST = "127.0.0.1"

# Local timings: a leader that stops answering is replaced within ttl (20 s is the shortest
# Patroni accepts: it raises a smaller one to 20); Patroni requires loop_wait + 2 x
# retry_timeout <= ttl. A short loop_wait lets a replica notice the expired key, and a crashed
# leader be replaced, within two seconds.
LOCAL_TIMINGS = {"ttl": 20, "loop_wait": 2, "retry_timeout": 3}
LOCAL_SCRAPE_INTERVAL = "1s"


@dataclass(frozen=True)
class MemberPorts:
    name: str  # pg1, pg2, pg3: HAProxy's server names too
    postgres: int
    api: int

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api}"


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    members: tuple[MemberPorts, ...]
    haproxy_leader: int
    haproxy_replicas: int
    apps: tuple[int, ...]
    nginx: int
    prometheus: int
    redis: int  # used only when the machine's Redis does not answer

    @classmethod
    def from_list(cls, ports: list[int], *, members: int = 3, apps: int = 2) -> Ports:
        """Deal out ``ports`` (free ones, enough of them: see :func:`ports_needed`)."""
        it = iter(ports)
        return cls(
            etcd_client=next(it),
            etcd_peer=next(it),
            members=tuple(
                MemberPorts(f"pg{n}", postgres=next(it), api=next(it))
                for n in range(1, members + 1)
            ),
            haproxy_leader=next(it),
            haproxy_replicas=next(it),
            apps=tuple(next(it) for _ in range(apps)),
            nginx=next(it),
            prometheus=next(it),
            redis=next(it),
        )


def ports_needed(*, members: int = 3, apps: int = 2) -> int:
    return 2 + 2 * members + 2 + apps + 3


def patroni_config(*, socket_dir: Path, timings: dict[str, int] = LOCAL_TIMINGS) -> dict:
    """deploy/patroni/patroni.yml with the local timings and this member's socket directory
    (the default one, /var/run/postgresql, belongs to a system PostgreSQL, if any)."""
    config = yaml.safe_load(PATRONI_CONFIG.read_text())
    config["bootstrap"]["dcs"].update(timings)
    config["postgresql"].setdefault("parameters", {})["unix_socket_directories"] = str(socket_dir)
    return config


def patroni_env(
    member: MemberPorts,
    *,
    data_dir: Path,
    bin_dir: Path,
    etcd_client: int,
    superuser_password: str,
    replication_password: str,
) -> dict[str, str]:
    """The per-member variables Patroni reads, as docker-compose.cluster.yml sets them."""
    return {
        "PATRONI_NAME": member.name,
        "PATRONI_RESTAPI_LISTEN": f"{HOST}:{member.api}",
        "PATRONI_RESTAPI_CONNECT_ADDRESS": f"{HOST}:{member.api}",
        "PATRONI_POSTGRESQL_LISTEN": f"{HOST}:{member.postgres}",
        "PATRONI_POSTGRESQL_CONNECT_ADDRESS": f"{HOST}:{member.postgres}",
        "PATRONI_POSTGRESQL_DATA_DIR": str(data_dir),
        "PATRONI_POSTGRESQL_BIN_DIR": str(bin_dir),
        # Beside its data: the members of one machine share a system user, and its home.
        "PATRONI_POSTGRESQL_PGPASS": str(data_dir.parent / "pgpass"),
        "PATRONI_ETCD3_HOSTS": f"{HOST}:{etcd_client}",
        "PATRONI_SUPERUSER_PASSWORD": superuser_password,
        "PATRONI_REPLICATION_PASSWORD": replication_password,
    }


def haproxy_env(ports: Ports) -> dict[str, str]:
    """The addresses deploy/haproxy/haproxy.cfg reads from its environment."""
    env = {
        "MEDIQUEUE_HAPROXY_LEADER_BIND": f"{HOST}:{ports.haproxy_leader}",
        "MEDIQUEUE_HAPROXY_REPLICA_BIND": f"{HOST}:{ports.haproxy_replicas}",
    }
    for member in ports.members:
        key = member.name.upper()
        env[f"MEDIQUEUE_{key}_ADDRESS"] = f"{HOST}:{member.postgres}"
        env[f"MEDIQUEUE_{key}_API_PORT"] = str(member.api)
    return env


def prometheus_files(ports: Ports) -> dict[str, str]:
    """deploy/prometheus/prometheus.yml with the local scrape interval, and its target files
    for this run: {relative path: content}."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"]["scrape_interval"] = LOCAL_SCRAPE_INTERVAL
    config["global"]["evaluation_interval"] = LOCAL_SCRAPE_INTERVAL

    def targets(addresses: list[str], role: str) -> str:
        return json.dumps([{"targets": addresses, "labels": {"role": role}}])

    return {
        "prometheus.yml": yaml.safe_dump(config, sort_keys=False),
        "targets/mediqueue.json": targets([f"{HOST}:{port}" for port in ports.apps], "app"),
        "targets/patroni.json": targets([f"{HOST}:{m.api}" for m in ports.members], "database"),
    }
