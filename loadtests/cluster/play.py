"""Playing one cluster scenario: the crowd through nginx with the fault meanwhile, the former
leader's return, a burst of fresh bookings, then the leader's word on every booking."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

from loadtests.chaos import clients
from loadtests.chaos.database import create_slots, slot_counts, stored_bookings
from loadtests.chaos.scenarios import Clock, Waves
from loadtests.chaos.slow_clients import slow_clients
from loadtests.cluster import replica_reads
from loadtests.cluster.patroni import REPLICA_ROLES, Members
from loadtests.cluster.reads import ReadYourWrites
from loadtests.cluster.scenarios import Scenario, Struck
from loadtests.cluster.topology import Topology
from loadtests.cluster.verdict import ClusterEvidence, ClusterVerdict, judge
from loadtests.harness import manage, patient_loopback_address

# One patient every PROBE_SECONDS books a slot that never fills: the first 201 after a fault is
# then seen within that much of the moment bookings work again, whatever the crowd's waves do.
PROBE_SECONDS = 0.05
PROBE_SEATS = 100_000
RECOVERY_BOOKINGS = 24
REJOIN_SECONDS = 60
# The replica scenarios: patients re-reading their own slot, and browsers listing, beside the crowd.
REREADING_PATIENTS = 4
BROWSERS = 4


def play(
    topology: Topology, scenario: Scenario, patients: clients.PatientIds, args
) -> ClusterVerdict:
    url = topology.database_url
    waves_count = max(1, round(scenario.seconds / args.wave_seconds))
    doctor = f"Dr. Cluster ({scenario.name})"
    slot_ids = create_slots(
        url, doctor=doctor, count=waves_count * args.slots_per_wave, seats=args.seats
    )
    probe_slot = create_slots(url, doctor=f"{doctor} probe", count=1, seats=PROBE_SEATS)
    waves = Waves(slot_ids, args.slots_per_wave, args.wave_seconds)
    port = topology.nginx_port

    def crowd(elapsed: float) -> clients.Outcome:
        return book_through_nginx(port, patients.next("crowd"), waves.slot_for(elapsed))

    def probe(elapsed: float) -> clients.Outcome:
        outcome = book_through_nginx(port, patients.next("probe"), probe_slot[0])
        time.sleep(PROBE_SECONDS)
        return outcome

    loads = [(args.clients, crowd), (1, probe)]
    extra_slots: list[int] = []
    checker = None
    if scenario.read_your_writes:
        extra_slots = create_slots(url, doctor=f"{doctor} reads", count=2, seats=PROBE_SEATS)
        checker = ReadYourWrites(
            topology.nodes.ports, extra_slots, _doctor_of(url, extra_slots[0]), patients
        )
        loads.append((2, checker.one))

    side_loads = []
    reread = browsers = None
    if scenario.replica_reads:
        reread_slots = create_slots(
            url, doctor=f"{doctor} re-reads", count=REREADING_PATIENTS, seats=PROBE_SEATS
        )
        extra_slots += reread_slots
        reread = replica_reads.ReplicaReadsChecker(
            topology.nodes.ports, reread_slots, _doctor_of(url, reread_slots[0]), patients
        )
        browsers = replica_reads.Browsers(port, _doctor_of(url, slot_ids[0]), slot_ids)
        side_loads = [(REREADING_PATIENTS, reread.one), (BROWSERS, browsers.one)]
        read_before = replica_reads.listing_reads(topology.nodes.ports)

    clock = Clock()
    slow = (
        slow_clients(
            topology.nginx_url,
            slow_header=scenario.slow_clients,
            short_body=0,
            seconds=scenario.seconds,
        )
        if scenario.slow_clients
        else nullcontext()
    )
    with slow:
        outcomes, struck = _under_load(loads, scenario, topology, clock, side_loads)

    rejoined = _aftermath(topology, struck)
    listings = fallbacks = None
    listing_errors = 0
    if reread is not None:
        read_after = replica_reads.listing_reads(topology.nodes.ports)
        listings = dict(read_after[0] - read_before[0])
        fallbacks = dict(read_after[1] - read_before[1])
        outcomes += reread.bookings()
        listing_errors = reread.errors + sum(browsers.failures.values())
    recovery_slot = create_slots(url, doctor=f"{doctor} recovery", count=1, seats=RECOVERY_BOOKINGS)
    outcomes += _recovery_burst(port, recovery_slot[0], patients)
    every_slot = slot_ids + probe_slot + extra_slots + recovery_slot
    _keep(topology, scenario, outcomes, struck)
    return judge(
        ClusterEvidence(
            name=scenario.name,
            outcomes=outcomes,
            stored=stored_bookings(url, every_slot),
            slots=slot_counts(url, every_slot),
            invariants_hold=manage(topology.env, "check_bookings", check=False).returncode == 0,
            fault_at=struck.at if struck else None,
            rejoined=rejoined,
            stale_reads=checker.stale if checker else (reread.stale if reread else None),
            listings=listings,
            fallbacks=fallbacks,
            listing_errors=listing_errors,
        )
    )


def _under_load(loads, scenario: Scenario, topology: Topology, clock: Clock, side_loads=()):
    """Every load in threads of its own for the scenario's seconds; the fault here meanwhile.
    ``side_loads`` keep their own counts (replica_reads), the others' answers are returned."""
    with ThreadPoolExecutor(max_workers=len(loads) + len(side_loads)) as pool:
        running = [
            pool.submit(clients.run_for, scenario.seconds, threads, request, started=clock.started)
            for threads, request in loads
        ]
        beside = [
            pool.submit(
                replica_reads.run_for, scenario.seconds, threads, one, started=clock.started
            )
            for threads, one in side_loads
        ]
        struck = scenario.fault(topology, clock) if scenario.fault else None
        outcomes = [outcome for future in running for outcome in future.result()]
        for future in beside:
            future.result()
    return outcomes, struck


