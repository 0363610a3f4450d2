"""Issue #13's targets and the bench's correctness checks, judged from what a pass found."""

from __future__ import annotations

import pytest

from loadtests.bench.results import (
    MEDIQUEUE,
    REFERENCE,
    PassResult,
    Run,
    Scenario,
    SlotCount,
)
from loadtests.bench.verdict import Check, Target, checks, exit_code, targets
from loadtests.bench.wrk import WrkResult


def run(scenario, server, statuses, *, seconds=10.0, p50=10.0, app=None, pg=None, errors=0):
    wrk = WrkResult(
        requests=sum(statuses.values()),
        seconds=seconds,
        statuses={str(status): n for status, n in statuses.items()},
        socket_errors=errors,
        p50_ms=p50,
        p99_ms=p50 * 3,
    )
    return Run(scenario, server, wrk, app_cpu_ms=app, pg_cpu_ms=pg)


def a_pass(**overrides) -> PassResult:
    """A pass where MediQueue meets every target and everything is correct."""
    runs = {
        Scenario.HOT: {
            MEDIQUEUE: run(Scenario.HOT, MEDIQUEUE, {201: 12_000}, app=6_000.0, pg=6_000.0),
            REFERENCE: run(Scenario.HOT, REFERENCE, {201: 6_000}),
        },
        Scenario.ONE_CONN: {
            MEDIQUEUE: run(Scenario.ONE_CONN, MEDIQUEUE, {201: 4_000}, p50=2.0),
            REFERENCE: run(Scenario.ONE_CONN, REFERENCE, {201: 3_000}, p50=3.0),
        },
        Scenario.FLASH: {
            MEDIQUEUE: run(Scenario.FLASH, MEDIQUEUE, {201: 100, 409: 9_900}),
            REFERENCE: run(Scenario.FLASH, REFERENCE, {201: 100, 409: 4_900}),
        },
        Scenario.REFUSAL: {
            MEDIQUEUE: run(Scenario.REFUSAL, MEDIQUEUE, {409: 20_000}, app=4_000.0),
            REFERENCE: run(Scenario.REFUSAL, REFERENCE, {409: 10_000}),
        },
        Scenario.LISTING_100: {
            MEDIQUEUE: run(Scenario.LISTING_100, MEDIQUEUE, {200: 30_000}),
            REFERENCE: run(Scenario.LISTING_100, REFERENCE, {200: 10_000}),
        },
        Scenario.LISTING_1000: {
            MEDIQUEUE: run(Scenario.LISTING_1000, MEDIQUEUE, {200: 1_000}),
            REFERENCE: run(Scenario.LISTING_1000, REFERENCE, {200: 2_000}),
        },
    }
    result = PassResult(
        name="db",
        store="test",
        runs=runs,
        listing_sizes={Scenario.LISTING_100: {MEDIQUEUE: 100, REFERENCE: 100},
                       Scenario.LISTING_1000: {MEDIQUEUE: 1000, REFERENCE: 1000}},
        listing_expected={Scenario.LISTING_100: 100, Scenario.LISTING_1000: 1000},
        flash_slots={MEDIQUEUE: SlotCount(100, 100), REFERENCE: SlotCount(100, 100)},
        probe_statuses=[201] + [200] * 29 + [429],
        invariants_ok=True,
        invariants_output="OK: 10 slot(s) checked, invariants hold.",
    )  # fmt: skip
    for key, value in overrides.items():
        setattr(result, key, value)
    return result


def by_name(found):
    return {item.name: item for item in found}


