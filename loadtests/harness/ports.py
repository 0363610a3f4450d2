"""Free loopback ports, and the range each job keeps to on a machine shared by several people."""

from __future__ import annotations

import os
import socket

# Clear of `make run` (8000) and of each other.
LOADTEST_PORTS = range(8100, 8200)
E2E_PORTS = range(8200, 8300)
BENCH_PORTS = range(8300, 8400)
CHAOS_PORTS = range(8400, 8500)
CLUSTER_PORTS = range(8500, 8600)
ANY_PORT = range(0, 1)  # binding port 0: the OS picks one


def free_port(candidates: range = ANY_PORT) -> int:
    """The first free loopback port among ``candidates``."""
    return free_ports(1, candidates)[0]


def free_ports(count: int, candidates: range = ANY_PORT) -> list[int]:
    """``count`` distinct free loopback ports among ``candidates`` (the first ones free)."""
    chosen: list[int] = []
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen.append(sock.getsockname()[1])
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"fewer than {count} free ports in {candidates.start}-{candidates.stop - 1}")


def ports_for_tests() -> range:
    """Where the test suite's servers listen: any free port, or the range MEDIQUEUE_TEST_PORTS
    names ("8400-8499") on a machine where each person's servers keep to a range of their own."""
    first, _, last = os.environ.get("MEDIQUEUE_TEST_PORTS", "0-0").partition("-")
    return range(int(first), int(last or first) + 1)
