"""Start and stop the reference server (``server.js``: the original Express + node-postgres
design) for the benchmark and its test.

One node process on 127.0.0.1, node-postgres' default pool (10 connections), on the database it
is given. Its packages are installed with ``npm ci`` from this directory's lock file the first
time (``node_modules`` is git-ignored). It is never part of the product.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loadtests.bench.database import libpq_env
from loadtests.harness import stop, wait_until_answering

REFERENCE_DIR = Path(__file__).resolve().parent
SERVER_JS = REFERENCE_DIR / "server.js"
INSTALLED_MARK = REFERENCE_DIR / "node_modules" / ".package-lock.json"


@dataclass(frozen=True)
class ReferenceServer:
    base_url: str
    pid: int
    versions: str


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError(
            "node is not installed: the benchmark's reference server (the original Express "
            "design, loadtests/bench/reference/server.js) needs Node.js 20 or later and npm."
        )
    return node


def ensure_installed() -> None:
    """``npm ci`` when the packages are missing: exactly the versions of package-lock.json."""
    require_node()
    if INSTALLED_MARK.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the reference server's packages need it.")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REFERENCE_DIR, check=True
    )


def installed_versions() -> str:
    def version(package: str) -> str:
        manifest = REFERENCE_DIR / "node_modules" / package / "package.json"
        return json.loads(manifest.read_text())["version"]

    node = subprocess.run([require_node(), "--version"], capture_output=True, text=True)
    return f"node {node.stdout.strip()}, express {version('express')}, pg {version('pg')}"


@contextmanager
def reference_server(*, database_url: str, port: int, log_path: Path) -> Iterator[ReferenceServer]:
    """Yield the running reference server; SIGTERM it afterwards."""
    ensure_installed()
    env = {**os.environ, **libpq_env(database_url), "PORT": str(port), "NODE_ENV": "production"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [require_node(), str(SERVER_JS)], cwd=REFERENCE_DIR, env=env, stdout=log, stderr=log
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(
                f"{base_url}/healthz",
                process=process,
                log_path=log_path,
                seconds=30,
                interval=0.1,
                name="the reference server",
            )
            yield ReferenceServer(base_url, process.pid, installed_versions())
        finally:
            stop(process, seconds=10)