def test_a_pass_meeting_every_target_is_judged_ok_target_by_target():
    found = by_name(targets(a_pass(), pgbench_tps=2_000.0))

    assert found["hot slot bookings/s vs reference"].measured == pytest.approx(2.0)
    assert found["flash crowd answers/s vs reference"].measured == pytest.approx(2.0)
    assert found["one connection p50 vs reference"].measured == pytest.approx(2 / 3)
    assert found["app CPU per booking (hot slot)"].measured == pytest.approx(0.5)
    assert found["app CPU per refusal (full slot)"].measured == pytest.approx(0.2)
    assert found["PostgreSQL CPU per booking (hot slot)"].measured == pytest.approx(0.5)
    assert found["hot slot vs pgbench of its statement"].measured == pytest.approx(0.6)
    assert found["listing 100 slots vs reference"].measured == pytest.approx(3.0)
    assert found["listing 1,000 slots vs reference"].measured == pytest.approx(0.5)
    assert found["refusals/s vs reference"].measured is not None
    judged = {name for name, t in found.items() if t.limit is not None}
    assert judged == {
        "hot slot bookings/s vs reference",
        "listing 100 slots vs reference",
        "hot slot vs pgbench of its statement",
    }  # the rest is measured and printed, with no target (DESIGN.md, Performance)
    assert all(found[name].met for name in judged)


def test_targets_are_missed_on_the_wrong_side_of_their_limit():
    slow = a_pass()
    slow.runs[Scenario.HOT][MEDIQUEUE] = run(
        Scenario.HOT, MEDIQUEUE, {201: 7_000}, app=7_700.0, pg=3_500.0
    )
    slow.runs[Scenario.ONE_CONN][MEDIQUEUE] = run(
        Scenario.ONE_CONN, MEDIQUEUE, {201: 2_000}, p50=3.3
    )

    found = by_name(targets(slow, pgbench_tps=2_000.0))

    assert found["hot slot bookings/s vs reference"].met is False  # 1.17x < 1.2x
    assert found["hot slot vs pgbench of its statement"].met is False  # 0.35x
    assert found["one connection p50 vs reference"].measured == pytest.approx(1.1)
    assert found["one connection p50 vs reference"].met is None  # printed, no target


def test_a_target_that_could_not_be_measured_counts_as_missed():
    without_cpu = a_pass()
    without_cpu.runs[Scenario.HOT][MEDIQUEUE] = run(Scenario.HOT, MEDIQUEUE, {201: 12_000})

    found = by_name(targets(without_cpu, pgbench_tps=None))

    assert found["PostgreSQL CPU per booking (hot slot)"].measured is None
    assert found["hot slot vs pgbench of its statement"].measured is None
    assert found["hot slot vs pgbench of its statement"].met is False


def test_a_pass_without_listings_has_no_listing_targets_nor_checks():
    bookings_only = a_pass(listing_sizes={}, listing_expected={})
    del bookings_only.runs[Scenario.LISTING_100], bookings_only.runs[Scenario.LISTING_1000]

    assert not [t for t in targets(bookings_only, 2_000.0) if "listing" in t.name]
    assert not [c for c in checks(bookings_only) if "listing" in c.name]


def test_a_correct_pass_passes_every_check():
    found = checks(a_pass())

    assert all(check.ok for check in found), [c for c in found if not c.ok]
    assert len(found) == 2 * 8 + 3


def failed(result: PassResult) -> list[str]:
    return [check.name for check in checks(result) if not check.ok]


def test_a_flash_crowd_with_a_seat_too_many_fails():
    result = a_pass()
    result.runs[Scenario.FLASH][MEDIQUEUE] = run(Scenario.FLASH, MEDIQUEUE, {201: 101, 409: 9_899})

    assert failed(result) == ["MediQueue flash: exactly 100 x 201, the rest 409, no 5xx"]


def test_a_flash_crowd_with_a_5xx_fails_even_with_100_seats_sold():
    result = a_pass()
    result.runs[Scenario.FLASH][REFERENCE] = run(
        Scenario.FLASH, REFERENCE, {201: 100, 409: 4_899, 500: 1}
    )

    assert failed(result) == ["reference flash: exactly 100 x 201, the rest 409, no 5xx"]


