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
from loadtests.cluster import observe
from loadtests.cluster.play import play
from loadtests.cluster.scenarios import SCENARIOS
from loadtests.cluster.serve import serve
from loadtests.cluster.topology import cluster
from loadtests.harness import BASE_DIR


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
        "--only",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="this scenario (repeatable)",
    )
    parser.add_argument("--clients", type=int, default=12, help="concurrent patients of the crowd")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app node")
    parser.add_argument(
        "--wave-seconds", type=float, default=2.0, help="a new wave of slots every …s"
    )
    parser.add_argument("--slots-per-wave", type=int, default=2)
    parser.add_argument("--seats", type=int, default=20, help="seats per slot of the crowd")
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
        return cluster_test(args, logs)
    except KeyboardInterrupt:
        print("cluster: stopped", file=sys.stderr)
        return 130


def cluster_test(args: argparse.Namespace, logs) -> int:
    scenarios = [s for s in SCENARIOS if not args.only or s.name in args.only]
    started = time.monotonic()
    verdicts = []
    # The whole crowd reaches the nodes through one nginx from 127.0.0.1: one client address,
    # like patients behind a carrier's NAT, so the per-client limit is off; the per-patient
    # limit stays on.
    with cluster(
        logs=logs, workers=args.workers, MEDIQUEUE_THROTTLE_BOOK_PER_CLIENT="off"
    ) as topology:
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
            if scenario.name == "leader-kill":
                # Two scrapes more, so that the last seconds are in Prometheus too.
                time.sleep(2)
                seen = observe.summary(topology.prometheus_url, seconds=time.monotonic() - began)
                print(f"prometheus during {scenario.name}: {seen}", flush=True)
    passed = sum(v.passed for v in verdicts)
    print(
        f"cluster: {passed}/{len(verdicts)} scenarios passed in "
        f"{time.monotonic() - started:.0f}s; logs: {logs.relative_to(BASE_DIR)}"
    )
    return 0 if passed == len(verdicts) == len(scenarios) else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt
