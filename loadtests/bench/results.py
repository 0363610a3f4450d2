"""What one benchmark run found, as plain data: what the verdict judges, the report prints and
the JSON file keeps."""

from __future__ import annotations

from dataclasses import dataclass, field

from loadtests.bench.cpu import per_request_ms
from loadtests.bench.wrk import WrkResult

MEDIQUEUE = "mediqueue"
REFERENCE = "reference"
SERVERS = (MEDIQUEUE, REFERENCE)
SERVER_NAMES = {MEDIQUEUE: "MediQueue", REFERENCE: "reference"}


class Scenario:
    """The scenario keys: how the runs, the report and the JSON file name each scenario."""

    LISTING_100 = "listing_100"
    FLOOR = "floor"
    LISTING_1000 = "listing_1000"
    HOT = "hot"
    ONE_CONN = "one_conn"
    FLASH = "flash"
    REFUSAL = "refusal"


# Titles for the report, and the order it prints the scenarios in.
TITLES = {
    Scenario.HOT: "hot slot, 64 conn",
    Scenario.ONE_CONN: "one connection",
    Scenario.FLASH: "flash crowd, 100 seats, 512 conn",
    Scenario.REFUSAL: "refusals (full slot), 64 conn",
    Scenario.LISTING_100: "GET /api/slots, 100 slots, 64 conn",
    Scenario.LISTING_1000: "GET /api/slots, 1,000 slots, 64 conn",
    Scenario.FLOOR: "framework floor, 64 conn",
}
ORDER = (
    Scenario.HOT,
    Scenario.ONE_CONN,
    Scenario.FLASH,
    Scenario.REFUSAL,
    Scenario.LISTING_100,
    Scenario.LISTING_1000,
    Scenario.FLOOR,
)


@dataclass(frozen=True)
class Run:
    """One wrk run of one server, with the CPU its processes and PostgreSQL's spent meanwhile
    (None when not measurable)."""

    scenario: str
    server: str
    wrk: WrkResult
    app_cpu_ms: float | None
    pg_cpu_ms: float | None

    def app_ms_per(self, answers: int) -> float | None:
        return per_request_ms(self.app_cpu_ms, answers)

    def pg_ms_per(self, answers: int) -> float | None:
        return per_request_ms(self.pg_cpu_ms, answers)


@dataclass(frozen=True)
class SlotCount:
    """A slot as read back from the database after a run."""

    booked_seats: int
    confirmed_bookings: int


@dataclass
class PassResult:
    """One pass: both servers through every scenario, with one rate-limit store."""

    name: str
    store: str
    runs: dict[str, dict[str, Run]] = field(default_factory=dict)
    # Slots in each server's listing answer, by scenario (must be the slots in the database).
    listing_sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    listing_expected: dict[str, int] = field(default_factory=dict)
    # The flash crowd's slot of each server, read back from the database.
    flash_slots: dict[str, SlotCount] = field(default_factory=dict)
    flash_seats: int = 100
    # Statuses of one patient booking again and again from one address: a 429 must come.
    probe_statuses: list[int] = field(default_factory=list)
    invariants_ok: bool | None = None
    invariants_output: str = ""

    def run(self, scenario: str, server: str) -> Run | None:
        return self.runs.get(scenario, {}).get(server)


@dataclass(frozen=True)
class PgbenchFigure:
    clients: int
    tps: float
    pg_ms_per_transaction: float | None
