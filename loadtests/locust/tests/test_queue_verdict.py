"""The queue load test's rules: tickets = outcomes, none lost, exactly the seats confirmed,
first come first served in the order of record."""

from collections import Counter

from loadtests.harness.slots import QueuedOutcome, SlotState
from loadtests.harness.verdicts import queue_order_violations
from loadtests.locust.results import RunResults
from loadtests.locust.verdict import QUEUED, queue_verdict


def _outcomes(pattern: str) -> list[QueuedOutcome]:
    """One outcome per letter, in the order of record: C confirmed, F slot_full."""
    return [
        QueuedOutcome(
            order=n + 1,
            ticket=f"t{n}",
            user_id=f"p{n}",
            status="CONFIRMED" if kind == "C" else "FAILED",
            reason="" if kind == "C" else "slot_full",
            seconds_in_line=0.01 * (n + 1),
        )
        for n, kind in enumerate(pattern)
    ]


def _results(outcomes: list[QueuedOutcome], **changes) -> RunResults:
    tickets = {o.ticket: o.reason or "CONFIRMED" for o in outcomes}
    tickets.update(changes.get("tickets", {}))
    return RunResults(
        answers=Counter({QUEUED: len(tickets)}),
        unexpected=Counter(),
        latencies_ms={"book": [2.0] * len(tickets), "outcome": [900.0] * len(tickets)},
        tickets=tickets,
    )


def _slot(booked: int = 3) -> SlotState:
    return SlotState(slot_id=7, total_seats=3, booked_seats=booked, confirmed_bookings=booked)


def _verdict(outcomes, results=None, slot=None):
    return queue_verdict(
        users=len(outcomes) if results is None else len(results.tickets),
        seats=3,
        results=results or _results(outcomes),
        slot=slot or _slot(),
        outcomes=outcomes,
        invariants_hold=True,
    )


def test_a_clean_queued_crowd_passes_with_its_summary_line():
    verdict = _verdict(_outcomes("CCCFFFF"))
    assert verdict.passed, verdict.violations
    assert verdict.summary == (
        "queue: users=7 seats=3 queued=7 confirmed=3 full=4 tickets=7 outcomes=7 lost=0 "
        "fifo=ok accepted_p50_ms=2 accepted_p99_ms=2 in_line_p50_ms=40 in_line_p99_ms=70 "
        "seen_p50_ms=900 seen_p99_ms=900"
    )


def test_a_confirmation_after_a_slot_full_refusal_breaks_fifo():
    outcomes = _outcomes("CCFCFFF")
    assert queue_order_violations(outcomes) == [
        "FIFO broken: 1 confirmed after request 3 was refused slot_full"
    ]
    verdict = _verdict(outcomes)
    assert not verdict.passed and "fifo=broken" in verdict.summary


def test_a_ticket_without_an_outcome_is_lost():
    outcomes = _outcomes("CCCFFFF")
    results = _results(outcomes, tickets={"t-lost": ""})
    verdict = _verdict(outcomes, results=results)
    assert "lost=1: tickets given with no outcome recorded" in verdict.violations
    assert "lost=1" in verdict.summary


def test_an_outcome_nobody_holds_a_ticket_for_and_a_wrong_outcome_shown_fail():
    outcomes = _outcomes("CCCFFFF")
    results = _results(outcomes[:-1], tickets={"t0": "slot_full"})
    verdict = _verdict(outcomes, results=results)
    assert "1 outcomes recorded for tickets nobody was given" in verdict.violations
    assert "1 patients were shown another outcome than recorded" in verdict.violations


def test_more_confirmed_than_seats_fails():
    verdict = _verdict(_outcomes("CCCCFFF"), slot=_slot(booked=4))
    assert "confirmed=4, expected exactly 3" in verdict.violations
