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
# A switchover is scheduled this far after the crowd's start (its command must get through
# first); Patroni carries it out at its next loop after that.
SWITCHOVER_DUE_SECONDS = 15.0


@dataclass(frozen=True)
class Struck:
    at: float  # time.monotonic() once the fault is complete (a command: once it is issued)
    former_leader: str | None = None  # the member that led when the fault hit it
    restart_node: int | None = None  # the app node to start again afterwards


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


SCENARIOS = [
    Scenario("app-node-kill", 10, fault=kill_an_app_node),
    Scenario("leader-kill", 16, fault=kill_the_leader),
    Scenario("leader-freeze", FAULT_AFTER_SECONDS + FREEZE_SECONDS + 6, fault=freeze_the_leader),
    Scenario("switchover", SWITCHOVER_DUE_SECONDS + 10, fault=switch_over),
    Scenario("slow-clients", 10, slow_clients=50),
    Scenario("read-your-writes", 10, read_your_writes=True),
]
