"""``make cluster``: the cluster test's topology, for use by hand, until Ctrl+C."""

from __future__ import annotations

import signal
from pathlib import Path

from loadtests.cluster.topology import cluster
from loadtests.harness import manage


def serve(logs: Path, *, workers: int) -> int:
    with cluster(logs=logs, workers=workers) as topology:
        env = topology.env
        manage(env, "collectstatic_if_changed")
        manage(env, "seed_demo")
        # Prints the admin's password, once: the account lives only as long as this cluster.
        print(manage(env, "ensure_admin").stdout.strip())
        members = topology.members.patronictl("list")
        base = topology.nginx_url
        print(
            "\nMediQueue cluster is up (production settings, DEBUG off):"
            f"\n  Entry       {base}/            (nginx -> app nodes "
            + ", ".join(server.base_url for server in topology.nodes.servers)
            + ")"
            f"\n  API         {base}/api/slots"
            f"\n  Admin       {base}/admin/      (user admin, password above)"
            f"\n  Prometheus  {topology.prometheus_url}/graph"
            f"\n  Database    HAProxy leader port {topology.loopback.port('haproxy', 5000)}, "
            f"replicas {topology.loopback.port('haproxy', 5001)}"
            f"\n  Logs        {logs}"
            f"\n  patronictl  .venv/bin/patronictl -c {topology.root / 'patronictl.yml'} list"
            f"\n\n{members.stdout}"
            "Ctrl+C stops everything, in order.",
            flush=True,
        )
        try:
            signal.pause()
        except KeyboardInterrupt:
            print(
                "\ncluster: stopping nginx, the app nodes, HAProxy, Patroni, etcd ...", flush=True
            )
    return 0
