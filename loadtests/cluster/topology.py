"""The whole cluster on loopback, as docker-compose.cluster.yml defines it: every service of the
file, started in the order its ``depends_on`` gives and stopped in the reverse order:

    redis, etcd -> pg1, pg2, pg3 (Patroni) -> haproxy -> db-init -> migrate -> rabbit1..3
        -> node 1 (app1, worker1, allocator1), node 2 (app2, worker2, allocator2) -> nginx
        -> prometheus

Each process runs its service's command with its environment and mounted files, moved onto
loopback (loopback.py); how each kind is started is in engines.py, patroni.py and here
(``AppNodes``). A service this runner does not know how to start stops it with an error naming
the service, so a process added to the compose file is either run here or noticed.

Every write and every listing goes through HAProxy's leader port; the listing cache's version
lives in Redis, shared by the nodes, so a patient told "booked" by one node sees the seat taken
in a listing from the other.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from loadtests.cluster import engines
from loadtests.cluster.config import run_variables
from loadtests.cluster.loopback import Loopback, ports_needed
from loadtests.cluster.patroni import Members, postgres_bin_dir
from loadtests.harness import BASE_DIR, CLUSTER_PORTS, Gunicorn, free_ports, gunicorn
from loadtests.harness.nginx import nginx_proxy
from loadtests.harness.worker import start_notice_worker
from mediqueue import deployment
from mediqueue.deployment import Service, local_app_command

DEFINITION = deployment.CLUSTER
# Engines started by a function of engines.py, by role: (service, loopback, logs) -> a context
# manager yielding its URL (or None).
ENGINES = {
    "etcd": engines.etcd,
    "haproxy": engines.haproxy,
    "redis": engines.redis,
    "prometheus": engines.prometheus,
}


@dataclass
class Topology:
    root: Path
    logs: Path
    loopback: Loopback
    members: Members
    nodes: AppNodes
    env: dict[str, str]  # an app process's environment (DATABASE_URL: HAProxy's leader port)
    admin_url: str  # the superuser, through HAProxy's leader port
    replica_url: str  # the app's role, through HAProxy's replica port
    redis_url: str
    nginx_url: str
    prometheus_url: str
    rabbit: engines.RabbitMQCluster | None = None  # the booking queue's nodes

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def nginx_port(self) -> int:
        return self.loopback.port("nginx", 80)


def start_order(services: dict[str, Service]) -> list[list[Service]]:
    """The services in groups started together, each group after every group it depends on
    (compose's ``depends_on``), ties in the file's order: the numbered processes of the app
    image form one group (the app nodes), other numbered services one group per role (the
    database members)."""
    groups: dict[str, list[Service]] = {}
    for service in services.values():
        if service.node is not None and service.runs_the_app and not service.runs_once:
            key = "app nodes"
        elif service.node is not None:
            key = service.role
        else:
            key = service.name
        groups.setdefault(key, []).append(service)
    group_of = {s.name: key for key, members in groups.items() for s in members}
    needs = {
        key: {group_of[other] for s in members for other in s.depends_on} - {key}
        for key, members in groups.items()
    }
    ordered: list[str] = []
    while len(ordered) < len(groups):
        ready = [k for k in groups if k not in ordered and needs[k] <= set(ordered)]
        if not ready:
            raise ValueError(f"depends_on has a cycle among {set(groups) - set(ordered)}")
        ordered.append(ready[0])
    return [groups[key] for key in ordered]


class AppNodes:
    """Independent nodes, as separate machines would be: node n runs every process of the app
    image the compose file numbers n (app1: gunicorn, worker1: the notices' worker), each with
    its service's command and environment."""

    def __init__(
        self,
        services: list[Service],
        loopback: Loopback,
        logs: Path,
        *,
        workers: int,
        local_env: dict[str, str],
    ):
        self.loopback, self.logs, self.local_env = loopback, logs, local_env
        self.workers = workers
        numbers = sorted({s.node for s in services})
        self.services = [[s for s in services if s.node == n] for n in numbers]
        self._stacks: list[ExitStack | None] = [None] * len(numbers)
        self.servers: list[Gunicorn | None] = [None] * len(numbers)
        self.others: list[list[subprocess.Popen]] = [[] for _ in numbers]
        self._starts = 0

    def __enter__(self) -> AppNodes:
        try:
            for index in range(len(self.services)):
                self.start(index)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for index in range(len(self.services)):
            self._stop(index)

    @property
    def ports(self) -> list[int]:
        return [self.loopback.port(self._server_service(i).name, 8000) for i in self._indexes]

    @property
    def _indexes(self) -> range:
        return range(len(self.services))

    def env(self, service: Service) -> dict[str, str]:
        return {**os.environ, **self.loopback.environment(service), **self.local_env}

    def _server_service(self, index: int) -> Service:
        return next(s for s in self.services[index] if s.argv[0] == "gunicorn")

    def start(self, index: int) -> Gunicorn:
        self._starts += 1
        stack = ExitStack()
        server = None
        others = []
        for service in self.services[index]:
            log_path = self.logs / f"{service.name}-{self._starts}.log"
            command = local_app_command(service)
            if service.argv[0] == "gunicorn":
                env = {**self.env(service), "WEB_CONCURRENCY": str(self.workers)}
                server = stack.enter_context(
                    gunicorn(
                        env,
                        port=self.loopback.port(service.name, 8000),
                        log_path=log_path,
                        command=command,
                    )
                )
            else:
                process = start_notice_worker(self.env(service), log_path, command=command)
                stack.callback(engines.stop, process)
                others.append(process)
        self._stacks[index], self.servers[index], self.others[index] = stack, server, others
        return server

    def kill(self, index: int) -> None:
        """SIGKILL every process of the node at once (gunicorn's master and its workers
        included), as when its machine dies."""
        server = self.servers[index]
        pids = [server.process.pid, *server.worker_pids(), *(p.pid for p in self.others[index])]
        for pid in pids:
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
def cluster(
    *,
    logs: Path,
    workers: int = 2,
    postgres_bin: Path | None = None,
    archive: bool = False,
    **app_env: str,
) -> Iterator[Topology]:
    """Start every service of docker-compose.cluster.yml in a fresh throwaway directory; stop
    it all and delete the directory on the way out, whatever happened. ``app_env`` is laid over
    the app processes' environment. ``postgres_bin`` and ``archive``: the members' PostgreSQL
    programs and WAL archive (patroni.Members; the restore drill's)."""
    logs.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="mediqueue-cluster-"))
    # The members' system user must reach its own directories below this one.
    root.chmod(0o755)
    services = deployment.load(DEFINITION, run_variables())
    loopback = Loopback.plan(services, free_ports(ports_needed(services), CLUSTER_PORTS), root=root)
    # The app's data folder in the run, not the checkout's .mediqueue/ (admin credentials).
    local_env = {"MEDIQUEUE_DATA_DIR": str(root / "app"), **app_env}
    started: dict[str, object] = {}
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        for group in start_order(services):
            started.update(
                _start(group, stack, loopback, logs, workers, local_env, postgres_bin, archive)
            )
        migrate = next(s for s in services.values() if s.runs_the_app and s.runs_once)
        env = {**os.environ, **loopback.environment(migrate), **local_env}
        admin_url = loopback.environment(services["db-init"])["ADMIN_URL"]
        yield Topology(
            root=root,
            logs=logs,
            loopback=loopback,
            members=started["pg"],
            nodes=started["app nodes"],
            env=env,
            admin_url=admin_url,
            replica_url=env["DATABASE_URL"].replace(
                loopback.address("haproxy", 5000), loopback.address("haproxy", 5001)
            ),
            redis_url=started["redis"],
            nginx_url=started["nginx"],
            prometheus_url=started["prometheus"],
            rabbit=started.get("rabbit"),
        )


