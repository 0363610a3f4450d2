"""The two compose files: valid Compose, complete (every process a clinic needs, the notices'
worker included), and in agreement on every process they share; the Dockerfile's command is the
app's. The local cluster runs docker-compose.cluster.yml itself (test_config.py), so these are
the copies that could drift."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.harness.nginx import MAIN_CONFIG, PRODUCTION_VALUES, TEMPLATE
from mediqueue import deployment

COMPOSE_FILES = [deployment.SINGLE_NODE, deployment.CLUSTER]
# Settings that differ between one machine and the cluster because the topology does: where the
# database is, the names Prometheus scrapes the nodes by, the upstreams, the leader's election.
PER_TOPOLOGY = {
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "DJANGO_ALLOWED_HOSTS",
    "MEDIQUEUE_DB_CONNECT_RETRY_SECONDS",
    "MEDIQUEUE_NGINX_UPSTREAM_SERVERS",
    "MEDIQUEUE_BOOKING_QUEUE_URL",
}
# Each topology mounts its own Prometheus targets (which nodes, which members).
TARGETS_MOUNT = "/etc/prometheus/targets"
# Members of a cluster of their own, each with its own data volume (and settings, for Patroni's).
CLUSTER_MEMBERS = {"pg", "rabbit"}
EVERY_PROCESS = {"app", "worker", "migrate", "nginx", "redis", "prometheus"}


def check_compose_schema(*paths: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with the Compose specification's schema it ships (no download)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]
        + [str(path) for path in paths],
        capture_output=True,
        text=True,
    )


def disagreements(one: dict, other: dict) -> list[str]:
    """What the processes present in both deployments (by role: app1 is an ``app``) do
    differently: command, environment (but PER_TOPOLOGY), mounted files, image."""
    found = []
    by_role = {s.role: s for s in other.values()}
    for service in one.values():
        twin = by_role.get(service.role)
        if twin is None:
            continue
        for what in ("argv", "build", "image", "restart", "tmpfs"):
            if getattr(service, what) != getattr(twin, what):
                found.append(
                    f"{service.role}: {what} {getattr(service, what)!r} != {getattr(twin, what)!r}"
                )
        names = (set(service.environment) | set(twin.environment)) - PER_TOPOLOGY
        for name in sorted(names):
            if service.environment.get(name) != twin.environment.get(name):
                found.append(
                    f"{service.role}: {name} {service.environment.get(name)!r} "
                    f"!= {twin.environment.get(name)!r}"
                )
        mounts = {m.target: m for m in service.mounts if m.target != TARGETS_MOUNT}
        twin_mounts = {m.target: m for m in twin.mounts if m.target != TARGETS_MOUNT}
        if mounts != twin_mounts:
            found.append(f"{service.role}: mounts {mounts} != {twin_mounts}")
    return found


def every_node_alike(services: dict) -> list[str]:
    """The cluster's numbered services of one role (app1, app2) differ in nothing but name."""
    found = []
    for service in services.values():
        first = next(s for s in services.values() if s.role == service.role)
        differences = [
            what
            for what in ("argv", "environment", "mounts", "ports", "depends_on", "build")
            if service.role not in CLUSTER_MEMBERS
            and getattr(service, what) != getattr(first, what)
        ]
        found += [f"{service.name} differs from {first.name} in {what}" for what in differences]
    return found


@pytest.fixture
def copy_of_the_cluster_file(tmp_path):
    """``copy(text)``: a docker-compose.cluster.yml of that text beside the repository's deploy/."""
    (tmp_path / "deploy").symlink_to(deployment.BASE_DIR / "deploy")

    def copy(text: str) -> Path:
        path = tmp_path / "docker-compose.cluster.yml"
        path.write_text(text)
        return path

    return copy


@pytest.fixture
def single_node():
    return deployment.load(deployment.SINGLE_NODE, strict=False)


@pytest.fixture
def cluster():
    return deployment.load(deployment.CLUSTER, strict=False)


