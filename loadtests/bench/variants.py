"""Builds of the service to compare in one bench run, each a git commit checked out apart.

``--variant NAME=REF`` names a build: ``main=1a411ae``, ``orm-lock=ablation/orm-lock``. Each is
checked out as a detached git worktree in a temporary directory for the run and served from
there by the same gunicorn, virtualenv, settings and database as any other (the harness puts
the checkout first on ``PYTHONPATH``). The builds must share the database schema: the bench
migrates once, with this checkout's migrations.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loadtests.harness import BASE_DIR


@dataclass(frozen=True)
class Variant:
    name: str
    ref: str
    commit: str  # abbreviated, for the report
    source_dir: Path


def parse(spec: str) -> tuple[str, str]:
    """``NAME=REF`` as (name, ref); a bare ``REF`` is named after itself."""
    name, equals, ref = spec.partition("=")
    return (name, ref) if equals else (spec, spec)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=BASE_DIR, check=True, capture_output=True, text=True
    ).stdout.strip()


@contextmanager
def checked_out(specs: list[str]) -> Iterator[list[Variant]]:
    """Each ``NAME=REF`` of ``specs`` checked out; removed again afterwards."""
    with tempfile.TemporaryDirectory(prefix="mediqueue-variants-") as directory:
        variants = []
        try:
            for spec in specs:
                name, ref = parse(spec)
                commit = _git("rev-parse", "--short", f"{ref}^{{commit}}")
                source_dir = Path(directory) / name
                _git("worktree", "add", "--detach", "--quiet", str(source_dir), commit)
                variants.append(Variant(name, ref, commit, source_dir))
            yield variants
        finally:
            for variant in variants:
                _git("worktree", "remove", "--force", str(variant.source_dir))
