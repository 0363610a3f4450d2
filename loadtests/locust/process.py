"""Run Locust headless in its own process, so that its gevent monkey-patching stays out of the
runner (which talks to Django and manages the server)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


@dataclass(frozen=True)
class LocustRun:
    user_class: str
    users: int
    spawn_rate: float
    run_time_seconds: int  # a bound: users that finish themselves let Locust quit earlier
    host: str
    slot_ids: list[int]
    report_prefix: Path  # Locust writes <prefix>.html and <prefix>_stats.csv, ...
    results_file: Path
    run_tag: str
    churn_seconds: float = 60
    quit_when_done: bool = True
    locustfile: Path = LOCUSTFILE

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(self.locustfile),
            "--headless",
            "--only-summary",
            "--users",
            str(self.users),
            "--spawn-rate",
            f"{self.spawn_rate:g}",
            "--run-time",
            f"{self.run_time_seconds}s",
            "--host",
            self.host,
            "--csv",
            str(self.report_prefix),
            "--html",
            f"{self.report_prefix}.html",
            "--slot-ids",
            ",".join(map(str, self.slot_ids)),
            "--results-file",
            str(self.results_file),
            "--run-tag",
            self.run_tag,
            "--churn-seconds",
            f"{self.churn_seconds:g}",
        ]
        if self.quit_when_done:
            command.append("--quit-when-done")
        return [*command, self.user_class]


def run_locust(run: LocustRun, *, cwd: Path) -> int:
    """Run Locust to the end (its output goes to this terminal); return its exit code.

    Locust exits non-zero whenever a request failed; the runner judges the run from the
    recorded answers instead, so the code only tells whether Locust itself got that far.
    """
    run.report_prefix.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Grace beyond --run-time for starting, stopping and writing the reports.
        completed = subprocess.run(run.command(), cwd=cwd, timeout=run.run_time_seconds + 120)
    except subprocess.TimeoutExpired:
        return -1  # killed: it wrote no results, which the runner reports
    return completed.returncode
