"""What the Locust users recorded (written by the locustfile as JSON when the test stops)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RunResults:
    answers: Counter[str]  # e.g. {"book 201 CONFIRMED": 100, "book 409 slot_full": 1900}
    unexpected: Counter[str]  # the answers a user did not expect, by answer
    latencies_ms: dict[str, list[float]]  # by request kind: "book", "cancel", ...
    # Answers by time bucket since the test started: bucket n covers [n, n+1) * bucket_seconds.
    timeline: dict[int, Counter[str]] = field(default_factory=dict)
    bucket_seconds: float = 0.1
    confirmed_users: list[str] = field(default_factory=list)  # flash crowd: who got a seat
    held: dict[int, frozenset[str]] = field(default_factory=dict)  # churn: slot -> references
    finished_users: int = 0
    tickets: dict[str, str] = field(default_factory=dict)  # queue: ticket -> the outcome seen

    @property
    def requests(self) -> int:
        return sum(self.answers.values())

    def count(self, answer: str) -> int:
        return self.answers.get(answer, 0)

    def seconds(self) -> float:
        """From the start of the test to the last answer (never 0, so a rate can be computed)."""
        return (max(self.timeline, default=0) + 1) * self.bucket_seconds


def load_results(path: Path) -> RunResults:
    raw = json.loads(path.read_text())
    return RunResults(
        answers=Counter(raw["answers"]),
        unexpected=Counter(raw["unexpected"]),
        latencies_ms=raw["latencies_ms"],
        timeline={int(bucket): Counter(c) for bucket, c in raw["timeline"].items()},
        bucket_seconds=raw["bucket_seconds"],
        confirmed_users=raw["confirmed_users"],
        held={int(slot): frozenset(refs) for slot, refs in raw["held"].items()},
        finished_users=raw["finished_users"],
        tickets=raw.get("tickets", {}),
    )
