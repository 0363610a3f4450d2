"""Ports, and waiting for and stopping the processes the harness starts."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from loadtests.harness import free_ports, ports_for_tests, stop, wait_until_answering


def test_free_ports_are_distinct_and_in_the_range(monkeypatch):
    ports = free_ports(3, range(8100, 8200))

    assert len(set(ports)) == 3
    assert all(8100 <= port < 8200 for port in ports)
    monkeypatch.setenv("MEDIQUEUE_TEST_PORTS", "8400-8499")
    assert ports_for_tests() == range(8400, 8500)
    monkeypatch.delenv("MEDIQUEUE_TEST_PORTS")
    assert ports_for_tests() == range(0, 1)  # port 0: any, as the OS picks


def test_a_server_that_exits_before_answering_is_reported_with_its_log(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("Address already in use\n")
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])

    with pytest.raises(RuntimeError, match=r"gunicorn exited with 3:\nAddress already in use"):
        wait_until_answering(
            "http://127.0.0.1:9/readyz", process=process, log_path=log, name="gunicorn"
        )


def test_stop_kills_what_ignores_the_signal():
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    process.stdout.readline()

    stop(process, seconds=0.5)

    assert process.returncode == -signal.SIGKILL
