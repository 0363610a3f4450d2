"""What each app node tells Prometheus, at ``/metrics`` (django-prometheus's export view).

Counted by the service itself where the thing happens, never by wrapping every database
cursor: django-prometheus's database backend and its pair of middlewares would cost the booking
hot path a measurable share of its CPU (README, Performance), for figures nobody asked for.
What is counted:

- ``mediqueue_bookings_total{outcome}``: answers to ``POST /api/book``, ``confirmed`` or the
  error envelope's code (``slot_full``, ``busy``, ``unavailable``, ...);
- ``mediqueue_lock_waits_total{result}``: bookings that waited for a slot's row lock and then
  found no seat (``refused_after_wait``), or gave up waiting (``timeout``, answered 503 busy);
- ``mediqueue_database_errors_total{error}``: requests answered 503 ``unavailable`` because the
  database could not be reached or dropped the connection (a failover, a restart);
- ``mediqueue_listing_reads_total{source}``: listings (``GET /api/slots``, ``/api/slots/{id}``,
  ``/api/doctors``, the patients' board) read from a database, ``replica`` or ``leader``; a
  listing page served from a node's cache reads none;
- ``mediqueue_listing_fallbacks_total{reason}``: listings the leader served although a replica
  is configured: ``lagging`` (it had not replayed the last acknowledged change),
  ``unavailable`` (unreachable), ``not_replica`` (a member being promoted), ``error`` (the
  listing's query failed there) (mediqueue/replicas.py);
- ``mediqueue_request_duration_seconds{endpoint}``: time spent in Django per request, by URL
  name (one cheap middleware, ``mediqueue.middleware.RequestMetricsMiddleware``).

Under gunicorn every worker process counts into files of one directory
(``PROMETHEUS_MULTIPROC_DIR``, set up by ``mediqueue/gunicorn.conf.py``) and ``/metrics`` sums
them, so a scrape sees the whole node whichever worker answers it.
"""

from __future__ import annotations

import functools

from prometheus_client import Counter, Gauge, Histogram

BOOKINGS = Counter(
    "mediqueue_bookings",
    "Answers to POST /api/book, by outcome: confirmed, or the error code.",
    ["outcome"],
)
LOCK_WAITS = Counter(
    "mediqueue_lock_waits",
    "Bookings that waited for a slot's row lock and found no seat, or timed out waiting.",
    ["result"],
)
DATABASE_ERRORS = Counter(
    "mediqueue_database_errors",
    "Requests answered 503 unavailable: the database was unreachable or dropped the connection.",
    ["error"],
)
LISTING_READS = Counter(
    "mediqueue_listing_reads",
    "Listings read from a database, by source: replica or leader.",
    ["source"],
)
LISTING_FALLBACKS = Counter(
    "mediqueue_listing_fallbacks",
    "Listings served by the leader although a replica is configured, by reason.",
    ["reason"],
)
# Every series a dashboard or an alert looks for exists from the start, at 0: Prometheus's
# increase() sees nothing of a series that appears for the first time already counting.
for _outcome in ("confirmed", "slot_full", "slot_closed", "already_booked", "busy", "unavailable"):
    BOOKINGS.labels(_outcome)
for _result in ("refused_after_wait", "timeout"):
    LOCK_WAITS.labels(_result)
for _error in ("OperationalError", "InterfaceError", "InternalError"):
    DATABASE_ERRORS.labels(_error)
for _source in ("replica", "leader"):
    LISTING_READS.labels(_source)
for _reason in ("lagging", "unavailable", "not_replica", "error"):
    LISTING_FALLBACKS.labels(_reason)

# From a cached listing (~0.3 ms) to a request that waited out a failover (seconds).
REQUEST_SECONDS = Histogram(
    "mediqueue_request_duration_seconds",
    "Time spent in Django per request, by URL name.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


# --- The booking queue (booking.queue, booking.allocator) ---------------------------------
# Accepted requests are counted with the answers above (``outcome="queued"``, a 202); what
# follows is counted by each allocator process and served by it (manage.py allocate
# MEDIQUEUE_ALLOCATOR_METRICS_BIND), beside the app node's /metrics.
QUEUE_DEPTH = Gauge(
    "mediqueue_booking_queue_depth",
    "Requests waiting in each shard of the booking queue (ready, not yet taken).",
    ["queue"],
    multiprocess_mode="livemax",
)
QUEUE_WAIT_SECONDS = Histogram(
    "mediqueue_booking_queue_wait_seconds",
    "Time in line: from a queued request's 202 to its outcome, committed.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
ALLOCATOR_BATCH_SIZE = Histogram(
    "mediqueue_allocator_batch_size",
    "Requests the allocator took off the queue at once.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
QUEUE_OUTCOMES = Counter(
    "mediqueue_booking_queue_outcomes",
    "Queued requests decided, by outcome: confirmed, or the refusal's code; malformed for a "
    "message that was not a request.",
    ["outcome"],
)
for _outcome in ("confirmed", "slot_full", "slot_closed", "already_booked", "slot_not_found"):
    QUEUE_OUTCOMES.labels(_outcome)
BOOKINGS.labels("queued")


# A labelled child looked up once per label value and kept: ``labels()`` takes a lock and
# builds a key on every call, half of what counting a request costs (measured: ~12 us a request
# with it, ~6 us with the children kept). The label values are few (URL names, error codes).
@functools.cache
def request_seconds(endpoint: str):
    return REQUEST_SECONDS.labels(endpoint)


@functools.cache
def bookings(outcome: str):
    return BOOKINGS.labels(outcome)


@functools.cache
def listing_reads(source: str):
    return LISTING_READS.labels(source)


@functools.cache
def listing_fallbacks(reason: str):
    return LISTING_FALLBACKS.labels(reason)
