"""Loaded by pytest before anything else (``-p mediqueue.pytest_plugin`` in pyproject.toml), so
that the embedded PostgreSQL runs before pytest-django reads the settings' database."""

from mediqueue.launcher import prepare_local_environment

prepare_local_environment()
