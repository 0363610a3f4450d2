"""/metrics: what Prometheus reads from an app node, summed over all its gunicorn workers."""

import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError

from booking import services
from loadtests.harness import post_book

pytestmark = pytest.mark.django_db(transaction=True)


def scrape(base_url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_bookings_by_outcome_and_latency_are_summed_over_every_worker(make_slot, live_gunicorn):
    slot = make_slot(seats=5)

    with live_gunicorn(workers=3) as server, ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda n: post_book(server.base_url, f"p-{n}", slot.pk), range(30)))
        # Whichever worker answers a scrape, it reports the node's sum.
        scrapes = [scrape(server.base_url) for _ in range(6)]

    assert answers.count((201, "CONFIRMED")) == 5
    for samples in scrapes:
        assert samples['mediqueue_bookings_total{outcome="confirmed"}'] == 5
        assert samples['mediqueue_bookings_total{outcome="slot_full"}'] == 25
        assert samples['mediqueue_request_duration_seconds_count{endpoint="book"}'] == 30


def test_a_database_that_dropped_the_connection_is_counted_as_a_database_error(client, monkeypatch):
    def connection_lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "book", connection_lost)
    before = _value(client, "mediqueue_database_errors_total")

    answer = client.post("/api/book", {"userId": "a", "slotId": 1}, content_type="application/json")

    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"
    assert _value(client, "mediqueue_database_errors_total") == before + 1


def _value(client, name: str) -> float:
    text = client.get("/metrics").content.decode()
    return sum(float(v) for v in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M))


def test_nginx_does_not_pass_metrics_on_to_the_public(live_gunicorn_behind_nginx):
    with (
        live_gunicorn_behind_nginx() as (_, proxy_url),
        pytest.raises(urllib.error.HTTPError) as refused,
    ):
        urllib.request.urlopen(f"{proxy_url}/metrics", timeout=10)

    assert refused.value.code == 404
