"""Turn what the users saw and what the database holds into pass/fail and one summary line.

Pure functions: no Locust, no Django, no network, so that the rules QA relies on are unit-tested.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from loadtests.harness.slots import QueuedOutcome, SlotState, WaitlistState
from loadtests.harness.verdicts import Judged, queue_order_violations
from loadtests.locust.results import RunResults

BOOKED = "book 201 CONFIRMED"
FULL = "book 409 slot_full"
CANCELLED = "cancel 200 CANCELLED"
JOINED = "join 201 WAITING"
SEEN_PROMOTED = "watch 200 BOOKED"


@dataclass(frozen=True)
class Verdict(Judged):
    violations: list[str]
    summary: str


def percentile_ms(values: Sequence[float], percent: float) -> int:
    """Nearest-rank percentile, rounded to whole milliseconds (0 when nothing was measured)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return round(ordered[rank - 1])


def flash_crowd_verdict(
    *,
    users: int,
    seats: int,
    results: RunResults,
    slot: SlotState,
    invariants_hold: bool | None,
) -> Verdict:
    """Every seat sold exactly once, every other patient told "full", nothing else, and the
    database agreeing. ``invariants_hold`` is None when check_bookings could not be run."""
    expected_confirmed = min(users, seats)
    confirmed, full = results.count(BOOKED), results.count(FULL)
    errors = users - confirmed - full  # anything else, including patients who got no answer
    overbooked = max(0, max(confirmed, slot.booked_seats, slot.confirmed_bookings or 0) - seats)

    violations = []
    if confirmed != expected_confirmed:
        violations.append(f"confirmed={confirmed}, expected exactly {expected_confirmed}")
    if full != users - expected_confirmed:
        violations.append(f"full={full}, expected {users - expected_confirmed}")
    if errors:
        violations.append(f"errors={errors}: {_describe_errors(results, users - results.requests)}")
    violations += _slot_disagreements(slot, expected_seats=seats, expected_held=expected_confirmed)
    if slot.confirmed_users is not None and slot.confirmed_users != set(results.confirmed_users):
        violations.append(
            f"slot {slot.slot_id}: the patients holding seats in the database are not the "
            "patients who were told 201"
        )
    if len(set(results.confirmed_users)) != len(results.confirmed_users):
        violations.append("a patient was confirmed twice")
    if invariants_hold is False:
        violations.append("check_bookings failed")

    latencies = results.latencies_ms.get("book", [])
    summary = (
        f"flash-crowd: users={users} seats={seats} confirmed={confirmed} full={full} "
        f"errors={errors} overbooked={overbooked} "
        f"p50_ms={percentile_ms(latencies, 50)} p99_ms={percentile_ms(latencies, 99)}"
    )
    return Verdict(violations, summary)


def churn_verdict(
    *,
    users: int,
    seats: int,
    results: RunResults,
    slots: Sequence[SlotState],
    invariants_hold: bool | None,
) -> Verdict:
    """Every answer was the one right answer, every user finished, and on every slot the seats
    the users believe they hold are exactly the seats the database counts."""
    errors, violations = _answered_right_and_finished(results, users)
    for slot in slots:
        violations += _holding_disagreements(slot, results, seats)
    if invariants_hold is False:
        violations.append("check_bookings failed")

    held_total = sum(len(refs) for refs in results.held.values())
    latencies = results.latencies_ms.get("book", [])
    summary = (
        f"churn: users={users} slots={len(slots)} seats={seats} requests={results.requests} "
        f"booked={results.count(BOOKED)} full={results.count(FULL)} "
        f"cancelled={results.count(CANCELLED)} "
        f"held={held_total} db_held={sum(slot.booked_seats for slot in slots)} errors={errors} "
        f"p50_ms={percentile_ms(latencies, 50)} p99_ms={percentile_ms(latencies, 99)}"
    )
    return Verdict(violations, summary)


