"""Responses per second by status, as one self-contained HTML page with an inline SVG chart.

Locust's own report charts the total rate and the failures, not what each answer was; QA wants
to see the 201s stop at the seat count while the 409s take over. Plain SVG keeps this free of
plotting libraries and opens in any browser, offline.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from pathlib import Path

from loadtests.locust.results import RunResults

WIDTH, HEIGHT = 960, 400
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 16, 40
# Short runs are drawn at the recorded resolution; long ones in whole seconds, so that the
# line is not a comb of single requests.
FINE_RUN_SECONDS = 20
PALETTE = ["#1b7837", "#e08214", "#2166ac", "#762a83", "#8c510a", "#35978f", "#bf812d"]
ERROR_COLOUR = "#d73027"


def status_rates(results: RunResults) -> tuple[float, dict[str, list[float]]]:
    """(bucket length in seconds, answers per second in each bucket, by answer)."""
    step = results.bucket_seconds if results.seconds() <= FINE_RUN_SECONDS else 1.0
    per_bucket = round(step / results.bucket_seconds)
    buckets = int(results.seconds() / step) + 1
    merged: list[Counter[str]] = [Counter() for _ in range(buckets)]
    for bucket, counts in results.timeline.items():
        merged[bucket // per_bucket].update(counts)
    labels = sorted(results.answers)  # a stable order, so an answer keeps its colour across runs
    return step, {label: [c.get(label, 0) / step for c in merged] for label in labels}


def write_status_chart(results: RunResults, path: Path, *, title: str, summary: str) -> Path:
    step, rates = status_rates(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_page(title, summary, step, rates, results))
    return path


def _page(title: str, summary: str, step: float, rates: dict, results: RunResults) -> str:
    rows = "".join(
        f"<tr><td style='color:{_colour(i, label, results)}'>&#9632;</td>"
        f"<td>{html.escape(label)}</td><td>{results.count(label)}</td>"
        f"<td>{max(series, default=0):.0f}</td></tr>"
        for i, (label, series) in enumerate(rates.items())
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:24px}} td,th{{padding:2px 10px;text-align:left}}
code{{background:#f3f3f3;padding:2px 4px}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p><code>{html.escape(summary)}</code></p>
<p>Responses per second by answer (rate within buckets of {step:g} s), against the seconds
since the first user started. Red lines are answers the users did not expect.</p>
{_svg(step, rates, results)}
<table><tr><th></th><th>answer</th><th>total</th><th>peak per second</th></tr>{rows}</table>
</body></html>
"""


def _svg(step: float, rates: dict[str, list[float]], results: RunResults) -> str:
    buckets = max((len(series) for series in rates.values()), default=1)
    top = _round_up(max((max(series) for series in rates.values() if series), default=1))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(bucket: float) -> float:
        return LEFT + plot_w * bucket / max(buckets, 1)

    def y(rate: float) -> float:
        return TOP + plot_h * (1 - rate / top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">']
    for tick in range(5):
        value = top * tick / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#ddd"/><text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'font-size="11">{value:g}</text>'
        )
    total_seconds = buckets * step
    tick_every = _round_up(total_seconds / 8)
    for tick in range(int(total_seconds / tick_every) + 1):
        seconds = tick * tick_every
        parts.append(
            f'<text x="{x(seconds / step):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11">{seconds:g} s</text>'
        )
    for i, (label, series) in enumerate(rates.items()):
        # Each bucket's rate is drawn at the bucket's middle.
        points = " ".join(f"{x(b + 0.5):.1f},{y(rate):.1f}" for b, rate in enumerate(series))
        parts.append(
            f'<polyline fill="none" stroke-width="2" stroke="{_colour(i, label, results)}" '
            f'points="{points}"><title>{html.escape(label)}</title></polyline>'
        )
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 4}" font-size="11">time since start</text></svg>')
    return "\n".join(parts)


def _colour(index: int, label: str, results: RunResults) -> str:
    return ERROR_COLOUR if label in results.unexpected else PALETTE[index % len(PALETTE)]


def _round_up(value: float) -> float:
    """The next of 1, 2, 5 x a power of ten: an axis top or tick step that reads well."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next(f * magnitude for f in (1, 2, 5, 10) if value <= f * magnitude * (1 + 1e-9))
