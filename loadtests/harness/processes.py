"""Waiting for a server process to answer, and stopping it: one way for gunicorn, nginx, the
bench's reference server and whatever else the harness's users start."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path


def answers(url: str, *, timeout: float = 5) -> bool:
    """Whether GET ``url`` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def answering_within(
    url: str,
    seconds: float,
    *,
    process: subprocess.Popen | None = None,
    log_path: Path | None = None,
    interval: float = 0.2,
    name: str = "the server",
) -> bool:
    """Poll GET ``url`` until it answers 200 (True) or ``seconds`` pass (False). Raises
    RuntimeError, with the end of ``log_path``, as soon as ``process`` (``name``) has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log = log_path.read_text(errors="replace")[-3000:] if log_path else ""
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log}")
        if answers(url):
            return True
        time.sleep(interval)
    return False


def wait_until_answering(
    url: str,
    *,
    process: subprocess.Popen | None = None,
    log_path: Path | None = None,
    seconds: float = 60,
    interval: float = 0.2,
    name: str = "the server",
) -> None:
    """Like :func:`answering_within`, but a server that does not answer in time is an error."""
    if not answering_within(
        url, seconds, process=process, log_path=log_path, interval=interval, name=name
    ):
        where = f"; see {log_path}" if log_path else ""
        raise RuntimeError(f"{name} at {url} did not answer 200 within {seconds:.0f} s{where}")


def stop(
    process: subprocess.Popen,
    *,
    sig: signal.Signals = signal.SIGTERM,
    seconds: float = 40,
    group: bool = False,
) -> None:
    """Send ``sig`` (gunicorn: SIGTERM lets the requests in flight finish; nginx: SIGQUIT),
    wait up to ``seconds``, then SIGKILL the process, or its whole process group with ``group``
    (for a process started with ``start_new_session``, whose workers must go with it)."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()
