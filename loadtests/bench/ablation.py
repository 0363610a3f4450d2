"""The ablation: several builds of the service (``variants``), each beside the reference, in
alternating passes of one run, so that what each departure from idiomatic Django/DRF buys is
read off one table (docs/performance.md keeps it).

    make bench BENCH_ARGS="--variant today=1a411ae --variant orm-lock=ablation/orm-lock --passes 2"

Every pass takes each build in turn (the order reversed from one pass to the next) through the
headline scenarios, each right after the reference on the same scenario: GET /api/slots with 100
slots, the hot slot, one connection, the flash crowd and the refusals. The database is emptied
before each build's turn. The figures of a build are the medians over its passes; each ratio is
to the reference measured beside it in the same pass. The first build named is the baseline the
others are compared with.
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from loadtests.bench import reference, verdict
from loadtests.bench.fixtures import FixturesProcess
from loadtests.bench.measure import Server
from loadtests.bench.passes import Bench
from loadtests.bench.report import say
from loadtests.bench.results import MEDIQUEUE, REFERENCE, PassResult, Run, Scenario
from loadtests.bench.variants import Variant
from loadtests.bench.wrk import WrkResult

# (scenario, column title, what is read off a run, True when higher is better)
HEADLINES = (
    (Scenario.HOT, "hot slot /s", "rate", True),
    (Scenario.FLASH, "flash crowd /s", "rate", True),
    (Scenario.REFUSAL, "refusals /s", "rate", True),
    (Scenario.ONE_CONN, "1-conn p50 ms", "p50", False),
    (Scenario.LISTING_100, "listing /s", "rate", True),
)


@dataclass(frozen=True)
class Figure:
    """One headline figure of one build: the median of its passes, of its ratios to the
    reference (each taken in its pass; for p50, reference / build, so that above 1.0 is better
    everywhere), and of the CPU milliseconds per answer of its app processes and PostgreSQL
    together, the figure a neighbour's load moves least."""

    value: float
    ratio: float
    cpu_ms: float | None


def _read(result: PassResult, scenario: str, what: str) -> Figure | None:
    ours, ref = result.run(scenario, MEDIQUEUE), result.run(scenario, REFERENCE)
    if ours is None or ref is None:
        return None
    answered = ours.wrk.answered
    app, pg = ours.app_ms_per(answered), ours.pg_ms_per(answered)
    cpu_ms = None if app is None or pg is None else app + pg
    if what == "p50":
        return Figure(ours.wrk.p50_ms, ref.wrk.p50_ms / ours.wrk.p50_ms, cpu_ms)
    rate = answered / ours.wrk.seconds
    return Figure(rate, rate / (ref.wrk.answered / ref.wrk.seconds), cpu_ms)


def _median(values) -> float | None:
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def figures(results: list[PassResult]) -> dict[str, Figure]:
    found = {}
    for scenario, _, what, _ in HEADLINES:
        read = [f for f in (_read(result, scenario, what) for result in results) if f]
        if read:
            found[scenario] = Figure(
                _median(f.value for f in read),
                _median(f.ratio for f in read),
                _median(f.cpu_ms for f in read),
            )
    return found


def table(variants: list[Variant], results: dict[str, list[PassResult]]) -> list[str]:
    """Each build's medians, then each build's change against the baseline, in its ratio to
    the reference and its CPU per answer: what the departure it drops (or adds) is worth. The
    baseline is the first build, pooled with every other build of the same commit (a build
    named twice measures the noise, and both halves make a steadier baseline)."""
    width = max(14, *(len(v.name) for v in variants))
    head = f"  {'build':<{width}} {'commit':<9}" + "".join(f" {t:>21}" for _, t, _, _ in HEADLINES)
    lines = [head]
    by_name = {v.name: figures(results[v.name]) for v in variants}
    baseline_commit = variants[0].commit
    pooled = [r for v in variants if v.commit == baseline_commit for r in results[v.name]]
    baseline_name = f"{variants[0].name} (pooled)"
    by_name[baseline_name] = figures(pooled)
    for variant in variants:
        cells = ""
        for scenario, _, what, _ in HEADLINES:
            figure = by_name[variant.name].get(scenario)
            value = "n/a" if figure is None else f"{figure.value:,.{2 if what == 'p50' else 0}f}"
            ratio = "" if figure is None else f" ({figure.ratio:.2f}x)"
            cells += f" {value + ratio:>21}"
        lines.append(f"  {variant.name:<{width}} {variant.commit:<9}{cells}")
    lines.append("  CPU ms per answer (app + PostgreSQL):")
    for variant in variants:
        cells = ""
        for scenario, _, _, _ in HEADLINES:
            figure = by_name[variant.name].get(scenario)
            cpu_ms = None if figure is None else figure.cpu_ms
            cells += f" {'n/a' if cpu_ms is None else f'{cpu_ms:.3f}':>21}"
        lines.append(f"  {variant.name:<{width}} {'':<9}{cells}")
    baseline = baseline_name
    lines.append(f"  change of the ratio to the reference and of the CPU, against {baseline}:")
    for variant in variants:
        cells = ""
        for scenario, _, _, _ in HEADLINES:
            ours, base = by_name[variant.name].get(scenario), by_name[baseline].get(scenario)
            cells += f" {_change(ours, base):>21}"
        lines.append(f"  {variant.name:<{width}} {'':<9}{cells}")
    lines.append("  (ratios: to the reference in the same pass; p50's is reference / build;")
    lines.append("   changes: of the ratio, then of the CPU per answer, against the baseline)")
    return lines


