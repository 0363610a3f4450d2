"""The cluster's booking-queue scenario (``make cluster-test``, ``--only queue``): a crowd
queues bookings of one slot through nginx and both app nodes while node 1's allocator is killed
(node 2's takes its queues over: each has a single active consumer) and one RabbitMQ node of
three restarts (the quorum queues go on with two). Then, as in chaos's queue phase: every
accepted ticket decided (lost=0), nothing booked twice, first come first served."""

from __future__ import annotations

import os
import signal
from contextlib import suppress

from loadtests.chaos.clients import PatientIds
from loadtests.chaos.database import create_slots
from loadtests.chaos.queue import post_queued, queue_crowd, queue_evidence, wait_until_decided
from loadtests.chaos.queue_verdict import QueueVerdict, judge_queue
from loadtests.cluster.topology import Topology
from loadtests.harness import manage, patient_loopback_address

SECONDS = 12.0
SEATS = 100


def play_queue(topology: Topology, patients: PatientIds, *, clients: int) -> QueueVerdict:
    if topology.rabbit is None:
        raise RuntimeError("the cluster has no RabbitMQ nodes (rabbit1..3 in the compose file)")
    (slot_id,) = create_slots(
        topology.database_url, doctor="Dr. Cluster (queue)", count=1, seats=SEATS
    )
    port = topology.nginx_port
    killed: list[str] = []

    def post() -> tuple[str, str | None]:
        user_id = patients.next("queue")
        return post_queued(
            "127.0.0.1", port, user_id, slot_id, source=patient_loopback_address(user_id)
        )

    def fault() -> None:
        for process in topology.nodes.others[0]:
            if "allocate" in process.args:
                with suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                killed.append("killed")
        topology.rabbit.restart(0)

    answers, accepted = queue_crowd(post, clients=clients, seconds=SECONDS, fault=fault)
    wait_until_decided(topology.database_url, accepted)
    return judge_queue(
        queue_evidence(
            topology.database_url,
            slot_id,
            seats=SEATS,
            answers=answers,
            accepted=accepted,
            crashes=tuple(killed),
            broker_restarts=1,
            invariants_hold=manage(topology.env, "check_bookings", check=False).returncode == 0,
            expected_crashes=("killed",),
            name="cluster queue",
        )
    )