def test_both_compose_files_follow_the_compose_specification():
    result = check_compose_schema(*COMPOSE_FILES)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_fails_on_a_mistake(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(deployment.SINGLE_NODE.read_text().replace("command:", "comand:", 1))

    assert check_compose_schema(broken).returncode != 0


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_every_process_a_clinic_needs_is_defined(path):
    services = deployment.load(path, strict=False)

    roles = {s.role for s in services.values()}
    assert roles >= EVERY_PROCESS
    workers = [s for s in services.values() if s.role == "worker"]
    apps = [s for s in services.values() if s.role == "app"]
    assert {s.argv for s in workers} == {("python", "manage.py", "procrastinate", "worker")}
    # One notices' worker per app node.
    assert [s.node for s in workers] == [s.node for s in apps]
    for service in apps + workers:
        assert "EMAIL_URL" in service.environment
        assert "REDIS_URL" in service.environment
        assert service.depends_on.get("migrate") == "service_completed_successfully"


def test_the_two_deployments_run_their_shared_processes_alike(single_node, cluster):
    assert disagreements(single_node, cluster) == []
    assert disagreements(cluster, single_node) == []
    assert every_node_alike(cluster) == []


def test_the_drift_check_notices_a_command_changed_in_one_file(
    copy_of_the_cluster_file, single_node
):
    changed = copy_of_the_cluster_file(
        deployment.CLUSTER.read_text().replace(
            '["python", "manage.py", "procrastinate", "worker"]',
            '["python", "manage.py", "procrastinate", "worker", "--concurrency=4"]',
        )
    )

    found = disagreements(single_node, deployment.load(changed, strict=False))

    assert found and found[0].startswith("worker: argv")


def test_the_drift_check_notices_one_node_unlike_the_other(copy_of_the_cluster_file):
    changed = copy_of_the_cluster_file(
        deployment.CLUSTER.read_text().replace(
            "  worker2:\n    <<: *notices-worker\n",
            "  worker2:\n    <<: *notices-worker\n    command: [python, manage.py]\n",
        )
    )

    assert every_node_alike(deployment.load(changed, strict=False)) == [
        "worker2 differs from worker1 in argv"
    ]


def test_the_images_command_is_the_app_nodes(single_node):
    dockerfile = (deployment.BASE_DIR / "Dockerfile").read_text()
    command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1))

    assert tuple(command) == single_node["app"].argv


def test_the_local_runners_run_the_compose_files_app_and_worker(single_node):
    """make run and the harness (tests, load tests, chaos, bench, browser tests) take them
    from docker-compose.yml."""
    assert deployment.app_process("app")[-3:] == list(single_node["app"].argv[1:])
    assert deployment.app_process("worker")[1:] == list(single_node["worker"].argv[1:])


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_nginx_runs_the_files_the_local_nginx_runs(path):
    nginx = deployment.load(path, strict=False)["nginx"]

    sources = {m.target: m.host_path for m in nginx.mounts}
    assert sources["/etc/nginx/nginx.conf"] == MAIN_CONFIG
    # The image renders /etc/nginx/templates/X.template into NGINX_ENVSUBST_OUTPUT_DIR/X,
    # which deploy/nginx/nginx.conf includes.
    rendered = nginx.environment["NGINX_ENVSUBST_OUTPUT_DIR"] + "/mediqueue.conf"
    assert sources["/etc/nginx/templates/mediqueue.conf.template"] == TEMPLATE
    assert "include mediqueue.conf;" in MAIN_CONFIG.read_text()
    assert rendered == "/etc/nginx/mediqueue.conf"
    assert deployment.read_env_file(PRODUCTION_VALUES).items() <= nginx.environment.items()
    assert nginx.argv == ("nginx",)
    # deploy/nginx/nginx.conf keeps its temporary files under temp/, a tmpfs in the container.
    assert nginx.tmpfs == ("/etc/nginx/temp",)
