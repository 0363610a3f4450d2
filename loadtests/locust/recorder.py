"""What the Locust users were answered, recorded in the Locust process, and the command-line
options and test events of the MediQueue locustfile (``locustfile.py`` beside it).

Like the locustfile it imports nothing from the project: the locustfile imports it by its plain
name, from the locustfile's own directory, which Locust puts on ``sys.path`` (its documented way
of sharing code between locustfiles), so the plain ``locust -f`` command loads both.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import gevent
from locust import events

# Answers are counted in time buckets this long, fine enough to chart a flash crowd that is
# over in a few seconds.
BUCKET_SECONDS = 0.1


class Recorder:
    """What every user was answered, kept in this process until the test stops."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started_at = time.time()
        self.answers: Counter[str] = Counter()
        self.timeline: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self.latencies_ms: defaultdict[str, list[float]] = defaultdict(list)
        self.unexpected: Counter[str] = Counter()
        self.confirmed_users: list[str] = []
        self.held: defaultdict[int, set[str]] = defaultdict(set)  # slot id -> live references
        self.finished_users = 0
        # The queued booking: every ticket a 202 gave, with the outcome its patient saw ("" while
        # none was seen).
        self.tickets: dict[str, str] = {}

    def answer(self, kind: str, label: str, latency_ms: float, *, expected: bool) -> None:
        key = f"{kind} {label}"
        self.answers[key] += 1
        self.timeline[int((time.time() - self.started_at) / BUCKET_SECONDS)][key] += 1
        self.latencies_ms[kind].append(round(latency_ms, 2))
        if not expected:
            self.unexpected[key] += 1

    def as_json(self) -> dict:
        return {
            "started_at": self.started_at,
            "answers": dict(self.answers),
            "bucket_seconds": BUCKET_SECONDS,
            "timeline": {str(b): dict(c) for b, c in sorted(self.timeline.items())},
            "latencies_ms": dict(self.latencies_ms),
            "unexpected": dict(self.unexpected),
            "confirmed_users": self.confirmed_users,
            "held": {str(slot): sorted(refs) for slot, refs in self.held.items()},
            "finished_users": self.finished_users,
            "tickets": self.tickets,
        }


RECORDER = Recorder()


@events.init_command_line_parser.add_listener
def _add_arguments(parser):
    parser.add_argument(
        "--slot-ids",
        default="",
        help="Comma-separated ids of the slots to book; the flash crowd books the first one.",
    )
    parser.add_argument(
        "--churn-seconds",
        type=float,
        default=60,
        help="How long each churn patient keeps booking and cancelling.",
    )
    parser.add_argument(
        "--run-tag",
        default="",
        help="Prefix of the simulated patients' userIds (default: random per test).",
    )
    parser.add_argument(
        "--results-file",
        default="",
        include_in_web_ui=False,
        help="Write the recorded answers here as JSON when the test stops.",
    )
    parser.add_argument(
        "--quit-when-done",
        action="store_true",
        default=False,
        include_in_web_ui=False,
        help="Quit as soon as every user has finished.",
    )


@events.test_start.add_listener
def _on_test_start(environment, **kwargs):
    RECORDER.reset()
    options = environment.parsed_options
    if options and options.quit_when_done:
        gevent.spawn(_quit_when_every_user_finished, environment)


@events.test_stop.add_listener
def _on_test_stop(environment, **kwargs):
    options = environment.parsed_options
    if options and options.results_file:
        path = Path(options.results_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(RECORDER.as_json()))


def _quit_when_every_user_finished(environment) -> None:
    expected = environment.parsed_options.num_users
    while RECORDER.finished_users < expected:
        gevent.sleep(0.1)
    environment.runner.quit()
