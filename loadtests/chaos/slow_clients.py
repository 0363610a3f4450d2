"""Clients that keep their requests unfinished: the attack a sync worker cannot survive alone.

- slow-header: sends its request header a byte every half second and never finishes it;
- short-body: sends a whole header declaring a 1000-byte body, 10 bytes of it, then nothing.

They run in a process of their own (``python -m loadtests.chaos.slow_clients``), as an attacker
would, so that their work never competes for a CPU's time slice or the GIL with the requests a
test times meanwhile. :func:`slow_clients` starts one and reads its report: for each client, when
the server cut it off and how.
"""

from __future__ import annotations

import argparse
import json
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from loadtests.harness import BASE_DIR, stop

DRIP_SECONDS = 0.5
# The User-Agent headers name the clients in a server's access log, should a request get there.
SLOW_HEADER = (
    b"GET /api/slots HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow-header-client\r\n"
    b"X-Slow: " + b"a" * 1000
)
SHORT_BODY = (
    b"POST /api/book HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: short-body-client\r\n"
    b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"userId":'
)


@dataclass
class SlowClient:
    kind: str  # "slow-header" or "short-body"
    # time.monotonic(): one clock for every process of the machine, so the caller can compare.
    connected_at: float
    ended_at: float | None = None  # when the server cut it off; None: still connected at the end
    how: str = ""  # "reset", "closed", or "answered <status line>"
    sent: int = 0

    @property
    def ended_after(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.connected_at


class SlowClientsRun:
    def __init__(self, process: subprocess.Popen):
        self.process = process

    def report(self, timeout: float = 60) -> list[SlowClient]:
        """Wait until every client was cut off (or the run's time is up); what each one saw."""
        output, _ = self.process.communicate(timeout=timeout)
        return [SlowClient(**client) for client in json.loads(output.strip().splitlines()[-1])]


@contextmanager
def slow_clients(
    base_url: str, *, slow_header: int, short_body: int, seconds: float
) -> Iterator[SlowClientsRun]:
    """Connect the clients to ``base_url`` from a process of their own; yield once every one
    of them has sent its first bytes. They misbehave until the server cuts them off or
    ``seconds`` pass; leaving the block ends them (their connections close)."""
    counts = [f"--slow-header={slow_header}", f"--short-body={short_body}"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadtests.chaos.slow_clients",
            base_url,
            *counts,
            f"--seconds={seconds}",
        ],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if process.stdout.readline().strip() != "connected":
            process.wait(timeout=10)
            raise RuntimeError(f"the slow clients did not connect:\n{process.stderr.read()}")
        yield SlowClientsRun(process)
    finally:
        stop(process, seconds=10)


def run(
    base_url: str, *, slow_header: int, short_body: int, seconds: float, stop: threading.Event
) -> list[SlowClient]:
    url = urlsplit(base_url)
    clients: list[SlowClient] = []
    sockets: list[socket.socket] = []
    for kind, count in (("slow-header", slow_header), ("short-body", short_body)):
        for _ in range(count):
            sockets.append(socket.create_connection((url.hostname, url.port)))
            clients.append(SlowClient(kind, time.monotonic(), sent=1))
            sockets[-1].sendall(SHORT_BODY if kind == "short-body" else SLOW_HEADER[:1])
    print("connected", flush=True)

    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        for index, sock in enumerate(sockets):
            selector.register(sock, selectors.EVENT_READ, index)

        def ended(index: int, how: str) -> None:
            clients[index].ended_at, clients[index].how = time.monotonic(), how
            selector.unregister(sockets[index])

        next_drip = time.monotonic() + DRIP_SECONDS
        while selector.get_map() and time.monotonic() < deadline and not stop.is_set():
            for key, _ in selector.select(timeout=max(0, next_drip - time.monotonic())):
                try:
                    data = sockets[key.data].recv(4096)
                except OSError:
                    ended(key.data, "reset")
                    continue
                status_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
                ended(key.data, f"answered {status_line}" if data else "closed")
            if time.monotonic() >= next_drip:
                next_drip += DRIP_SECONDS
                for index, client in enumerate(clients):
                    if client.kind == "slow-header" and client.ended_at is None:
                        try:
                            sockets[index].send(SLOW_HEADER[client.sent : client.sent + 1])
                            client.sent += 1
                        except OSError:
                            ended(index, "reset")
    for sock in sockets:
        sock.close()
    return clients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--slow-header", type=int, default=50)
    parser.add_argument("--short-body", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60, help="give up after this long")
    options = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    clients = run(
        options.base_url,
        slow_header=options.slow_header,
        short_body=options.short_body,
        seconds=options.seconds,
        stop=stop,
    )
    print(json.dumps([asdict(client) for client in clients]), flush=True)


if __name__ == "__main__":
    main()
