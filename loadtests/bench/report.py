"""The printed tables and the JSON file of a benchmark run."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from loadtests.bench.pgbench import PgbenchRun
from loadtests.bench.results import (
    ORDER,
    SERVER_NAMES,
    SERVERS,
    TITLES,
    PassResult,
    Run,
)
from loadtests.bench.verdict import Check, Target

_COLUMNS = (
    f"  {'scenario':<37} {'server':<10} {'answers/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'app ms':>7} {'pg ms':>6}  statuses"
)


def say(message: str) -> None:
    """A progress line while the run goes (the tables come at the end)."""
    print(f"bench: {message}", flush=True)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _statuses(run: Run) -> str:
    parts = [f"{status}={n}" for status, n in sorted(run.wrk.statuses.items())]
    if run.wrk.socket_errors:
        parts.append(f"socket errors={run.wrk.socket_errors}")
    return " ".join(parts) or "none"


def run_line(title: str, run: Run) -> str:
    """One server's figures in one scenario: CPU per answer (every status counted)."""
    answers = run.wrk.answered
    return (
        f"  {title:<37} {SERVER_NAMES[run.server]:<10} {answers / run.wrk.seconds:>9.1f} "
        f"{run.wrk.p50_ms:>8.2f} {run.wrk.p99_ms:>8.2f} {_ms(run.app_ms_per(answers)):>7} "
        f"{_ms(run.pg_ms_per(answers)):>6}  {_statuses(run)}"
    )


def pass_table(result: PassResult) -> list[str]:
    lines = [f"{result.store}", _COLUMNS]
    for scenario in ORDER:
        runs = result.runs.get(scenario, {})
        for n, server in enumerate(s for s in SERVERS if s in runs):
            lines.append(run_line(TITLES[scenario] if n == 0 else "", runs[server]))
    return lines


def measured_text(target: Target) -> str:
    """Two decimals, three when two would round onto the limit (0.497x is not 0.50x)."""
    if target.measured is None:
        return "n/a"
    near = target.limit is not None and abs(target.measured - target.limit) < 0.005
    return f"{target.measured:.{3 if near else 2}f}{target.unit}"


def target_lines(targets: list[Target]) -> list[str]:
    lines = ["  targets (MediQueue; ratios are MediQueue / reference)"]
    for target in targets:
        measured = measured_text(target)
        verdict = {True: "ok", False: "MISSED", None: ""}[target.met]
        lines.append(f"    {target.name:<42} {measured:>10}   {target.wanted:<14} {verdict}")
    return lines


def check_lines(checks: list[Check]) -> list[str]:
    lines = ["  checks"]
    for check in checks:
        lines.append(f"    {'ok    ' if check.ok else 'FAILED'}  {check.name}: {check.detail}")
    return lines


def pgbench_lines(runs: list[PgbenchRun]) -> list[str]:
    if not runs:
        return []
    best = max(runs, key=lambda run: run.tps)
    each = ", ".join(f"{run.clients}c={run.tps:.0f}" for run in runs)
    return [
        f"pgbench -M prepared, the service's booking statement on one slot: best {best.tps:.0f} "
        f"tps ({each}); PostgreSQL CPU {_ms(best.pg_cpu_ms_per_transaction)} ms per transaction"
        f" at {best.clients} clients"
    ]


def bare_bound_line(run: Run) -> str:
    """The header's line for the bare lower bound's refusals (``run.bare_stack_bound``)."""
    answered = run.wrk.answered
    return (
        "stack's lower bound (loadtests/bench/bare.py: the same gunicorn, statement and limits, "
        f"no Django): {answered / run.wrk.seconds:.0f} refusals/s, app CPU "
        f"{_ms(run.app_ms_per(answered))} ms, PostgreSQL CPU {_ms(run.pg_ms_per(answered))} ms "
        "per refusal"
    )


def notes(result: PassResult) -> list[str]:
    """What the columns mean, once per run."""
    return [
        "  answers/s: every HTTP answer; app ms / pg ms: CPU milliseconds per answer of the app",
        "  processes (gunicorn master + workers, or the node process) and of every process of",
        "  the PostgreSQL server (postmaster and children), from /proc before and after the run.",
        "  refusals: new patients booking a slot of one seat that is already booked.",
    ]


def print_run(
    *,
    header: list[str],
    passes: list[tuple[PassResult, list[Target], list[Check]]],
    pgbench: list[PgbenchRun],
) -> None:
    print()
    print("\n".join(header))
    print("\n".join(pgbench_lines(pgbench)))
    for result, targets, checks in passes:
        print()
        print("\n".join(pass_table(result)))
        print("\n".join(target_lines(targets)))
        print("\n".join(check_lines(checks)))
    if passes:
        print()
        print("\n".join(notes(passes[0][0])))


def write_json(
    path: Path,
    *,
    header: list[str],
    passes: list[tuple[PassResult, list[Target], list[Check]]],
    pgbench: list[PgbenchRun],
) -> None:
    document = {
        "header": header,
        "pgbench": [asdict(run) for run in pgbench],
        "passes": [
            {
                "result": asdict(result),
                "targets": [{**asdict(t), "met": t.met} for t in targets],
                "checks": [asdict(c) for c in checks],
            }
            for result, targets, checks in passes
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
