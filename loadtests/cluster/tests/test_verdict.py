"""The cluster verdict: its line, and each rule that fails a scenario."""

from dataclasses import replace

import pytest

from loadtests.chaos.clients import Outcome
from loadtests.chaos.verdict import SlotCount, StoredBooking
from loadtests.cluster.verdict import ClusterEvidence, failover_seconds, judge

SLOT = 3
FAULT_AT = 100.0


def told(status: int | None, *, user: str, sent: float, code: str = "CONFIRMED", kind="crowd"):
    reference = f"ref-{user}" if status == 201 else None
    return Outcome(kind, user, SLOT, status, code, reference, sent_at=sent, answered_at=sent + 0.5)


def leader_holds(*users: str) -> dict[str, StoredBooking]:
    return {f"ref-{u}": StoredBooking(f"ref-{u}", SLOT, u, "CONFIRMED") for u in users}


# Before the fault one booking, then 503s while the leader changes, a 201 4 s after the fault
# (sent 3.5 s after it), a refusal, and a recovery burst: a leader-kill that passes.
PASSING = ClusterEvidence(
    name="leader-kill",
    outcomes=[
        told(201, user="early", sent=99.0),
        told(503, user="during", sent=100.5, code="unavailable"),
        told(201, user="after", sent=103.5),
        told(409, user="late", sent=104.0, code="slot_full"),
        told(201, user="fresh", sent=120.0, kind="recovery"),
    ],
    stored=leader_holds("early", "after", "fresh"),
    slots=[SlotCount(SLOT, total_seats=3, booked_seats=3, confirmed=3)],
    invariants_hold=True,
    fault_at=FAULT_AT,
    rejoined=True,
)


def test_a_passing_scenario_prints_the_line_the_issue_asks_for():
    verdict = judge(PASSING)

    assert verdict.passed, verdict.violations
    assert verdict.line() == (
        "cluster leader-kill: requests=4 acknowledged=3 lost=0 overbooked=0 unanswered=0 "
        "5xx=1 failover_s=4.0 invariants=ok PASS"
    )


def test_failover_is_timed_from_the_fault_to_the_first_201_sent_after_it():
    # The 201 of a request sent before the fault does not count, however late it came.
    slow_but_early = replace(told(201, user="x", sent=99.9), answered_at=101.0)

    assert failover_seconds([slow_but_early, *PASSING.outcomes], FAULT_AT) == pytest.approx(4.0)
    assert failover_seconds(PASSING.outcomes, None) is None


def test_a_201_before_the_outage_began_does_not_end_the_failover():
    # A killed leader's backend committing one last booking before the outage.
    last_gasp = told(201, user="gasp", sent=100.05)

    assert failover_seconds([last_gasp, *PASSING.outcomes], FAULT_AT) == pytest.approx(4.0)


def test_a_scenario_without_a_fault_prints_no_failover_time():
    verdict = judge(replace(PASSING, name="slow-clients", fault_at=None, rejoined=None))

    assert "failover_s=- " in verdict.line()


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"stored": leader_holds("after", "fresh")}, "1 acknowledged booking(s) not confirmed"),
        (
            {"slots": [SlotCount(SLOT, total_seats=2, booked_seats=3, confirmed=3)]},
            "over capacity",
        ),
        ({"invariants_hold": False}, "check_bookings failed on the leader"),
        ({"rejoined": False}, "did not rejoin as a replica"),
        ({"stale_reads": 2}, "2 listing(s) on the other node missed"),
    ],
)
def test_each_broken_promise_fails_the_scenario(changes, why):
    verdict = judge(replace(PASSING, **changes))

    assert not verdict.passed
    assert why in verdict.line()


def test_no_201_after_the_fault_or_a_slow_one_fails():
    never = [o for o in PASSING.outcomes if o.user_id != "after"]
    late = [*never, told(201, user="late-201", sent=131.0)]

    no_booking = judge(replace(PASSING, outcomes=never, stored=leader_holds("early", "fresh")))
    too_slow = judge(
        replace(PASSING, outcomes=late, stored=leader_holds("early", "fresh", "late-201"))
    )

    assert "no booking got a 201 after the fault" in no_booking.line()
    assert "failover took 31.5 s" in too_slow.line()


