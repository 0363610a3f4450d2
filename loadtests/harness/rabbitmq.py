"""RabbitMQ for the booking queue's tests, load tests and chaos: Debian's rabbitmq-server, run
from a throwaway directory of its own on free loopback ports (``make rabbitmq`` installs the
package when it is missing, as ``make nginx`` does for nginx).

Nothing of a system RabbitMQ is used or touched: its own node name, AMQP and distribution
ports, database and logs under the directory, its own Erlang cookie (HOME points there). It
registers with the machine's epmd, Erlang's port mapper (started by the first node when none
runs, and shared by every node, as Erlang means it to be). The Debian wrapper
``/usr/sbin/rabbitmq-server`` switches to the rabbitmq user; the program under it runs as
whoever starts it.

    with rabbitmq_node(tmp_path) as node:      # node.url: amqp://guest:guest@127.0.0.1:PORT/%2F
        node.restart()                         # stop (SIGTERM) and start again, same data
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.harness.ports import free_ports, ports_for_tests
from loadtests.harness.processes import stop

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
START_SECONDS = 60
# Loopback only, and the guest account (which RabbitMQ allows from loopback alone).
CONFIG = """\
listeners.tcp.1 = 127.0.0.1:{port}
loopback_users.guest = true
log.console = true
log.console.level = warning
log.file = false
"""


def rabbitmq_installed() -> bool:
    return RABBITMQ_SERVER.exists()


@dataclass
class RabbitMQNode:
    directory: Path
    port: int
    dist_port: int
    name: str
    cookie: str
    cluster_with: tuple[str, ...] = ()
    # rabbitmq.conf as given (a deployment's, moved to this node's port): else CONFIG's.
    config: str | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def log_path(self) -> Path:
        return self.directory / "rabbitmq.log"

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("RABBITMQ_", "ERL_"))
        }
        return {
            **env,
            "HOME": str(self.directory),  # where the Erlang cookie is
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.directory / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.directory / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.directory / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.directory / "log"),
            "RABBITMQ_PID_FILE": str(self.directory / "rabbitmq.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.directory / "rabbitmq-env.conf"),
            "RABBITMQ_LOGS": "-",
            # The distribution listens on loopback only.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def write_files(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.config if self.config is not None else CONFIG.format(port=self.port)
        if self.cluster_with:
            config += "cluster_formation.peer_discovery_backend = classic_config\n"
            for number, peer in enumerate(self.cluster_with, start=1):
                config += f"cluster_formation.classic_config.nodes.{number} = {peer}\n"
        (self.directory / "rabbitmq.conf").write_text(config)
        (self.directory / "advanced.config").write_text("[].\n")
        (self.directory / "enabled_plugins").write_text("[].\n")
        (self.directory / "rabbitmq-env.conf").write_text("")
        cookie = self.directory / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)

    def start(self, *, wait: bool = True) -> None:
        if not rabbitmq_installed():
            raise RuntimeError(
                "rabbitmq-server is not installed: `make rabbitmq` installs Debian's package"
            )
        self.write_files()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(RABBITMQ_SERVER)],
                cwd=self.directory,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_until_ready()

    def wait_until_ready(self, seconds: float = START_SECONDS) -> None:
        """Until AMQP answers (a TCP connect suffices: the listener opens last in the boot)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"RabbitMQ {self.name} exited; see {self.log_path}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"RabbitMQ {self.name} did not answer in {seconds:.0f} s")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, sig=signal.SIGTERM, seconds=30, group=True)
            self.process = None

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


# Below Linux's ephemeral ports (32768-60999): a port the OS hands out for outgoing
# connections can be taken between the check and the node's bind, and a busy machine (another
# job's cluster) takes them by the thousand.
QUIET_PORTS = range(20000, 32000)


def _two_free_ports() -> tuple[int, int]:
    candidates = ports_for_tests()
    if len(candidates) > 1:
        first, second = free_ports(2, candidates)
        return first, second
    # Random, so that two sessions starting at once do not both pick the first free ones.
    start = random.randrange(QUIET_PORTS.start, QUIET_PORTS.stop - 200)
    first, second = free_ports(2, range(start, QUIET_PORTS.stop))
    return first, second


def new_node(directory: Path, *, name: str | None = None, cookie: str | None = None):
    port, dist_port = _two_free_ports()
    return RabbitMQNode(
        directory=directory,
        port=port,
        dist_port=dist_port,
        name=name or f"mq{os.getpid()}-{secrets.token_hex(3)}@localhost",
        cookie=cookie or secrets.token_hex(16),
    )


@contextmanager
def rabbitmq_node(directory: Path) -> Iterator[RabbitMQNode]:
    """A single RabbitMQ node while the block runs, stopped afterwards. A port found free may
    be taken before the node binds it (by another job's connection on a shared machine): the
    node then exits at once, and is started again on other ports."""
    for attempt in range(1, 4):
        node = new_node(directory / f"node{attempt}")
        try:
            node.start()
            break
        except RuntimeError:
            node.stop()
            if attempt == 3:
                raise
    try:
        yield node
    finally:
        node.stop()
