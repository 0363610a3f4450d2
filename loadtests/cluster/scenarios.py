"""The cluster's scenarios: what each one does to the cluster while the crowd books.

A fault runs in the main thread while the crowd's threads book through nginx: it waits for its
moment (``Clock``), strikes, and says when (``Struck.at``) and which leader it hit, if any, so
that the verdict can time the failover and check that the former leader came back as a replica.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from loadtests.chaos.scenarios import Clock
from loadtests.cluster.config import LOCAL_TIMINGS
from loadtests.cluster.topology import Topology

# Early in the crowd, once every node and connection is warm.
FAULT_AFTER_SECONDS = 3.0
# Longer than the leader key's ttl: the frozen leader loses its key while it cannot answer.
FREEZE_SECONDS = LOCAL_TIMINGS["ttl"] + 4
# How long a replica stays frozen: past HAProxy's checks (out within about a second), short of
# anything Patroni would act on for a replica.
REPLICA_FREEZE_SECONDS = 6.0
# A switchover is scheduled this far after the crowd's start (its command must get through
# first); Patroni carries it out at its next loop after that.
SWITCHOVER_DUE_SECONDS = 15.0


@dataclass(frozen=True)
class Struck:
    at: float  # time.monotonic() once the fault is complete (a command: once it is issued)
    former_leader: str | None = None  # the member that led when the fault hit it
    restart_node: int | None = None  # the app node to start again afterwards
    struck_replica: str | None = None  # a replica that must be back as one afterwards


def kill_an_app_node(topology: Topology, clock: Clock) -> Struck:
    """SIGKILL one gunicorn master and its workers; nginx sends the crowd to the other."""
    clock.sleep_until(FAULT_AFTER_SECONDS)
    topology.nodes.kill(0)
    # Once every process of the node has its SIGKILL (finding them takes milliseconds).
    return Struck(time.monotonic(), restart_node=0)


def kill_the_leader(topology: Topology, clock: Clock) -> Struck:
    """SIGKILL the leader's PostgreSQL: Patroni promotes the synchronous standby rather than
    restarting it (primary_start_timeout 0), and brings the old one back as a replica."""
    clock.sleep_until(FAULT_AFTER_SECONDS)
    leader = _leader(topology)
    topology.members.kill_postgres(leader)
    return Struck(time.monotonic(), former_leader=leader.name)


def freeze_the_leader(topology: Topology, clock: Clock) -> Struck:
    """SIGSTOP the leader's Patroni and PostgreSQL for longer than the ttl, then SIGCONT: its
    key expires meanwhile, the synchronous standby takes over, and the old leader, waking up,
    must find it is no longer leader and rejoin as a replica."""
    clock.sleep_until(FAULT_AFTER_SECONDS)
    leader = _leader(topology)
    with topology.members.frozen(leader) as at:
        time.sleep(FREEZE_SECONDS)
    return Struck(at, former_leader=leader.name)


def switch_over(topology: Topology, clock: Clock) -> Struck:
    """``patronictl switchover`` to the synchronous standby, as an operator does before
    maintenance: scheduled for a set moment (``--scheduled``), so that the failover is timed
    from when it was due, not from whenever the command got through on a busy machine (the
    Python CLI reading etcd took up to 10 s here under the crowd)."""
    leader = _leader(topology)
    candidate = topology.members.sync_standby()
    if candidate is None:
        raise RuntimeError(
            f"no synchronous standby to switch over to: {topology.members.describe()}"
        )
    due = datetime.now(UTC) + timedelta(seconds=SWITCHOVER_DUE_SECONDS)
    result = topology.members.patronictl(
        "switchover",
        "--leader",
        leader.name,
        "--candidate",
        candidate.name,
        "--scheduled",
        due.isoformat(),
        "--force",
    )
    if result.returncode != 0:
        raise RuntimeError(f"patronictl switchover failed:\n{result.stdout}\n{result.stderr}")
    clock.sleep_until(SWITCHOVER_DUE_SECONDS)
    return Struck(clock.started + SWITCHOVER_DUE_SECONDS, former_leader=leader.name)


def freeze_then_restart_a_replica(topology: Topology, clock: Clock) -> Struck:
    """SIGSTOP the asynchronous replica (Patroni and PostgreSQL) for a few seconds, as a machine
    that stops answering, then, once it streams again, SIGKILL its PostgreSQL, which Patroni
    starts again: the listings its connections were serving go to the leader or the other
    replica meanwhile. The synchronous standby is left alone: every commit waits for it, so
    its faults are the write path's (leader-kill, switchover), not the listings'."""
    clock.sleep_until(FAULT_AFTER_SECONDS)
    replica = _async_replica(topology)
    with topology.members.frozen(replica) as at:
        time.sleep(REPLICA_FREEZE_SECONDS)
    deadline = time.monotonic() + 20
    while topology.members.state_of(replica.name) != "streaming":
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{replica.name} did not stream again: {topology.members.describe()}"
            )
        time.sleep(0.2)
    topology.members.kill_postgres(replica)
    return Struck(at, struck_replica=replica.name)


def _async_replica(topology: Topology):
    name = next((m["name"] for m in topology.members.cluster() if m.get("role") == "replica"), None)
    if name is None:
        raise RuntimeError(f"no asynchronous replica to strike: {topology.members.describe()}")
    return topology.members[name]


def _leader(topology: Topology):
    leader = topology.members.leader()
    if leader is None:
        raise RuntimeError(f"no leader to strike: {topology.members.describe()}")
    return leader


@dataclass(frozen=True)
class Scenario:
    name: str
    seconds: float  # how long the crowd books
    fault: Callable[[Topology, Clock], Struck] | None = None
    slow_clients: int = 0  # slow-header clients through nginx beside the crowd
    read_your_writes: bool = False  # book on one node, list on the other, in a loop
    # Browsers listing beside the crowd, patients re-reading after each 201 and cancel through
    # the other node; the share of listings the replicas served.
    replica_reads: bool = False


SCENARIOS = [
    Scenario("app-node-kill", 10, fault=kill_an_app_node),
    Scenario("leader-kill", 16, fault=kill_the_leader),
    Scenario("leader-freeze", FAULT_AFTER_SECONDS + FREEZE_SECONDS + 6, fault=freeze_the_leader),
    Scenario("switchover", SWITCHOVER_DUE_SECONDS + 10, fault=switch_over),
    Scenario("slow-clients", 10, slow_clients=50),
    Scenario("read-your-writes", 10, read_your_writes=True),
    Scenario("replica-reads", 12, replica_reads=True),
    Scenario(
        "replica-faults",
        FAULT_AFTER_SECONDS + REPLICA_FREEZE_SECONDS + 10,
        fault=freeze_then_restart_a_replica,
        replica_reads=True,
    ),
]
