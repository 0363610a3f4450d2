"""MediQueue chaos: faults during flash crowds, then proof that nothing acknowledged was lost.

    python -m loadtests.chaos [--only NAME] [--seconds N] ...   (or: make chaos)

Starts a throwaway PostgreSQL cluster in a temporary directory (never the machine's, never the
checkout's), migrates it, serves MediQueue from it with the project's gunicorn config in
production mode on 127.0.0.1, and runs each scenario against it:

  worker-kills        SIGKILL a gunicorn worker several times during a flash crowd
  db-restart          restart PostgreSQL (pg_ctl restart -m fast) while the service is idle,
                      then twice during a flash crowd
  db-crash            stop PostgreSQL like a crash (-m immediate), keep it down a second, start
                      it again with crash recovery: while idle, then twice during a flash crowd
  client-disconnects  beside a flash crowd, clients that send a booking and hang up before the
                      answer (FIN or reset), send half a request, or time out after milliseconds

The flash crowd: every client books for a patient id never used before; a new wave of a few
small slots opens every couple of seconds, so that seats are being sold out whenever a fault
hits. Afterwards, each scenario prints one line and passes only if every 201 a client received
is a CONFIRMED booking in the database (lost=0), no slot holds more bookings than seats
(overbooked=0), `manage.py check_bookings` passes, and the service answers normally again
(/readyz 200 and a burst of fresh bookings all 201). A booking committed whose client never
heard the answer (unacked) is booked once more for that patient and must answer 409, the
seat still held once. A 5xx passes only for a request in flight while the database was away; the
line counts them (5xx=), with requests that got no answer at all (unanswered=). Exit status 1
on any violation.

Everything is bounded: each scenario runs for --seconds plus recovery, on loopback only; the
cluster and the service are stopped and the temporary directory deleted at the end, also on
an error or Ctrl+C. gunicorn's log is kept in loadtests/reports/.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from loadtests import chaos_clients as clients
from loadtests.chaos_postgres import ThrowawayCluster
from loadtests.chaos_scenarios import SCENARIOS, Clock, Fault, Run, Scenario, Waves
from loadtests.chaos_service import (
    BASE_DIR,
    Gunicorn,
    create_slots,
    manage,
    production_env,
    slot_counts,
    stored_bookings,
)
from loadtests.chaos_verdict import Evidence, StoredBooking, Verdict, judge
from loadtests.server import free_port

REPORTS_DIR = BASE_DIR / "loadtests" / "reports"
RECOVERY_BOOKINGS = 24
RECOVERY_TIMEOUT_SECONDS = 30


# --- one scenario ---------------------------------------------------------------------------


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

    ready = service.wait_ready(RECOVERY_TIMEOUT_SECONDS)
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
            invariants_hold=manage(run.env, "check_bookings").returncode == 0,
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


# --- the run --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    names = [s.name for s in SCENARIOS]
    parser.add_argument(
        "--only", action="append", choices=names, help="run this scenario (repeatable)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="flash crowd per scenario")
    parser.add_argument("--clients", type=int, default=16, help="concurrent patients")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--kills", type=int, default=4, help="worker kills in worker-kills")
    parser.add_argument(
        "--wave-seconds", type=float, default=2.0, help="a new wave of slots every …s"
    )
    parser.add_argument("--slots-per-wave", type=int, default=2)
    parser.add_argument("--seats", type=int, default=25, help="seats per slot")
    parser.add_argument("--port", type=int, help="default: the first free one in 8400-8499")
    args = parser.parse_args(argv)
    kills_run = not args.only or "worker-kills" in args.only
    if kills_run and args.kills >= args.seconds / args.wave_seconds:
        parser.error("--kills must leave the last wave without a kill: raise --seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl+C, so the cluster and the service are stopped either way.
    signal.signal(signal.SIGTERM, _interrupt)
    scenarios = [s for s in SCENARIOS if not args.only or s.name in args.only]
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    log_path = REPORTS_DIR / f"chaos-{stamp}-gunicorn.log"
    started = time.monotonic()

    cluster = ThrowawayCluster()
    service = None
    verdicts: list[Verdict] = []
    try:
        env = production_env(cluster.url(), workers=args.workers)
        migrated = manage(env, "migrate", "--noinput", "-v0")
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{migrated.stderr}")
        port = args.port or free_port(range(8400, 8500))
        service = Gunicorn(env, port, log_path)
        if not service.wait_ready(60):
            raise RuntimeError(f"the service did not become ready; see {log_path}")
        run = Run(args, cluster, service, env, clients.PatientIds(f"chaos-{stamp}"))
        for scenario in scenarios:
            verdict = run_scenario(run, scenario)
            verdicts.append(verdict)
            print(verdict.line(), flush=True)
    except KeyboardInterrupt:
        print("chaos: interrupted", file=sys.stderr)
        return 130
    finally:
        if service is not None:
            service.stop()
        if not all(v.passed for v in verdicts) or len(verdicts) < len(scenarios):
            _keep_database_log(cluster, REPORTS_DIR / f"chaos-{stamp}-postgres.log")
        cluster.stop_and_delete()

    passed = all(v.passed for v in verdicts)
    print(
        f"chaos: {sum(v.passed for v in verdicts)}/{len(verdicts)} scenarios passed "
        f"in {time.monotonic() - started:.0f}s; gunicorn log: {log_path.relative_to(BASE_DIR)}"
    )
    return 0 if passed else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _keep_database_log(cluster: ThrowawayCluster, destination: Path) -> None:
    source = cluster.pgdata / "log"
    if source.exists():
        shutil.copyfile(source, destination)


if __name__ == "__main__":
    sys.exit(main())
