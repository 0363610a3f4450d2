"""The cluster test (``make cluster-test``) and the interactive cluster (``make cluster``)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from datetime import datetime

from loadtests import cluster as package
from loadtests.chaos.clients import PatientIds
from loadtests.chaos.run import REPORTS_DIR
from loadtests.chaos.scenarios import add_crowd_arguments
from loadtests.cluster import observe
from loadtests.cluster.bench import cluster_bench
from loadtests.cluster.drill import backup_test
from loadtests.cluster.play import play
from loadtests.cluster.queue import play_queue
from loadtests.cluster.scenarios import SCENARIOS
from loadtests.cluster.serve import serve
from loadtests.cluster.topology import cluster
from loadtests.harness import BASE_DIR

QUEUE = "queue"  # the booking queue's scenario, after the others (loadtests/cluster/queue.py)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.cluster",
        description=package.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--serve", action="store_true", help="start it for use by hand (make cluster)"
    )
    parser.add_argument(
        "--bench",
        action="store_true",
        help="the hot slot and the listings, with and without replicas (make cluster-bench)",
    )
    parser.add_argument(
        "--backup-test",
        action="store_true",
        help="the restore drill instead of the scenarios (make backup-test)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[s.name for s in SCENARIOS] + [QUEUE],
        help="this scenario (repeatable)",
    )
    add_crowd_arguments(
        parser, clients=12, workers=2, seats=20, workers_help="gunicorn workers per app node"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl+C, so that everything is stopped in order either way; and Ctrl+C
    # does so even when started in the background, where SIGINT comes in ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    logs = REPORTS_DIR / f"cluster-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        if args.serve:
            return serve(logs, workers=args.workers)
        if args.bench:
            return cluster_bench(logs, workers=args.workers)
        if args.backup_test:
            return backup_test(logs.with_name(logs.name.replace("cluster-", "backup-")))
        return cluster_test(args, logs)
    except KeyboardInterrupt:
        print("cluster: stopped", file=sys.stderr)
        return 130


def cluster_test(args: argparse.Namespace, logs) -> int:
    scenarios = [s for s in SCENARIOS if not args.only or s.name in args.only]
    started = time.monotonic()
    verdicts = []
    # The production limits stay on: each patient of the crowd connects to nginx from a loopback
    # address of their own (cluster.play.book_through_nginx), which nginx forwards.
    with cluster(logs=logs, workers=args.workers) as topology:
        print(
            f"cluster: up in {time.monotonic() - started:.0f}s: {topology.members.describe()}; "
            f"nginx {topology.nginx_url}, prometheus {topology.prometheus_url}",
            flush=True,
        )
        patients = PatientIds(f"cluster-{logs.name}")
        for scenario in scenarios:
            began = time.monotonic()
            verdict = play(topology, scenario, patients, args)
            verdicts.append(verdict)
            print(verdict.line(), flush=True)
            if scenario.name in ("leader-kill", "replica-faults"):
                # Two scrapes more, so that the last seconds are in Prometheus too.
                time.sleep(2)
                seconds = time.monotonic() - began
                seen = (
                    observe.summary(topology.prometheus_url, seconds=seconds)
                    if scenario.name == "leader-kill"
                    else observe.listings_summary(topology.prometheus_url, seconds=seconds)
                )
                print(f"prometheus during {scenario.name}: {seen}", flush=True)
        if not args.only or QUEUE in args.only:
            verdicts.append(play_queue(topology, patients, clients=args.clients))
            print(verdicts[-1].line(), flush=True)
    passed = sum(v.passed for v in verdicts)
    print(
        f"cluster: {passed}/{len(verdicts)} scenarios passed in "
        f"{time.monotonic() - started:.0f}s; logs: {logs.relative_to(BASE_DIR)}"
    )
    expected = len(scenarios) + (not args.only or QUEUE in args.only)
    return 0 if passed == len(verdicts) == expected else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt
