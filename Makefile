# MediQueue: `make run` serves the demo, `make test` runs the whole suite, `make e2e` the browser
# tests, `make loadtest` proves under a Locust flash crowd that no slot is overbooked, `make bench`
# measures speed. All set themselves up (virtualenv in .venv, install, migrate) from a fresh clone.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
E2E_PACKAGES := e2e/node_modules/.package-lock.json
CHROMIUM := /usr/bin/chromium
NGINX := $(or $(shell command -v nginx),/usr/sbin/nginx)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test e2e docs-screenshots chromium nginx install lint format check-bookings clean-db bench
.PHONY: loadtest chaos dev wrk lock cluster cluster-test cluster-engines haproxy backup-test backup-engines
.PHONY: cluster-bench

run: $(INSTALLED)
	$(PY) manage.py run_demo

# For working on the code: Django's development server, DEBUG on, reloading on every change.
dev: $(INSTALLED)
	$(PY) manage.py migrate --verbosity 0
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

# nginx for the proxy tests, wrk for the bench's own tests (loadtests/bench/tests/test_wrk.py),
# HAProxy to check the cluster's configuration file (loadtests/cluster/tests/test_config.py),
# RabbitMQ for the booking queue's tests (each session runs one of its own).
test: $(INSTALLED) nginx wrk haproxy rabbitmq
	$(PY) -m pytest --cov=mediqueue --cov=booking --cov=slots --cov=pages --cov-report=term $(PYTEST_ARGS)

# Browser tests: a fresh e2e database, gunicorn on 127.0.0.1, Playwright driving Debian's Chromium.
e2e: $(INSTALLED) $(E2E_PACKAGES) chromium
	$(PY) -m e2e.run

# The README's pictures (docs/*.png) come from the same run.
docs-screenshots: $(INSTALLED) $(E2E_PACKAGES) chromium
	mkdir -p docs
	E2E_DOCS_DIR=$(CURDIR)/docs $(PY) -m e2e.run

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

# The proxy tests (mediqueue/tests/test_slow_clients.py, test_nginx_proxy.py) run Debian's nginx
# from a throwaway directory of their own, with deploy/nginx/'s configuration. Installing the
# package must not leave a system nginx on port 80: apt starts the service where an init system
# lets it (systemd, or no policy-rc.d saying no), so it is stopped (and kept from starting at
# boot) again. An nginx that was already installed is left as it is.
nginx:
	@test -x $(NGINX) || { \
	  echo "Installing Debian's nginx for the proxy tests"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    nginx && \
	  if [ -d /run/systemd/system ]; then \
	    $(SUDO) systemctl disable --now --quiet nginx; \
	  elif [ -s /run/nginx.pid ] && $(SUDO) kill -0 "$$(cat /run/nginx.pid)" 2>/dev/null; then \
	    echo "Stopping the system nginx the package started"; \
	    $(SUDO) kill -QUIT "$$(cat /run/nginx.pid)"; \
	  fi; }

# SCENARIO=flash (default), churn, browse, waitlist or queue (the booking queue: RabbitMQ and
# an allocator started beside the app); LOADTEST_ARGS=--help lists every option.
SCENARIO ?= flash
loadtest: $(INSTALLED) nginx $(if $(filter queue,$(SCENARIO)),rabbitmq)
	$(PY) -m loadtests --scenario $(SCENARIO) $(LOADTEST_ARGS)

# The booking queue's engine, Debian's rabbitmq-server, installed only when missing. The tests,
# the queue's load test and chaos run it from a throwaway directory on ports of their own
# (loadtests/harness/rabbitmq.py); the service the package starts is stopped and kept from
# starting at boot, as for nginx. A RabbitMQ already installed is left as it is.
RABBITMQ := /usr/lib/rabbitmq/bin/rabbitmq-server
.PHONY: rabbitmq
rabbitmq:
	@test -x $(RABBITMQ) || { \
	  echo "Installing Debian's rabbitmq-server for the booking queue"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    rabbitmq-server && \
	  if [ -d /run/systemd/system ]; then \
	    $(SUDO) systemctl disable --now --quiet rabbitmq-server; \
	  elif $(SUDO) /etc/init.d/rabbitmq-server status >/dev/null 2>&1; then \
	    echo "Stopping the system rabbitmq-server the package started"; \
	    $(SUDO) /etc/init.d/rabbitmq-server stop; \
	  fi; }

install: $(INSTALLED)