def _keep(topology: Topology, scenario: Scenario, outcomes, struck: Struck | None) -> None:
    """Every answer, timed from the fault, beside the engines' logs: what a failed line is
    read against."""
    origin = struck.at if struck else (min(o.sent_at for o in outcomes) if outcomes else 0)
    rows = [
        {
            "kind": o.kind,
            "status": o.status,
            "code": o.code,
            "sent": round(o.sent_at - origin, 3),
            "answered": round(o.answered_at - origin, 3),
        }
        for o in sorted(outcomes, key=lambda o: o.sent_at)
    ]
    path = topology.logs / f"{scenario.name}-answers.json"
    path.write_text(json.dumps({"fault_at": 0 if struck else None, "answers": rows}))


def _aftermath(topology: Topology, struck: Struck | None) -> bool | None:
    """Start a killed app node again; wait for a struck leader to rejoin as a replica."""
    if struck is None:
        return None
    if struck.restart_node is not None:
        topology.nodes.restart(struck.restart_node)
    member = struck.former_leader or struck.struck_replica
    if member is None:
        return None
    return wait_rejoined(topology.members, member, REJOIN_SECONDS)


def wait_rejoined(members: Members, former_leader: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if members.healthy() and members.role_of(former_leader) in REPLICA_ROLES:
            return True
        time.sleep(0.5)
    return False


def book_through_nginx(
    port: int, user_id: str, slot_id: int, *, kind: str = "crowd"
) -> clients.Outcome:
    """A patient's booking through nginx, from the patient's own loopback address: nginx puts
    that address in X-Forwarded-For, so the per-client rate limit counts each patient apart."""
    return clients.book(
        "127.0.0.1",
        port,
        user_id,
        slot_id,
        kind=kind,
        timeout=clients.PATIENT_TIMEOUT_SECONDS,
        source=patient_loopback_address(user_id),
    )


def _recovery_burst(port: int, slot_id: int, patients) -> list[clients.Outcome]:
    def one(_: int) -> clients.Outcome:
        return book_through_nginx(port, patients.next("recovery"), slot_id, kind="recovery")

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(RECOVERY_BOOKINGS)))


def _doctor_of(database_url: str, slot_id: int) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT doctor_id FROM slots_slot WHERE id = %s", [slot_id]).fetchone()[
            0
        ]