def _change(ours: Figure | None, base: Figure | None) -> str:
    if not ours or not base:
        return "n/a"
    ratio = f"{ours.ratio / base.ratio - 1:+.0%}"
    if ours.cpu_ms is None or base.cpu_ms is None:
        return ratio
    return f"{ratio} / cpu {ours.cpu_ms / base.cpu_ms - 1:+.0%}"


def write_json(path: Path, header: list[str], variants: list[Variant], results: dict) -> None:
    document = {
        "header": header,
        "builds": [
            {
                "name": variant.name,
                "ref": variant.ref,
                "commit": variant.commit,
                "medians": {k: asdict(f) for k, f in figures(results[variant.name]).items()},
                "passes": [asdict(result) for result in results[variant.name]],
            }
            for variant in variants
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))


def run(setup, fixtures: FixturesProcess, variants: list[Variant], passes: int) -> int:
    """Measure every build in ``passes`` alternating passes; print the table; the exit code
    (non-zero when a correctness check failed in any pass)."""
    from loadtests.bench.run import REPORTS_DIR, mediqueue_server, one_pass, seconds
    from loadtests.harness import BENCH_PORTS, free_port

    args = setup.args
    results: dict[str, list[PassResult]] = {variant.name: [] for variant in variants}
    failed = []
    ref_log = REPORTS_DIR / f"bench-{setup.stamp}-reference.log"
    with reference.reference_server(
        database_url=setup.database_url, port=free_port(BENCH_PORTS), log_path=ref_log
    ) as ref:
        ref_server = Server(REFERENCE, ref.base_url, ref.pid)
        for number in range(1, passes + 1):
            order = variants if number % 2 else variants[::-1]
            for variant in order:
                say(f"pass {number}: {variant.name} ({variant.ref}, {variant.commit})")
                fixtures("clear-slots")
                label = f"{variant.name}-{number}"
                with mediqueue_server(setup.env, label, setup.stamp, variant.source_dir) as ours:
                    bench = Bench(
                        ours, ref_server, setup.postgres.postmaster_pid, seconds(args), fixtures
                    )
                    result = PassResult(label, f"{variant.name} pass {number}")
                    one_pass(bench, result, listings=True, scenarios=HEADLINE_BOOKINGS)
                results[variant.name].append(result)
                failed += [
                    f"{label}: {check.name}: {check.detail}"
                    for check in verdict.checks(result)
                    if not check.ok
                ]
    print()
    print("\n".join(setup.header))
    print(f"ablation: {passes} passes, medians")
    print("\n".join(table(variants, results)))
    path = REPORTS_DIR / f"bench-{setup.stamp}-ablation.json"
    write_json(path, setup.header, variants, results)
    print(f"written: {path}")
    for line in failed:
        print(f"  FAILED {line}")
    print(f"ablation: {len(failed)} correctness checks failed")
    return 1 if failed else 0


HEADLINE_BOOKINGS = (Scenario.HOT, Scenario.ONE_CONN, Scenario.FLASH, Scenario.REFUSAL)


def load_json(path: Path) -> tuple[list[str], list[Variant], dict[str, list[PassResult]]]:
    """An ablation's JSON (``write_json``) read back: its header, builds and passes."""
    document = json.loads(path.read_text())
    variants, results = [], {}
    for build in document["builds"]:
        variants.append(Variant(build["name"], build["ref"], build["commit"], Path()))
        results[build["name"]] = [
            PassResult(
                name=found["name"],
                store=found["store"],
                runs={
                    scenario: {
                        server: Run(**{**run, "wrk": WrkResult(**run["wrk"])})
                        for server, run in runs.items()
                    }
                    for scenario, runs in found["runs"].items()
                },
            )
            for found in build["passes"]
        ]
    return document["header"], variants, results


if __name__ == "__main__":
    # python -m loadtests.bench.ablation loadtests/reports/bench-<time>-ablation.json
    header, builds, found = load_json(Path(sys.argv[1]))
    print("\n".join([*header, *table(builds, found)]))
