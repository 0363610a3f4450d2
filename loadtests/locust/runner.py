"""``make loadtest``: prove under load that no slot is ever overbooked.

Starts MediQueue as production runs it (unless ``--host`` points at a running server), gives it
fresh slots, sends a Locust crowd at them, then compares what every simulated patient was told
with what the database holds. The last line printed is the summary; the exit code is 0 only
when every check passed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from loadtests.harness import (
    BASE_DIR,
    LOADTEST_PORTS,
    allocator,
    configured_database_url,
    free_port,
    gunicorn,
    production_env,
)
from loadtests.harness.in_process import check_bookings, migrate, setup_django
from loadtests.harness.rabbitmq import rabbitmq_node
from loadtests.harness.slots import (
    QueuedOutcome,
    SlotState,
    WaitlistState,
    create_slots,
    read_booking_requests,
    read_slots,
    read_waitlist,
)
from loadtests.locust.admin_api import AdminApi, AdminApiError
from loadtests.locust.chart import write_status_chart
from loadtests.locust.options import ReportPaths, Scenario, locust_run, parse_args, scenario_from
from loadtests.locust.process import LocustRun, run_locust
from loadtests.locust.results import load_results
from loadtests.locust.verdict import (
    Verdict,
    browse_verdict,
    churn_verdict,
    flash_crowd_verdict,
    queue_verdict,
    waitlist_verdict,
)


class SetupError(RuntimeError):
    """The run could not even start: no token, no server, bad arguments."""


@dataclass(frozen=True)
class Store:
    """Where the slots are created, and where they are read back and checked after the run."""

    create_slots: Callable[..., list[int]]
    read_slots: Callable[[list[int]], list[SlotState]]
    check_bookings: Callable[[], tuple[bool, str]] | None  # None: no database to check
    description: str
    read_waitlist: Callable[[int], WaitlistState] | None = None  # None: no database to read
    read_booking_requests: Callable[[int], list[QueuedOutcome]] | None = None


def database_store(description: str) -> Store:
    return Store(
        create_slots, read_slots, check_bookings, description, read_waitlist, read_booking_requests
    )


def open_store(options: argparse.Namespace) -> Store:
    if not options.host:
        where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded (.mediqueue/)"
        setup_django(configured_database_url())
        migrate()
        return database_store(where)
    token = os.environ.get("MEDIQUEUE_ADMIN_TOKEN")
    if not token:
        raise SetupError(
            "--host needs a staff token in MEDIQUEUE_ADMIN_TOKEN to create the slots "
            "(`make run` keeps one in .mediqueue/admin-credentials.txt)."
        )
    api = AdminApi(options.host, token)
    if os.environ.get("DATABASE_URL"):
        setup_django(os.environ["DATABASE_URL"])
        return replace(database_store("DATABASE_URL"), create_slots=api.create_slots)
    return Store(api.create_slots, api.read_slots, None, "the API (no DATABASE_URL)")


@contextmanager
def serve(options: argparse.Namespace, log_path: Path, *, queue: bool = False) -> Iterator[str]:
    """The base URL under test: --host as given, or a gunicorn started (and stopped) here;
    with ``queue``, beside a RabbitMQ of the run's own and an allocator."""
    if options.host:
        yield options.host.rstrip("/")
        return
    port = options.port or free_port(LOADTEST_PORTS)
    env = production_env(os.environ["DATABASE_URL"])
    with ExitStack() as stack:
        if queue:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mq-")))
            node = stack.enter_context(rabbitmq_node(directory / "rabbitmq"))
            env["MEDIQUEUE_BOOKING_QUEUE_URL"] = node.url
            stack.enter_context(
                allocator(env, log_path=log_path.with_name(log_path.stem + "-allocator.log"))
            )
            say(f"booking queue: RabbitMQ at {node.url}, one allocator")
        server = stack.enter_context(
            gunicorn(env, port=port, workers=options.workers, log_path=log_path)
        )
        yield server.base_url


def judge(
    scenario: Scenario, results, slots: list[SlotState], invariants_hold, store: Store
) -> Verdict:
    if scenario.name == "browse":
        return browse_verdict(users=scenario.users, results=results)
    common = {
        "users": scenario.users,
        "seats": scenario.seats,
        "results": results,
        "invariants_hold": invariants_hold,
    }
    if scenario.name == "churn":
        return churn_verdict(**common, slots=slots)
    if scenario.name == "queue":
        outcomes = (
            store.read_booking_requests(slots[0].slot_id) if store.read_booking_requests else None
        )
        return queue_verdict(**common, slot=slots[0], outcomes=outcomes)
    if scenario.name == "waitlist":
        waitlist = store.read_waitlist(slots[0].slot_id) if store.read_waitlist else None
        return waitlist_verdict(**common, slot=slots[0], waitlist=waitlist)
    return flash_crowd_verdict(**common, slot=slots[0])


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
    slot_ids, locust, locust_exit = send_the_crowd(scenario, options, paths, store)
    if not locust.results_file.exists():
        say(f"Locust wrote no results (exit code {locust_exit}); see its output above")
        return 1

    results = load_results(locust.results_file)
    slots = store.read_slots(slot_ids)
    if len(slots) != len(slot_ids):
        say(f"slots {slot_ids} not found where they were checked ({store.description}): is")
        say("DATABASE_URL the database of the server under test?")
        return 1
    verdict = judge(scenario, results, slots, check_invariants(store), store)
    print_reports(scenario, options, paths, results, verdict)
    say(f"took {time.monotonic() - started:.1f} s")
    for violation in verdict.violations:
        say(f"VIOLATION {violation}")
    print(verdict.summary, flush=True)
    return 0 if verdict.passed else 1


def send_the_crowd(
    scenario: Scenario, options: argparse.Namespace, paths: ReportPaths, store: Store
) -> tuple[list[int], LocustRun, int]:
    """Serve (unless --host), make the slots, run Locust to its end: (the slot ids, the Locust
    run, its exit code)."""
    with serve(options, paths.sibling("gunicorn.log"), queue=scenario.name == "queue") as base_url:
        slot_ids = store.create_slots(
            count=scenario.slots, seats=scenario.seats, label=paths.prefix.name
        )
        say(
            f"{scenario.name}: {scenario.users} users on slot(s) {slot_ids} "
            f"({scenario.seats} seats each) at {base_url}; database: {store.description}"
        )
        locust = locust_run(scenario, options, base_url, slot_ids, paths)
        return slot_ids, locust, run_locust(locust, cwd=BASE_DIR)


def check_invariants(store: Store) -> bool | None:
    """check_bookings where there is a database to run it on; None where there is not."""
    if store.check_bookings is None:
        say("check_bookings: not run (no database to check; slots read through the API)")
        return None
    invariants_hold, report = store.check_bookings()
    say(f"check_bookings: {report}")
    return invariants_hold


def print_reports(scenario, options, paths: ReportPaths, results, verdict: Verdict) -> None:
    """Write the chart of answers by status; say where every report of the run is."""
    chart = write_status_chart(
        results,
        paths.sibling("status.html"),
        title=f"MediQueue {scenario.name} load test",
        summary=verdict.summary,
    )
    say(f"Locust report: {_shown(paths.locust_html)} (CSV: {_shown(paths.prefix)}_stats.csv)")
    say(f"responses per second by status: {_shown(chart)}")
    if not options.host:
        say(f"gunicorn log: {_shown(paths.sibling('gunicorn.log'))}")


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
