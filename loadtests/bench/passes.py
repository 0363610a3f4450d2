"""One pass of the benchmark: both servers, side by side, through every scenario.

Each scenario runs MediQueue and the reference back to back on slots of their own (the order
alternates from one scenario to the next, so neither always gets the quieter moment). The
listing phase runs first, on a database holding nothing but the listing's slots: the reference
lists every slot there is, so both answers hold the same slots. The booking phase follows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from loadtests.bench.database import BASE_DIR
from loadtests.bench.measure import Server, listing_size, measure, rate_limit_probe, settle, warm_up
from loadtests.bench.results import (
    FLASH,
    FLOOR,
    HOT,
    LISTING_100,
    LISTING_1000,
    MEDIQUEUE,
    ONE_CONN,
    REFERENCE,
    REFUSAL,
    PassResult,
    Run,
    SlotCount,
)
from loadtests.bench.wrk import book_script, get_script

# (scenario, slots in the database, MediQueue's path; the reference lists everything at
# /api/slots). MediQueue pages by 100 by default: the 1,000-slot run asks for them all.
LISTINGS = (
    (LISTING_100, 100, "/api/slots?limit=100"),
    (LISTING_1000, 1000, "/api/slots?limit=1000"),
)
FLOOR_PATH = "/__bench__/floor"
# (scenario, which of the server's slots, connections). The refusal run books the flash
# crowd's slot once it is sold out.
BOOKINGS = (
    (HOT, "hot", 64),
    (ONE_CONN, "one_conn", 1),
    (FLASH, "flash", 512),
    (REFUSAL, "flash", 64),
)
LISTING_CONNECTIONS = 64


@dataclass(frozen=True)
class Seconds:
    """How long each kind of run lasts."""

    warmup: float
    hot: float
    one_conn: float
    flash: float
    refusal: float
    listing: float
    floor: float

    def of(self, scenario: str) -> float:
        if scenario in (LISTING_100, LISTING_1000):
            return self.listing
        return getattr(self, scenario)


@dataclass(frozen=True)
class Bench:
    """What a pass runs against."""

    mediqueue: Server
    reference: Server
    postmaster: int | None
    seconds: Seconds
    fixtures: Callable[..., object]

    def servers(self, turn: int) -> tuple[Server, Server]:
        pair = (self.mediqueue, self.reference)
        return pair if turn % 2 == 0 else pair[::-1]

    def measure(self, server: Server, scenario: str, script: str, connections: int) -> Run:
        """One measured run, then a wait until both servers are idle again."""
        run = measure(
            server,
            scenario,
            script,
            connections=connections,
            seconds=self.seconds.of(scenario),
            postmaster=self.postmaster,
        )
        settle((self.mediqueue, self.reference))
        return run

    def warm_up(self, server: Server, script: str, connections: int) -> None:
        warm_up(server, script, connections=connections, seconds=self.seconds.warmup)
        settle((self.mediqueue, self.reference))


def fixtures_runner(env: dict[str, str]) -> Callable[..., object]:
    """``fixtures("listing", "--total", "100")``: run loadtests.bench.fixtures in a child
    process on the bench database and return what it printed (JSON)."""

    def run(*args: str) -> object:
        done = subprocess.run(
            [sys.executable, "-m", "loadtests.bench.fixtures", *args],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"fixtures {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def run_listings(bench: Bench, result: PassResult) -> None:
    for turn, (scenario, total, our_path) in enumerate(LISTINGS):
        bench.fixtures("listing", "--total", str(total))
        paths = {MEDIQUEUE: our_path, REFERENCE: "/api/slots"}
        result.listing_expected[scenario] = total
        result.listing_sizes[scenario] = {}
        for server in bench.servers(turn):
            path = paths[server.name]
            result.listing_sizes[scenario][server.name] = listing_size(server.base_url, path)
            script = get_script(path)
            bench.warm_up(server, script, LISTING_CONNECTIONS)
            result.runs.setdefault(scenario, {})[server.name] = bench.measure(
                server, scenario, script, LISTING_CONNECTIONS
            )
        if scenario == LISTING_100:
            run_floor(bench, result)
    bench.fixtures("clear-listing")


def run_floor(bench: Bench, result: PassResult) -> None:
    """A trivial Django view through the same stack: what the framework alone costs."""
    script = get_script(FLOOR_PATH)
    bench.warm_up(bench.mediqueue, script, LISTING_CONNECTIONS)
    result.runs[FLOOR] = {
        MEDIQUEUE: bench.measure(bench.mediqueue, FLOOR, script, LISTING_CONNECTIONS)
    }


def run_bookings(bench: Bench, result: PassResult, slots: dict) -> None:
    """The rate-limit probe, a warm-up, then every booking scenario on fresh slots; finally
    the flash crowd's slots and the invariants, read back from the database."""
    result.probe_statuses = rate_limit_probe(bench.mediqueue.base_url, slots["probe"])
    for server in bench.servers(0):
        script = book_script(slot_id=slots[server.name]["warm"], prefix=f"{result.name}-warm")
        bench.warm_up(server, script, 64)
    for turn, (scenario, slot_kind, connections) in enumerate(BOOKINGS):
        for server in bench.servers(turn):
            script = book_script(
                slot_id=slots[server.name][slot_kind], prefix=f"{result.name}-{scenario}"
            )
            result.runs.setdefault(scenario, {})[server.name] = bench.measure(
                server, scenario, script, connections
            )
    flash_ids = [slots[MEDIQUEUE]["flash"], slots[REFERENCE]["flash"]]
    states = {
        state["slot_id"]: state for state in bench.fixtures("slot-states", *map(str, flash_ids))
    }
    for server in (MEDIQUEUE, REFERENCE):
        state = states[slots[server]["flash"]]
        result.flash_slots[server] = SlotCount(state["booked_seats"], state["confirmed_bookings"])
    invariants = bench.fixtures("check-bookings")
    result.invariants_ok, result.invariants_output = invariants["ok"], invariants["output"]
