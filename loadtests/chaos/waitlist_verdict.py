"""The chaos waitlist phase's verdict: pure logic over what the clients saw, what the database
holds and what the SMTP server received, so that its rules are tested (chaos/tests/).

The rules:
- every cancel acknowledged (200) is CANCELLED in the database, and after the retries every
  holder's booking is;
- the freed seats went to the earliest entries: the statuses in join order are BOOKED for
  exactly min(cancelled, waiting) entries, then WAITING (nobody leaves in this phase);
- one promotion notice per promotion, one cancellation notice per cancel (the outbox row is in
  the change's transaction: a rolled-back change leaves none, a committed one always one);
- nothing lost: every notice SENT once the worker caught up (none PENDING or FAILED);
- nothing doubled: the SMTP server received exactly one distinct Message-ID per notice (a
  resend after a worker died mid-send repeats a Message-ID, which a mail client shows once);
- ``manage.py check_bookings`` (I1-I5) passes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from loadtests.harness.verdicts import Judged, ok_or_broken


@dataclass(frozen=True)
class WaitlistEvidence:
    holders: int
    waiting: int  # entries that joined before the faults
    acknowledged_cancels: frozenset[str]  # references whose cancel answered 200
    cancelled: frozenset[str]  # the holders' references CANCELLED in the database
    statuses: tuple[str, ...]  # the entries' statuses, in join order
    notices: Counter[str]  # kind -> count, in the outbox
    notice_statuses: Counter[str]  # status -> count
    notice_keys: frozenset[str]  # every notice's Message-ID
    received: list[str]  # the Message-IDs the SMTP server got, in order, repeats included
    faults: int
    invariants_hold: bool


@dataclass
class WaitlistVerdict(Judged):
    evidence: WaitlistEvidence
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        e = self.evidence
        line = (
            f"chaos waitlist: holders={e.holders} waiting={e.waiting} "
            f"cancelled={len(e.cancelled)} acknowledged={len(e.acknowledged_cancels)} "
            f"promoted={e.statuses.count('BOOKED')} notices={sum(e.notices.values())} "
            f"sent={e.notice_statuses['SENT']} delivered={len(e.received)} "
            f"distinct={len(set(e.received))} faults={e.faults} "
            f"invariants={ok_or_broken(e.invariants_hold)}"
        )
        return f"{line} {self.outcome()}"


def judge_waitlist(e: WaitlistEvidence) -> WaitlistVerdict:
    verdict = WaitlistVerdict(e)
    found = verdict.violations
    if lost := e.acknowledged_cancels - e.cancelled:
        found.append(f"{len(lost)} acknowledged cancels are not cancelled in the database")
    if len(e.cancelled) != e.holders:
        found.append(f"{e.holders - len(e.cancelled)} holders still hold a seat after the retries")
    promoted = min(len(e.cancelled), e.waiting)
    if e.statuses != ("BOOKED",) * promoted + ("WAITING",) * (len(e.statuses) - promoted):
        found.append(f"promotions are not the earliest {promoted} entries: {Counter(e.statuses)}")
    if e.notices["waitlist_promoted"] != e.statuses.count("BOOKED"):
        found.append(f"{e.notices['waitlist_promoted']} promotion notices for {promoted} seats")
    if e.notices["booking_cancelled"] != len(e.cancelled):
        found.append(
            f"{e.notices['booking_cancelled']} cancellation notices, {len(e.cancelled)} cancels"
        )
    if unsent := sum(e.notice_statuses.values()) - e.notice_statuses["SENT"]:
        found.append(f"{unsent} notices not sent: {dict(e.notice_statuses)}")
    if set(e.received) != e.notice_keys:
        missing, stray = e.notice_keys - set(e.received), set(e.received) - e.notice_keys
        found.append(f"messages received: {len(missing)} missing, {len(stray)} unknown")
    if not e.invariants_hold:
        found.append("check_bookings failed (I1-I5)")
    return verdict
