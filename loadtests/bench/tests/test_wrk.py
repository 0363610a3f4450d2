"""wrk's output as the bench reads it, and the Lua scripts it gives wrk."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loadtests.bench.wrk import WrkResult, book_script, get_script, parse_wrk, run_wrk

OUTPUT = """Running 10s test @ http://127.0.0.1:8301/api/book
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    81.06ms   14.22ms 137.38ms   78.19%
    Req/Sec   395.24     79.29   440.00     71.43%
  7906 requests in 10.02s, 4.86MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 10
Requests/sec:    789.02
Transfer/sec:    496.60KB
STATUSES {"201":7896,"409":10}
LATENCY_US p50=80121 p99=115034
"""


def test_parse_wrk_reads_requests_time_statuses_socket_errors_and_percentiles():
    result = parse_wrk(OUTPUT)

    assert result == WrkResult(
        requests=7906,
        seconds=10.02,
        statuses={"201": 7896, "409": 10},
        socket_errors=5,
        p50_ms=80.121,
        p99_ms=115.034,
    )
    assert result.answered == 7906
    assert result.count(201) == 7896 and result.count(500) == 0
    assert result.count_except(201) == 10 and result.count_except(201, 409) == 0
    assert result.per_second_of(201) == pytest.approx(788.02, abs=0.01)
    assert result.server_errors == 0


@pytest.mark.parametrize(("duration", "seconds"), [("850.5ms", 0.8505), ("1.00m", 60.0)])
def test_parse_wrk_converts_the_duration_unit(duration, seconds):
    out = OUTPUT.replace("in 10.02s", f"in {duration}")

    assert parse_wrk(out).seconds == pytest.approx(seconds)


def test_parse_wrk_counts_no_socket_errors_when_wrk_reports_none():
    out = OUTPUT.replace("  Socket errors: connect 0, read 3, write 0, timeout 2\n", "")

    assert parse_wrk(out).socket_errors == 0


def test_parse_wrk_counts_5xx_as_server_errors():
    out = OUTPUT.replace('{"201":7896,"409":10}', '{"201":7896,"503":4,"500":6}')

    assert parse_wrk(out).server_errors == 10


def test_parse_wrk_refuses_output_without_the_scripts_lines():
    with pytest.raises(ValueError, match="unexpected wrk output"):
        parse_wrk(OUTPUT.replace("STATUSES", "STATUS"))


def test_the_scripts_name_the_slot_the_prefix_and_the_path():
    assert 'SLOT = "42"\nPREFIX = "db-hot"\n' in book_script(slot_id=42, prefix="db-hot")
    assert 'PATH = "/api/slots?limit=100"' in get_script("/api/slots?limit=100")


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.seen.append((self.path, self.headers.get("X-Forwarded-For", ""), body))
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def test_every_request_is_a_new_patient_from_a_client_address_of_its_own():
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        booked = run_wrk(base_url, book_script(slot_id=7, prefix="t"), connections=4, seconds=1)
        listed = run_wrk(base_url, get_script("/api/slots"), connections=2, seconds=1)
    finally:
        server.shutdown()

    posts = [seen for seen in _Recorder.seen if seen[0] == "/api/book"]
    gets = [seen for seen in _Recorder.seen if seen[0] == "/api/slots"]
    assert booked.count(201) > 0 and listed.count(200) > 0
    assert len(posts) >= booked.count(201) and len(gets) >= listed.count(200)
    addresses = [address for _, address, _ in posts]
    assert all(re.fullmatch(r"1[12]\.\d+\.\d+\.\d+", address) for address in addresses)
    assert len(set(addresses)) == len(addresses)
    bodies = {body for _, _, body in posts}
    assert len(bodies) == len(posts)
    assert all(re.fullmatch(rb'\{"userId":"t-[12]-\d+","slotId":7\}', body) for body in bodies)
    assert all(address for _, address, _ in gets)
