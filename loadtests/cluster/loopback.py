"""docker-compose.cluster.yml's services moved onto this machine: pure functions, no process.

A container reaches another service as ``name:port`` and listens on ``0.0.0.0:port``; here every
service is on 127.0.0.1, each of its ports (``expose``, ``ports``) on a free one of its own. A
container finds its files where the service mounts them; here a bind mount is a copy in the
run's directory (with the addresses it names moved the same way) and a named volume a folder
there. :class:`Loopback` makes those moves on commands, environments and mounted files, and
nothing else: what a service runs and with which settings stays the compose file's.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mediqueue.deployment import Mount, Service

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Loopback:
    services: dict[str, Service]
    ports: dict[tuple[str, int], int]  # (service, port in the container) -> port here
    root: Path  # the run's throwaway directory

    @classmethod
    def plan(cls, services: dict[str, Service], free: Iterable[int], root: Path) -> Loopback:
        """Deal out ``free`` ports (at least :func:`ports_needed` of them), service by service."""
        it = iter(free)
        ports = {(s.name, port): next(it) for s in services.values() for port in s.ports}
        return cls(services, ports, root)

    def port(self, service: str, container_port: int) -> int:
        try:
            return self.ports[(service, container_port)]
        except KeyError:
            raise ValueError(f"{service} exposes no port {container_port}") from None

    def address(self, service: str, container_port: int) -> str:
        return f"{HOST}:{self.port(service, container_port)}"

    def url(self, service: str, container_port: int) -> str:
        return f"http://{self.address(service, container_port)}"

    def directory(self, service: str) -> Path:
        """The service's own folder of the run (its copies of mounted files, its data)."""
        path = self.root / service
        path.mkdir(parents=True, exist_ok=True)
        return path

    # --- moving text ------------------------------------------------------------------------

    def text(self, value: str, service: Service, *, paths: dict[str, Path] | None = None) -> str:
        """``value`` as ``service`` reads it here: every ``name:port`` of the topology, every
        address a service publishes on the machine ("127.0.0.1:8000", nginx's) and the
        service's own listening addresses ("0.0.0.0:port") on loopback; every path the service
        mounts (or ``paths`` overrides) where it is here. A ``name:port`` of the topology that
        is not one of its ports raises ValueError."""
        names = "|".join(re.escape(name) for name in sorted(self.services, key=len, reverse=True))
        published = {
            address: (other.name, port)
            for other in self.services.values()
            for address, port in other.published.items()
        }

        def another(match: re.Match) -> str:
            return self.address(match.group(1), int(match.group(2)))

        def itself(match: re.Match) -> str:
            return self.address(service.name, int(match.group(1)))

        for address, (name, port) in published.items():
            value = re.sub(
                rf"(?<![\w.-]){re.escape(address)}(?!\d)", self.address(name, port), value
            )
        value = re.sub(rf"(?<![\w.-])({names}):(\d+)(?!\d)", another, value)
        value = re.sub(r"(?<![\w.-])0\.0\.0\.0:(\d+)(?!\d)", itself, value)
        for target, local in self.mounted_paths(service, paths).items():
            value = re.sub(rf"(^|=){re.escape(target)}(?=/|$)", rf"\g<1>{local}", value)
        return value

    def mounted_paths(
        self, service: Service, overrides: dict[str, Path] | None = None
    ) -> dict[str, Path]:
        """Each container path the service mounts -> where it is here: ``overrides`` first,
        then named volumes (a folder of the run) and bind mounts (the repository's file)."""
        paths = {}
        for mount in service.mounts:
            paths[mount.target] = self.volume(mount) if not mount.bind else mount.host_path
        for target in service.tmpfs:
            paths[target] = self.directory(service.name) / "tmpfs" / target.strip("/")
        paths.update(overrides or {})
        # Longest first: /etc/prometheus/prometheus.yml before /etc/prometheus.
        return dict(sorted(paths.items(), key=lambda item: len(item[0]), reverse=True))

    def volume(self, mount: Mount) -> Path:
        path = self.root / "volumes" / mount.source
        path.mkdir(parents=True, exist_ok=True)
        return path

    def argv(self, service: Service, *, paths: dict[str, Path] | None = None) -> list[str]:
        return [self.text(word, service, paths=paths) for word in service.argv]

    def environment(
        self, service: Service, *, paths: dict[str, Path] | None = None
    ) -> dict[str, str]:
        return {
            name: self.text(value, service, paths=paths)
            for name, value in service.environment.items()
        }

    # --- mounted files ----------------------------------------------------------------------

    def copy_mounts(
        self, service: Service, tune: Callable[[str, str], str] | None = None
    ) -> dict[str, Path]:
        """Copy every file and folder ``service`` bind-mounts into its folder of the run, the
        addresses in them moved (and ``tune(file name, text)`` applied: the local cluster's
        shorter timings); returns the paths for :meth:`text`'s ``paths``."""
        copies = {}
        for mount in service.mounts:
            if not mount.bind:
                continue
            source = mount.host_path
            destination = self.directory(service.name) / "mounts" / mount.target.strip("/")
            files = [source] if source.is_file() else sorted(p for p in source.rglob("*"))
            for path in files:
                if not path.is_file():
                    continue
                relative = path.relative_to(source) if path != source else Path()
                target = destination / relative if relative.parts else destination
                target.parent.mkdir(parents=True, exist_ok=True)
                text = self.text(path.read_text(), service)
                target.write_text(tune(path.name, text) if tune else text)
                shutil.copymode(path, target)
            copies[mount.target] = destination
        # A program may be given the folder its mounted files sit in (`patroni /etc/patroni`
        # reads every file there): the folder of each mounted file is its copies' folder.
        for target in list(copies):
            folder = str(Path(target).parent)
            if folder != "/" and folder not in copies and copies[target].is_file():
                copies[folder] = copies[target].parent
        return copies


def ports_needed(services: dict[str, Service]) -> int:
    return sum(len(service.ports) for service in services.values())
