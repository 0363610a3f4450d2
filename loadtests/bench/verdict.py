"""DESIGN.md's targets and the run's correctness checks, as pure functions of what a pass found.

Correctness (every seat of the flash crowd sold exactly once and told so, no 5xx, no 429, the
invariants) decides the exit code. Performance targets are printed ok/MISSED and only fail the
run under ``--strict``: one noisy neighbour on a shared machine can move them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loadtests.bench.results import (
    MEDIQUEUE,
    REFERENCE,
    SERVER_NAMES,
    SERVERS,
    PassResult,
    Run,
    Scenario,
)

# DESIGN.md's targets: MediQueue against the reference (the original Express design), in one
# run. The flash crowd, the refusals, one connection's p50 and the CPU per answer are bound by
# CPython's cost per request (the bare lower bound itself stays under the reference there):
# they are printed beside the reference with no target, and compared from release to release.
HOT_VS_REFERENCE = 1.2
LISTING_VS_REFERENCE = 1.5
HOT_VS_PGBENCH = 0.5


@dataclass(frozen=True)
class Target:
    """One performance target. ``limit`` None: measured and printed, no target."""

    name: str
    measured: float | None
    limit: float | None
    at_least: bool
    unit: str

    @property
    def met(self) -> bool | None:
        if self.limit is None:
            return None
        if self.measured is None:
            return False
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    @property
    def wanted(self) -> str:
        if self.limit is None:
            return "(no target)"
        return f"{'>=' if self.at_least else '<='} {self.limit:g}{self.unit}"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _rate_ratio(result: PassResult, scenario: str, status: int | None) -> float | None:
    """MediQueue's answers/s (of ``status``, or all answers) over the reference's."""
    ours, theirs = result.run(scenario, MEDIQUEUE), result.run(scenario, REFERENCE)
    if ours is None or theirs is None:
        return None
    if status is None:
        return ratio(ours.wrk.answered / ours.wrk.seconds, theirs.wrk.answered / theirs.wrk.seconds)
    return ratio(ours.wrk.per_second_of(status), theirs.wrk.per_second_of(status))


def _cpu_per(result: PassResult, scenario: str, status: int, which: str) -> float | None:
    run = result.run(scenario, MEDIQUEUE)
    if run is None:
        return None
    answers = run.wrk.count(status)
    return run.app_ms_per(answers) if which == "app" else run.pg_ms_per(answers)


def _p50_ratio(result: PassResult) -> float | None:
    ours, theirs = (
        result.run(Scenario.ONE_CONN, MEDIQUEUE),
        result.run(Scenario.ONE_CONN, REFERENCE),
    )
    if ours is None or theirs is None:
        return None
    return ratio(ours.wrk.p50_ms, theirs.wrk.p50_ms)


def targets(result: PassResult, pgbench_tps: float | None) -> list[Target]:
    """Every target, and every figure printed beside them, whose scenario this pass ran (a
    pass without listings has no listing target)."""
    hot = result.run(Scenario.HOT, MEDIQUEUE)
    hot_rate = hot.wrk.per_second_of(201) if hot else None
    # (the scenario it needs, name, measured, limit, at least?, unit)
    table = (
        (Scenario.HOT, "hot slot bookings/s vs reference",
         _rate_ratio(result, Scenario.HOT, 201), HOT_VS_REFERENCE, True, "x"),
        (Scenario.FLASH, "flash crowd answers/s vs reference",
         _rate_ratio(result, Scenario.FLASH, None), None, True, "x"),
        (Scenario.REFUSAL, "refusals/s vs reference",
         _rate_ratio(result, Scenario.REFUSAL, 409), None, True, "x"),
        (Scenario.ONE_CONN, "one connection p50 vs reference",
         _p50_ratio(result), None, False, "x"),
        (Scenario.LISTING_100, "listing 100 slots vs reference",
         _rate_ratio(result, Scenario.LISTING_100, 200), LISTING_VS_REFERENCE, True, "x"),
        (Scenario.LISTING_1000, "listing 1,000 slots vs reference",
         _rate_ratio(result, Scenario.LISTING_1000, 200), None, True, "x"),
        (Scenario.HOT, "app CPU per booking (hot slot)",
         _cpu_per(result, Scenario.HOT, 201, "app"), None, False, " ms"),
        (Scenario.REFUSAL, "app CPU per refusal (full slot)",
         _cpu_per(result, Scenario.REFUSAL, 409, "app"), None, False, " ms"),
        (Scenario.HOT, "PostgreSQL CPU per booking (hot slot)",
         _cpu_per(result, Scenario.HOT, 201, "pg"), None, False, " ms"),
        (Scenario.HOT, "hot slot vs pgbench of its statement",
         ratio(hot_rate, pgbench_tps), HOT_VS_PGBENCH, True, "x"),
    )  # fmt: skip
    return [Target(*row[1:]) for row in table if row[0] in result.runs]


def checks(result: PassResult) -> list[Check]:
    """Correctness: what must hold for the figures to mean anything, for both servers."""
    found = []
    for server in SERVERS:
        found += _server_checks(result, server)
    mediqueue_runs = [runs[MEDIQUEUE] for runs in result.runs.values() if MEDIQUEUE in runs]
    throttled = sum(run.wrk.count(429) for run in mediqueue_runs)
    found.append(
        Check(
            "MediQueue: no 429 under the spread load (limits on, paid, never reached)",
            throttled == 0,
            f"{throttled} x 429 in {len(mediqueue_runs)} runs",
        )
    )
    found.append(_probe_check(result.probe_statuses))
    if result.invariants_ok is not None:
        found.append(
            Check(
                "invariants (check_bookings)",
                result.invariants_ok,
                result.invariants_output.splitlines()[-1] if result.invariants_output else "",
            )
        )
    return found


def _server_checks(result: PassResult, server: str) -> list[Check]:
    name = SERVER_NAMES[server]
    found = []
    for scenario, expected in (
        (Scenario.HOT, 201),
        (Scenario.ONE_CONN, 201),
        (Scenario.REFUSAL, 409),
    ):
        run = result.run(scenario, server)
        if run is not None:
            found.append(_all_answers_are(f"{name} {scenario}", run, expected))
    flash = result.run(Scenario.FLASH, server)
    if flash is not None:
        found.append(_flash_check(result, server, flash))
    for scenario in (Scenario.LISTING_100, Scenario.LISTING_1000, Scenario.FLOOR):
        run = result.run(scenario, server)
        if run is not None:
            found.append(_all_answers_are(f"{name} {scenario}", run, 200))
            found += _listing_size_check(result, scenario, server)
    return found


def _all_answers_are(name: str, run: Run, status: int) -> Check:
    others = run.wrk.count_except(status)
    detail = f"{run.wrk.count(status)} x {status}, {others} other, "
    detail += f"{run.wrk.socket_errors} socket errors"
    ok = others == 0 and run.wrk.count(status) > 0 and run.wrk.socket_errors == 0
    return Check(f"{name}: every answer {status}", ok, detail)


def _flash_check(result: PassResult, server: str, run: Run) -> Check:
    seats = result.flash_seats
    in_db = result.flash_slots.get(server)
    wrk = run.wrk
    ok = (
        wrk.count(201) == seats
        and wrk.count_except(201, 409) == 0
        and wrk.socket_errors == 0
        and in_db is not None
        and in_db.booked_seats == in_db.confirmed_bookings == seats
    )
    db = f"booked_seats={in_db.booked_seats} confirmed={in_db.confirmed_bookings}" if in_db else ""
    detail = (
        f"201={wrk.count(201)} 409={wrk.count(409)} 5xx={wrk.server_errors} "
        f"other={wrk.count_except(201, 409)} socket errors={wrk.socket_errors}; in the database: "
        f"{db or 'not read'}"
    )
    if in_db is not None and wrk.count(201) < in_db.booked_seats:
        detail += " (fewer 201s seen than seats sold: answers still in flight when wrk stopped)"
    return Check(
        f"{SERVER_NAMES[server]} flash: exactly {seats} x 201, the rest 409, no 5xx", ok, detail
    )


def _listing_size_check(result: PassResult, scenario: str, server: str) -> list[Check]:
    expected = result.listing_expected.get(scenario)
    if expected is None:
        return []
    got = result.listing_sizes.get(scenario, {}).get(server)
    return [
        Check(
            f"{SERVER_NAMES[server]} {scenario}: answers {expected} slots",
            got == expected,
            f"{got} slots in the answer",
        )
    ]


def _probe_check(statuses: list[int]) -> Check:
    """One patient from one address booking in a loop must meet a 429: the limits are on."""
    if 429 in statuses:
        detail = f"first 429 at request {statuses.index(429) + 1}"
        return Check(
            "MediQueue: rate limits are on (one patient in a loop meets a 429)", True, detail
        )
    return Check(
        "MediQueue: rate limits are on (one patient in a loop meets a 429)",
        False,
        f"no 429 in {len(statuses)} requests",
    )


def exit_code(all_checks: Iterable[Check], all_targets: Iterable[Target], *, strict: bool) -> int:
    """1 when a correctness check failed, or (strict) a target was missed; else 0."""
    if not all(check.ok for check in all_checks):
        return 1
    if strict and any(target.met is False for target in all_targets):
        return 1
    return 0
