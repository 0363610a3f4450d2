"""deploy/'s configurations as the local cluster renders them: the same files, with local
timings and addresses only."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from loadtests.cluster.config import (
    HAPROXY_CONFIG,
    PATRONI_CONFIG,
    Ports,
    haproxy_env,
    patroni_config,
    patroni_env,
    ports_needed,
    prometheus_files,
)

PORTS = Ports.from_list(list(range(9000, 9000 + ports_needed())))


def test_ports_are_dealt_out_once_each():
    dealt = [
        PORTS.etcd_client,
        PORTS.etcd_peer,
        *(port for m in PORTS.members for port in (m.postgres, m.api)),
        PORTS.haproxy_leader,
        PORTS.haproxy_replicas,
        *PORTS.apps,
        PORTS.nginx,
        PORTS.prometheus,
        PORTS.redis,
    ]

    assert sorted(dealt) == list(range(9000, 9000 + ports_needed()))
    assert [m.name for m in PORTS.members] == ["pg1", "pg2", "pg3"]


def test_patroni_keeps_the_deployments_settings_and_shortens_only_its_timings(tmp_path):
    deployed = yaml.safe_load(PATRONI_CONFIG.read_text())

    local = patroni_config(socket_dir=tmp_path)

    dcs = local["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True
    assert dcs["ttl"] < deployed["bootstrap"]["dcs"]["ttl"]
    # Patroni's own rule for its timings.
    assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]
    assert local["postgresql"]["parameters"]["unix_socket_directories"] == str(tmp_path)
    local["bootstrap"]["dcs"] = deployed["bootstrap"]["dcs"]
    del local["postgresql"]["parameters"]["unix_socket_directories"]
    assert local == deployed


def test_no_password_is_in_the_patroni_file_only_in_each_members_environment(tmp_path):
    member = PORTS.members[1]

    env = patroni_env(
        member,
        data_dir=tmp_path / "data",
        bin_dir=tmp_path / "bin",
        etcd_client=PORTS.etcd_client,
        superuser_password="s3cret-1",
        replication_password="s3cret-2",
    )

    def keys(node) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for value in node.values() for k in keys(value)}
        return set()

    assert "password" not in keys(yaml.safe_load(PATRONI_CONFIG.read_text()))
    assert env["PATRONI_NAME"] == "pg2"
    assert env["PATRONI_POSTGRESQL_LISTEN"] == f"127.0.0.1:{member.postgres}"
    assert env["PATRONI_RESTAPI_LISTEN"] == f"127.0.0.1:{member.api}"
    assert env["PATRONI_SUPERUSER_PASSWORD"] == "s3cret-1"


@pytest.mark.skipif(not shutil.which("haproxy", path="/usr/sbin:/usr/bin"), reason="no haproxy")
def test_haproxy_accepts_its_file_with_the_local_addresses():
    haproxy = shutil.which("haproxy", path="/usr/sbin:/usr/bin")

    result = subprocess.run(
        [haproxy, "-c", "-f", str(HAPROXY_CONFIG)],
        env={**os.environ, **haproxy_env(PORTS)},
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_haproxy_names_every_address_it_reads():
    wanted = {
        name.strip('"${}')
        for line in HAPROXY_CONFIG.read_text().splitlines()
        if not line.lstrip().startswith("#")
        for name in line.split()
        if name.startswith('"${')
    }

    assert wanted == set(haproxy_env(PORTS))


def test_prometheus_scrapes_every_app_node_and_member_more_often_locally():
    files = prometheus_files(PORTS)

    config = yaml.safe_load(files["prometheus.yml"])
    apps = json.loads(files["targets/mediqueue.json"])[0]["targets"]
    members = json.loads(files["targets/patroni.json"])[0]["targets"]
    assert config["global"]["scrape_interval"] == "1s"
    assert apps == [f"127.0.0.1:{port}" for port in PORTS.apps]
    assert members == [f"127.0.0.1:{m.api}" for m in PORTS.members]
    # The deployment's own target files sit where the same configuration looks for them.
    deployed = Path(PATRONI_CONFIG).parents[1] / "prometheus"
    for job in config["scrape_configs"]:
        for pattern in job["file_sd_configs"][0]["files"]:
            assert (deployed / pattern).exists()