def test_a_flash_crowd_the_database_disagrees_with_fails_and_says_why():
    result = a_pass(flash_slots={MEDIQUEUE: SlotCount(100, 99), REFERENCE: SlotCount(100, 100)})

    [check] = [c for c in checks(result) if not c.ok]
    assert check.name.startswith("MediQueue flash")
    assert "booked_seats=100 confirmed=99" in check.detail


def test_answers_cut_off_by_the_end_of_the_run_are_named_as_such():
    result = a_pass()
    result.runs[Scenario.FLASH][MEDIQUEUE] = run(Scenario.FLASH, MEDIQUEUE, {201: 97, 409: 900})

    [check] = [c for c in checks(result) if not c.ok]
    assert "still in flight when wrk stopped" in check.detail


def test_a_single_429_under_the_spread_load_fails():
    result = a_pass()
    result.runs[Scenario.HOT][MEDIQUEUE] = run(Scenario.HOT, MEDIQUEUE, {201: 11_999, 429: 1})

    assert failed(result) == [
        "MediQueue hot: every answer 201",
        "MediQueue: no 429 under the spread load (limits on, paid, never reached)",
    ]


def test_limits_that_never_refuse_one_patient_in_a_loop_fail():
    assert failed(a_pass(probe_statuses=[201] + [200] * 99)) == [
        "MediQueue: rate limits are on (one patient in a loop meets a 429)"
    ]


def test_socket_errors_a_wrong_listing_and_broken_invariants_fail():
    result = a_pass(invariants_ok=False, invariants_output="slot 7: booked_seats=3, 2 confirmed")
    result.runs[Scenario.REFUSAL][REFERENCE] = run(
        Scenario.REFUSAL, REFERENCE, {409: 10_000}, errors=3
    )
    result.listing_sizes[Scenario.LISTING_100][MEDIQUEUE] = 99

    assert failed(result) == [
        "MediQueue listing_100: answers 100 slots",
        "reference refusal: every answer 409",
        "invariants (check_bookings)",
    ]


def test_the_exit_code_fails_on_checks_and_on_missed_targets_only_when_strict():
    ok, bad = Check("a", True), Check("b", False)
    met = Target("t", 2.0, 1.0, True, "x")
    missed = Target("u", 0.5, 1.0, True, "x")
    info = Target("v", 0.5, None, True, "x")

    assert exit_code([ok], [met, info], strict=True) == 0
    assert exit_code([ok, bad], [met], strict=False) == 1
    assert exit_code([ok], [missed], strict=False) == 0
    assert exit_code([ok], [missed], strict=True) == 1


def test_a_pass_of_some_booking_scenarios_judges_only_their_targets():
    redis_quick = a_pass(listing_sizes={}, listing_expected={}, flash_slots={})
    for scenario in (
        Scenario.ONE_CONN,
        Scenario.FLASH,
        Scenario.LISTING_100,
        Scenario.LISTING_1000,
    ):
        del redis_quick.runs[scenario]

    assert [t.name for t in targets(redis_quick, 2_000.0)] == [
        "hot slot bookings/s vs reference",
        "refusals/s vs reference",
        "app CPU per booking (hot slot)",
        "app CPU per refusal (full slot)",
        "PostgreSQL CPU per booking (hot slot)",
        "hot slot vs pgbench of its statement",
    ]
    assert all(check.ok for check in checks(redis_quick))


def test_a_ratio_just_under_its_limit_is_printed_with_three_decimals():
    from loadtests.bench.report import measured_text

    assert measured_text(Target("t", 0.4971, 0.5, True, "x")) == "0.497x"
    assert measured_text(Target("t", 0.61, 0.5, True, "x")) == "0.61x"
    assert measured_text(Target("t", None, 0.5, True, "x")) == "n/a"
    assert measured_text(Target("t", 6.264, 0.7, False, " ms")) == "6.26 ms"
