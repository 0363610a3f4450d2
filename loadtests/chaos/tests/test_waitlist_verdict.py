"""The chaos waitlist phase's rules: nothing lost, nothing doubled, promotions in join order."""

from collections import Counter
from dataclasses import replace

from loadtests.chaos.waitlist_verdict import WaitlistEvidence, judge_waitlist

KEYS = [f"<notice-{n}@mediqueue>" for n in range(7)]

CLEAN = WaitlistEvidence(
    holders=2,
    waiting=3,
    acknowledged_cancels=frozenset({"a"}),  # the other cancel's answer was lost, then retried
    cancelled=frozenset({"a", "b"}),
    statuses=("BOOKED", "BOOKED", "WAITING"),
    notices=Counter(
        booking_confirmed=2, waitlist_joined=3, booking_cancelled=2, waitlist_promoted=2
    ),
    notice_statuses=Counter(SENT=9),
    notice_keys=frozenset(KEYS),
    received=[*KEYS, KEYS[3]],  # one sent twice: a worker killed mid-send
    faults=4,
    invariants_hold=True,
)


def test_a_clean_phase_passes_and_a_resend_with_the_same_message_id_is_no_double():
    verdict = judge_waitlist(CLEAN)

    assert (verdict.violations, verdict.line()) == (
        [],
        "chaos waitlist: holders=2 waiting=3 cancelled=2 acknowledged=1 promoted=2 notices=9 "
        "sent=9 delivered=8 distinct=7 faults=4 invariants=ok PASS",
    )


def test_an_acknowledged_cancel_missing_from_the_database_is_lost():
    verdict = judge_waitlist(replace(CLEAN, cancelled=frozenset({"b"})))

    assert "1 acknowledged cancels are not cancelled in the database" in verdict.violations


def test_a_later_entry_promoted_before_an_earlier_one_fails():
    verdict = judge_waitlist(replace(CLEAN, statuses=("BOOKED", "WAITING", "BOOKED")))

    assert any("not the earliest 2 entries" in v for v in verdict.violations)


def test_a_notice_never_sent_or_a_message_never_received_fails():
    unsent = replace(CLEAN, notice_statuses=Counter(SENT=8, PENDING=1), received=KEYS[1:])

    violations = judge_waitlist(unsent).violations

    assert "1 notices not sent: {'SENT': 8, 'PENDING': 1}" in violations
    assert "messages received: 1 missing, 0 unknown" in violations


def test_a_promotion_without_its_notice_and_broken_invariants_fail():
    broken = replace(
        CLEAN, notices=CLEAN.notices - Counter(waitlist_promoted=1), invariants_hold=False
    )

    violations = judge_waitlist(broken).violations

    assert "1 promotion notices for 2 seats" in violations
    assert "check_bookings failed (I1-I5)" in violations
