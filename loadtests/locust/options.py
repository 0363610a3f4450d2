"""What a load test runs: the scenarios, the command line that picks and sizes one, the Locust
process it becomes, and where its reports go."""

from __future__ import annotations

import argparse
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path

from loadtests.harness import BASE_DIR
from loadtests.locust.process import LocustRun

REPORTS_DIR = BASE_DIR / "loadtests" / "reports"


@dataclass(frozen=True)
class Scenario:
    """A load test: which Locust users, how many, on how many slots of how many seats, and how
    fast they arrive and for how long they go on."""

    name: str
    user_class: str
    users: int
    seats: int  # per slot
    slots: int
    spawn_seconds: float  # every user has started within this long
    seconds: float  # how long churn and browsing go on; the flash crowd ends when all answered
    finishes_itself: bool  # users stop on their own, so Locust can quit as soon as all have
    locustfile: str = "locustfile.py"  # beside this module


SCENARIOS = {
    "flash": Scenario("flash", "FlashCrowdPatient", 2000, 100, 1, 2, 0, finishes_itself=True),
    # 100 seats a slot: enough patients hold a seat that cancels (and the rebookings they let
    # in) are frequent, few enough that the slots stay contended and answer slot_full often.
    "churn": Scenario("churn", "ChurnPatient", 500, 100, 5, 5, 60, finishes_itself=True),
    "browse": Scenario("browse", "BrowsingPatient", 100, 20, 5, 5, 30, finishes_itself=False),
    # 50 seats for 300 patients: 250 join the list, and the holders' cancels promote them.
    "waitlist": Scenario(
        "waitlist",
        "WaitlistPatient",
        300,
        50,
        1,
        2,
        30,
        finishes_itself=True,
        locustfile="waitlist_locustfile.py",
    ),
    # The flash crowd through the booking queue: all respond-async, an allocator beside.
    "queue": Scenario(
        "queue",
        "QueuedPatient",
        2000,
        100,
        1,
        2,
        0,
        finishes_itself=True,
        locustfile="queue_locustfile.py",
    ),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make loadtest",
        description=(
            "Load-test MediQueue with Locust and check that no slot is overbooked. "
            "flash (default): USERS patients book one slot of SEATS seats within a few seconds; "
            "exactly SEATS get 201, the rest 409 slot_full, and the database agrees. "
            "churn: USERS patients book, look up and cancel at random across SLOTS slots for "
            "SECONDS; what they hold must be what the database holds. "
            "browse: USERS patients list and open slots for SECONDS; every answer must be 200. "
            "waitlist: USERS patients fill one slot of SEATS seats, the losers join its waiting "
            "list, holders cancel at random for SECONDS; promotions follow join order, one "
            "notice each, and the database agrees with what the patients hold. "
            "queue: the flash crowd with 'Prefer: respond-async', through RabbitMQ and the "
            "allocator (both started here); exactly SEATS confirmed, every ticket with its "
            "outcome, first come first served."
        ),
        epilog=(
            "Without --host the runner serves MediQueue itself with mediqueue/gunicorn.conf.py "
            "in production mode, on DATABASE_URL or else the embedded PostgreSQL. With --host it "
            "creates the slots through the admin API (token from MEDIQUEUE_ADMIN_TOKEN) and "
            "checks through the API, or through DATABASE_URL when that is set. Reports go to "
            "loadtests/reports/."
        ),
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="flash")
    parser.add_argument("--users", type=int, help="simulated patients (flash 2000, churn 500)")
    parser.add_argument("--seats", type=int, help="seats per slot (default 100)")
    parser.add_argument("--slots", type=int, help="slots to create (flash 1, churn 5)")
    parser.add_argument("--seconds", type=float, help="duration of churn (60) or browse (30)")
    parser.add_argument(
        "--spawn-seconds", type=float, help="all users start within this long (flash 2, else 5)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120,
        help="give up on answers this long after the users should be done (default 120)",
    )
    parser.add_argument("--host", help="target this running server instead of starting one")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the config's)")
    parser.add_argument("--port", type=int, help="port for the server (default: free in 8100-8199)")
    parser.add_argument("--reports-dir", type=Path, default=REPORTS_DIR)
    options = parser.parse_args(argv)
    for name in ("users", "seats", "slots", "seconds", "spawn_seconds"):
        value = getattr(options, name)
        if value is not None and value <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return options


def scenario_from(options: argparse.Namespace) -> Scenario:
    base = SCENARIOS[options.scenario]
    overrides = {
        name: value
        for name in ("users", "seats", "slots", "seconds", "spawn_seconds")
        if (value := getattr(options, name)) is not None
    }
    if base.name in ("flash", "waitlist", "queue"):
        overrides["slots"] = 1  # one target slot is the point of a flash crowd
    return replace(base, **overrides)


@dataclass(frozen=True)
class ReportPaths:
    prefix: Path  # Locust's <prefix>.html and <prefix>_stats.csv, ...

    @classmethod
    def new(cls, directory: Path, scenario: str) -> ReportPaths:
        return cls(directory / f"{scenario}-{time.strftime('%Y%m%d-%H%M%S')}")

    @property
    def locust_html(self) -> Path:
        return self.prefix.with_name(self.prefix.name + ".html")

    def sibling(self, suffix: str) -> Path:
        return self.prefix.with_name(f"{self.prefix.name}-{suffix}")


def locust_run(
    scenario: Scenario,
    options: argparse.Namespace,
    base_url: str,
    slot_ids: list[int],
    paths: ReportPaths,
) -> LocustRun:
    if scenario.finishes_itself:
        run_time = scenario.spawn_seconds + scenario.seconds + options.timeout
    else:
        run_time = scenario.spawn_seconds + scenario.seconds
    return LocustRun(
        user_class=scenario.user_class,
        users=scenario.users,
        spawn_rate=max(1.0, scenario.users / scenario.spawn_seconds),
        run_time_seconds=int(run_time) + 1,
        host=base_url,
        slot_ids=slot_ids,
        report_prefix=paths.prefix,
        results_file=paths.sibling("results.json"),
        run_tag=f"{paths.prefix.name}-{secrets.token_hex(3)}",
        churn_seconds=scenario.seconds,
        quit_when_done=scenario.finishes_itself,
        locustfile=Path(__file__).resolve().parent / scenario.locustfile,
    )
