"""``manage.py`` commands in a process of their own, with the environment they are given: the
way an operator runs them beside the service (migrate, check_bookings, seed_demo, ...)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

from loadtests.harness.environment import BASE_DIR


def manage(
    env: Mapping[str, str], *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``manage.py *args`` with ``env``; its output is captured as text. With ``check`` a
    non-zero exit raises RuntimeError carrying the output; without, read ``returncode``."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result
