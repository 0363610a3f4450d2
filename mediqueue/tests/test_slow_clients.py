"""Slow clients are contained by nginx in front of gunicorn's workers (issue #11, item 4).

A sync worker reads its request itself, so a client that sends its header a byte at a time, or
declares a body it never finishes, holds that worker until gunicorn's 30 s timeout: a few such
clients stop the service. Behind nginx, with the deployment's configuration (deploy/nginx/,
read timeouts shortened to 3 s for the test), 50 slow-header and 20 short-body clients hold
only nginx connections: normal requests are answered within 200 ms (one stall under a second
is let through on a shared machine, see ONE_STALL_BELOW_SECONDS), no connection of theirs
reaches gunicorn, and nginx cuts them off once its read timeout passes. The control sends a
few of the same clients straight at gunicorn with 2 sync workers and shows a normal request
stuck.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from loadtests.chaos.slow_clients import slow_clients

pytestmark = pytest.mark.django_db(transaction=True)

READ_TIMEOUT_SECONDS = 3
SLOW_HEADER_CLIENTS = 50
SHORT_BODY_CLIENTS = 20
FAST_ENOUGH_SECONDS = 0.2
# A request held behind a slow client waits until nginx cuts that client off: seconds (the
# control gets no answer within 2 s). One request of a run may still stall for a few hundred
# milliseconds when other jobs crowd the machine's two cores (seen: 0.47-0.77 s in 3 of some 60
# runs at ~90 % CPU pressure, while the slow clients still ran in the test's own process); one
# such is let through, below this bound, and shown in the figures.
ONE_STALL_BELOW_SECONDS = 1.0
TCP_ESTABLISHED = "01"  # the state column of /proc/net/tcp


def timed_request(base_url: str, method: str, path: str, body: dict | None = None, timeout=5.0):
    """(seconds until the whole answer arrived, its status); status None: no answer in time."""
    url = urlsplit(base_url)
    started = time.monotonic()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"Content-Type": "application/json"} if body is not None else {},
        )
        response = conn.getresponse()
        response.read()
        return time.monotonic() - started, response.status
    except TimeoutError:
        return time.monotonic() - started, None
    finally:
        conn.close()


def established_connections_to(port: int) -> int:
    """Open connections the server on 127.0.0.1:``port`` holds (accepted or waiting to be).

    Read from /proc/net/tcp: psutil would also map every socket of the machine to its process,
    which takes long enough on a busy machine to outlast the slow clients' timeout."""
    with open("/proc/net/tcp") as table:
        next(table)  # the column titles
        return sum(
            1
            for local, state in (line.split()[1:4:2] for line in table)
            if int(local.rsplit(":", 1)[1], 16) == port and state == TCP_ESTABLISHED
        )


def nginx_status(base_url: str) -> dict[str, int]:
    """nginx's stub_status counters: reading (headers), writing (bodies and answers), ..."""
    with urllib.request.urlopen(f"{base_url}/nginx_status", timeout=2) as response:
        words = response.read().decode().split()
    return {words[i].rstrip(":").lower(): int(words[i + 1]) for i in (-6, -4, -2)}


