"""The chaos queue phase's rules (loadtests/chaos/queue_verdict.py)."""

from collections import Counter
from dataclasses import replace

from loadtests.chaos.queue_verdict import QueueEvidence, judge_queue
from loadtests.harness.slots import QueuedOutcome


def _outcome(order: int, kind: str, ticket: str | None = None) -> QueuedOutcome:
    return QueuedOutcome(
        order=order,
        ticket=ticket or f"t{order}",
        user_id=f"p{order}",
        status="CONFIRMED" if kind == "C" else "FAILED",
        reason="" if kind == "C" else "slot_full",
        seconds_in_line=0.1,
    )


def _evidence(pattern: str = "CCFFF", **changes) -> QueueEvidence:
    outcomes = tuple(_outcome(n + 1, kind) for n, kind in enumerate(pattern))
    evidence = QueueEvidence(
        seats=2,
        answers=Counter({"202 QUEUED": len(outcomes), "503 unavailable": 3}),
        accepted=frozenset(o.ticket for o in outcomes),
        outcomes=outcomes,
        booked_seats=2,
        confirmed_bookings=2,
        crashes=("before-commit", "after-commit"),
        broker_restarts=1,
        invariants_hold=True,
    )
    return replace(evidence, **changes)


def test_a_clean_phase_passes_with_its_line():
    verdict = judge_queue(_evidence())
    assert verdict.passed, verdict.violations
    assert verdict.line() == (
        "chaos queue: accepted=5 503=3 unanswered=0 outcomes=5 lost=0 confirmed=2 seats=2 "
        "booked=2 fifo=ok allocator_crashes=before-commit,after-commit broker_restarts=1 "
        "invariants=ok PASS"
    )


def test_an_accepted_ticket_without_an_outcome_is_lost():
    evidence = _evidence()
    verdict = judge_queue(replace(evidence, accepted=evidence.accepted | {"t-lost"}))
    assert "lost=1: accepted tickets without an outcome" in verdict.violations


def test_a_ticket_decided_twice_and_a_double_count_fail():
    evidence = _evidence()
    twice = (*evidence.outcomes, _outcome(9, "C", ticket="t1"))
    verdict = judge_queue(replace(evidence, outcomes=twice, booked_seats=3, confirmed_bookings=3))
    assert "1 tickets decided twice" in verdict.violations
    assert "overbooked: 3 of 2 seats" in verdict.violations


def test_fifo_unexpected_answers_and_missing_faults_fail():
    verdict = judge_queue(
        _evidence(
            "CFCFF",
            answers=Counter({"202 QUEUED": 5, "500 server_error": 1}),
            crashes=("before-commit",),
            broker_restarts=0,
        )
    )
    assert any(v.startswith("FIFO broken") for v in verdict.violations)
    assert "unexpected answers: {'500 server_error': 1}" in verdict.violations
    assert "the allocator never died after the commit" in verdict.violations
    assert "RabbitMQ was never restarted" in verdict.violations
