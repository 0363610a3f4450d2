"""What Prometheus saw of a scenario: bookings by outcome, database errors and the booking's
latency summed over both app nodes, and which Patroni member was primary, over the scenario's
window (Prometheus's HTTP API, the same queries one would type in its UI)."""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request


def query(prometheus_url: str, expression: str) -> list[dict]:
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())["data"]["result"]


def summary(prometheus_url: str, *, seconds: float) -> str:
    """One line: what the scrapes of the last ``seconds`` add up to."""
    window = f"{max(5, math.ceil(seconds))}s"
    try:
        outcomes = query(
            prometheus_url, f"sum by (outcome) (increase(mediqueue_bookings_total[{window}]))"
        )
        errors = query(prometheus_url, f"sum(increase(mediqueue_database_errors_total[{window}]))")
        p99 = query(
            prometheus_url,
            "histogram_quantile(0.99, sum by (le) (rate("
            f'mediqueue_request_duration_seconds_bucket{{endpoint="book"}}[{window}])))',
        )
        primaries = query(
            prometheus_url, f"max by (name) (max_over_time(patroni_primary[{window}]))"
        )
        nodes_up = query(prometheus_url, 'sum(up{job="mediqueue"})')
    except (OSError, ValueError, KeyError) as error:
        return f"prometheus: no answer ({error})"
    counted = ", ".join(
        f"{r['metric'].get('outcome', '?')}={float(r['value'][1]):.0f}"
        for r in sorted(outcomes, key=lambda r: -float(r["value"][1]))
    )
    led = "+".join(sorted(r["metric"].get("name", "?") for r in primaries if r["value"][1] == "1"))
    return (
        f"bookings[{counted}] database_errors={_scalar(errors):.0f} "
        f"book_p99_s={_scalar(p99):.3f} primary_during={led or '?'} "
        f"app_nodes_up={_scalar(nodes_up):.0f}"
    )


def _scalar(result: list[dict]) -> float:
    if not result:
        return float("nan")
    return float(result[0]["value"][1])


def listings_summary(prometheus_url: str, *, seconds: float) -> str:
    """One line: the listings read by source and the fallbacks by reason, as Prometheus scraped
    them over the last ``seconds`` (the share a dashboard would show)."""
    window = f"{max(5, math.ceil(seconds))}s"
    try:
        sources = query(
            prometheus_url, f"sum by (source) (increase(mediqueue_listing_reads_total[{window}]))"
        )
        reasons = query(
            prometheus_url,
            f"sum by (reason) (increase(mediqueue_listing_fallbacks_total[{window}]))",
        )
    except (OSError, ValueError, KeyError) as error:
        return f"prometheus: no answer ({error})"
    by_source = {r["metric"].get("source", "?"): float(r["value"][1]) for r in sources}
    total = sum(by_source.values())
    share = by_source.get("replica", 0.0) / total if total else 0.0
    fallbacks = ", ".join(
        f"{r['metric'].get('reason', '?')}={float(r['value'][1]):.0f}"
        for r in sorted(reasons, key=lambda r: r["metric"].get("reason", ""))
    )
    return (
        f"listings[replica={by_source.get('replica', 0.0):.0f}, "
        f"leader={by_source.get('leader', 0.0):.0f}] replica_share={share:.0%} "
        f"fallbacks[{fallbacks}]"
    )
