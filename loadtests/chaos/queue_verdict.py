"""The chaos queue phase's verdict: pure logic over what the clients were told and what the
database recorded, so that its rules are tested (chaos/tests/).

The rules:
- nothing accepted is lost: every ticket a 202 gave has its outcome recorded (lost=0);
- nothing booked twice: the slot's count, its confirmed bookings and the confirmed outcomes
  agree, within its seats, one seat a patient;
- first come, first served in the order of record (no slot_full before a confirmed one);
- every POST was answered 202, or 503 unavailable while the broker was away, or not at all;
- the faults happened: the allocator died before a commit and after one, the broker restarted;
- ``manage.py check_bookings`` (I1-I6) passes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from loadtests.harness.slots import QueuedOutcome
from loadtests.harness.verdicts import Judged, ok_or_broken, queue_order_violations

EXCUSED = frozenset({"202 QUEUED", "503 unavailable", "no answer"})


@dataclass(frozen=True)
class QueueEvidence:
    seats: int
    answers: Counter[str]  # "202 QUEUED", "503 unavailable", "no answer", ...
    accepted: frozenset[str]  # the tickets of the 202s
    outcomes: tuple[QueuedOutcome, ...]  # the slot's, in the order of record
    booked_seats: int
    confirmed_bookings: int
    crashes: tuple[str, ...]  # "before-commit", "after-commit": the allocators that died so
    broker_restarts: int
    invariants_hold: bool
    # The allocator deaths the run must have seen ("killed": an allocator SIGKILLed between
    # batches, the cluster's; chaos's crashing allocators die at a chosen point).
    expected_crashes: tuple[str, ...] = ("before-commit", "after-commit")
    name: str = "chaos queue"


@dataclass
class QueueVerdict(Judged):
    evidence: QueueEvidence
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        e = self.evidence
        recorded = {o.ticket for o in e.outcomes}
        confirmed = sum(o.status == "CONFIRMED" for o in e.outcomes)
        line = (
            f"{e.name}: accepted={len(e.accepted)} 503={e.answers['503 unavailable']} "
            f"unanswered={e.answers['no answer']} outcomes={len(e.outcomes)} "
            f"lost={len(e.accepted - recorded)} confirmed={confirmed} seats={e.seats} "
            f"booked={e.booked_seats} fifo={ok_or_broken(not queue_order_violations(e.outcomes))} "
            f"allocator_crashes={','.join(e.crashes) or 'none'} "
            f"broker_restarts={e.broker_restarts} invariants={ok_or_broken(e.invariants_hold)}"
        )
        return f"{line} {self.outcome()}"


def judge_queue(e: QueueEvidence) -> QueueVerdict:
    verdict = QueueVerdict(e)
    found = verdict.violations
    recorded = Counter(o.ticket for o in e.outcomes)
    if lost := e.accepted - set(recorded):
        found.append(f"lost={len(lost)}: accepted tickets without an outcome")
    if doubled := [ticket for ticket, count in recorded.items() if count > 1]:
        found.append(f"{len(doubled)} tickets decided twice")
    confirmed = [o for o in e.outcomes if o.status == "CONFIRMED"]
    if not (len(confirmed) == e.booked_seats == e.confirmed_bookings):
        found.append(
            f"{len(confirmed)} confirmed outcomes, booked_seats={e.booked_seats}, "
            f"{e.confirmed_bookings} confirmed bookings"
        )
    if e.booked_seats > e.seats:
        found.append(f"overbooked: {e.booked_seats} of {e.seats} seats")
    if len({o.user_id for o in confirmed}) != len(confirmed):
        found.append("a patient holds two seats")
    found += queue_order_violations(e.outcomes)
    if other := {answer: n for answer, n in e.answers.items() if answer not in EXCUSED}:
        found.append(f"unexpected answers: {other}")
    for crash in e.expected_crashes:
        if crash not in e.crashes:
            found.append(f"the allocator never died {crash.replace('-', ' the ')}")
    if not e.broker_restarts:
        found.append("RabbitMQ was never restarted")
    if not e.invariants_hold:
        found.append("check_bookings failed (I1-I6)")
    return verdict