def waitlist_verdict(
    *,
    users: int,
    seats: int,
    results: RunResults,
    slot: SlotState,
    waitlist: WaitlistState | None,
    invariants_hold: bool | None,
) -> Verdict:
    """Every answer the right one, every user finished; the seats the users hold are the
    database's; promotions went to the earliest waiting (nobody still waiting joined before
    anyone promoted: nobody leaves in this scenario), each with one notice, each seen by its
    patient; check_bookings (I1-I5) passes."""
    errors, violations = _answered_right_and_finished(results, users)
    violations += _holding_disagreements(slot, results, seats)
    held = results.held.get(slot.slot_id, frozenset())
    if waitlist is None:
        violations.append("the waiting list could not be read (the run needs a database)")
    else:
        violations += _waitlist_disagreements(waitlist, seen_promoted=results.count(SEEN_PROMOTED))
    if invariants_hold is False:
        violations.append("check_bookings failed (I1-I5)")

    latencies = results.latencies_ms.get("book", []) + results.latencies_ms.get("join", [])
    promoted = waitlist.promoted if waitlist else 0
    summary = (
        f"waitlist: users={users} seats={seats} booked={results.count(BOOKED)} "
        f"joined={results.count(JOINED)} cancelled={results.count(CANCELLED)} "
        f"promoted={promoted} promotion_notices={waitlist.promotion_notices if waitlist else 0} "
        f"still_waiting={waitlist.statuses.count('WAITING') if waitlist else 0} "
        f"held={len(held)} db_held={slot.booked_seats} errors={errors} "
        f"p50_ms={percentile_ms(latencies, 50)} p99_ms={percentile_ms(latencies, 99)}"
    )
    return Verdict(violations, summary)


def _waitlist_disagreements(waitlist: WaitlistState, *, seen_promoted: int) -> list[str]:
    found = []
    statuses = list(waitlist.statuses)
    if statuses != sorted(statuses, key=lambda status: status != "BOOKED"):
        found.append("an entry was promoted while an earlier one was still waiting")
    if not set(statuses) <= {"BOOKED", "WAITING"}:
        found.append(f"entries left or expired in a run where nobody does: {set(statuses)}")
    if waitlist.promotion_notices != waitlist.promoted:
        found.append(
            f"{waitlist.promotion_notices} promotion notices for {waitlist.promoted} promotions"
        )
    if seen_promoted != waitlist.promoted:
        found.append(f"{seen_promoted} patients saw their promotion, {waitlist.promoted} happened")
    return found


def browse_verdict(*, users: int, results: RunResults) -> Verdict:
    """Browsing only reads: every answer must be a 200."""
    errors = sum(results.unexpected.values())
    violations = []
    if errors:
        violations.append(f"errors={errors}: {_describe_errors(results, unanswered=0)}")
    if not results.requests:
        violations.append("no request was answered")
    latencies = results.latencies_ms.get("browse", [])
    rps = results.requests / results.seconds()
    summary = (
        f"browse: users={users} requests={results.requests} errors={errors} rps={rps:.0f} "
        f"p50_ms={percentile_ms(latencies, 50)} p99_ms={percentile_ms(latencies, 99)}"
    )
    return Verdict(violations, summary)


def _answered_right_and_finished(results: RunResults, users: int) -> tuple[int, list[str]]:
    """The unexpected answers, and the violations they and the users who never finished make."""
    errors = sum(results.unexpected.values())
    violations = []
    if errors:
        violations.append(f"errors={errors}: {_describe_errors(results, unanswered=0)}")
    if results.finished_users != users:
        violations.append(f"only {results.finished_users} of {users} users finished in time")
    return errors, violations


def _holding_disagreements(slot: SlotState, results: RunResults, seats: int) -> list[str]:
    """Where the slot disagrees with the bookings the users believe they hold in it."""
    held = results.held.get(slot.slot_id, frozenset())
    found = _slot_disagreements(slot, expected_seats=seats, expected_held=len(held))
    if slot.confirmed_references is not None and slot.confirmed_references != held:
        found.append(
            f"slot {slot.slot_id}: the confirmed bookings in the database are not the ones "
            "the users hold"
        )
    return found


def _slot_disagreements(slot: SlotState, *, expected_seats: int, expected_held: int) -> list[str]:
    """Where the slot, as read back, disagrees with the seats it was given or with the seats
    the users were told they hold."""
    found = []
    if slot.total_seats != expected_seats:
        found.append(f"slot {slot.slot_id}: total_seats={slot.total_seats}, not {expected_seats}")
    if slot.booked_seats != expected_held:
        found.append(
            f"slot {slot.slot_id}: booked_seats={slot.booked_seats} but the users hold "
            f"{expected_held}"
        )
    if slot.confirmed_bookings is not None and slot.confirmed_bookings != slot.booked_seats:
        found.append(
            f"slot {slot.slot_id}: {slot.confirmed_bookings} confirmed bookings but "
            f"booked_seats={slot.booked_seats}"
        )
    if not 0 <= slot.booked_seats <= slot.total_seats:
        found.append(f"slot {slot.slot_id}: booked_seats={slot.booked_seats} outside 0..total")
    return found


