"""The cluster's bench (``make cluster-bench``): what reading listings from the replicas costs
the bookings, and what it gives the listings, through both app nodes of the cluster.

The same cluster, the same hot slot, twice over: the app nodes as docker-compose.cluster.yml
defines them (listings from the replicas), then started again with ``DATABASE_REPLICA_URL``
empty (every listing from the leader), then as defined once more; each time wrk books a hot
slot (a new patient per request) through both nodes at once, then lists the crowd's slots
beside it. wrk talks to the nodes themselves, each request from an address of its own in
X-Forwarded-For (nginx would write its own), so the rate limits are paid and never reached.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from loadtests.bench.wrk import WrkResult, book_script, get_script, run_wrk
from loadtests.chaos.database import create_slots
from loadtests.cluster.topology import Topology, cluster

SECONDS = 10
CONNECTIONS_PER_NODE = 32
HOT_SEATS = 10_000_000


def cluster_bench(logs: Path, *, workers: int) -> int:
    with cluster(logs=logs, workers=workers) as topology:
        url = topology.database_url
        (hot,) = create_slots(url, doctor="Dr. Bench hot", count=1, seats=HOT_SEATS)
        listed = create_slots(url, doctor="Dr. Bench listed", count=50, seats=HOT_SEATS)
        doctor = _doctor_of(url, listed[0])
        figures: dict[str, list[tuple[float, float]]] = {"replicas": [], "leader only": []}
        for mode in ("replicas", "leader only", "replicas"):
            _configure(topology, replicas=mode == "replicas")
            booked = _on_both_nodes(topology, book_script(slot_id=hot, prefix=f"b{time.time_ns()}"))
            listing = _mixed(topology, hot, doctor)
            figures[mode].append((booked, listing))
            print(
                f"cluster bench ({mode}): hot slot {booked:.0f} bookings/s; "
                f"with bookings beside it, {listing:.0f} listings/s",
                flush=True,
            )
    leader = _mean(figures["leader only"])
    replicas = _mean(figures["replicas"])
    change = replicas[0] / leader[0] - 1 if leader[0] else 0.0
    passed = change >= -0.10
    outcome = "PASS" if passed else "FAIL: the hot slot fell by more than 10 %"
    print(
        f"cluster bench: hot slot leader-only={leader[0]:.0f}/s replicas={replicas[0]:.0f}/s "
        f"({change:+.0%}); listings beside bookings leader-only={leader[1]:.0f}/s "
        f"replicas={replicas[1]:.0f}/s {outcome}"
    )
    return 0 if passed else 1


def _configure(topology: Topology, *, replicas: bool) -> None:
    """The app nodes as defined, or started again with every listing on the leader."""
    if replicas:
        topology.nodes.local_env.pop("DATABASE_REPLICA_URL", None)
    else:
        topology.nodes.local_env["DATABASE_REPLICA_URL"] = ""
    for index in range(len(topology.nodes.services)):
        topology.nodes.restart(index)


def _on_both_nodes(topology: Topology, script: str) -> float:
    """Answers per second of ``script`` (201s for a booking one) through both nodes at once."""
    results = _run_on_nodes(topology, [script] * len(topology.nodes.ports))
    return sum(r.per_second_of(201) + r.per_second_of(200) for r in results)


def _mixed(topology: Topology, hot: int, doctor: int) -> float:
    """Listings per second on one node while the other books the hot slot."""
    ports = topology.nodes.ports
    scripts = [get_script(f"/api/slots?doctor={doctor}")] + [
        book_script(slot_id=hot, prefix=f"m{time.time_ns()}") for _ in ports[1:]
    ]
    return _run_on_nodes(topology, scripts)[0].per_second_of(200)


def _run_on_nodes(topology: Topology, scripts: list[str]) -> list[WrkResult]:
    ports = topology.nodes.ports
    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        runs = [
            pool.submit(
                run_wrk,
                f"http://127.0.0.1:{port}",
                script,
                connections=CONNECTIONS_PER_NODE,
                seconds=SECONDS,
            )
            for port, script in zip(ports, scripts, strict=True)
        ]
        return [run.result() for run in runs]


def _mean(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return tuple(sum(values) / len(values) for values in zip(*pairs, strict=True))


def _doctor_of(database_url: str, slot_id: int) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT doctor_id FROM slots_slot WHERE id = %s", [slot_id]).fetchone()[
            0
        ]
