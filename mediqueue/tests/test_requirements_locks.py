"""The Docker image installs requirements-prod.lock; the suite runs on requirements.lock. The
image gets what was tested only while every pin of the first is the same pin of the second."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from django.conf import settings
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(settings.BASE_DIR)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s*\\\n\s+--hash=sha256:\w+)+)", re.M)


def pins(lock: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Name (normalised) -> (version, hashes) of every pin of the lock file."""
    text = (ROOT / lock).read_text()
    return {
        canonicalize_name(name): (
            version,
            frozenset(re.findall(r"sha256:(\w+)", hashes)),
        )
        for name, version, hashes in PIN.findall(text)
    }


def requirement_names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(requirement).name) for requirement in requirements}


def test_every_production_pin_is_the_tested_pin_with_its_hashes():
    production, tested = pins("requirements-prod.lock"), pins("requirements.lock")

    assert production, "no pin read from requirements-prod.lock"
    assert all(hashes for _, hashes in production.values())
    assert {name: pin for name, pin in production.items() if tested.get(name) != pin} == {}


def test_the_production_lock_holds_the_service_dependencies_and_no_tool_of_the_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    production = set(pins("requirements-prod.lock"))
    service = requirement_names(project["dependencies"])
    tools = {"pytest", "ruff", "locust", "schemathesis", "hypothesis", "patroni"}

    assert service <= production
    extras = [r for requirements in project["optional-dependencies"].values() for r in requirements]
    assert tools <= requirement_names(extras)
    assert not tools & production
