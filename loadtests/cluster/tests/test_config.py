"""docker-compose.cluster.yml's services as the local cluster runs them: the same commands,
environment and files, with addresses on loopback, paths in the run's directory, and only the
local timings and foreground flags changed."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from loadtests.cluster import engines
from loadtests.cluster.config import (
    ARCHIVE_PARAMETERS,
    HAPROXY_CONFIG,
    PATRONI_CONFIG,
    dockerfile_env_names,
    patroni_image_env,
    run_variables,
    tune_patroni,
    tune_prometheus,
)
from loadtests.cluster.loopback import Loopback, ports_needed
from mediqueue import deployment


@pytest.fixture
def services():
    return deployment.load(deployment.CLUSTER, run_variables())


@pytest.fixture
def loopback(services, tmp_path):
    return Loopback.plan(services, range(9000, 9000 + ports_needed(services)), tmp_path)


def test_every_port_of_every_service_gets_a_port_of_its_own(services, loopback):
    assert sorted(loopback.ports.values()) == list(range(9000, 9000 + ports_needed(services)))
    assert loopback.port("pg2", 8008) != loopback.port("pg3", 8008)
    with pytest.raises(ValueError, match="pg1 exposes no port 9999"):
        loopback.port("pg1", 9999)


def test_addresses_move_to_loopback_and_paths_into_the_run(services, loopback, tmp_path):
    app = loopback.environment(services["app1"])
    member = loopback.environment(services["pg2"])

    haproxy = loopback.address("haproxy", 5000)
    assert app["DATABASE_URL"].split("@")[1] == f"{haproxy}/mediqueue?connect_timeout=3"
    assert app["REDIS_URL"] == f"redis://{loopback.address('redis', 6379)}/0"
    # The address nginx publishes on the machine is nginx's here.
    assert app["MEDIQUEUE_PUBLIC_URL"] == loopback.url("nginx", 80)
    assert app["MEDIQUEUE_MAIL_DIR"] == str(tmp_path / "volumes" / "mail")
    assert member["PATRONI_RESTAPI_LISTEN"] == loopback.address("pg2", 8008)
    assert member["PATRONI_POSTGRESQL_CONNECT_ADDRESS"] == loopback.address("pg2", 5432)
    assert member["PATRONI_ETCD3_HOSTS"] == loopback.address("etcd", 2379)


def test_no_address_of_a_container_is_left_in_what_the_local_cluster_runs(services, loopback):
    names = "|".join(services)
    for service in services.values():
        words = [*loopback.argv(service), *loopback.environment(service).values()]
        for word in words:
            assert "0.0.0.0" not in word, (service.name, word)
            assert not re.search(rf"(?<![\w.-])({names}):\d", word), word


def test_an_address_to_a_port_the_service_does_not_expose_is_refused(services, loopback):
    with pytest.raises(ValueError, match="haproxy exposes no port 5432"):
        loopback.text("postgres://haproxy:5432/x", services["app1"])


def test_engines_run_the_compose_command_plus_only_their_local_flags(services, loopback):
    for name in ("etcd", "haproxy", "redis", "prometheus"):
        service = services[name]

        command = engines.local_command(service, loopback, {})

        program = Path(service.argv[0]).name
        assert Path(command[0]).name == program
        flags = engines.LOCAL_FLAGS.get(program, lambda s, lb: [])(service, loopback)
        assert command[1:] == [*loopback.argv(service)[1:], *flags]


def test_the_app_image_runs_here_with_this_interpreter(services):
    command = deployment.local_app_command(services["worker2"])

    assert command[1:] == ["manage.py", "procrastinate", "worker"]
    assert Path(command[0]).name.startswith("python")


def test_patroni_keeps_the_deployments_settings_and_shortens_only_its_timings(tmp_path):
    deployed = yaml.safe_load(PATRONI_CONFIG.read_text())

    local = yaml.safe_load(tune_patroni(tmp_path)("patroni.yml", PATRONI_CONFIG.read_text()))

    dcs = local["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True
    assert dcs["ttl"] < deployed["bootstrap"]["dcs"]["ttl"]
    # Patroni's own rule for its timings.
    assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]
    assert local["postgresql"]["parameters"]["unix_socket_directories"] == str(tmp_path)
    local["bootstrap"]["dcs"] = deployed["bootstrap"]["dcs"]
    del local["postgresql"]["parameters"]["unix_socket_directories"]
    # PostgreSQL 18's members run without the WAL archive (Debian's pgBackRest stops at 15).
    assert "recovery_conf" not in local["postgresql"]
    local["postgresql"]["recovery_conf"] = deployed["postgresql"]["recovery_conf"]
    assert local == deployed


def test_the_drills_members_archive_as_deployed_and_the_others_not_at_all(tmp_path):
    deployed = yaml.safe_load(PATRONI_CONFIG.read_text())
    parameters = deployed["bootstrap"]["dcs"]["postgresql"]["parameters"]

    local = yaml.safe_load(tune_patroni(tmp_path)("patroni.yml", PATRONI_CONFIG.read_text()))
    drill = yaml.safe_load(
        tune_patroni(tmp_path, archive=True)("patroni.yml", PATRONI_CONFIG.read_text())
    )

    assert parameters["archive_command"].startswith("pgbackrest --stanza=mediqueue archive-push")
    assert not set(ARCHIVE_PARAMETERS) & set(local["bootstrap"]["dcs"]["postgresql"]["parameters"])
    assert {
        name: drill["bootstrap"]["dcs"]["postgresql"]["parameters"][name]
        for name in ARCHIVE_PARAMETERS
    } == {name: parameters[name] for name in ARCHIVE_PARAMETERS}
    assert drill["postgresql"]["recovery_conf"] == deployed["postgresql"]["recovery_conf"]


def test_each_member_gets_here_what_its_image_sets_and_passwords_only_from_the_environment(
    services, loopback, tmp_path
):
    local = patroni_image_env(member_dir=tmp_path, bin_dir=tmp_path / "bin")

    def keys(node) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for value in node.values() for k in keys(value)}
        return set()

    assert set(local) == dockerfile_env_names()
    assert "password" not in keys(yaml.safe_load(PATRONI_CONFIG.read_text()))
    env = loopback.environment(services["pg1"])
    assert env["PATRONI_NAME"] == "pg1"
    assert len(env["PATRONI_SUPERUSER_PASSWORD"]) >= 24


def test_mounted_files_are_copied_with_their_addresses_moved(services, loopback):
    copies = loopback.copy_mounts(services["prometheus"], tune=tune_prometheus)

    config = yaml.safe_load((copies["/etc/prometheus/prometheus.yml"]).read_text())
    targets = copies["/etc/prometheus/targets"]
    apps = json.loads((targets / "mediqueue.json").read_text())[0]["targets"]
    members = json.loads((targets / "patroni.json").read_text())[0]["targets"]
    assert config["global"]["scrape_interval"] == "1s"
    assert apps == [loopback.address("app1", 8000), loopback.address("app2", 8000)]
    assert members == [loopback.address(f"pg{n}", 8008) for n in (1, 2, 3)]
    command = engines.local_command(services["prometheus"], loopback, copies)
    assert f"--config.file={copies['/etc/prometheus/prometheus.yml']}" in command


def test_a_folder_of_mounted_files_is_the_folder_of_their_copies(services, loopback):
    """`patroni /etc/patroni` would read every file mounted there (Patroni merges them)."""
    copies = loopback.copy_mounts(services["pg1"])

    folder = copies["/etc/patroni"]
    pg1 = services["pg1"]
    assert (folder / "patroni.yml").read_text() == loopback.text(PATRONI_CONFIG.read_text(), pg1)
    assert loopback.text("/etc/patroni", services["pg1"], paths=copies) == str(folder)


def test_the_deployments_targets_name_every_app_node_and_member(services):
    """Prometheus's target files are a list of the topology's nodes: one more node in the
    compose file and not in them fails here."""
    targets = Path(HAPROXY_CONFIG).parents[1] / "prometheus" / "cluster"
    apps = json.loads((targets / "mediqueue.json").read_text())[0]["targets"]
    members = json.loads((targets / "patroni.json").read_text())[0]["targets"]

    assert apps == [f"{s.name}:8000" for s in services.values() if s.argv[:1] == ("gunicorn",)]
    assert members == [f"{s.name}:8008" for s in services.values() if s.role == "pg"]


@pytest.mark.skipif(not shutil.which("haproxy", path="/usr/sbin:/usr/bin"), reason="no haproxy")
def test_haproxy_accepts_its_file_with_the_local_addresses(services, loopback):
    haproxy = services["haproxy"]
    copies = loopback.copy_mounts(haproxy)

    result = subprocess.run(
        [*engines.local_command(haproxy, loopback, copies), "-c"],
        env={**os.environ, **loopback.environment(haproxy)},
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_haproxy_reads_exactly_the_addresses_its_service_sets(services):
    wanted = {
        name.strip('"${}')
        for line in HAPROXY_CONFIG.read_text().splitlines()
        if not line.lstrip().startswith("#")
        for name in line.split()
        if name.startswith('"${')
    }

    assert wanted == set(services["haproxy"].environment)
