"""CPU time of a process tree, from /proc, between two snapshots.

The figure that moves least between noisy machines: requests per second depend on what else the
two shared cores are doing, the CPU a request costs much less so.

A tree's CPU is the sum, over the root and its living descendants, of user + system time
(``utime``, ``stime``) plus the time of children they have already reaped (``cutime``,
``cstime``). A gunicorn worker that dies between the snapshots is counted through its master's
``cutime`` once reaped; PostgreSQL backends that come and go are counted through the
postmaster's. Nothing is counted twice: a process is either alive (its own times) or reaped
(in its parent's children times), never both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcTimes:
    """What /proc/<pid>/stat says of one process, times in clock ticks."""

    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def ticks(self) -> int:
        return self.utime + self.stime + self.cutime + self.cstime


Snapshot = Mapping[int, ProcTimes]


def parse_stat(text: str) -> ProcTimes:
    """One /proc/<pid>/stat line. The command name (field 2) is in parentheses and may itself
    hold spaces and parentheses, so the fields are counted from the last ')'."""
    pid = int(text.split(" ", 1)[0])
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    return ProcTimes(
        pid=pid,
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


def snapshot(proc: Path = PROC) -> dict[int, ProcTimes]:
    """Every process this machine shows us (processes that vanish meanwhile are skipped)."""
    taken = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            taken[int(entry.name)] = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError):
            continue
    return taken


def tree(snap: Snapshot, root: int) -> set[int]:
    """``root`` and its descendants, as far as ``snap`` holds them."""
    children: dict[int, list[int]] = {}
    for times in snap.values():
        children.setdefault(times.ppid, []).append(times.pid)
    found, todo = set(), [root] if root in snap else []
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_ticks(snap: Snapshot, root: int) -> int:
    return sum(snap[pid].ticks for pid in tree(snap, root))


def tree_cpu_ms(before: Snapshot, after: Snapshot, root: int | None) -> float | None:
    """CPU milliseconds the tree under ``root`` used between the snapshots; None when the root
    is unknown or was not running at both."""
    if root is None or root not in before or root not in after:
        return None
    ticks = tree_ticks(after, root) - tree_ticks(before, root)
    return ticks * 1000 / CLOCK_TICKS_PER_SECOND


def per_request_ms(cpu_ms: float | None, requests: int) -> float | None:
    if cpu_ms is None or requests <= 0:
        return None
    return cpu_ms / requests


def command_line(pid: int, proc: Path = PROC) -> str:
    try:
        return (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def calibration_ms(iterations: int = 2_000_000) -> float:
    """CPU milliseconds this process spends on a fixed pure-Python loop.

    Printed before and after a run as a yardstick: on a virtual machine whose host is busy, the
    same work takes more CPU time (shared caches, SMT siblings, a vCPU descheduled without
    steal time), and every CPU-per-request figure of that run stretches with it."""
    started = time.process_time()
    total = 0
    for number in range(iterations):
        total += number * number
    return (time.process_time() - started) * 1000
