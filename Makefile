# MediQueue: `make run` serves the demo, `make test` runs the whole suite.
# Both set themselves up (virtualenv in .venv, install, migrate) from a fresh clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test install lint format check-bookings clean-db bench chaos

run: $(INSTALLED)
	$(PY) manage.py run_demo

test: $(INSTALLED)
	$(PY) -m pytest --cov=booking --cov=slots --cov-report=term $(PYTEST_ARGS)

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,loadtest]"
	touch $@

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-bookings: $(INSTALLED)
	$(PY) manage.py check_bookings

# Deletes the embedded database (demo data, admin account) so the next `make run` starts fresh.
clean-db:
	rm -rf .mediqueue

# Benchmark: hot slot, flash sell-out, listing, framework floor and the pgbench ceiling, in one run.
bench: $(INSTALLED)
	$(PY) -m loadtests.bench $(BENCH_ARGS)

# Fault injection: worker kills, PostgreSQL restarts and crashes, clients that hang up, each
# during a flash crowd on a throwaway PostgreSQL; fails if anything acknowledged was lost.
chaos: $(INSTALLED)
	$(PY) -m loadtests.chaos $(CHAOS_ARGS)
