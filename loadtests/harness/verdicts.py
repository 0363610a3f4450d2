"""What the verdicts of every job share: a verdict holds the rules it found broken
(``violations``), passes when there are none, and ends its one line in PASS or FAIL: <why>."""

from __future__ import annotations


class Judged:
    """For a verdict dataclass with a ``violations: list[str]`` field."""

    violations: list[str]

    @property
    def passed(self) -> bool:
        return not self.violations

    def outcome(self) -> str:
        return "PASS" if self.passed else "FAIL: " + "; ".join(self.violations)


def ok_or_broken(holds: bool) -> str:
    return "ok" if holds else "BROKEN"


def queue_order_violations(outcomes) -> list[str]:
    """First come, first served, as the load test and chaos judge a crowd on one slot with no
    cancels: in the order of record (``outcomes``, each with ``order``, ``status``, ``reason``),
    no request refused slot_full precedes a confirmed one. Also: order numbers unique."""
    ordered = sorted(outcomes, key=lambda outcome: outcome.order)
    violations = []
    if len({outcome.order for outcome in ordered}) != len(ordered):
        violations.append("two outcomes share a place in the order of record")
    first_full = next(
        (o for o in ordered if o.status == "FAILED" and o.reason == "slot_full"), None
    )
    if first_full is not None:
        late = [o for o in ordered if o.status == "CONFIRMED" and o.order > first_full.order]
        if late:
            violations.append(
                f"FIFO broken: {len(late)} confirmed after request {first_full.order} was "
                "refused slot_full"
            )
    return violations
