"""One pass of the benchmark: both servers, side by side, through every scenario.

Each scenario runs MediQueue and the reference back to back on slots of their own (the order
alternates from one scenario to the next, so neither always gets the quieter moment). The
listing phase runs first, on a database holding nothing but the listing's slots: the reference
lists every slot there is, so both answers hold the same slots. The booking phase follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loadtests.bench.measure import Server, listing_size, measure, rate_limit_probe, settle, warm_up
from loadtests.bench.report import say
from loadtests.bench.results import (
    MEDIQUEUE,
    REFERENCE,
    SERVER_NAMES,
    TITLES,
    PassResult,
    Run,
    Scenario,
    SlotCount,
)
from loadtests.bench.wrk import book_script, get_script

# (scenario, slots in the database, MediQueue's path; the reference lists everything at
# /api/slots). MediQueue pages by 100 by default: the 1,000-slot run asks for them all.
LISTINGS = (
    (Scenario.LISTING_100, 100, "/api/slots?limit=100"),
    (Scenario.LISTING_1000, 1000, "/api/slots?limit=1000"),
)
# (scenario, which of the server's slots, connections). The refusal run books a slot of one
# seat that the fixtures booked.
BOOKINGS = (
    (Scenario.HOT, "hot", 64),
    (Scenario.ONE_CONN, "one_conn", 1),
    (Scenario.FLASH, "flash", 512),
    (Scenario.REFUSAL, "full", 64),
)
LISTING_CONNECTIONS = 64
# The framework floor's URL, served by loadtests.bench.floor (never by the product).
FLOOR_PATH = "/__bench__/floor"


@dataclass(frozen=True)
class Seconds:
    """How long each scenario's runs last (by scenario key); 0 leaves a scenario out."""

    warmup: float
    hot: float
    one_conn: float
    flash: float
    refusal: float
    listing_100: float
    listing_1000: float
    floor: float

    def of(self, scenario: str) -> float:
        return getattr(self, scenario)


@dataclass(frozen=True)
class Bench:
    """What a pass runs against."""

    mediqueue: Server
    reference: Server
    postmaster: int | None
    seconds: Seconds
    fixtures: Callable[..., object]
    floor: Server | None = None  # the framework floor (loadtests.bench.floor), when measured

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
        waited = settle(self.servers_running)
        say(
            f"{TITLES[scenario]:<37} {SERVER_NAMES[server.name]:<10} "
            f"{run.wrk.answered / run.wrk.seconds:8.1f} answers/s (then {waited:.1f} s to idle)"
        )
        return run

    def warm_up(self, server: Server, script: str, connections: int) -> None:
        warm_up(server, script, connections=connections, seconds=self.seconds.warmup)
        settle(self.servers_running)

    @property
    def servers_running(self) -> tuple[Server, ...]:
        return tuple(s for s in (self.mediqueue, self.reference, self.floor) if s is not None)


def run_listings(bench: Bench, result: PassResult) -> None:
    """Each listing on a database holding exactly its slots (the floor after the first)."""
    for turn, (scenario, total, our_path) in enumerate(LISTINGS):
        if not bench.seconds.of(scenario):
            continue
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
        if scenario == Scenario.LISTING_100 and bench.seconds.floor and bench.floor:
            run_floor(bench, result)


def run_floor(bench: Bench, result: PassResult) -> None:
    """A trivial Django view through the same stack: what the framework alone costs."""
    script = get_script(FLOOR_PATH)
    bench.warm_up(bench.floor, script, LISTING_CONNECTIONS)
    result.runs[Scenario.FLOOR] = {
        MEDIQUEUE: bench.measure(bench.floor, Scenario.FLOOR, script, LISTING_CONNECTIONS)
    }


def run_bookings(bench: Bench, result: PassResult, slots: dict, scenarios: tuple[str, ...]) -> None:
    """The rate-limit probe, a warm-up, then the booking ``scenarios`` on fresh slots; finally
    the flash crowd's slots and the invariants, read back from the database."""
    result.probe_statuses = rate_limit_probe(bench.mediqueue.base_url, slots["probe"])
    probe = result.probe_statuses
    say(f"rate-limit probe: one patient, {len(probe)} requests, the last answered {probe[-1]}")
    for server in bench.servers(0):
        script = book_script(slot_id=slots[server.name]["warm"], prefix=f"{result.name}-warm")
        bench.warm_up(server, script, 64)
    chosen = [booking for booking in BOOKINGS if booking[0] in scenarios]
    for turn, (scenario, slot_kind, connections) in enumerate(chosen):
        for server in bench.servers(turn):
            script = book_script(
                slot_id=slots[server.name][slot_kind], prefix=f"{result.name}-{scenario}"
            )
            result.runs.setdefault(scenario, {})[server.name] = bench.measure(
                server, scenario, script, connections
            )
    flash = {server: slots[server]["flash"] for server in (MEDIQUEUE, REFERENCE)}
    say("reading the flash crowd's slots and check_bookings")
    after = bench.fixtures("after-pass", *(str(slot_id) for slot_id in flash.values()))
    states = {state["slot_id"]: state for state in after["slots"]}
    if Scenario.FLASH in result.runs:
        for server, slot_id in flash.items():
            state = states[slot_id]
            result.flash_slots[server] = SlotCount(
                state["booked_seats"], state["confirmed_bookings"]
            )
    result.invariants_ok = after["invariants_ok"]
    result.invariants_output = after["invariants_output"]
