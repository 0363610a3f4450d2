"""Playing one chaos scenario: its flash crowd with the faults injected meanwhile, then the
recovery burst, the retries of bookings nobody heard about, and the evidence for the verdict."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from loadtests.chaos import clients
from loadtests.chaos.database import create_slots, slot_counts, stored_bookings
from loadtests.chaos.scenarios import Clock, Fault, Run, Scenario, Waves
from loadtests.chaos.verdict import Evidence, StoredBooking, Verdict, judge
from loadtests.harness import manage

RECOVERY_BOOKINGS = 24
RECOVERY_TIMEOUT_SECONDS = 30


def run_scenario(run: Run, scenario: Scenario) -> Verdict:
    args, service = run.args, run.service
    wave_count = max(1, round(args.seconds / args.wave_seconds))
    slot_ids = create_slots(
        run.database_url,
        doctor=f"Dr. Chaos ({scenario.name})",
        count=wave_count * args.slots_per_wave,
        seats=args.seats,
    )
    waves = Waves(slot_ids, args.slots_per_wave, args.wave_seconds)

    def crowd_request(elapsed: float) -> clients.Outcome:
        return clients.book(
            service.host,
            service.port,
            run.patients.next("crowd"),
            waves.slot_for(elapsed),
            kind="crowd",
            timeout=clients.PATIENT_TIMEOUT_SECONDS,
        )

    def misbehaving_request(elapsed: float) -> clients.Outcome:
        user_id = run.patients.next("gone")
        return clients.misbehaving_request(
            service.host, service.port, user_id, waves.slot_for(elapsed)
        )

    loads = [(args.clients, crowd_request)]
    if scenario.misbehaving_clients:
        loads.append((scenario.misbehaving_clients, misbehaving_request))
    faults = scenario.before_crowd(run) if scenario.before_crowd else []
    clock = Clock()
    outcomes, during_crowd = _while_loaded(
        loads, args.seconds, clock, lambda: scenario.inject(run, waves, clock)
    )
    faults += during_crowd
    misbehaving = sum(1 for o in outcomes if o.kind != "crowd")

    ready = service.ready_within(RECOVERY_TIMEOUT_SECONDS)
    recovery_slot = create_slots(
        run.database_url,
        doctor=f"Dr. Recovery ({scenario.name})",
        count=1,
        seats=RECOVERY_BOOKINGS,
    )
    all_slots = slot_ids + recovery_slot
    if ready:
        outcomes += _recovery_burst(run, recovery_slot[0])
    stored = stored_bookings(run.database_url, all_slots)
    if ready:
        outcomes += _retry_unacknowledged(run, outcomes, stored)
    return judge(
        Evidence(
            name=scenario.name,
            faults=len(faults) + misbehaving,
            outcomes=outcomes,
            stored=stored,
            slots=slot_counts(run.database_url, all_slots),
            invariants_hold=manage(run.env, "check_bookings", check=False).returncode == 0,
            ready_after=ready,
            database_away=[(f.started, f.ended) for f in faults if f.database_away],
        )
    )


def _while_loaded(loads, seconds: float, clock: Clock, inject: Callable[[], list[Fault]]):
    """Run every load for ``seconds`` in background threads while ``inject`` runs here."""
    results: list[list[clients.Outcome]] = [[] for _ in loads]

    def drive(index: int, threads: int, one_request) -> None:
        results[index] = clients.run_for(seconds, threads, one_request, started=clock.started)

    drivers = [
        threading.Thread(target=drive, args=(i, threads, request), daemon=True)
        for i, (threads, request) in enumerate(loads)
    ]
    for driver in drivers:
        driver.start()
    faults = inject()
    for driver in drivers:
        driver.join()
    return [outcome for result in results for outcome in result], faults


def _recovery_burst(run: Run, slot_id: int) -> list[clients.Outcome]:
    """Fresh bookings from several clients at once, so that every worker serves some of them:
    a worker left holding a dead database connection would show up here as a 5xx."""
    service = run.service

    def one(_: int) -> clients.Outcome:
        return clients.book(
            service.host,
            service.port,
            run.patients.next("recovery"),
            slot_id,
            kind="recovery",
            timeout=clients.PATIENT_TIMEOUT_SECONDS,
        )

    with ThreadPoolExecutor(max_workers=2 * run.args.workers) as pool:
        return list(pool.map(one, range(RECOVERY_BOOKINGS)))


def _retry_unacknowledged(
    run: Run, outcomes: list[clients.Outcome], stored: dict[str, StoredBooking]
) -> list[clients.Outcome]:
    """Book once more for each patient whose seat was committed but whose answer was lost, as
    their app would: the answer must be a 409 (already booked, or full), never a second seat."""
    told = {o.reference for o in outcomes if o.acknowledged}
    unacknowledged = [
        b for b in stored.values() if b.status == "CONFIRMED" and b.reference not in told
    ]
    return [
        clients.book(
            run.service.host,
            run.service.port,
            booking.user_id,
            booking.slot_id,
            kind="retry",
            timeout=clients.PATIENT_TIMEOUT_SECONDS,
        )
        for booking in unacknowledged
    ]
