"""The rules that decide whether a load test passed, and the summary line QA reads."""

from collections import Counter

from loadtests.harness.slots import SlotState
from loadtests.locust.results import RunResults
from loadtests.locust.verdict import (
    BOOKED,
    CANCELLED,
    FULL,
    browse_verdict,
    churn_verdict,
    flash_crowd_verdict,
    percentile_ms,
)


def flash_results(*, confirmed=10, full=50, other=None, latencies=None) -> RunResults:
    answers = Counter({BOOKED: confirmed, FULL: full, **(other or {})})
    return RunResults(
        answers=+answers,
        unexpected=Counter(other or {}),
        latencies_ms={"book": latencies or [5.0] * (confirmed + full)},
        confirmed_users=[f"p{n}" for n in range(confirmed)],
        finished_users=sum(answers.values()),
    )


def db_slot(*, booked=10, total=10, confirmed=10, users=None) -> SlotState:
    return SlotState(
        slot_id=7,
        total_seats=total,
        booked_seats=booked,
        confirmed_bookings=confirmed,
        confirmed_users=frozenset(users if users is not None else [f"p{n}" for n in range(10)]),
    )


def test_a_clean_flash_crowd_passes_with_the_exact_summary_line():
    results = flash_results(latencies=[float(ms) for ms in range(1, 61)])

    verdict = flash_crowd_verdict(
        users=60, seats=10, results=results, slot=db_slot(), invariants_hold=True
    )

    assert verdict.passed, verdict.violations
    assert verdict.summary == (
        "flash-crowd: users=60 seats=10 confirmed=10 full=50 errors=0 overbooked=0 "
        "p50_ms=30 p99_ms=60"
    )


def test_more_confirmations_than_seats_is_reported_as_overbooked():
    results = flash_results(confirmed=12, full=48)

    verdict = flash_crowd_verdict(
        users=60, seats=10, results=results, slot=db_slot(), invariants_hold=True
    )

    assert not verdict.passed
    assert "confirmed=12, expected exactly 10" in verdict.violations
    assert " overbooked=2 " in verdict.summary


def test_a_database_holding_more_seats_than_the_slot_has_is_overbooked_even_if_clients_agree():
    verdict = flash_crowd_verdict(
        users=60,
        seats=10,
        results=flash_results(),
        slot=db_slot(booked=11, confirmed=11),
        invariants_hold=True,
    )

    assert " overbooked=1 " in verdict.summary
    assert any("booked_seats=11 but the users hold 10" in v for v in verdict.violations)


def test_other_statuses_and_missing_answers_count_as_errors():
    results = flash_results(confirmed=10, full=45, other={"book 503 busy": 3})  # 2 never answered

    verdict = flash_crowd_verdict(
        users=60, seats=10, results=results, slot=db_slot(), invariants_hold=True
    )

    assert " errors=5 " in verdict.summary
    assert "errors=5: 3 x book 503 busy, 2 x no answer" in verdict.violations


def test_seats_held_by_other_patients_than_those_told_201_fail_the_run():
    slot = db_slot(users=[f"p{n}" for n in range(9)] + ["stranger"])

    verdict = flash_crowd_verdict(
        users=60, seats=10, results=flash_results(), slot=slot, invariants_hold=True
    )

    assert any("not the patients who were told 201" in v for v in verdict.violations)


def test_a_failed_check_bookings_fails_the_run_and_a_skipped_one_does_not():
    kwargs = {"users": 60, "seats": 10, "results": flash_results(), "slot": db_slot()}

    assert (
        "check_bookings failed" in flash_crowd_verdict(**kwargs, invariants_hold=False).violations
    )
    assert flash_crowd_verdict(**kwargs, invariants_hold=None).passed


def test_a_slot_read_through_the_api_is_judged_on_its_counts_alone():
    api_slot = SlotState(slot_id=7, total_seats=10, booked_seats=10)

    verdict = flash_crowd_verdict(
        users=60, seats=10, results=flash_results(), slot=api_slot, invariants_hold=None
    )

    assert verdict.passed, verdict.violations


