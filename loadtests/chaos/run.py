"""The chaos run (``python -m loadtests.chaos``, ``make chaos``): a throwaway PostgreSQL, the
service on it, every scenario in turn, one line each; see the package's docstring."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from loadtests import chaos
from loadtests.chaos import clients
from loadtests.chaos.play import run_scenario
from loadtests.chaos.postgres import ThrowawayCluster
from loadtests.chaos.queue import run_queue_phase
from loadtests.chaos.scenarios import SCENARIOS, Run, add_crowd_arguments
from loadtests.chaos.verdict import Verdict
from loadtests.chaos.waitlist import run_waitlist_phase
from loadtests.harness import BASE_DIR, CHAOS_PORTS, free_port, gunicorn, manage, production_env
from loadtests.harness.rabbitmq import rabbitmq_node

REPORTS_DIR = BASE_DIR / "loadtests" / "reports"
WAITLIST = "waitlist"  # the waiting-list phase, after the scenarios (loadtests.chaos.waitlist)
QUEUE = "queue"  # the booking queue's phase, last (loadtests.chaos.queue)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.chaos",
        description=chaos.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    names = [s.name for s in SCENARIOS] + [WAITLIST, QUEUE]
    parser.add_argument(
        "--only", action="append", choices=names, help="run this scenario (repeatable)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="flash crowd per scenario")
    add_crowd_arguments(parser, clients=16, workers=3, seats=25, workers_help="gunicorn workers")
    parser.add_argument("--kills", type=int, default=4, help="worker kills in worker-kills")
    parser.add_argument("--port", type=int, help="default: the first free one in 8400-8499")
    args = parser.parse_args(argv)
    kills_run = not args.only or "worker-kills" in args.only
    if kills_run and args.kills >= args.seconds / args.wave_seconds:
        parser.error("--kills must leave the last wave without a kill: raise --seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl+C, so the cluster and the service are stopped either way.
    signal.signal(signal.SIGTERM, _interrupt)
    scenarios = [s for s in SCENARIOS if not args.only or s.name in args.only]
    waitlist_phase = not args.only or WAITLIST in args.only
    queue_phase = not args.only or QUEUE in args.only
    phases = len(scenarios) + waitlist_phase + queue_phase
    REPORTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    log_path = REPORTS_DIR / f"chaos-{stamp}-gunicorn.log"
    started = time.monotonic()

    cluster = ThrowawayCluster()
    verdicts: list[Verdict] = []
    stack = ExitStack()
    try:
        env = production_env(cluster.url())
        if queue_phase:
            # The booking queue is on for the whole run (the direct path, which the other
            # scenarios drive, is the same with it); its RabbitMQ is the run's own.
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mq-chaos-")))
            node = stack.enter_context(rabbitmq_node(directory / "rabbitmq"))
            env["MEDIQUEUE_BOOKING_QUEUE_URL"] = node.url
        manage(env, "migrate", "--noinput", "-v0")
        port = args.port or free_port(CHAOS_PORTS)
        # The service stops (SIGTERM, requests in flight finish) before the cluster does.
        with gunicorn(env, port=port, workers=args.workers, log_path=log_path) as service:
            run = Run(args, cluster, service, env, clients.PatientIds(f"chaos-{stamp}"))
            for scenario in scenarios:
                verdict = run_scenario(run, scenario)
                verdicts.append(verdict)
                print(verdict.line(), flush=True)
            if waitlist_phase:
                worker_log = REPORTS_DIR / f"chaos-{stamp}-worker.log"
                verdicts.append(run_waitlist_phase(run, worker_log))
                print(verdicts[-1].line(), flush=True)
            if queue_phase:
                allocator_log = REPORTS_DIR / f"chaos-{stamp}-allocator.log"
                verdicts.append(run_queue_phase(run, node, allocator_log))
                print(verdicts[-1].line(), flush=True)
    except KeyboardInterrupt:
        print("chaos: interrupted", file=sys.stderr)
        return 130
    finally:
        if not all(v.passed for v in verdicts) or len(verdicts) < phases:
            _keep_database_log(cluster, REPORTS_DIR / f"chaos-{stamp}-postgres.log")
        stack.close()
        cluster.stop_and_delete()

    passed = all(v.passed for v in verdicts)
    print(
        f"chaos: {sum(v.passed for v in verdicts)}/{len(verdicts)} scenarios passed "
        f"in {time.monotonic() - started:.0f}s; gunicorn log: {log_path.relative_to(BASE_DIR)}"
    )
    return 0 if passed else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _keep_database_log(cluster: ThrowawayCluster, destination: Path) -> None:
    source = cluster.pgdata / "log"
    if source.exists():
        shutil.copyfile(source, destination)


if __name__ == "__main__":
    sys.exit(main())
