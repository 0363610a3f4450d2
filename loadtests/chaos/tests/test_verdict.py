"""The chaos verdict: which observations pass a scenario and which fail it."""

from dataclasses import replace

from loadtests.chaos.clients import Outcome
from loadtests.chaos.verdict import Evidence, SlotCount, StoredBooking, judge

SLOT = 7


def booked(user: str, reference: str, *, at: float = 1.0, kind: str = "crowd") -> Outcome:
    return Outcome(kind, user, SLOT, 201, "CONFIRMED", reference, sent_at=at, answered_at=at)


def answered(status: int, code: str, *, at: float = 1.0, user: str = "late") -> Outcome:
    return Outcome("crowd", user, SLOT, status, code, sent_at=at, answered_at=at + 0.01)


def confirmed(user: str, reference: str, status: str = "CONFIRMED") -> StoredBooking:
    return StoredBooking(reference, SLOT, user, status)


def evidence(**changes) -> Evidence:
    """Two patients told "booked" and stored as such, a third told "full", a recovery burst
    that all got 201: a scenario that passes."""
    base = Evidence(
        name="worker-kills",
        faults=3,
        outcomes=[
            booked("a", "ref-a"),
            booked("b", "ref-b"),
            answered(409, "slot_full"),
            booked("r", "ref-r", kind="recovery"),
        ],
        stored={
            "ref-a": confirmed("a", "ref-a"),
            "ref-b": confirmed("b", "ref-b"),
            "ref-r": confirmed("r", "ref-r"),
        },
        slots=[SlotCount(SLOT, total_seats=3, booked_seats=3, confirmed=3)],
        invariants_hold=True,
        ready_after=True,
    )
    return replace(base, **changes)


def test_a_clean_scenario_passes_with_one_summary_line():
    verdict = judge(evidence())

    assert verdict.passed
    assert verdict.line() == (
        "chaos worker-kills: requests=3 faults=3 acknowledged=3 lost=0 overbooked=0 "
        "unanswered=0 5xx=0 busy=0 unacked=0 invariants=ok recovered=yes PASS"
    )


def test_a_201_whose_booking_is_missing_cancelled_or_someone_elses_is_lost():
    stored = {
        "ref-b": confirmed("b", "ref-b", status="CANCELLED"),
        "ref-r": confirmed("somebody-else", "ref-r"),
    }  # ref-a missing altogether

    verdict = judge(evidence(stored=stored))

    assert verdict.lost == 3
    assert not verdict.passed
    assert "3 acknowledged booking(s) not confirmed" in verdict.line()


def test_more_201s_for_a_slot_than_seats_is_overbooking_even_if_the_database_agrees():
    verdict = judge(evidence(slots=[SlotCount(SLOT, total_seats=2, booked_seats=2, confirmed=2)]))

    assert verdict.overbooked == 1
    assert "over capacity: 7" in verdict.line()


def test_a_counter_above_the_seats_is_overbooking():
    verdict = judge(evidence(slots=[SlotCount(SLOT, total_seats=3, booked_seats=4, confirmed=3)]))

    assert verdict.overbooked == 1
    assert not verdict.passed


def test_a_5xx_passes_only_while_the_database_was_away():
    during = answered(500, "server_error", at=5.0)
    after = answered(500, "server_error", at=9.0)
    outcomes = [*evidence().outcomes, during, after]

    verdict = judge(evidence(outcomes=outcomes, database_away=[(4.0, 6.0)]))

    assert verdict.server_errors == 2
    assert verdict.violations == ["1 5xx while the database was up"]


def test_busy_is_the_contracts_retry_not_a_server_error():
    outcomes = [*evidence().outcomes, answered(503, "busy")]

    verdict = judge(evidence(outcomes=outcomes))

    assert (verdict.busy, verdict.server_errors, verdict.passed) == (1, 0, True)


def test_an_answer_outside_the_contract_fails():
    outcomes = [*evidence().outcomes, answered(400, "invalid")]

    assert judge(evidence(outcomes=outcomes)).violations == [
        "answers outside the contract: {400: 1}"
    ]


def test_not_recovered_when_readyz_fails_or_a_fresh_booking_does_not_get_201():
    failed_fresh_booking = Outcome("recovery", "r2", SLOT, 500, "server_error")
    outcomes = [*evidence().outcomes, failed_fresh_booking]

    assert not judge(evidence(ready_after=False)).recovered
    verdict = judge(evidence(outcomes=outcomes))
    assert not verdict.recovered
    assert "fresh bookings after the faults did not all get 201: {201: 1, 500: 1}" in (
        verdict.line()
    )


def test_broken_invariants_fail():
    verdict = judge(evidence(invariants_hold=False))

    assert "invariants=BROKEN" in verdict.line()
    assert verdict.violations == ["check_bookings failed"]


def test_bookings_committed_for_clients_that_never_heard_back_are_reported_not_failed():
    hung_up = Outcome("sent-then-closed", "gone", SLOT, None)
    stored = {**evidence().stored, "ref-gone": confirmed("gone", "ref-gone")}
    outcomes = [*evidence().outcomes, hung_up]

    verdict = judge(evidence(outcomes=outcomes, stored=stored))

    assert (verdict.unacked, verdict.unanswered, verdict.passed) == (1, 0, True)


def test_a_retry_of_an_unacknowledged_booking_must_be_refused_as_already_held():
    stored = {**evidence().stored, "ref-gone": confirmed("gone", "ref-gone")}
    refused = Outcome("retry", "gone", SLOT, 409, "already_booked")
    refused_full = Outcome("retry", "gone", SLOT, 409, "slot_full")
    second_seat = Outcome("retry", "gone", SLOT, 201, "CONFIRMED", "ref-new")
    with_second_seat = {**stored, "ref-new": confirmed("gone", "ref-new")}
    outcomes = evidence().outcomes

    assert judge(evidence(outcomes=[*outcomes, refused], stored=stored)).passed
    assert judge(evidence(outcomes=[*outcomes, refused_full], stored=stored)).passed
    verdict = judge(evidence(outcomes=[*outcomes, second_seat], stored=with_second_seat))
    assert "1 retries of an unacknowledged booking were not refused as held" in verdict.violations
