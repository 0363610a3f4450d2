# MediQueue: `make run` serves the demo, `make test` runs the whole suite, `make loadtest` proves
# under a Locust flash crowd that no slot is overbooked.
# All set themselves up (virtualenv in .venv, install, migrate) from a fresh clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test loadtest install lint format check-bookings clean-db

run: $(INSTALLED)
	$(PY) manage.py run_demo

test: $(INSTALLED)
	$(PY) -m pytest --cov=booking --cov=slots --cov-report=term $(PYTEST_ARGS)

# SCENARIO=flash (default), churn or browse; LOADTEST_ARGS=--help lists every option.
SCENARIO ?= flash
loadtest: $(INSTALLED)
	$(PY) -m loadtests --scenario $(SCENARIO) $(LOADTEST_ARGS)

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
