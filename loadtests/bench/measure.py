"""One measured wrk run of one server, with the CPU of its processes and of PostgreSQL; and the
small HTTP looks the checks need (a listing's size, the rate-limit probe)."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass

from loadtests.bench import cpu
from loadtests.bench.results import Run
from loadtests.bench.wrk import run_wrk
from loadtests.harness import post_book


@dataclass(frozen=True)
class Server:
    """A server under test: where it answers, and the root of its process tree (the gunicorn
    master, or the node process)."""

    name: str
    base_url: str
    pid: int | None


def measure(
    server: Server,
    scenario: str,
    script: str,
    *,
    connections: int,
    seconds: float,
    postmaster: int | None,
) -> Run:
    before = cpu.snapshot()
    result = run_wrk(server.base_url, script, connections=connections, seconds=seconds)
    after = cpu.snapshot()
    return Run(
        scenario=scenario,
        server=server.name,
        wrk=result,
        app_cpu_ms=cpu.tree_cpu_ms(before, after, server.pid),
        pg_cpu_ms=cpu.tree_cpu_ms(before, after, postmaster),
    )


def settle(servers: tuple[Server, ...], *, timeout: float = 60) -> float:
    """Wait until the servers are idle again; return the seconds waited.

    When wrk stops, requests it sent are still queued in the server (up to one per connection:
    512 after a flash crowd); served during the next run, they would slow it and be counted in
    its CPU. Idle: every server's processes used under 5 % of a core for a quarter second.
    PostgreSQL is not waited for: on a shared server others' work keeps it busy."""
    started = time.monotonic()
    before = cpu.snapshot()
    while time.monotonic() - started < timeout:
        time.sleep(0.25)
        after = cpu.snapshot()
        busy = [cpu.tree_cpu_ms(before, after, server.pid) or 0.0 for server in servers]
        if max(busy, default=0.0) < 0.25 * 1000 * 0.05:
            break
        before = after
    return time.monotonic() - started


def warm_up(server: Server, script: str, *, connections: int, seconds: float) -> None:
    """Load that is not measured: first connections, prepared statements, imported code."""
    if seconds > 0:
        run_wrk(server.base_url, script, connections=connections, seconds=seconds)


def listing_size(base_url: str, path: str) -> int:
    with urllib.request.urlopen(f"{base_url}{path}", timeout=30) as response:
        return len(json.load(response))


def rate_limit_probe(base_url: str, slot_id: int, *, attempts: int = 100) -> list[int]:
    """One patient, from one address, booking the same slot again and again until refused
    with a 429 (or ``attempts`` run out): the statuses seen, in order."""
    statuses = []
    for _ in range(attempts):
        status, _ = post_book(base_url, "bench-probe-patient", slot_id, address="192.0.2.1")
        statuses.append(status)
        if status == 429:
            break
    return statuses
