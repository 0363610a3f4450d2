"""The benchmark run: set up, measure each pass, judge, print; see the package's docstring."""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from loadtests import bench
from loadtests.bench import ablation, cpu, database, reference, report, variants, verdict
from loadtests.bench import queue as bench_queue
from loadtests.bench.fixtures import FixturesProcess
from loadtests.bench.measure import Server, measure, settle, warm_up
from loadtests.bench.passes import Bench, Seconds, run_bookings, run_listings
from loadtests.bench.pgbench import PgbenchRun, pgbench_ceiling
from loadtests.bench.report import say
from loadtests.bench.results import MEDIQUEUE, REFERENCE, PassResult, Run, Scenario
from loadtests.bench.wrk import book_script, require_wrk
from loadtests.harness import (
    BASE_DIR,
    BENCH_PORTS,
    create_database,
    drop_database,
    free_port,
    gunicorn,
    production_env,
    server_admin_url,
)

REPORTS_DIR = BASE_DIR / "loadtests" / "reports"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# The framework floor's own gunicorn (the product has no such URL).
FLOOR = "loadtests.bench.floor:application"
BOOKING_SCENARIOS = (Scenario.HOT, Scenario.ONE_CONN, Scenario.FLASH, Scenario.REFUSAL)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make bench",
        description=bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="a smoke test: 2-second runs, fewer scenarios")
    add("--strict", action="store_true", help="a missed performance target fails the run too")
    add("--hot-seconds", type=float, default=15)
    add("--one-conn-seconds", type=float, default=8)
    add("--flash-seconds", type=float, default=10)
    add("--refusal-seconds", type=float, default=8)
    add("--listing-seconds", type=float, default=8, help="each listing (100, 1,000 slots)")
    add("--floor-seconds", type=float, default=6, help="0 leaves the framework floor out")
    add("--warmup-seconds", type=float, default=2)
    add("--pgbench-seconds", type=int, default=6)
    add("--pgbench-clients", default="4,8,16,32", help="comma-separated")
    add(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        help="the second pass's rate-limit store (default: $REDIS_URL, else %(default)s)",
    )
    add("--no-redis", action="store_true", help="skip the second pass (Redis)")
    add(
        "--no-queue",
        action="store_true",
        help="skip the booking queue's figures (run when rabbitmq-server is installed)",
    )
    add("--workers", type=int, help="gunicorn workers (default: the config's)")
    add("--worker-class", help="gunicorn worker class (default: the config's)")
    add("--threads", type=int, help="gunicorn threads per worker")
    add("--keep-database", action="store_true", help="keep mediqueue_bench afterwards")
    add(
        "--variant",
        action="append",
        metavar="NAME=REF",
        help="the ablation: compare builds (git commits) instead (loadtests/bench/ablation.py)",
    )
    add("--passes", type=int, default=2, help="the ablation's alternating passes")
    add(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority of the bench, its servers, wrk and PostgreSQL (e.g. -15 on a "
        "machine others share, so their work disturbs the figures less; below 0 needs root)",
    )
    args = parser.parse_args(argv)
    args.listing_1000_seconds = args.listing_seconds
    if args.variant:
        args.listing_1000_seconds = args.floor_seconds = 0  # the headline figures only
    args.second_pass = BOOKING_SCENARIOS
    if args.quick:
        # A smoke test: every correctness check, the 100-slot listing, and the Redis pass on
        # the two scenarios where the store is paid for most. The flash crowd lasts until its
        # 100 winners have their answers even on a busy machine.
        args.hot_seconds = args.one_conn_seconds = args.refusal_seconds = 2
        args.listing_seconds, args.listing_1000_seconds, args.floor_seconds = 2, 0, 0
        args.flash_seconds, args.warmup_seconds = 4, 1
        args.pgbench_seconds, args.pgbench_clients = 2, "16"
        args.second_pass = (Scenario.HOT, Scenario.REFUSAL)
    return args


def seconds(args: argparse.Namespace) -> Seconds:
    return Seconds(
        warmup=args.warmup_seconds,
        hot=args.hot_seconds,
        one_conn=args.one_conn_seconds,
        flash=args.flash_seconds,
        refusal=args.refusal_seconds,
        listing_100=args.listing_seconds,
        listing_1000=args.listing_1000_seconds,
        floor=args.floor_seconds,
    )


def service_env(database_url: str, args: argparse.Namespace, *, redis_url: str) -> dict:
    """Production settings, with what the bench must measure made explicit: the product's own
    default rate limits (None removes any set in this shell), the JSON event log; plus the
    gunicorn options asked for."""
    options = {
        "WEB_CONCURRENCY": args.workers,
        "GUNICORN_WORKER_CLASS": args.worker_class,
        "GUNICORN_THREADS": args.threads,
    }
    return production_env(
        database_url,
        MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT=None,
        MEDIQUEUE_THROTTLE_BOOK_PER_PATIENT=None,
        REDIS_URL=redis_url,  # "": the default store, an UNLOGGED PostgreSQL table
        DJANGO_LOG_FORMAT="json",
        DJANGO_LOG_LEVEL="INFO",
        **{name: str(value) for name, value in options.items() if value is not None},
    )


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


@contextmanager
def mediqueue_server(
    env: dict,
    label: str,
    stamp: str,
    source_dir: Path = BASE_DIR,
    application: str = "mediqueue.wsgi:application",
) -> Iterator[Server]:
    log_path = REPORTS_DIR / f"bench-{stamp}-{label}-gunicorn.log"
    port = free_port(BENCH_PORTS)
    with gunicorn(
        env, port=port, log_path=log_path, source_dir=source_dir, application=application
    ) as server:
        yield Server(MEDIQUEUE, server.base_url, server.process.pid)


def gunicorn_description(server: Server) -> str:
    if server.pid is None:
        return "gunicorn (master not found: app CPU not measured)"
    workers = len(cpu.tree(cpu.snapshot(), server.pid)) - 1
    return f"gunicorn master pid {server.pid} + {workers} workers"


def bare_stack_bound(setup: Setup, full_slot: int) -> Run:
    """Refusals of the full slot ``full_slot`` by the bare WSGI application
    (``loadtests.bench.bare``) under the same gunicorn, settings and limits: what gunicorn,
    CPython and psycopg cost with no Django at all."""
    args = setup.args
    log_path = REPORTS_DIR / f"bench-{setup.stamp}-bare-gunicorn.log"
    application = "loadtests.bench.bare:application"
    with gunicorn(
        setup.env, port=free_port(BENCH_PORTS), log_path=log_path, application=application
    ) as server:
        bare = Server("bare", server.base_url, server.process.pid)
        script = book_script(slot_id=full_slot, prefix="bare")
        warm_up(bare, script, connections=64, seconds=args.warmup_seconds)
        settle((bare,))
        run = measure(
            bare,
            Scenario.REFUSAL,
            script,
            connections=64,
            seconds=args.refusal_seconds,
            postmaster=setup.postgres.postmaster_pid,
        )
    if run.wrk.count_except(409) or not run.wrk.answered:
        raise RuntimeError(f"the bare lower bound answered {run.wrk.statuses}, not only 409")
    return run


def one_pass(
    bench_for: Bench, result: PassResult, *, listings: bool, scenarios: tuple[str, ...]
) -> dict:
    """Measure one pass into ``result``; return the slots it booked."""
    if listings:
        run_listings(bench_for, result)
    clear = ("--clear-listing",) if listings else ()
    slots = bench_for.fixtures("booking-slots", "--label", result.name, *clear)
    run_bookings(bench_for, result, slots, scenarios)
    return slots


@dataclass
class Setup:
    """The prepared run: a fresh, migrated benchmark database and the servers' settings."""

    args: argparse.Namespace
    stamp: str
    admin_url: str
    database_url: str
    postgres: database.PostgresServer
    env: dict
    redis_url: str | None
    header: list[str] = field(default_factory=list)
    calibration: list[float] = field(default_factory=list)


def prepare(args: argparse.Namespace) -> Setup:
    require_wrk()
    reference.ensure_installed()
    admin_url = server_admin_url()
    database_url = create_database(admin_url, database.BENCH_DATABASE)
    postgres = database.describe_server(database_url)
    print(f"bench: {postgres.describe()}, database {database.BENCH_DATABASE}", flush=True)
    env = service_env(database_url, args, redis_url="")
    use_redis = not args.no_redis and redis_answers(args.redis_url)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    setup = Setup(
        args=args,
        stamp=f"{datetime.now():%Y%m%d-%H%M%S}",
        admin_url=admin_url,
        database_url=database_url,
        postgres=postgres,
        env=env,
        redis_url=args.redis_url if use_redis else None,
        header=[f"MediQueue benchmark {started}, {os.cpu_count()} cores, {postgres.describe()}"],
    )
    setup.calibration.append(cpu.calibration_ms())
    return setup


def measure_all(
    setup: Setup, fixtures: FixturesProcess
) -> tuple[list[PassResult], list[PgbenchRun]]:
    """Both passes with the reference running throughout, and pgbench between them."""
    args = setup.args
    ref_log = REPORTS_DIR / f"bench-{setup.stamp}-reference.log"
    with reference.reference_server(
        database_url=setup.database_url, port=free_port(BENCH_PORTS), log_path=ref_log
    ) as ref:
        ref_server = Server(REFERENCE, ref.base_url, ref.pid)
        setup.header.append(f"reference: {ref.versions}, one process, pg Pool of 10 (default)")

        def bench_with(ours: Server, floor: Server | None = None) -> Bench:
            pid = setup.postgres.postmaster_pid
            return Bench(ours, ref_server, pid, seconds(args), fixtures, floor)

        say("pass 1 (rate-limit counters in PostgreSQL)")
        with (
            mediqueue_server(setup.env, "db", setup.stamp) as ours,
            mediqueue_server(setup.env, "floor", setup.stamp, application=FLOOR) as floor,
        ):
            setup.header.append(f"MediQueue: {gunicorn_description(ours)}, DEBUG off, JSON log")
            first = PassResult("db", "pass 1: rate limits on, counters in PostgreSQL")
            bench = bench_with(ours, floor)
            slots = one_pass(bench, first, listings=True, scenarios=BOOKING_SCENARIOS)
        say("pgbench")
        pgbench_runs = pgbench_ceiling(
            setup.database_url,
            slot_id=slots["pgbench"],
            clients=[int(c) for c in args.pgbench_clients.split(",")],
            seconds=args.pgbench_seconds,
            postmaster=setup.postgres.postmaster_pid,
        )
        if not args.no_queue and bench_queue.available():
            say("the booking queue: the hot slot accepted through RabbitMQ, then allocated")
            setup.header += queue_lines(setup, first, slots["queue"], pgbench_runs)
        say("the stack's lower bound: refusals by a bare WSGI application")
        setup.header.append(
            report.bare_bound_line(bare_stack_bound(setup, slots[MEDIQUEUE]["full"]))
        )
        results = [first]
        if setup.redis_url:
            redis_env = {**setup.env, "REDIS_URL": setup.redis_url}
            say(f"pass 2 (rate-limit counters in Redis, {setup.redis_url})")
            with mediqueue_server(redis_env, "redis", setup.stamp) as ours:
                second = PassResult(
                    "redis",
                    f"pass 2: rate limits on, counters in Redis ({setup.redis_url}); "
                    "booking scenarios only",
                )
                one_pass(bench_with(ours), second, listings=False, scenarios=args.second_pass)
                results.append(second)
    return results, pgbench_runs


def queue_lines(
    setup: Setup, first: PassResult, slot_id: int, pgbench_runs: list[PgbenchRun]
) -> list[str]:
    """The queue's figures (loadtests.bench.queue) beside this run's direct hot slot and
    pgbench's single-booking ceiling."""
    figures = bench_queue.measure_queue(
        env=setup.env,
        serve=mediqueue_server,
        slot_id=slot_id,
        seconds=setup.args.hot_seconds,
        warmup_seconds=setup.args.warmup_seconds,
        postmaster=setup.postgres.postmaster_pid,
        database_url=setup.database_url,
        log_dir=REPORTS_DIR,
        stamp=setup.stamp,
    )
    hot = first.run(Scenario.HOT, MEDIQUEUE)
    lines = figures.lines(
        direct_hot=hot.wrk.per_second_of(201) if hot else None,
        pgbench_tps=max((run.tps for run in pgbench_runs), default=None),
    )
    for line in lines:
        say(line)
    return lines


def conclude(setup: Setup, results: list[PassResult], pgbench_runs: list[PgbenchRun]) -> int:
    """Judge, print, write the JSON; the exit code."""
    setup.calibration.append(cpu.calibration_ms())
    before, after = setup.calibration
    redis_note = "" if setup.redis_url else "; Redis pass skipped (--no-redis, or no Redis)"
    setup.header.append(
        f"CPU yardstick (a fixed Python loop): {before:.0f} ms before, {after:.0f} ms after; "
        f"load average {os.getloadavg()[0]:.1f}; X-Forwarded-For spread, "
        f"MEDIQUEUE_NUM_PROXIES=1{redis_note}"
    )
    best_tps = max(run.tps for run in pgbench_runs)
    passes = [(r, verdict.targets(r, best_tps), verdict.checks(r)) for r in results]
    report.print_run(header=setup.header, passes=passes, pgbench=pgbench_runs)
    path = REPORTS_DIR / f"bench-{setup.stamp}.json"
    report.write_json(path, header=setup.header, passes=passes, pgbench=pgbench_runs)
    print(f"\nwritten: {path.relative_to(BASE_DIR)}")
    all_checks = [check for _, _, checks in passes for check in checks]
    all_targets = [target for _, targets, _ in passes for target in targets]
    code = verdict.exit_code(all_checks, all_targets, strict=setup.args.strict)
    failed = sum(not check.ok for check in all_checks)
    missed = sum(target.met is False for target in all_targets)
    print(f"bench: {failed} correctness checks failed, {missed} targets missed -> exit {code}")
    return code


@contextmanager
def scheduling_priority(nice: int, postmaster: int | None) -> Iterator[None]:
    """Run this process (and so every server and wrk it starts) and the PostgreSQL server at
    ``nice``; PostgreSQL's processes get their priority back afterwards."""
    if not nice:
        yield
        return
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    postgres = cpu.tree(cpu.snapshot(), postmaster) if postmaster else set()
    before = {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in postgres}
    for pid in postgres:
        os.setpriority(os.PRIO_PROCESS, pid, nice)  # new backends inherit the postmaster's
    try:
        yield
    finally:
        for pid, priority in before.items():
            with suppress(ProcessLookupError):
                os.setpriority(os.PRIO_PROCESS, pid, priority)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # so that the cleanups run: servers, checkouts, database


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    setup = prepare(parse_args(argv))
    fixtures_log = REPORTS_DIR / f"bench-{setup.stamp}-fixtures.log"
    try:
        with (
            scheduling_priority(setup.args.nice, setup.postgres.postmaster_pid),
            FixturesProcess(setup.env, fixtures_log) as fixtures,
        ):
            fixtures("migrate")
            if setup.args.variant:
                with variants.checked_out(setup.args.variant) as builds:
                    return ablation.run(setup, fixtures, builds, setup.args.passes)
            results, pgbench_runs = measure_all(setup, fixtures)
    finally:
        if not setup.args.keep_database:
            drop_database(setup.admin_url, database.BENCH_DATABASE)
    return conclude(setup, results, pgbench_runs)
