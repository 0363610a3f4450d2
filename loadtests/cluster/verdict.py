"""One pass/fail line per cluster scenario, from what the clients saw and what the leader holds.

Pure logic, no I/O, tested in loadtests/cluster/tests/. The counting rules are chaos's
(``loadtests.chaos.verdict``: what ``lost`` and ``overbooked`` mean); the cluster adds its own:

- lost: 201s whose booking is not CONFIRMED, for that patient and slot, on the leader after the
  scenario (the new leader after a failover). Must be 0.
- overbooked: slots where the leader or the 201s count more bookings than seats. Must be 0.
- invariants: ``check_bookings`` on the leader passes.
- unanswered: requests that got no HTTP answer, or only part of one, within the patient's
  timeout. Behind nginx a node that dies, or a database that fails over, still gets every
  client an answer: the only ones excused are those in flight at the very instant of the fault
  (a node killed between sending an answer's first bytes and its last: nginx has passed on the
  status line already and can only cut the connection).
- 5xx: tolerated only as the contract's "retry" (503 ``unavailable`` or ``busy``) and only in a
  scenario that injects a fault; any other 5xx (a 500, a 502 nginx could not turn into the
  envelope) fails it.
- failover_s: from the fault to the first 201 of a request sent after it, and after the last
  request the fault failed (a killed leader's backends may still commit for a moment before the
  outage begins: the outage's end is what counts); a scenario with a fault fails without one,
  or when it took ``MAX_FAILOVER_SECONDS`` or more.
- rejoined: after a fault of the leader, the former leader is back as a replica (never a
  second leader) with a synchronous standby in place.
- recovered: a burst of fresh bookings after the scenario all get 201.
- stale: listings from the other node that did not show the seat a 201 had just confirmed
  (or, in the replica scenarios, that showed anything but the re-reading patient's own count
  after a 201 or a cancel). Must be 0.
- replica_share (the replica scenarios): the share of listings read from a replica, summed over
  the nodes; at least ``MIN_REPLICA_SHARE``. Listings or cancels that got no 200 fail it, and so
  does any 5xx to a booking, fault or not: a replica's fault must not reach a patient.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from loadtests.chaos.clients import Outcome
from loadtests.chaos.verdict import (
    Evidence,
    SlotCount,
    StoredBooking,
    overbooked_slots,
    sort_outcomes,
)
from loadtests.harness.verdicts import Judged, ok_or_broken

MAX_FAILOVER_SECONDS = 30.0
MIN_REPLICA_SHARE = 0.5
RETRY_CODES = {"unavailable", "busy"}


@dataclass(frozen=True)
class ClusterEvidence:
    name: str
    outcomes: list[Outcome]  # during the scenario, then its "recovery" burst
    stored: dict[str, StoredBooking]  # the scenario's bookings, read on the leader
    slots: list[SlotCount]
    invariants_hold: bool
    fault_at: float | None = None  # time.monotonic() of the fault; None: no fault
    rejoined: bool | None = None  # None: no leader was faulted
    stale_reads: int | None = None  # None: no read-your-writes check ran
    # The replica scenarios: listings read by source and fallbacks by reason (the nodes'
    # counters over the scenario), listings or cancels that got no 200. None: not one of them.
    listings: dict[str, int] | None = None
    fallbacks: dict[str, int] | None = None
    listing_errors: int = 0


@dataclass
class ClusterVerdict(Judged):
    name: str
    requests: int
    acknowledged: int
    lost: int
    overbooked: int
    unanswered: int
    server_errors: int
    failover_s: float | None
    invariants_hold: bool
    stale: int | None = None
    listings: dict[str, int] | None = None
    fallbacks: dict[str, int] | None = None
    violations: list[str] = field(default_factory=list)

    @property
    def replica_share(self) -> float | None:
        if self.listings is None:
            return None
        total = sum(self.listings.values())
        return self.listings.get("replica", 0) / total if total else 0.0

    def line(self) -> str:
        failover = "-" if self.failover_s is None else f"{self.failover_s:.1f}"
        line = (
            f"cluster {self.name}: requests={self.requests} acknowledged={self.acknowledged} "
            f"lost={self.lost} overbooked={self.overbooked} unanswered={self.unanswered} "
            f"5xx={self.server_errors} failover_s={failover} "
            f"invariants={ok_or_broken(self.invariants_hold)}"
        )
        if self.listings is not None:
            fallbacks = ",".join(f"{k}={v}" for k, v in sorted((self.fallbacks or {}).items()))
            line += (
                f" stale={self.stale} listings={sum(self.listings.values())}"
                f" replica_share={self.replica_share:.0%} fallbacks[{fallbacks}]"
            )
        return f"{line} {self.outcome()}"


def failover_seconds(outcomes: list[Outcome], fault_at: float | None) -> float | None:
    """From the fault to the first 201 of a request sent after the fault and after the last
    failure answered since (the recovery burst afterwards does not count)."""
    if fault_at is None:
        return None
    during = [o for o in outcomes if o.kind != "recovery"]
    failed = [o.answered_at for o in during if _failed(o) and o.answered_at >= fault_at]
    outage_ended = max(failed, default=fault_at)
    after = [o.answered_at for o in during if o.acknowledged and o.sent_at >= outage_ended]
    return min(after) - fault_at if after else None


def _failed(outcome: Outcome) -> bool:
    return outcome.status is None or outcome.status >= 500


def judge(evidence: ClusterEvidence) -> ClusterVerdict:
    seen = sort_outcomes(
        Evidence(
            name=evidence.name,
            faults=0,
            outcomes=evidence.outcomes,
            stored=evidence.stored,
            slots=evidence.slots,
            invariants_hold=evidence.invariants_hold,
            ready_after=True,
        )
    )
    during = seen.under_fault
    server_errors = [o for o in during if o.status is not None and o.status >= 500]
    overbooked = overbooked_slots(evidence.slots, seen.acknowledged)
    failover = failover_seconds(evidence.outcomes, evidence.fault_at)
    verdict = ClusterVerdict(
        name=evidence.name,
        requests=len(during),
        acknowledged=len(seen.acknowledged),
        lost=len(seen.lost),
        overbooked=len(overbooked),
        unanswered=sum(1 for o in during if o.status is None),
        server_errors=len(server_errors),
        failover_s=failover,
        invariants_hold=evidence.invariants_hold,
        stale=evidence.stale_reads,
        listings=evidence.listings,
        fallbacks=evidence.fallbacks,
    )
    unexcused = [o for o in during if o.status is None and not _in_flight_at(o, evidence.fault_at)]
    verdict.violations.extend(
        message
        for message in (
            _lost(seen.lost),
            f"slot(s) over capacity: {overbooked}" if overbooked else None,
            None if evidence.invariants_hold else "check_bookings failed on the leader",
            _unanswered(len(unexcused)),
            _server_errors(server_errors, faulted=evidence.fault_at is not None),
            _outside_the_contract(during),
            _failover(evidence.fault_at, failover),
            _rejoined(evidence.rejoined),
            _recovered(seen.recovery),
            _stale(evidence.stale_reads),
            *_replica_reads(verdict, evidence, server_errors),
        )
        if message is not None
    )
    return verdict


def _replica_reads(verdict: ClusterVerdict, evidence: ClusterEvidence, server_errors) -> list:
    if evidence.listings is None:
        return []
    share = verdict.replica_share
    return [
        None
        if share >= MIN_REPLICA_SHARE
        else f"replicas served {share:.0%} of the listings (at least {MIN_REPLICA_SHARE:.0%})",
        f"{evidence.listing_errors} listing(s) or cancel(s) without a 200"
        if evidence.listing_errors
        else None,
        f"{len(server_errors)} 5xx to bookings while only replicas were struck"
        if server_errors
        else None,
    ]


def _lost(lost: list[Outcome]) -> str | None:
    if not lost:
        return None
    return f"{len(lost)} acknowledged booking(s) not confirmed on the leader"


def _in_flight_at(outcome: Outcome, fault_at: float | None) -> bool:
    return fault_at is not None and outcome.sent_at <= fault_at <= outcome.answered_at


def _unanswered(count: int) -> str | None:
    return f"{count} request(s) got no answer, not even in flight at the fault" if count else None


def _server_errors(errors: list[Outcome], *, faulted: bool) -> str | None:
    if not faulted and errors:
        return f"{len(errors)} 5xx without any fault: {dict(Counter(o.code for o in errors))}"
    unclear = Counter(
        (o.status, o.code) for o in errors if o.status != 503 or o.code not in RETRY_CODES
    )
    return f"5xx other than 503 unavailable/busy: {dict(unclear)}" if unclear else None


def _outside_the_contract(outcomes: list[Outcome]) -> str | None:
    unexpected = Counter(
        o.status
        for o in outcomes
        if o.status is not None and o.status < 500 and o.status not in {201, 409}
    )
    return f"answers outside the contract: {dict(unexpected)}" if unexpected else None


def _failover(fault_at: float | None, failover: float | None) -> str | None:
    if fault_at is None:
        return None
    if failover is None:
        return "no booking got a 201 after the fault"
    if failover >= MAX_FAILOVER_SECONDS:
        return f"failover took {failover:.1f} s (at most {MAX_FAILOVER_SECONDS:.0f} s)"
    return None


def _rejoined(rejoined: bool | None) -> str | None:
    if rejoined is False:
        return "the former leader did not rejoin as a replica beside a synchronous standby"
    return None


def _recovered(recovery: list[Outcome]) -> str | None:
    if recovery and all(o.acknowledged for o in recovery):
        return None
    statuses = dict(Counter(o.status for o in recovery))
    return f"fresh bookings after the scenario did not all get 201: {statuses}"


def _stale(stale_reads: int | None) -> str | None:
    if not stale_reads:
        return None
    return f"{stale_reads} listing(s) on the other node missed the seat a 201 had just taken"