def _start(
    group: list[Service],
    stack: ExitStack,
    loopback: Loopback,
    logs: Path,
    workers: int,
    local_env: dict[str, str],
    postgres_bin: Path | None = None,
    archive: bool = False,
) -> dict[str, object]:
    """Start one group of services; {group's key: what the rest of the run needs of it}."""
    first = group[0]
    if first.runs_the_app and first.node is not None and not first.runs_once:
        nodes = AppNodes(group, loopback, logs, workers=workers, local_env=local_env)
        return {"app nodes": stack.enter_context(nodes)}
    if first.role == "rabbit":
        return {"rabbit": stack.enter_context(engines.rabbitmq(group, loopback, logs))}
    if first.runs_once:
        # The app's jobs run in the checkout as the image runs them in /app; the others (the
        # database's, psql in db-init) with the wheel's PostgreSQL programs on their PATH.
        path = f"{postgres_bin or postgres_bin_dir()}:{os.environ.get('PATH', '')}"
        env = local_env if first.runs_the_app else {"PATH": path}
        engines.run_once(first, loopback, logs, env=env, cwd=BASE_DIR)
        return {}
    if first.role == "pg":
        members = Members(group, loopback, logs, bin_dir=postgres_bin, archive=archive)
        return {"pg": stack.enter_context(members)}
    if first.role == "nginx":
        upstreams = re.findall(
            r"server\s+([^\s;]+)\s*;",
            loopback.environment(first)["MEDIQUEUE_NGINX_UPSTREAM_SERVERS"],
        )
        url = nginx_proxy(upstreams, listen_port=loopback.port(first.name, 80), log_dir=logs)
        return {"nginx": stack.enter_context(url)}
    if first.role in ENGINES:
        return {first.role: stack.enter_context(ENGINES[first.role](first, loopback, logs))}
    raise RuntimeError(
        f"{DEFINITION.name} has a service {first.name!r} that loadtests/cluster does not know "
        "how to run here: add its starter (loadtests/cluster/engines.py, ENGINES in topology.py)"
    )
