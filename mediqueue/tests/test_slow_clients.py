"""Slow clients are contained by nginx in front of gunicorn's sync workers (issue #11, item 4).

A sync worker reads its request itself, so a client that sends its header a byte at a time, or
declares a body it never finishes, holds that worker until gunicorn's 30 s timeout: a few such
clients stop the service. Behind nginx, with the deployment's configuration (deploy/nginx/,
read timeouts shortened to 3 s for the test), 50 slow-header and 20 short-body clients hold
only nginx connections: normal requests are answered within 200 ms, no connection of theirs
reaches gunicorn, and nginx cuts them off once its read timeout passes. The control sends a
few of the same clients straight at gunicorn with 2 workers and shows a normal request stuck.
"""

from __future__ import annotations

import http.client
import json
import selectors
import socket
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil
import pytest

from mediqueue.tests.live_server import gunicorn_behind_nginx, gunicorn_process

pytestmark = pytest.mark.django_db(transaction=True)

READ_TIMEOUT_SECONDS = 3
SLOW_HEADER_CLIENTS = 50
SHORT_BODY_CLIENTS = 20
FAST_ENOUGH_SECONDS = 0.2
# A header sent a byte at a time, never finished (no blank line ever comes).
SLOW_HEADER = (
    b"GET /api/slots HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-header-client\r\n"
    b"X-Slow: " + b"a" * 1000
)
DRIP_SECONDS = 0.5
# A body that promises 1000 bytes and stops after 10.
SHORT_BODY = (
    b"POST /api/book HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: short-body-client\r\n"
    b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"userId":'
)


@dataclass
class SlowClient:
    sock: socket.socket
    kind: str  # "slow-header" or "short-body"
    connected_at: float
    sent: int = 0
    ended_after: float | None = None  # seconds from connecting until the server cut it off
    how: str = ""  # "reset", "closed", or "answered <status line>"


