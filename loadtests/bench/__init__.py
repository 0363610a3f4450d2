"""MediQueue benchmark: the service as production runs it, beside the original Node/Express
design and the database's own ceiling, in one run.

    make bench                          (python -m loadtests.bench; about 4-5 minutes)
    make bench BENCH_ARGS=--quick       (a smoke test of 2-second runs, about a minute)
    make bench BENCH_ARGS=--strict      (a missed performance target fails the run too)
    make bench BENCH_ARGS=--help

What runs. A fresh ``mediqueue_bench`` database on the PostgreSQL the service is configured
for: the embedded PostgreSQL 18 under ``.mediqueue/`` when ``DATABASE_URL`` is unset, else a
database beside ``DATABASE_URL``'s on the same server (dropped afterwards; ``--keep-database``
keeps it). The first line printed names the server and its version. On it, side by side:
- MediQueue, started by the harness (``loadtests.harness.gunicorn``) with the project's gunicorn
  config and production settings (``production_env``): DEBUG off, the JSON event log on, the
  product's default rate limits ON, behind one declared proxy (``MEDIQUEUE_NUM_PROXIES=1``);
- the reference (``reference/server.js``): the original service's published design, Express 5
  and a node-postgres pool (default size, 10), its booking five statements (BEGIN; SELECT ...
  FOR UPDATE; UPDATE; INSERT; COMMIT), its listing one SELECT ... JOIN returning every slot;
  one node process, its packages installed with ``npm ci`` on first use.
``wrk`` (Debian package ``wrk``; ``make bench`` installs it when missing) drives both with the
same Lua scripts: every booking is for a new patient and every request carries an
``X-Forwarded-For`` address of its own, so every rate limit is checked and counted and none is
reached (the run checks that no 429 occurred, and that one patient in a loop does meet one).

Scenarios, each for both servers: GET /api/slots with 100 and 1,000 slots (and a trivial Django
view, the framework floor, for MediQueue alone); then a hot slot (millions of seats, 64
connections), one connection, a flash crowd (100 seats, 512 connections; exactly 100 x 201, the
rest 409, counted in the database too) and refusals (a full slot, 64 connections).
pgbench runs the service's own booking statement on the same server (``pgbench.py``), and the
stack's lower bound is measured: the same refusals answered by a bare WSGI application under
the same gunicorn, with the same statement and limits and no Django (``bare.py``). For each
run it prints answers/s, p50/p99, the statuses, and the CPU milliseconds per answer of the app
processes and of PostgreSQL (``cpu.py``: /proc before and after). When Redis answers (``REDIS_URL``,
else redis://127.0.0.1:6379/0) a second pass repeats the booking scenarios with the rate-limit
counters in Redis (``--no-redis`` skips it).

Then DESIGN.md's targets, ok/MISSED, and the correctness checks (``verdict.py``). The exit code
is non-zero when a correctness check fails; a missed target fails it only with ``--strict``.
The machines are shared and noisy: compare the ratios of one run, and the CPU per answer, not
absolute rates across runs. Everything also goes to ``loadtests/reports/bench-<time>.json``,
the servers' logs beside it.
"""
