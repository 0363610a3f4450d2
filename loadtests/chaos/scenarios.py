"""The chaos scenarios: a rolling flash crowd, and the faults injected while it books.

Each fault function runs in the main thread while the crowd's threads book, sleeps until its
planned moment (``Clock``), injects, and returns what it did as ``Fault`` records: the
verdict excuses a 5xx only for a request in flight while the database was away.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from loadtests.chaos.clients import PatientIds
from loadtests.chaos.postgres import ThrowawayCluster
from loadtests.harness import Gunicorn


@dataclass
class Run:
    """What every scenario shares: one database and one service for the whole run."""

    args: argparse.Namespace
    cluster: ThrowawayCluster
    service: Gunicorn
    env: dict[str, str]
    patients: PatientIds

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]


def add_crowd_arguments(
    parser: argparse.ArgumentParser, *, clients: int, workers: int, seats: int, workers_help: str
) -> None:
    """The options of a flash crowd in waves of new slots, for chaos and the cluster alike."""
    add = parser.add_argument
    add("--clients", type=int, default=clients, help="concurrent patients of the crowd")
    add("--workers", type=int, default=workers, help=workers_help)
    add("--wave-seconds", type=float, default=2.0, help="a new wave of slots every …s")
    add("--slots-per-wave", type=int, default=2)
    add("--seats", type=int, default=seats, help="seats per slot of the crowd")


@dataclass(frozen=True)
class Waves:
    """A rolling flash crowd: wave ``n`` opens its own few slots ``n * seconds`` in."""

    slot_ids: list[int]
    slots_per_wave: int
    seconds: float

    def slot_for(self, elapsed: float) -> int:
        last_wave = len(self.slot_ids) // self.slots_per_wave - 1
        wave = min(int(elapsed // self.seconds), last_wave)
        first = wave * self.slots_per_wave
        return random.choice(self.slot_ids[first : first + self.slots_per_wave])

    def opening(self, wave: int) -> float:
        return wave * self.seconds


class Clock:
    """When the crowd started: the waves and the faults are planned from the same instant."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def sleep_until(self, seconds: float) -> None:
        time.sleep(max(0.0, self.started + seconds - time.monotonic()))


# --- the faults: each runs in the main thread while the crowd books -------------------------


@dataclass(frozen=True)
class Fault:
    started: float  # time.monotonic()
    ended: float
    database_away: bool = False  # the database was stopped, restarting or recovering meanwhile


def kill_workers(run: Run, waves: Waves, clock: Clock) -> list[Fault]:
    faults = []
    for wave in range(1, run.args.kills + 1):
        # Early in a wave, when its seats are being fought over, at a random instant.
        clock.sleep_until(waves.opening(wave) + random.uniform(0.0, 0.3))
        started = time.monotonic()
        if kill_a_worker(run.service) is not None:
            faults.append(Fault(started, time.monotonic()))
    return faults


def kill_a_worker(service: Gunicorn) -> int | None:
    """SIGKILL one worker, whatever it is doing; the master notices and starts another."""
    pids = service.worker_pids()
    if not pids:
        return None
    victim = random.choice(pids)
    try:
        os.kill(victim, signal.SIGKILL)
    except ProcessLookupError:
        return None
    return victim


def restart_database(run: Run, waves: Waves, clock: Clock) -> list[Fault]:
    return _in_waves_1_and_3(run.cluster.restart_fast, waves, clock)


def crash_database(run: Run, waves: Waves, clock: Clock) -> list[Fault]:
    return _in_waves_1_and_3(lambda: run.cluster.crash_and_start(down_for=1.0), waves, clock)


def _in_waves_1_and_3(fault: Callable[[], None], waves: Waves, clock: Clock) -> list[Fault]:
    faults = []
    for wave in (1, 3):
        clock.sleep_until(waves.opening(wave) + 0.05)
        faults.append(_database_fault(fault))
    return faults


def restart_database_while_idle(run: Run) -> list[Fault]:
    return [_database_fault(run.cluster.restart_fast)]


def crash_database_while_idle(run: Run) -> list[Fault]:
    return [_database_fault(lambda: run.cluster.crash_and_start(down_for=1.0))]


def _database_fault(fault: Callable[[], None]) -> Fault:
    started = time.monotonic()
    fault()  # returns once the database accepts connections again
    return Fault(started, time.monotonic(), database_away=True)


def no_server_fault(run: Run, waves: Waves, clock: Clock) -> list[Fault]:
    return []  # the faults are the misbehaving clients themselves


@dataclass(frozen=True)
class Scenario:
    name: str
    inject: Callable[[Run, Waves, Clock], list[Fault]]
    misbehaving_clients: int = 0
    # A fault while no request is running: every worker still holds its connection to the old
    # server, and the crowd that follows must not get a single 5xx for it.
    before_crowd: Callable[[Run], list[Fault]] | None = None


SCENARIOS = [
    Scenario("worker-kills", kill_workers),
    Scenario("db-restart", restart_database, before_crowd=restart_database_while_idle),
    Scenario("db-crash", crash_database, before_crowd=crash_database_while_idle),
    Scenario("client-disconnects", no_server_fault, misbehaving_clients=8),
]
