"""wrk, the load generator: its Lua scripts, one run, and the parsing of what it prints.

Every request carries an ``X-Forwarded-For`` address of its own (the server runs with
``MEDIQUEUE_NUM_PROXIES=1``), so the per-client rate limit is checked and counted on every
request but no address comes near it; every booking is for a patient never seen before, so the
per-patient limit is paid for too and never reached either.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

INSTALL_HINT = (
    "wrk is not installed. It is the load generator of this benchmark:\n"
    "    sudo apt-get install -y wrk    (Debian/Ubuntu; `make bench` does this itself)\n"
    "then run the benchmark again."
)

# Shared by every script: a client address per request, statuses counted in each thread, and
# the totals and latency percentiles reported in lines parse_wrk() reads.
_COMMON = """
statuses = {}  -- global: done() reads it from each thread
local threads = {}
local counter = 0

-- setup() runs in the main Lua state; thread:set() defines a global in that thread's state.
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

-- 10+thread . three bytes of the thread's request counter: 16 million addresses per thread
-- before one repeats, so no address is seen twice within a rate-limit window.
function next_client()
  counter = counter + 1
  return string.format("%d.%d.%d.%d", 10 + thread_id, math.floor(counter / 65536) % 256,
                       math.floor(counter / 256) % 256, counter % 256)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  io.write("STATUSES {" .. table.concat(parts, ",") .. "}\\n")
  io.write(string.format("LATENCY_US p50=%d p99=%d\\n",
    latency:percentile(50), latency:percentile(99)))
end
"""

# Every request books for a new patient (prefix, thread id and counter make the userId unique).
_BOOK = """
request = function()
  local client = next_client()
  local body = string.format('{"userId":"%s-%d-%d","slotId":%s}', PREFIX, thread_id, counter, SLOT)
  return wrk.format("POST", "/api/book",
    {["Content-Type"] = "application/json", ["X-Forwarded-For"] = client}, body)
end
"""

_GET = """
request = function()
  return wrk.format("GET", PATH, {["X-Forwarded-For"] = next_client()})
end
"""


def book_script(*, slot_id: int, prefix: str, respond_async: bool = False) -> str:
    """POST /api/book on ``slot_id``, each request a new patient ``<prefix>-<thread>-<n>``;
    with ``respond_async``, through the booking queue (``Prefer: respond-async``)."""
    script = f'SLOT = "{int(slot_id)}"\nPREFIX = "{prefix}"\n{_COMMON}{_BOOK}'
    if respond_async:
        script = script.replace(
            '["Content-Type"] = "application/json",',
            '["Content-Type"] = "application/json", ["Prefer"] = "respond-async",',
        )
    return script


def get_script(path: str) -> str:
    return f"PATH = {json.dumps(path)}\n{_COMMON}{_GET}"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    statuses: dict[str, int]
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(str(status), 0)

    def count_except(self, *expected: int) -> int:
        """Answers with any status other than ``expected``."""
        wanted = {str(status) for status in expected}
        return sum(n for status, n in self.statuses.items() if status not in wanted)

    def per_second_of(self, status: int) -> float:
        return self.count(status) / self.seconds if self.seconds else 0.0

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status.startswith("5"))


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit(INSTALL_HINT)
    return wrk


def run_wrk(
    base_url: str, script: str, *, connections: int, seconds: float, threads: int = 2
) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    command = [
        require_wrk(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        lua.name,
        base_url,
    ]
    try:
        out = subprocess.run(command, capture_output=True, text=True)
    finally:
        os.unlink(lua.name)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip() or out.stdout.strip()}")
    return parse_wrk(out.stdout)


_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_wrk(out: str) -> WrkResult:
    """The figures of one wrk run, from its standard output and our script's two lines."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b", out)
    statuses = re.search(r"STATUSES (\{.*\})", out)
    latency = re.search(r"LATENCY_US p50=(\d+) p99=(\d+)", out)
    if not (total and statuses and latency):
        raise ValueError(f"unexpected wrk output:\n{out}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests=int(total[1]),
        seconds=float(total[2]) * _UNIT_SECONDS[total[3]],
        statuses=json.loads(statuses[1]),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        p50_ms=int(latency[1]) / 1000,
        p99_ms=int(latency[2]) / 1000,
    )