def test_fewer_patients_than_seats_all_get_one():
    results = flash_results(confirmed=5, full=0)
    slot = db_slot(booked=5, confirmed=5, users=[f"p{n}" for n in range(5)])

    verdict = flash_crowd_verdict(
        users=5, seats=10, results=results, slot=slot, invariants_hold=True
    )

    assert verdict.passed, verdict.violations


def churn_results(*, held, unexpected=None, finished=20) -> RunResults:
    return RunResults(
        answers=Counter({BOOKED: 30, FULL: 12, CANCELLED: 25, **(unexpected or {})}),
        unexpected=Counter(unexpected or {}),
        latencies_ms={"book": [4.0, 8.0]},
        held={slot: frozenset(refs) for slot, refs in held.items()},
        finished_users=finished,
    )


def churn_slot(slot_id: int, refs: set[str], *, booked=None, total=3) -> SlotState:
    return SlotState(
        slot_id=slot_id,
        total_seats=total,
        booked_seats=len(refs) if booked is None else booked,
        confirmed_bookings=len(refs),
        confirmed_references=frozenset(refs),
    )


def test_churn_passes_when_every_slot_holds_what_the_users_hold():
    held = {1: {"a", "b"}, 2: {"c"}}
    slots = [churn_slot(1, {"a", "b"}), churn_slot(2, {"c"})]

    verdict = churn_verdict(
        users=20, seats=3, results=churn_results(held=held), slots=slots, invariants_hold=True
    )

    assert verdict.passed, verdict.violations
    assert verdict.summary == (
        "churn: users=20 slots=2 seats=3 requests=67 booked=30 full=12 cancelled=25 held=3 "
        "db_held=3 errors=0 p50_ms=4 p99_ms=8"
    )


def test_churn_fails_when_the_database_holds_a_booking_no_user_holds():
    slots = [churn_slot(1, {"a", "b", "ghost"}), churn_slot(2, {"c"})]

    verdict = churn_verdict(
        users=20,
        seats=3,
        results=churn_results(held={1: {"a", "b"}, 2: {"c"}}),
        slots=slots,
        invariants_hold=True,
    )

    assert "slot 1: booked_seats=3 but the users hold 2" in verdict.violations
    assert any("not the ones the users hold" in v for v in verdict.violations)


def test_churn_fails_on_unexpected_answers_and_on_users_that_never_finished():
    verdict = churn_verdict(
        users=20,
        seats=3,
        results=churn_results(
            held={}, unexpected={"cancel 0 ConnectionResetError": 1}, finished=19
        ),
        slots=[churn_slot(1, set())],
        invariants_hold=True,
    )

    assert "errors=1: 1 x cancel 0 ConnectionResetError" in verdict.violations
    assert "only 19 of 20 users finished in time" in verdict.violations


def test_browsing_fails_on_any_answer_but_200():
    results = RunResults(
        answers=Counter({"browse 200 ok": 90, "browse 500 server_error": 1}),
        unexpected=Counter({"browse 500 server_error": 1}),
        latencies_ms={"browse": [3.0] * 91},
        timeline={0: Counter(), 9: Counter()},
        bucket_seconds=1.0,
    )

    verdict = browse_verdict(users=10, results=results)

    assert verdict.violations == ["errors=1: 1 x browse 500 server_error"]
    assert verdict.summary == "browse: users=10 requests=91 errors=1 rps=9 p50_ms=3 p99_ms=3"


def test_percentiles_use_the_nearest_rank():
    values = [float(n) for n in range(1, 101)]

    assert percentile_ms(values, 50) == 50
    assert percentile_ms(values, 99) == 99
    assert percentile_ms([7.6], 99) == 8
    assert percentile_ms([], 50) == 0
