"""The restore drill's verdict (``make backup-test``): one line for the restore to a point in
time T, one for the restore to the latest point. Pure logic, tested in loadtests/cluster/tests/.

- restore to T (a moment between two acknowledged bookings, before a failover and a mistaken
  DELETE): every booking acknowledged before T is CONFIRMED in the restored database
  (``present`` = ``acknowledged_before_T``), none acknowledged after T is there
  (``present_after`` = 0), and ``check_bookings`` passes on it.
- restore to the latest point (across the failover's new timeline, past the mistake): the
  restored bookings are exactly the leader's (``differ`` = 0: missing or extra rows, or another
  status), so every booking acknowledged before the mistake, but those the mistake deleted, is
  there; the archive crossed a timeline (``timeline`` went up); ``check_bookings`` passes.
- ``restore_s``: from the restore command to a promoted server answering; bounded by
  ``MAX_RESTORE_SECONDS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loadtests.harness.verdicts import Judged, ok_or_broken

MAX_RESTORE_SECONDS = 120.0


@dataclass(frozen=True)
class RestoreToTime:
    acknowledged_before: set[str]  # references of 201s answered before T
    acknowledged_after: set[str]  # references of 201s sent after T
    restored: dict[str, str]  # reference -> status in the restored database
    invariants_hold: bool
    seconds: float


@dataclass(frozen=True)
class RestoreToLatest:
    acknowledged: set[str]  # every 201's reference
    deleted_by_mistake: set[str]  # references the mistaken DELETE removed
    leader: dict[str, str]  # reference -> status on the live leader after the mistake
    restored: dict[str, str]
    timelines: tuple[int, int]  # the leader's timeline before and after the failover
    invariants_hold: bool
    seconds: float


@dataclass
class RestoreVerdict(Judged):
    text: str
    violations: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.text} {self.outcome()}"


def judge_to_time(evidence: RestoreToTime) -> RestoreVerdict:
    confirmed = {ref for ref, status in evidence.restored.items() if status == "CONFIRMED"}
    present = evidence.acknowledged_before & confirmed
    present_after = evidence.acknowledged_after & set(evidence.restored)
    verdict = RestoreVerdict(
        f"backup restore-to-T: acknowledged_before_T={len(evidence.acknowledged_before)} "
        f"present={len(present)} acknowledged_after_T={len(evidence.acknowledged_after)} "
        f"present_after={len(present_after)} "
        f"invariants={ok_or_broken(evidence.invariants_hold)} restore_s={evidence.seconds:.1f}"
    )
    missing = len(evidence.acknowledged_before) - len(present)
    verdict.violations.extend(
        message
        for message in (
            "no booking was acknowledged before T" if not evidence.acknowledged_before else None,
            "no booking was acknowledged after T" if not evidence.acknowledged_after else None,
            f"{missing} booking(s) acknowledged before T missing" if missing else None,
            f"{len(present_after)} booking(s) from after T restored" if present_after else None,
            None if evidence.invariants_hold else "check_bookings failed on the restored database",
            _too_slow(evidence.seconds),
        )
        if message is not None
    )
    return verdict


def judge_to_latest(evidence: RestoreToLatest) -> RestoreVerdict:
    differ = {
        ref
        for ref in set(evidence.leader) | set(evidence.restored)
        if evidence.leader.get(ref) != evidence.restored.get(ref)
    }
    kept = evidence.acknowledged - evidence.deleted_by_mistake
    missing = kept - set(evidence.restored)
    before, after = evidence.timelines
    verdict = RestoreVerdict(
        f"backup restore-latest: acknowledged={len(evidence.acknowledged)} "
        f"deleted_by_mistake={len(evidence.deleted_by_mistake)} "
        f"present={len(kept) - len(missing)} differ={len(differ)} timeline={before}->{after} "
        f"invariants={ok_or_broken(evidence.invariants_hold)} restore_s={evidence.seconds:.1f}"
    )
    verdict.violations.extend(
        message
        for message in (
            f"{len(differ)} booking(s) differ from the leader's" if differ else None,
            f"{len(missing)} acknowledged booking(s) missing" if missing else None,
            "the mistake deleted nothing" if not evidence.deleted_by_mistake else None,
            None if after > before else "the archive did not cross a timeline change",
            None if evidence.invariants_hold else "check_bookings failed on the restored database",
            _too_slow(evidence.seconds),
        )
        if message is not None
    )
    return verdict


def _too_slow(seconds: float) -> str | None:
    if seconds <= MAX_RESTORE_SECONDS:
        return None
    return f"the restore took {seconds:.0f} s (at most {MAX_RESTORE_SECONDS:.0f} s)"