def test_only_the_contracts_retry_answers_are_excused_and_only_under_a_fault():
    crash = told(500, user="crash", sent=101.0, code="server_error")
    with_a_500 = judge(replace(PASSING, outcomes=[*PASSING.outcomes, crash]))
    unfaulted = judge(replace(PASSING, fault_at=None, rejoined=None))

    assert "5xx other than 503 unavailable/busy: {(500, 'server_error'): 1}" in with_a_500.line()
    assert "1 5xx without any fault" in unfaulted.line()


def test_a_request_left_without_an_answer_fails_unless_it_was_in_flight_at_the_fault():
    silent = told(None, user="silent", sent=101.0, code=None)
    cut_off = told(None, user="cut-off", sent=99.8, code=None)  # answered_at 100.3

    failed = judge(replace(PASSING, outcomes=[*PASSING.outcomes, silent]))
    excused = judge(replace(PASSING, outcomes=[*PASSING.outcomes, cut_off]))

    assert "unanswered=1" in failed.line()
    assert "1 request(s) got no answer, not even in flight at the fault" in failed.line()
    assert excused.passed
    assert "unanswered=1" in excused.line()


def test_a_recovery_burst_with_a_refusal_fails():
    refused = told(503, user="fresh-2", sent=121.0, code="unavailable", kind="recovery")

    verdict = judge(replace(PASSING, outcomes=[*PASSING.outcomes, refused]))

    assert "fresh bookings after the scenario did not all get 201: {201: 1, 503: 1}" in (
        verdict.line()
    )


def test_an_answer_outside_the_contract_fails():
    throttled = told(429, user="throttled", sent=104.0, code="throttled")

    verdict = judge(replace(PASSING, outcomes=[*PASSING.outcomes, throttled]))

    assert "answers outside the contract: {429: 1}" in verdict.line()


# A replica frozen and restarted under the crowd: bookings untouched, listings mostly replicas'.
REPLICA_FAULTS = replace(
    PASSING,
    name="replica-faults",
    outcomes=[
        told(201, user="early", sent=99.0),
        told(201, user="after", sent=101.0),
        told(409, user="late", sent=104.0, code="slot_full"),
        told(201, user="fresh", sent=120.0, kind="recovery"),
    ],
    rejoined=True,
    stale_reads=0,
    listings={"replica": 930, "leader": 70},
    fallbacks={"lagging": 40, "unavailable": 30},
)


def test_a_replica_scenario_prints_stale_and_the_replica_share():
    verdict = judge(REPLICA_FAULTS)

    assert verdict.passed, verdict.violations
    assert verdict.line() == (
        "cluster replica-faults: requests=3 acknowledged=3 lost=0 overbooked=0 unanswered=0 "
        "5xx=0 failover_s=1.5 invariants=ok stale=0 listings=1000 replica_share=93% "
        "fallbacks[lagging=40,unavailable=30] PASS"
    )


@pytest.mark.parametrize(
    ("change", "violation"),
    [
        ({"stale_reads": 1}, "missed the seat"),
        ({"listings": {"replica": 49, "leader": 51}}, "replicas served 49% of the listings"),
        ({"listings": {"replica": 0, "leader": 0}}, "replicas served 0%"),
        ({"listing_errors": 2}, "2 listing(s) or cancel(s) without a 200"),
        (
            {"outcomes": [*REPLICA_FAULTS.outcomes, told(503, user="d", sent=102.0, code="busy")]},
            "1 5xx to bookings while only replicas were struck",
        ),
    ],
)
def test_a_replica_scenario_fails_on_a_stale_listing_a_low_share_or_any_error(change, violation):
    verdict = judge(replace(REPLICA_FAULTS, **change))

    assert not verdict.passed
    assert any(violation in v for v in verdict.violations), verdict.violations
