"""The waitlist scenario's verdict: promotions in join order, one notice each, each seen by its
patient, the database holding what the patients hold, and its summary line."""

from collections import Counter

from loadtests.harness.slots import SlotState, WaitlistState
from loadtests.locust.results import RunResults
from loadtests.locust.verdict import (
    BOOKED,
    CANCELLED,
    FULL,
    JOINED,
    SEEN_PROMOTED,
    waitlist_verdict,
)

HELD = frozenset({"r1", "r2"})


def results(*, seen_promoted=2, unexpected=None) -> RunResults:
    return RunResults(
        answers=Counter(
            {BOOKED: 2, FULL: 4, JOINED: 4, CANCELLED: 2, SEEN_PROMOTED: seen_promoted}
        ),
        unexpected=Counter(unexpected or {}),
        latencies_ms={"book": [4.0] * 6, "join": [6.0] * 4},
        held={7: HELD},
        finished_users=6,
    )


def slot(*, references=HELD) -> SlotState:
    return SlotState(
        slot_id=7,
        total_seats=2,
        booked_seats=2,
        confirmed_bookings=len(references),
        confirmed_references=frozenset(references),
    )


def judge(*, waitlist, run=None, db_slot=None, invariants_hold=True):
    return waitlist_verdict(
        users=6,
        seats=2,
        results=run or results(),
        slot=db_slot or slot(),
        waitlist=waitlist,
        invariants_hold=invariants_hold,
    )


IN_ORDER = WaitlistState(statuses=("BOOKED", "BOOKED", "WAITING", "WAITING"), promotion_notices=2)


def test_promotions_in_join_order_with_a_notice_each_pass_with_the_summary_line():
    verdict = judge(waitlist=IN_ORDER)

    assert verdict.passed, verdict.violations
    assert verdict.summary == (
        "waitlist: users=6 seats=2 booked=2 joined=4 cancelled=2 promoted=2 "
        "promotion_notices=2 still_waiting=2 held=2 db_held=2 errors=0 p50_ms=4 p99_ms=6"
    )


def test_a_later_entry_promoted_before_an_earlier_one_fails():
    out_of_order = WaitlistState(("BOOKED", "WAITING", "BOOKED", "WAITING"), 2)

    assert "earlier one was still waiting" in " ".join(judge(waitlist=out_of_order).violations)


def test_a_promotion_without_its_notice_fails():
    verdict = judge(waitlist=WaitlistState(IN_ORDER.statuses, promotion_notices=1))

    assert verdict.violations == ["1 promotion notices for 2 promotions"]


def test_a_promotion_its_patient_never_saw_fails():
    verdict = judge(waitlist=IN_ORDER, run=results(seen_promoted=1))

    assert verdict.violations == ["1 patients saw their promotion, 2 happened"]


def test_a_database_holding_other_bookings_than_the_patients_fails():
    verdict = judge(waitlist=IN_ORDER, db_slot=slot(references={"r1", "stranger"}))

    assert not verdict.passed


def test_unreadable_waiting_list_and_broken_invariants_fail():
    verdict = judge(waitlist=None, invariants_hold=False)

    assert "the waiting list could not be read (the run needs a database)" in verdict.violations
    assert "check_bookings failed (I1-I5)" in verdict.violations
