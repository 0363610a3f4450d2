"""Turn what the clients saw and what the database holds into one pass/fail line per scenario.

Pure logic, no I/O, so that the rules themselves are tested (loadtests/tests/).

The rules:
- lost: a 201 a client received whose reference is not a CONFIRMED booking of that patient in
  that slot. The service's core promise; must be 0.
- overbooked: slots where the database (booked_seats or confirmed bookings) or the clients
  (201s received) count more seats than the slot has. Must be 0.
- invariants: ``manage.py check_bookings`` passes on the whole database.
- recovered: after the faults, /readyz answers 200 and every booking of a fresh burst gets 201.
- a 5xx is allowed only for a request that was in flight while the database was away (a 5xx
  is not an acknowledgement, so nothing was promised); one sent after the database was back
  means a worker did not reconnect. Well-behaved clients otherwise get an answer from the
  contract: 201, 409, or 503 busy.
- unacked: bookings committed whose client never heard the answer (it hung up, or the worker
  or the database died between the commit and the reply). Not a violation in itself: the seat
  is the patient's, and a retry of the same booking must take no second seat: it answers 409
  ``already_booked`` (or ``slot_full`` when the slot filled up: a full slot tells nobody who
  holds its seats), and the patient still holds exactly that one booking (each is retried once
  after recovery; any other answer fails the scenario).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from loadtests.chaos.clients import Outcome
from loadtests.harness.verdicts import Judged, ok_or_broken


@dataclass(frozen=True)
class StoredBooking:
    reference: str
    slot_id: int
    user_id: str
    status: str


@dataclass(frozen=True)
class SlotCount:
    slot_id: int
    total_seats: int
    booked_seats: int
    confirmed: int


@dataclass(frozen=True)
class Evidence:
    """Everything a verdict needs, gathered after the scenario."""

    name: str
    faults: int
    outcomes: list[Outcome]  # under the faults, then the "recovery" burst and the "retry"s
    stored: dict[str, StoredBooking]  # by reference: the scenario's bookings in the database
    slots: list[SlotCount]  # the scenario's slots
    invariants_hold: bool
    ready_after: bool
    # (from, to) in time.monotonic(): while the database was stopped, restarting or recovering
    database_away: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Verdict(Judged):
    name: str
    requests: int
    faults: int
    acknowledged: int
    lost: int
    overbooked: int
    unanswered: int
    server_errors: int
    busy: int
    unacked: int
    invariants_hold: bool
    recovered: bool
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        line = (
            f"chaos {self.name}: requests={self.requests} faults={self.faults} "
            f"acknowledged={self.acknowledged} lost={self.lost} overbooked={self.overbooked} "
            f"unanswered={self.unanswered} 5xx={self.server_errors} busy={self.busy} "
            f"unacked={self.unacked} invariants={ok_or_broken(self.invariants_hold)} "
            f"recovered={'yes' if self.recovered else 'NO'}"
        )
        return f"{line} {self.outcome()}"


AFTER_THE_FAULTS = {"recovery", "retry"}


@dataclass(frozen=True)
class Seen:
    """What the clients saw, sorted the way the rules read it."""

    under_fault: list[Outcome]  # every request sent while the faults were injected
    crowd: list[Outcome]  # the well-behaved ones among them
    recovery: list[Outcome]  # the fresh bookings after the faults
    retries: list[Outcome]  # the bookings retried because their answer was lost
    acknowledged: list[Outcome]  # every 201 received
    lost: list[Outcome]  # 201s that are not a CONFIRMED booking of that patient in that slot
    server_errors: list[Outcome]  # 5xx (other than 503 busy) answered to the crowd


def judge(evidence: Evidence) -> Verdict:
    seen = sort_outcomes(evidence)
    verdict = Verdict(
        name=evidence.name,
        requests=len(seen.under_fault),
        faults=evidence.faults,
        acknowledged=len(seen.acknowledged),
        lost=len(seen.lost),
        overbooked=len(overbooked_slots(evidence.slots, seen.acknowledged)),
        unanswered=sum(1 for o in seen.crowd if o.status is None),
        server_errors=len(seen.server_errors),
        busy=sum(1 for o in seen.crowd if o.status == 503 and o.code == "busy"),
        unacked=unacknowledged_count(evidence.stored, seen),
        invariants_hold=evidence.invariants_hold,
        recovered=recovered(evidence, seen),
    )
    verdict.violations.extend(
        message for rule in RULES if (message := rule(evidence, seen)) is not None
    )
    return verdict


def sort_outcomes(evidence: Evidence) -> Seen:
    outcomes = evidence.outcomes
    under_fault = [o for o in outcomes if o.kind not in AFTER_THE_FAULTS]
    crowd = [o for o in under_fault if o.kind == "crowd"]
    acknowledged = [o for o in outcomes if o.acknowledged]
    return Seen(
        under_fault=under_fault,
        crowd=crowd,
        recovery=[o for o in outcomes if o.kind == "recovery"],
        retries=[o for o in outcomes if o.kind == "retry"],
        acknowledged=acknowledged,
        lost=[o for o in acknowledged if not _confirmed_as_answered(o, evidence.stored)],
        server_errors=[o for o in crowd if _is_server_error(o)],
    )


def unacknowledged_count(stored: dict[str, StoredBooking], seen: Seen) -> int:
    """Bookings committed beyond the 201s that were received and kept."""
    confirmed = sum(1 for b in stored.values() if b.status == "CONFIRMED")
    return max(confirmed - (len(seen.acknowledged) - len(seen.lost)), 0)


def recovered(evidence: Evidence, seen: Seen) -> bool:
    return (
        evidence.ready_after and bool(seen.recovery) and all(o.acknowledged for o in seen.recovery)
    )


# --- the rules: each names a violation, or returns None -------------------------------------


def lost_bookings(evidence: Evidence, seen: Seen) -> str | None:
    if not seen.lost:
        return None
    examples = ", ".join(o.reference for o in seen.lost[:3])
    return f"{len(seen.lost)} acknowledged booking(s) not confirmed: {examples}"


def over_capacity(evidence: Evidence, seen: Seen) -> str | None:
    overbooked = overbooked_slots(evidence.slots, seen.acknowledged)
    if not overbooked:
        return None
    return f"slot(s) over capacity: {', '.join(map(str, overbooked))}"


def broken_invariants(evidence: Evidence, seen: Seen) -> str | None:
    return None if evidence.invariants_hold else "check_bookings failed"


def server_errors_while_up(evidence: Evidence, seen: Seen) -> str | None:
    """A 5xx is excused only for a request in flight while the database was away."""
    unexcused = [o for o in seen.server_errors if not _overlaps(o, evidence.database_away)]
    return f"{len(unexcused)} 5xx while the database was up" if unexcused else None


def outside_the_contract(evidence: Evidence, seen: Seen) -> str | None:
    unexpected = Counter(o.status for o in seen.crowd if _outside_the_contract(o))
    return f"answers outside the contract: {dict(unexpected)}" if unexpected else None


def not_recovered(evidence: Evidence, seen: Seen) -> str | None:
    if not evidence.ready_after:
        return "/readyz did not answer 200 after the faults"
    if recovered(evidence, seen):
        return None
    statuses = dict(Counter(o.status for o in seen.recovery))
    return f"fresh bookings after the faults did not all get 201: {statuses}"


def retries_not_refused(evidence: Evidence, seen: Seen) -> str | None:
    doubled = [o for o in seen.retries if not _refused_as_already_held(o, evidence.stored)]
    if not doubled:
        return None
    return f"{len(doubled)} retries of an unacknowledged booking were not refused as held"


RULES = (
    lost_bookings,
    over_capacity,
    broken_invariants,
    server_errors_while_up,
    outside_the_contract,
    not_recovered,
    retries_not_refused,
)


def _confirmed_as_answered(outcome: Outcome, stored: dict[str, StoredBooking]) -> bool:
    booking = stored.get(outcome.reference)
    return (
        booking is not None
        and booking.status == "CONFIRMED"
        and booking.user_id == outcome.user_id
        and booking.slot_id == outcome.slot_id
    )


def _refused_as_already_held(retry: Outcome, stored: dict[str, StoredBooking]) -> bool:
    """A retry of a booking that committed unacknowledged: 409, and still one seat held."""
    held = [
        b
        for b in stored.values()
        if b.status == "CONFIRMED" and (b.user_id, b.slot_id) == (retry.user_id, retry.slot_id)
    ]
    return retry.status == 409 and retry.code in {"already_booked", "slot_full"} and len(held) == 1


def overbooked_slots(slots: list[SlotCount], acknowledged: list[Outcome]) -> list[int]:
    told_booked = Counter(o.slot_id for o in acknowledged)
    return [
        slot.slot_id
        for slot in slots
        if max(slot.booked_seats, slot.confirmed, told_booked[slot.slot_id]) > slot.total_seats
    ]


def _overlaps(outcome: Outcome, windows: list[tuple[float, float]]) -> bool:
    return any(outcome.sent_at <= to and outcome.answered_at >= since for since, to in windows)


def _is_server_error(outcome: Outcome) -> bool:
    # 503 busy is the contract's "retry", not a failure.
    return outcome.status is not None and outcome.status >= 500 and outcome.code != "busy"


def _outside_the_contract(outcome: Outcome) -> bool:
    return outcome.status is not None and outcome.status < 500 and outcome.status not in {201, 409}
