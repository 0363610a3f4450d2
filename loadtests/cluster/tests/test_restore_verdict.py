"""The restore drill's verdict: its lines, and each rule that fails it."""

from dataclasses import replace

import pytest

from loadtests.cluster.restore_verdict import (
    RestoreToLatest,
    RestoreToTime,
    judge_to_latest,
    judge_to_time,
)

BEFORE = {f"b{n}" for n in range(3)}
AFTER = {f"a{n}" for n in range(2)}
TO_T = RestoreToTime(
    acknowledged_before=BEFORE,
    acknowledged_after=AFTER,
    restored={ref: "CONFIRMED" for ref in BEFORE} | {"unacknowledged": "CONFIRMED"},
    invariants_hold=True,
    seconds=12.44,
)
LEADER = {ref: "CONFIRMED" for ref in BEFORE | AFTER} | {"c0": "CANCELLED"}
LATEST = RestoreToLatest(
    acknowledged=BEFORE | AFTER | {"gone", "c0"},
    deleted_by_mistake={"gone"},
    leader=LEADER,
    restored=dict(LEADER),
    timelines=(1, 2),
    invariants_hold=True,
    seconds=9.0,
)


def test_passing_restores_print_their_counts():
    assert judge_to_time(TO_T).line() == (
        "backup restore-to-T: acknowledged_before_T=3 present=3 acknowledged_after_T=2 "
        "present_after=0 invariants=ok restore_s=12.4 PASS"
    )
    assert judge_to_latest(LATEST).line() == (
        "backup restore-latest: acknowledged=7 deleted_by_mistake=1 present=6 differ=0 "
        "timeline=1->2 invariants=ok restore_s=9.0 PASS"
    )


@pytest.mark.parametrize(
    ("change", "violation"),
    [
        (
            {"restored": {"b0": "CONFIRMED", "b1": "CONFIRMED"}},
            "1 booking(s) acknowledged before T",
        ),
        ({"restored": {"b0": "CANCELLED", "b1": "CONFIRMED", "b2": "CONFIRMED"}}, "1 booking(s)"),
        ({"restored": {**TO_T.restored, "a1": "CONFIRMED"}}, "1 booking(s) from after T"),
        ({"acknowledged_after": set()}, "no booking was acknowledged after T"),
        ({"invariants_hold": False}, "check_bookings failed"),
        ({"seconds": 121.0}, "the restore took 121 s"),
    ],
)
def test_a_restore_to_t_fails_on_a_missing_or_a_later_booking(change, violation):
    verdict = judge_to_time(replace(TO_T, **change))

    assert not verdict.passed
    assert any(violation in v for v in verdict.violations), verdict.violations


@pytest.mark.parametrize(
    ("change", "violation"),
    [
        ({"restored": {k: v for k, v in LEADER.items() if k != "a1"}}, "1 booking(s) differ"),
        ({"restored": {**LEADER, "c0": "CONFIRMED"}}, "1 booking(s) differ"),
        ({"restored": {}, "leader": {}}, "6 acknowledged booking(s) missing"),
        ({"timelines": (2, 2)}, "did not cross a timeline"),
        ({"deleted_by_mistake": set()}, "the mistake deleted nothing"),
        ({"invariants_hold": False}, "check_bookings failed"),
    ],
)
def test_a_restore_to_the_latest_point_fails_unless_it_is_the_leaders_data(change, violation):
    verdict = judge_to_latest(replace(LATEST, **change))

    assert not verdict.passed
    assert any(violation in v for v in verdict.violations), verdict.violations