def _describe_errors(results: RunResults, unanswered: int) -> str:
    parts = [f"{count} x {answer}" for answer, count in results.unexpected.most_common()]
    if unanswered > 0:
        parts.append(f"{unanswered} x no answer")
    return ", ".join(parts) or "none recorded"


QUEUED = "book 202 QUEUED"


def queue_verdict(
    *,
    users: int,
    seats: int,
    results: RunResults,
    slot: SlotState,
    outcomes: Sequence[QueuedOutcome] | None,
    invariants_hold: bool | None,
) -> Verdict:
    """Every patient queued (202 with a ticket); exactly ``seats`` confirmed, the rest
    slot_full; every ticket with its outcome in the database and no outcome without a ticket
    (tickets = outcomes, lost = 0); what each patient saw is what the database holds; first
    come first served in the order of record; check_bookings (I1-I6) passes."""
    expected_confirmed = min(users, seats)
    queued = results.count(QUEUED)
    tickets = results.tickets
    violations = []
    if queued != users or len(tickets) != users:
        violations.append(
            f"queued={queued} tickets={len(tickets)}, expected {users}: "
            f"{_describe_errors(results, users - results.requests)}"
        )
    if outcomes is None:
        violations.append("the outcomes could not be read (the run needs a database)")
        outcomes = []
    recorded = {outcome.ticket: outcome for outcome in outcomes}
    lost = [ticket for ticket in tickets if ticket not in recorded]
    unknown = [ticket for ticket in recorded if ticket not in tickets]
    if lost:
        violations.append(f"lost={len(lost)}: tickets given with no outcome recorded")
    if unknown:
        violations.append(f"{len(unknown)} outcomes recorded for tickets nobody was given")
    confirmed = sum(outcome.status == "CONFIRMED" for outcome in outcomes)
    full = sum(outcome.reason == "slot_full" for outcome in outcomes)
    if confirmed != expected_confirmed:
        violations.append(f"confirmed={confirmed}, expected exactly {expected_confirmed}")
    if full != len(outcomes) - confirmed:
        violations.append(f"{len(outcomes) - confirmed - full} refused for another reason")
    seen_wrong = [
        ticket
        for ticket, seen in tickets.items()
        if seen and ticket in recorded and seen != (recorded[ticket].reason or "CONFIRMED")
    ]
    if seen_wrong:
        violations.append(f"{len(seen_wrong)} patients were shown another outcome than recorded")
    unseen = sum(1 for seen in tickets.values() if not seen)
    if unseen:
        violations.append(f"{unseen} patients never saw their outcome")
    violations += _slot_disagreements(slot, expected_seats=seats, expected_held=expected_confirmed)
    violations += queue_order_violations(outcomes)
    if invariants_hold is False:
        violations.append("check_bookings failed (I1-I6)")

    accepted_ms = results.latencies_ms.get("book", [])
    seen_ms = results.latencies_ms.get("outcome", [])
    in_line_ms = [outcome.seconds_in_line * 1000 for outcome in outcomes]
    fifo = "broken" if queue_order_violations(outcomes) else "ok"
    summary = (
        f"queue: users={users} seats={seats} queued={queued} confirmed={confirmed} "
        f"full={full} tickets={len(tickets)} outcomes={len(outcomes)} lost={len(lost)} "
        f"fifo={fifo} accepted_p50_ms={percentile_ms(accepted_ms, 50)} "
        f"accepted_p99_ms={percentile_ms(accepted_ms, 99)} "
        f"in_line_p50_ms={percentile_ms(in_line_ms, 50)} "
        f"in_line_p99_ms={percentile_ms(in_line_ms, 99)} "
        f"seen_p50_ms={percentile_ms(seen_ms, 50)} seen_p99_ms={percentile_ms(seen_ms, 99)}"
    )
    return Verdict(violations, summary)
