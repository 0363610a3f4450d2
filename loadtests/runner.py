"""``make loadtest``: prove under load that no slot is ever overbooked.

Starts MediQueue as production runs it (unless ``--host`` points at a running server), gives it
fresh slots, sends a Locust crowd at them, then compares what every simulated patient was told
with what the database holds. The last line printed is the summary; the exit code is 0 only
when every check passed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from loadtests import database
from loadtests.admin_api import AdminApi, AdminApiError
from loadtests.chart import write_status_chart
from loadtests.locust_process import LocustRun, run_locust
from loadtests.results import load_results
from loadtests.server import BASE_DIR, free_port, gunicorn_server
from loadtests.verdict import (
    SlotState,
    Verdict,
    browse_verdict,
    churn_verdict,
    flash_crowd_verdict,
)

REPORTS_DIR = BASE_DIR / "loadtests" / "reports"


@dataclass(frozen=True)
class Scenario:
    name: str
    user_class: str
    users: int
    seats: int  # per slot
    slots: int
    spawn_seconds: float  # every user has started within this long
    seconds: float  # how long churn and browsing go on; the flash crowd ends when all answered
    finishes_itself: bool  # users stop on their own, so Locust can quit as soon as all have


SCENARIOS = {
    "flash": Scenario("flash", "FlashCrowdPatient", 2000, 100, 1, 2, 0, finishes_itself=True),
    # 100 seats a slot: enough patients hold a seat that cancels (and the rebookings they let
    # in) are frequent, few enough that the slots stay contended and answer slot_full often.
    "churn": Scenario("churn", "ChurnPatient", 500, 100, 5, 5, 60, finishes_itself=True),
    "browse": Scenario("browse", "BrowsingPatient", 100, 20, 5, 5, 30, finishes_itself=False),
}


class SetupError(RuntimeError):
    """The run could not even start: no token, no server, bad arguments."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make loadtest",
        description=(
            "Load-test MediQueue with Locust and check that no slot is overbooked. "
            "flash (default): USERS patients book one slot of SEATS seats within a few seconds; "
            "exactly SEATS get 201, the rest 409 slot_full, and the database agrees. "
            "churn: USERS patients book, look up and cancel at random across SLOTS slots for "
            "SECONDS; what they hold must be what the database holds. "
            "browse: USERS patients list and open slots for SECONDS; every answer must be 200."
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
    if base.name == "flash":
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


@dataclass(frozen=True)
class Store:
    """Where the slots are created, and where they are read back and checked after the run."""

    create_slots: Callable[..., list[int]]
    read_slots: Callable[[list[int]], list[SlotState]]
    check_bookings: Callable[[], tuple[bool, str]] | None  # None: no database to check
    description: str


def database_store(description: str) -> Store:
    return Store(database.create_slots, database.read_slots, database.check_bookings, description)


def open_store(options: argparse.Namespace) -> Store:
    if not options.host:
        where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded (.mediqueue/)"
        database.setup_django(database.resolve_database_url())
        database.migrate()
        return database_store(where)
    token = os.environ.get("MEDIQUEUE_ADMIN_TOKEN")
    if not token:
        raise SetupError(
            "--host needs a staff token in MEDIQUEUE_ADMIN_TOKEN to create the slots "
            "(`make run` keeps one in .mediqueue/admin-credentials.txt)."
        )
    api = AdminApi(options.host, token)
    if os.environ.get("DATABASE_URL"):
        database.setup_django(os.environ["DATABASE_URL"])
        return replace(database_store("DATABASE_URL"), create_slots=api.create_slots)
    return Store(api.create_slots, api.read_slots, None, "the API (no DATABASE_URL)")


@contextmanager
def serve(options: argparse.Namespace, log_path: Path) -> Iterator[str]:
    """The base URL under test: --host as given, or a gunicorn started (and stopped) here."""
    if options.host:
        yield options.host.rstrip("/")
        return
    port = options.port or free_port()
    with gunicorn_server(
        database_url=os.environ["DATABASE_URL"],
        port=port,
        log_path=log_path,
        workers=options.workers,
    ) as base_url:
        yield base_url


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
    )


def judge(scenario: Scenario, results, slots: list[SlotState], invariants_hold) -> Verdict:
    if scenario.name == "flash":
        return flash_crowd_verdict(
            users=scenario.users,
            seats=scenario.seats,
            results=results,
            slot=slots[0],
            invariants_hold=invariants_hold,
        )
    if scenario.name == "churn":
        return churn_verdict(
            users=scenario.users,
            seats=scenario.seats,
            results=results,
            slots=slots,
            invariants_hold=invariants_hold,
        )
    return browse_verdict(users=scenario.users, results=results)


def say(message: str) -> None:
    print(f"loadtest: {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    scenario = scenario_from(options)
    paths = ReportPaths.new(options.reports_dir, scenario.name)
    try:
        return run(scenario, options, paths)
    except (SetupError, AdminApiError) as error:
        say(f"cannot run: {error}")
        return 2


def run(scenario: Scenario, options: argparse.Namespace, paths: ReportPaths) -> int:
    started = time.monotonic()
    store = open_store(options)
    gunicorn_log = paths.sibling("gunicorn.log")
    with serve(options, gunicorn_log) as base_url:
        slot_ids = store.create_slots(
            count=scenario.slots, seats=scenario.seats, label=paths.prefix.name
        )
        say(
            f"{scenario.name}: {scenario.users} users on slot(s) {slot_ids} "
            f"({scenario.seats} seats each) at {base_url}; database: {store.description}"
        )
        run = locust_run(scenario, options, base_url, slot_ids, paths)
        locust_exit = run_locust(run, cwd=BASE_DIR)
    if not run.results_file.exists():
        say(f"Locust wrote no results (exit code {locust_exit}); see its output above")
        return 1

    results = load_results(run.results_file)
    slots = store.read_slots(slot_ids)
    if len(slots) != len(slot_ids):
        say(f"slots {slot_ids} not found where they were checked ({store.description}): is")
        say("DATABASE_URL the database of the server under test?")
        return 1
    invariants_hold = None
    if store.check_bookings is not None:
        invariants_hold, report = store.check_bookings()
        say(f"check_bookings: {report}")
    else:
        say("check_bookings: not run (no database to check; slots read through the API)")
    verdict = judge(scenario, results, slots, invariants_hold)

    chart = write_status_chart(
        results,
        paths.sibling("status.html"),
        title=f"MediQueue {scenario.name} load test",
        summary=verdict.summary,
    )
    say(f"Locust report: {_shown(paths.locust_html)} (CSV: {_shown(paths.prefix)}_stats.csv)")
    say(f"responses per second by status: {_shown(chart)}")
    if not options.host:
        say(f"gunicorn log: {_shown(gunicorn_log)}")
    say(f"took {time.monotonic() - started:.1f} s")
    for violation in verdict.violations:
        say(f"VIOLATION {violation}")
    print(verdict.summary, flush=True)
    return 0 if verdict.passed else 1


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