class SlowClients:
    """Clients that keep their requests unfinished, driven by one thread until the server cuts
    them off or the block ends: slow-header clients get one more byte out every DRIP_SECONDS,
    short-body clients send their head and 10 bytes of body at once and then nothing."""

    def __init__(self, base_url: str, *, slow_header: int, short_body: int):
        address = (urlsplit(base_url).hostname, urlsplit(base_url).port)
        self.clients = []
        for kind, count in (("slow-header", slow_header), ("short-body", short_body)):
            for _ in range(count):
                client = SlowClient(socket.create_connection(address), kind, time.monotonic())
                if kind == "short-body":
                    client.sock.sendall(SHORT_BODY)
                self.clients.append(client)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drive, daemon=True)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        for client in self.clients:
            client.sock.close()

    def still_connected(self) -> int:
        return sum(1 for c in self.clients if c.ended_after is None)

    def wait_until_all_cut_off(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.still_connected() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _drive(self) -> None:
        with selectors.DefaultSelector() as selector:
            for client in self.clients:
                selector.register(client.sock, selectors.EVENT_READ, client)
            while not self._stop.is_set():
                for client in self.clients:
                    if client.kind == "slow-header" and client.ended_after is None:
                        try:
                            client.sock.send(SLOW_HEADER[client.sent : client.sent + 1])
                            client.sent += 1
                        except OSError:
                            self._ended(selector, client, "reset")
                tick_ends = time.monotonic() + DRIP_SECONDS
                while (left := tick_ends - time.monotonic()) > 0 and not self._stop.is_set():
                    for key, _ in selector.select(timeout=min(left, 0.05)):
                        try:
                            data = key.data.sock.recv(4096)
                        except OSError:
                            self._ended(selector, key.data, "reset")
                            continue
                        status_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
                        how = f"answered {status_line}" if data else "closed"
                        self._ended(selector, key.data, how)

    @staticmethod
    def _ended(selector, client: SlowClient, how: str) -> None:
        client.ended_after = time.monotonic() - client.connected_at
        client.how = how
        selector.unregister(client.sock)


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
    """Open connections the server on ``port`` holds (accepted or waiting to be)."""
    return sum(
        1
        for c in psutil.net_connections("tcp4")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
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


def test_slow_clients_behind_nginx_neither_delay_requests_nor_hold_a_worker(make_slot, tmp_path):
    slot = make_slot(seats=20)
    access_log = tmp_path / "gunicorn-access.log"
    timeout = f"{READ_TIMEOUT_SECONDS}s"

    with gunicorn_behind_nginx(
        workers=2,
        nginx_settings={"client_header_timeout": timeout, "client_body_timeout": timeout},
        GUNICORN_ACCESSLOG=str(access_log),
    ) as (server, proxy_url):
        gunicorn_port = urlsplit(server.base_url).port
        warm_up(proxy_url, slot.pk)

        with SlowClients(
            proxy_url, slow_header=SLOW_HEADER_CLIENTS, short_body=SHORT_BODY_CLIENTS
        ) as attack:
            time.sleep(DRIP_SECONDS)  # every slow-header client has sent its first bytes
            counters = nginx_status(proxy_url)
            answers, held_by_gunicorn = [], []
            for _ in range(10):
                answers.append(("GET /api/slots", *timed_request(proxy_url, "GET", "/api/slots")))
                held_by_gunicorn.append(established_connections_to(gunicorn_port))
            answers.append(
                (
                    "POST /api/book",
                    *timed_request(
                        proxy_url, "POST", "/api/book", {"userId": "calm", "slotId": slot.pk}
                    ),
                )
            )
            connected_throughout = attack.still_connected()
            attack.wait_until_all_cut_off(timeout=READ_TIMEOUT_SECONDS + 8)
    # gunicorn has stopped: its access log is complete.
    reached_gunicorn = [line for line in access_log.read_text().splitlines() if "-client" in line]

    latencies_ms = [round(seconds * 1000) for _, seconds, _ in answers]
    cut_off = [c.ended_after for c in attack.clients if c.ended_after is not None]
    figures = (
        f"normal requests during the attack: {latencies_ms} ms (max {max(latencies_ms)}); "
        f"nginx while attacked: {counters}; established connections to gunicorn: "
        f"{held_by_gunicorn}; slow clients cut off: {len(cut_off)}/{len(attack.clients)} "
        f"after {min(cut_off, default=0):.2f}-{max(cut_off, default=0):.2f} s "
        f"({sorted({c.how for c in attack.clients})})"
    )
    print(figures)

    assert counters["reading"] >= SLOW_HEADER_CLIENTS, f"the attack was not under way: {figures}"
    assert counters["writing"] >= SHORT_BODY_CLIENTS, f"the attack was not under way: {figures}"
    assert [status for _, _, status in answers] == [200] * 10 + [201], answers
    assert max(latencies_ms) <= FAST_ENOUGH_SECONDS * 1000, f"a request was delayed: {figures}"
    assert held_by_gunicorn == [0] * 10, f"slow clients reached gunicorn: {figures}"
    assert connected_throughout == len(attack.clients), (
        f"only {connected_throughout} slow clients were still connected after the measurement: "
        f"{figures}"
    )
    assert reached_gunicorn == [], "nginx passed a slow client's request on to gunicorn"
    assert len(cut_off) == len(attack.clients), f"nginx did not cut every slow client: {figures}"
    assert all(
        c.how in ("reset", "closed", "answered HTTP/1.1 408 Request Time-out")
        for c in attack.clients
    ), figures
    assert min(cut_off) >= READ_TIMEOUT_SECONDS - 0.25, f"cut off before the timeout: {figures}"
    assert max(cut_off) <= READ_TIMEOUT_SECONDS + 4, f"cut off long after the timeout: {figures}"


def test_control_without_the_proxy_a_few_slow_clients_hold_both_workers():
    """The defect nginx contains: with gunicorn's 2 sync workers facing 2 slow-header and 2
    short-body clients directly, a normal request gets no answer for as long as they last."""
    with (
        gunicorn_process(workers=2) as server,
        SlowClients(server.base_url, slow_header=2, short_body=2),
    ):
        time.sleep(DRIP_SECONDS)  # each worker has picked up a slow client
        seconds, status = timed_request(server.base_url, "GET", "/api/slots", timeout=2)

    print(f"control, straight at gunicorn: GET /api/slots status {status} after {seconds:.2f} s")
    assert status is None or seconds > 1, (
        f"answered {status} after {seconds:.2f} s: the slow clients did not hold the workers"
    )