# The exact versions, hashes checked, from requirements.lock (make lock refreshes it after a
# change of pyproject.toml); then the project itself, editable.
$(INSTALLED): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Resolve pyproject.toml's ranges anew into requirements.lock (pip-tools), hashes included;
# then requirements-prod.lock, what the Docker image installs: the service's own dependencies
# alone, at the very versions of requirements.lock (its constraint), which the suite tests.
lock: $(INSTALLED)
	$(PY) -m pip install --quiet "pip-tools>=7.6,<8"
	$(VENV)/bin/pip-compile --quiet --extra dev --extra loadtest --generate-hashes \
	  --no-emit-index-url --no-emit-find-links --strip-extras --output-file requirements.lock \
	  pyproject.toml
	$(VENV)/bin/pip-compile --quiet --generate-hashes --constraint requirements.lock \
	  --no-emit-index-url --no-emit-find-links --strip-extras \
	  --output-file requirements-prod.lock pyproject.toml

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

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
chaos: $(INSTALLED) rabbitmq
	$(PY) -m loadtests.chaos $(CHAOS_ARGS)

# Scale-out and high availability on loopback: every service of docker-compose.cluster.yml
# (etcd, 3 Patroni-managed PostgreSQL members in synchronous_mode, HAProxy, db-init, migrate,
# Redis, 2 app nodes with their notices' workers, nginx, Prometheus), each with its own command,
# environment and files. cluster-test runs each fault during a flash crowd (about 3 minutes;
# CLUSTER_ARGS='--only leader-kill' picks one); cluster serves the same topology for use by hand
# until Ctrl+C.
cluster-test: $(INSTALLED) nginx cluster-engines rabbitmq
	$(PY) -m loadtests.cluster $(CLUSTER_ARGS)

cluster: $(INSTALLED) nginx cluster-engines rabbitmq
	$(PY) -m loadtests.cluster --serve $(CLUSTER_ARGS)

# The hot slot and the listings through both app nodes of the cluster, with the listings read
# from the replicas and from the leader alone (docs/scaling.md, "The read path").
cluster-bench: $(INSTALLED) nginx wrk cluster-engines
	$(PY) -m loadtests.cluster --bench $(CLUSTER_ARGS)

# The restore drill (loadtests/cluster/drill.py, about a minute): the cluster of
# docker-compose.cluster.yml on Debian's PostgreSQL 15, archiving WAL to pgBackRest; full and
# incremental backups, bookings, a failover, a mistaken DELETE; restores to a time and to the
# latest point into fresh data directories, each counted against the bookings acknowledged.
backup-test: $(INSTALLED) nginx cluster-engines backup-engines
	$(PY) -m loadtests.cluster --backup-test $(CLUSTER_ARGS)

# Debian's pgBackRest and PostgreSQL 15's programs for the drill (bookworm's pgBackRest, 2.45,
# knows PostgreSQL up to 15, not the embedded 18), installed only when missing. The drill runs
# PostgreSQL 15 from its own directories: the cluster the package makes and starts ("15/main")
# is dropped again, if the package was installed just now and no such cluster was there before.
PG15 := /usr/lib/postgresql/15/bin/postgres
backup-engines:
	@if ! command -v pgbackrest >/dev/null || ! test -x $(PG15); then \
	  fresh=$$(test -x $(PG15) || test -d /etc/postgresql/15/main || echo yes); \
	  echo "Installing Debian's pgbackrest and postgresql-15 for the restore drill"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    pgbackrest postgresql-15 && \
	  if [ -n "$$fresh" ] && [ -d /etc/postgresql/15/main ]; then \
	    $(SUDO) pg_dropcluster --stop 15 main; \
	  fi; \
	fi

# Debian's etcd, HAProxy, Prometheus and Redis, each installed only when missing (package,
# program, service). The cluster runs them from a throwaway directory of its own; a system
# service that a package just installed would start (systemd, or no policy-rc.d saying no) is
# stopped and kept from starting at boot, as for nginx. An engine already installed is left
# as it is.
HAPROXY_ENGINE := haproxy:haproxy:haproxy
CLUSTER_ENGINES := etcd-server:etcd:etcd $(HAPROXY_ENGINE) \
  prometheus:prometheus:prometheus redis-server:redis-server:redis-server
cluster-engines:
	@missing=""; services=""; \
	for engine in $(CLUSTER_ENGINES); do \
	  package=$${engine%%:*}; rest=$${engine#*:}; program=$${rest%%:*}; service=$${rest#*:}; \
	  if ! command -v $$program >/dev/null && ! test -x /usr/sbin/$$program; then \
	    missing="$$missing $$package"; services="$$services $$service"; \
	  fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian's$$missing for the local cluster"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    $$missing && \
	  for service in $$services; do \
	    if [ -d /run/systemd/system ]; then \
	      $(SUDO) systemctl disable --now --quiet $$service || true; \
	    elif [ -x /etc/init.d/$$service ] && $(SUDO) /etc/init.d/$$service status >/dev/null 2>&1; then \
	      echo "Stopping the system $$service the package started"; \
	      $(SUDO) /etc/init.d/$$service stop; \
	    fi; \
	  done; \
	fi

# HAProxy alone, the same way, for the suite's check of the cluster's configuration file.
haproxy:
	@$(MAKE) --no-print-directory cluster-engines CLUSTER_ENGINES=$(HAPROXY_ENGINE)