def warm_up(base_url: str, slot_id: int) -> None:
    """Let both workers load Django and open their database connection before timing them."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: timed_request(base_url, "GET", "/api/slots"), range(12)))
        list(
            pool.map(
                lambda n: timed_request(
                    base_url, "POST", "/api/book", {"userId": f"warm-{n}", "slotId": slot_id}
                ),
                range(4),
            )
        )


def test_slow_clients_behind_nginx_neither_delay_requests_nor_hold_a_worker(
    make_slot, tmp_path, live_gunicorn_behind_nginx
):
    slot = make_slot(seats=20)
    access_log = tmp_path / "gunicorn-access.log"
    timeout = f"{READ_TIMEOUT_SECONDS}s"

    with live_gunicorn_behind_nginx(
        workers=2,
        nginx_settings={"client_header_timeout": timeout, "client_body_timeout": timeout},
        nginx_log_dir=tmp_path,
        GUNICORN_ACCESSLOG=str(access_log),
    ) as (server, proxy_url):
        gunicorn_port = urlsplit(server.base_url).port
        warm_up(proxy_url, slot.pk)
        # nginx keeps idle connections to the app open for the next requests (keepalive).
        pooled = established_connections_to(gunicorn_port)

        attack_started = time.monotonic()
        with slow_clients(
            proxy_url,
            slow_header=SLOW_HEADER_CLIENTS,
            short_body=SHORT_BODY_CLIENTS,
            seconds=READ_TIMEOUT_SECONDS + 8,
        ) as attack:
            time.sleep(0.2)  # nginx has read every client's first bytes
            counters = nginx_status(proxy_url)
            answers, held_by_gunicorn = [], []
            for n in range(10):
                answers.append(("GET /api/slots", *timed_request(proxy_url, "GET", "/api/slots")))
                if n % 2:  # reading the machine's TCP table takes tens of milliseconds
                    held_by_gunicorn.append(established_connections_to(gunicorn_port))
            answers.append(
                (
                    "POST /api/book",
                    *timed_request(
                        proxy_url, "POST", "/api/book", {"userId": "calm", "slotId": slot.pk}
                    ),
                )
            )
            measured_until = time.monotonic()
            clients = attack.report()
    # gunicorn has stopped: its access log is complete.
    reached_gunicorn = [line for line in access_log.read_text().splitlines() if "-client" in line]

    latencies_ms = [round(seconds * 1000) for _, seconds, _ in answers]
    connected_throughout = sum(
        1 for c in clients if (c.ended_at or measured_until) >= measured_until
    )
    cut_off = [c.ended_after for c in clients if c.ended_after is not None]
    figures = (
        f"normal requests during the attack: {latencies_ms} ms (max {max(latencies_ms)}); "
        f"nginx while attacked: {counters}; established connections to gunicorn: "
        f"{held_by_gunicorn} ({pooled} kept by nginx before); measured within "
        f"{measured_until - attack_started:.2f} s of the attack's start; "
        f"slow clients cut off: {len(cut_off)}/{len(clients)} "
        f"after {min(cut_off, default=0):.2f}-{max(cut_off, default=0):.2f} s "
        f"({sorted({c.how for c in clients})})"
    )
    print(figures)

    assert counters["reading"] >= SLOW_HEADER_CLIENTS, f"the attack was not under way: {figures}"
    assert counters["writing"] >= SHORT_BODY_CLIENTS, f"the attack was not under way: {figures}"
    assert [status for _, _, status in answers] == [200] * 10 + [201], answers
    # Where the time went: nginx logs each request's total time and the app's share of it.
    nginx_saw = [
        line
        for line in (tmp_path / "nginx-access.log").read_text().splitlines()
        if '" 200 ' in line or '" 201 ' in line
    ][-len(answers) :]
    delayed = [ms for ms in latencies_ms if ms > FAST_ENOUGH_SECONDS * 1000]
    assert len(delayed) <= 1 and max(latencies_ms) < ONE_STALL_BELOW_SECONDS * 1000, (
        f"requests were delayed: {figures}; nginx's log of them: {nginx_saw}"
    )
    # Only nginx's own connections, for the normal requests: none for the 70 slow clients.
    assert max(held_by_gunicorn) <= pooled + len(answers), (
        f"slow clients reached gunicorn: {figures}"
    )
    assert connected_throughout == len(clients), (
        f"only {connected_throughout} slow clients were still connected after the measurement: "
        f"{figures}"
    )
    assert reached_gunicorn == [], "nginx passed a slow client's request on to gunicorn"
    assert len(cut_off) == len(clients), f"nginx did not cut every slow client: {figures}"
    assert all(
        c.how in ("reset", "closed", "answered HTTP/1.1 408 Request Time-out") for c in clients
    ), figures
    assert min(cut_off) >= READ_TIMEOUT_SECONDS - 0.25, f"cut off before the timeout: {figures}"
    assert max(cut_off) <= READ_TIMEOUT_SECONDS + 4, f"cut off long after the timeout: {figures}"


def test_control_without_the_proxy_a_few_slow_clients_hold_both_workers(live_gunicorn):
    """The defect nginx contains: with gunicorn's 2 sync workers facing 2 slow-header and 2
    short-body clients directly, a normal request gets no answer for as long as they last; and
    the connection count the test above relies on does see them.

    Sync workers, the class gunicorn's own docs put behind a buffering proxy: the threaded
    workers the service runs hold out a little longer (gunicorn 27 hands a connection that
    sends nothing for 5 s back to its poller), which would make the control a race."""
    with (
        live_gunicorn(workers=2, GUNICORN_WORKER_CLASS="sync", GUNICORN_THREADS="1") as server,
        slow_clients(server.base_url, slow_header=2, short_body=2, seconds=30),
    ):
        time.sleep(0.5)  # each worker has picked up a slow client
        held = established_connections_to(urlsplit(server.base_url).port)
        seconds, status = timed_request(server.base_url, "GET", "/api/slots", timeout=2)

    figures = (
        f"control, straight at gunicorn: {held} connections held; GET /api/slots answered "
        f"{status} after {seconds:.2f} s"
    )
    print(figures)
    assert status is None or seconds > 1, f"the slow clients did not hold the workers: {figures}"
    assert held == 4, figures
