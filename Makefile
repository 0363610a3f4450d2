# MediQueue: `make run` serves the demo, `make test` runs the whole suite, `make e2e` the browser
# tests, `make loadtest` proves under a Locust flash crowd that no slot is overbooked, `make bench`
# measures speed. All set themselves up (virtualenv in .venv, install, migrate) from a fresh clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
E2E_PACKAGES := e2e/node_modules/.package-lock.json
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test e2e docs-screenshots chromium install lint format check-bookings clean-db bench loadtest
.PHONY: chaos wrk

run: $(INSTALLED)
	$(PY) manage.py run_demo

test: $(INSTALLED)
	$(PY) -m pytest --cov=booking --cov=slots --cov=pages --cov-report=term $(PYTEST_ARGS)

# Browser tests: a fresh e2e database, gunicorn on 127.0.0.1, Playwright driving Debian's Chromium.
e2e: $(INSTALLED) $(E2E_PACKAGES) chromium
	$(PY) e2e/run.py

# The README's pictures (docs/*.png) come from the same run.
docs-screenshots: $(INSTALLED) $(E2E_PACKAGES) chromium
	mkdir -p docs
	E2E_DOCS_DIR=$(CURDIR)/docs $(PY) e2e/run.py

$(E2E_PACKAGES): e2e/package.json e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund

# Playwright cannot download browsers here; Debian's chromium package is used instead (with a
# font: a bare machine has none, and pages would render as boxes).
chromium:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    chromium fonts-dejavu-core; }

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

# Benchmark: MediQueue with production settings beside the original Express design (reference
# server, npm ci on first use) and pgbench: hot slot, flash crowd, refusals, one connection,
# listings, CPU per request; issue #13's targets. BENCH_ARGS=--quick for a smoke test.
bench: $(INSTALLED) wrk
	$(PY) -m loadtests.bench $(BENCH_ARGS)

# The benchmark's load generator, Debian's wrk package.
wrk:
	@command -v wrk >/dev/null || { \
	  echo "Installing Debian's wrk for the benchmark"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk; }

# Fault injection: worker kills, PostgreSQL restarts and crashes, clients that hang up, each
# during a flash crowd on a throwaway PostgreSQL; fails if anything acknowledged was lost.
chaos: $(INSTALLED)
	$(PY) -m loadtests.chaos $(CHAOS_ARGS)
