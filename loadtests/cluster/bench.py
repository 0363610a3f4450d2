"""The cluster's bench (``make cluster-bench``): what reading listings from the replicas costs
the bookings, and what it gives the listings, through both app nodes of the cluster.

The same cluster, the same hot slot: the app nodes started with ``DATABASE_REPLICA_URL``
empty (every listing from the leader), then as docker-compose.cluster.yml defines them
(listings from the replicas), alternating, twice each. Each time, after a warm-up, wrk books
a hot slot (a new patient per request) through both nodes at once, then lists slots on one node
while the other books, and the leader's PostgreSQL CPU is read meanwhile. wrk talks to the
nodes themselves, each request from an address of its own in X-Forwarded-For (nginx would
write its own), so the rate limits are paid and never reached.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from loadtests.bench.wrk import WrkResult, book_script, get_script, run_wrk
from loadtests.chaos.database import create_slots
from loadtests.cluster.topology import Topology, cluster

SECONDS = 10
WARMUP_SECONDS = 3
ROUNDS = 2
CONNECTIONS_PER_NODE = 32
HOT_SEATS = 10_000_000


def cluster_bench(logs: Path, *, workers: int) -> int:
    with cluster(logs=logs, workers=workers) as topology:
        url = topology.database_url
        (hot,) = create_slots(url, doctor="Dr. Bench hot", count=1, seats=HOT_SEATS)
        listed = create_slots(url, doctor="Dr. Bench listed", count=50, seats=HOT_SEATS)
        doctor = _doctor_of(url, listed[0])
        figures: dict[str, list[tuple[float, ...]]] = {"replicas": [], "leader only": []}
        # Alternating, so that a neighbour's load on this shared machine falls on both alike.
        for mode in ("leader only", "replicas") * ROUNDS:
            _configure(topology, replicas=mode == "replicas")
            # Fresh nodes: their connections, prepared statements and caches warm first.
            _run_on_nodes(
                topology,
                [book_script(slot_id=hot, prefix=f"w{time.time_ns()}")] * len(topology.nodes.ports),
                seconds=WARMUP_SECONDS,
            )
            booked = _on_both_nodes(topology, book_script(slot_id=hot, prefix=f"b{time.time_ns()}"))
            listing, leader_ms = _mixed(topology, hot, doctor)
            figures[mode].append((booked, listing, leader_ms))
            print(
                f"cluster bench ({mode}): hot slot {booked:.0f} bookings/s; "
                f"with bookings beside it, {listing:.0f} listings/s, "
                f"the leader's CPU {leader_ms:.2f} ms per answer",
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
        f"replicas={replicas[1]:.0f}/s; the leader's CPU per answer meanwhile "
        f"leader-only={leader[2]:.2f} ms replicas={replicas[2]:.2f} ms {outcome}"
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


def _mixed(topology: Topology, hot: int, doctor: int) -> tuple[float, float]:
    """Listings per second on one node while the other books the hot slot, and the CPU the
    leader's PostgreSQL spent per listing and booking answered meanwhile (ms)."""
    ports = topology.nodes.ports
    scripts = [get_script(f"/api/slots?doctor={doctor}")] + [
        book_script(slot_id=hot, prefix=f"m{time.time_ns()}") for _ in ports[1:]
    ]
    leader = topology.members.leader()
    before = _cpu_seconds(leader.postgres_pids())
    results = _run_on_nodes(topology, scripts)
    spent = _cpu_seconds(leader.postgres_pids()) - before
    answered = sum(r.count(200) + r.count(201) for r in results)
    return results[0].per_second_of(200), 1000 * spent / answered if answered else 0.0


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these processes so far (a backend that ended meanwhile is lost:
    the app keeps its connections, so few do)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _run_on_nodes(
    topology: Topology, scripts: list[str], *, seconds: float = SECONDS
) -> list[WrkResult]:
    ports = topology.nodes.ports
    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        runs = [
            pool.submit(
                run_wrk,
                f"http://127.0.0.1:{port}",
                script,
                connections=CONNECTIONS_PER_NODE,
                seconds=seconds,
            )
            for port, script in zip(ports, scripts, strict=True)
        ]
        return [run.result() for run in runs]


def _mean(rows: list[tuple[float, ...]]) -> tuple[float, ...]:
    return tuple(sum(values) / len(values) for values in zip(*rows, strict=True))


def _doctor_of(database_url: str, slot_id: int) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT doctor_id FROM slots_slot WHERE id = %s", [slot_id]).fetchone()[
            0
        ]
