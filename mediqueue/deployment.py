"""The processes of a deployment, as the compose files define them.

``docker-compose.yml`` (one machine) and ``docker-compose.cluster.yml`` (the cluster) are the one
definition of what a clinic runs: every process, its command, its environment and the
configuration files it mounts. The local runners read them here instead of restating them:
``make run`` and the harness (tests, load tests, chaos, bench, browser tests) take the app's and
the notices worker's commands from docker-compose.yml; the local cluster (loadtests/cluster)
starts every service of docker-compose.cluster.yml.

Only the part of the Compose specification those files use is read: a service's ``command``,
``entrypoint``, ``environment`` (mapping or list), ``env_file``, ``volumes`` (short or long
syntax), ``tmpfs``, ``expose`` and ``ports``, ``depends_on``, ``restart``, ``build``, ``image``;
YAML anchors and merge keys; and the variables (``${NAME}``, ``${NAME:-default}``,
``${NAME-default}``, ``${NAME:?error}``, ``${NAME?error}``, ``${NAME:+other}``, ``$$``). The
files themselves are checked against the specification's JSON schema by the test suite.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
SINGLE_NODE = BASE_DIR / "docker-compose.yml"
CLUSTER = BASE_DIR / "docker-compose.cluster.yml"

# What the app image's programs are here: this interpreter, with this environment's packages.
APP_PROGRAMS = {
    "python": [sys.executable],
    "gunicorn": [sys.executable, "-m", "gunicorn"],
}

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<operator>:?[-?+])(?P<argument>[^}]*))?\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


class DeploymentError(ValueError):
    """The compose file asks for something this reader cannot give (a variable, a service)."""


@dataclass(frozen=True)
class Mount:
    """A volume of a service: a bind mount of a file or folder of the repository (``source``
    relative to it) or a named volume (``source`` its name), at ``target`` in the container."""

    source: str
    target: str
    bind: bool
    read_only: bool = False

    @property
    def host_path(self) -> Path:
        if not self.bind:
            raise DeploymentError(f"{self.source} is a named volume, not a path")
        return (BASE_DIR / self.source).resolve()


@dataclass(frozen=True)
class Service:
    name: str
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    tmpfs: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    # "127.0.0.1:8000" -> 80: the machine's addresses that reach a port of the service.
    published: Mapping[str, int] = field(default_factory=dict)
    depends_on: Mapping[str, str] = field(default_factory=dict)
    restart: str | None = None
    build: str | None = None
    image: str | None = None

    @property
    def argv(self) -> tuple[str, ...]:
        """What the container runs: the entrypoint and the command, when the file sets an
        entrypoint; else the command (each image's own entrypoint only prepares and execs it)."""
        return (*self.entrypoint, *self.command)

    @property
    def role(self) -> str:
        """The name without its node number: app1 and app2 are both ``app``."""
        return self.name.rstrip("0123456789") or self.name

    @property
    def node(self) -> int | None:
        """The node number of app1 (1), worker2 (2); None for a service of its own."""
        digits = self.name[len(self.role) :]
        return int(digits) if digits else None

    @property
    def runs_the_app(self) -> bool:
        """Built from this repository's Dockerfile: a process of MediQueue itself."""
        return self.build == "."

    @property
    def runs_once(self) -> bool:
        """A job that ends (migrate, db-init), which others wait for, rather than a server."""
        return self.restart == "no"


def load(
    path: Path = SINGLE_NODE, variables: Mapping[str, str] | None = None, *, strict: bool = True
) -> dict[str, Service]:
    """The services of the compose file at ``path``, in the file's order, its variables taken
    from ``variables``. ``strict=False`` reads a file without deploying it: a required variable
    that is missing becomes empty instead of an error."""
    document = yaml.safe_load(path.read_text())
    document = _interpolate(document, dict(variables or {}), strict=strict)
    return {
        name: _service(name, spec, base=path.parent) for name, spec in document["services"].items()
    }


def local_app_command(service: Service) -> list[str]:
    """The command of a process of the app image as this machine runs it: the same arguments,
    with this interpreter for ``python`` and ``gunicorn``."""
    if not service.runs_the_app:
        raise DeploymentError(f"{service.name} does not run the app image")
    program, *arguments = service.argv
    if program not in APP_PROGRAMS:
        raise DeploymentError(f"{service.name}: no local way to run {program!r}")
    return [*APP_PROGRAMS[program], *arguments]


def app_process(name: str, path: Path = SINGLE_NODE) -> list[str]:
    """``local_app_command`` of service ``name`` of docker-compose.yml (``app``, ``worker``,
    ``migrate``)."""
    services = load(path, strict=False)
    if name not in services:
        raise DeploymentError(f"{path.name} has no service {name!r}")
    return local_app_command(services[name])


def interpolate(text: str, variables: Mapping[str, str], *, strict: bool = True) -> str:
    """``text`` with its variables replaced, as Compose does."""

    def replace(match: re.Match) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("plain")
        operator, argument = match.group("operator"), match.group("argument") or ""
        value = variables.get(name)
        set_and_not_empty = bool(value)
        is_set = value is not None
        if operator in (":-", "-"):
            use_default = not set_and_not_empty if operator == ":-" else not is_set
            return interpolate(argument, variables, strict=strict) if use_default else value
        if operator in (":?", "?"):
            missing = not set_and_not_empty if operator == ":?" else not is_set
            if missing:
                if strict:
                    raise DeploymentError(f"{name}: {argument or 'required'}")
                return ""
            return value
        if operator in (":+", "+"):
            present = set_and_not_empty if operator == ":+" else is_set
            return interpolate(argument, variables, strict=strict) if present else ""
        return value or ""

    return _VARIABLE.sub(replace, text)


def _interpolate(node, variables: dict[str, str], *, strict: bool):
    if isinstance(node, str):
        return interpolate(node, variables, strict=strict)
    if isinstance(node, list):
        return [_interpolate(item, variables, strict=strict) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate(value, variables, strict=strict) for key, value in node.items()}
    return node


def _service(name: str, spec: dict, *, base: Path) -> Service:
    environment: dict[str, str] = {}
    env_files = spec.get("env_file") or []
    for env_file in [env_files] if isinstance(env_files, str) else env_files:
        environment.update(read_env_file(base / env_file))
    environment.update(_mapping(spec.get("environment")))
    depends_on = spec.get("depends_on") or {}
    if isinstance(depends_on, list):
        depends_on = {other: "service_started" for other in depends_on}
    else:
        depends_on = {
            other: (options or {}).get("condition", "service_started")
            for other, options in depends_on.items()
        }
    ports = [int(port) for port in spec.get("expose") or []]
    published = dict(_published(port) for port in spec.get("ports") or [])
    ports += published.values()
    build = spec.get("build")
    tmpfs = spec.get("tmpfs") or []
    return Service(
        name=name,
        command=_words(spec.get("command")),
        entrypoint=_words(spec.get("entrypoint")),
        environment=environment,
        mounts=tuple(_mount(volume) for volume in spec.get("volumes") or []),
        tmpfs=tuple([tmpfs] if isinstance(tmpfs, str) else tmpfs),
        ports=tuple(dict.fromkeys(ports)),
        published=published,
        depends_on=depends_on,
        restart=spec.get("restart"),
        build=build if isinstance(build, str) or build is None else build.get("context", "."),
        image=spec.get("image"),
    )


def read_env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines; blank lines and ``#`` comments skipped (Compose's env_file)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _mapping(environment) -> dict[str, str]:
    if not environment:
        return {}
    if isinstance(environment, list):
        pairs = (item.partition("=") for item in environment)
        return {name: value for name, _, value in pairs}
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def _words(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(shlex.split(value))
    return tuple(str(word) for word in value)


def _mount(volume) -> Mount:
    if isinstance(volume, dict):
        source, target = volume.get("source", ""), volume["target"]
        bind = volume.get("type") == "bind"
        return Mount(
            _relative(source) if bind else source, target, bind, volume.get("read_only", False)
        )
    source, target, *options = volume.split(":")
    bind = source.startswith((".", "/"))
    read_only = bool(options) and "ro" in options[0].split(",")
    return Mount(_relative(source) if bind else source, target, bind, read_only)


def _relative(source: str) -> str:
    return source[2:] if source.startswith("./") else source


def _published(port) -> tuple[str, int]:
    """A ``ports`` entry as (the machine's address, the container's port):
    "127.0.0.1:8000:80" -> ("127.0.0.1:8000", 80); without an address, all of the machine's."""
    if isinstance(port, dict):
        host = port.get("host_ip") or "0.0.0.0"
        return f"{host}:{port.get('published', port['target'])}", int(port["target"])
    *outside, inside = str(port).split("/")[0].split(":")
    host, published = (
        (outside[0], outside[1])
        if len(outside) == 2
        else ("0.0.0.0", outside[-1] if outside else inside)
    )
    return f"{host}:{published}", int(inside)
