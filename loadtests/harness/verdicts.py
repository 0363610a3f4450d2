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
