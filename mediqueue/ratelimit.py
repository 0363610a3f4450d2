"""Fixed-window rate limits that hold under load and cost one store round trip per request.

Every limit a request is subject to is counted in a single round trip: one statement on
PostgreSQL (an UNLOGGED table, see migration 0002), or one Lua script on Redis when
``REDIS_URL`` is set. A live counter is never evicted: the counters of a cache (Django's
database cache culled a third of its 300 entries, alphabetically, whenever it was full) could
be wiped by anyone who made enough other counters.

Why not a library: django-ratelimit and DRF's throttles count through Django's cache (one
round trip per limit, and the database cache evicts); ``limits`` has no PostgreSQL store and
also counts each limit separately. What is needed here is small: a counter per (limit, who),
a window that starts with the first hit, and the seconds until it ends.

A window starts at a counter's first hit and lasts the rate's period; hits refused in it are
counted too, which does not lengthen it. Expired counters are deleted now and then by the
requests themselves (``PURGE_EVERY``), so the table holds at most the clients of the last
few minutes.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from dataclasses import dataclass

from django.conf import settings

from mediqueue.db import run_as_own_transaction
from mediqueue.errors import RateLimitedError
from mediqueue.rates import PERIOD_SECONDS

# About one request in this many also deletes the expired counters of every client.
PURGE_EVERY = 1000


@dataclass(frozen=True)
class Count:
    """One hit on one limit: ``limit`` names it, ``ident`` says who (an address, or an
    address and a patient), ``rate`` is "N/s|min|hour|day"."""

    limit: str
    ident: str
    rate: str

    @property
    def allowed_hits(self) -> int:
        return int(self.rate.partition("/")[0])

    @property
    def period_seconds(self) -> int:
        unit = self.rate.partition("/")[2].strip().lower()
        return PERIOD_SECONDS[unit[:1]]

    @functools.cached_property
    def key(self) -> str:
        # A digest: any ident (a userId may hold spaces, emoji, anything) makes a valid key of
        # fixed length, and the store holds no patient id in clear.
        digest = hashlib.blake2b(self.ident.encode(), digest_size=16).hexdigest()
        return f"rl:{self.limit}:{digest}"


def enforce(counts: list[Count]) -> None:
    """Count a hit on every limit in ``counts`` (one round trip); raise RateLimitedError when
    any of them is exceeded, with the seconds until the last exceeded window ends."""
    if counts:
        raise_if_exceeded(counts, hit(counts))


def raise_if_exceeded(counts: list[Count], counted: list[tuple[int, float]]) -> None:
    """RateLimitedError if a count's hits (``counted``, in the order of ``counts``) went over."""
    waits = [
        seconds_left
        for count, (hits, seconds_left) in zip(counts, counted, strict=True)
        if hits > count.allowed_hits
    ]
    if waits:
        raise RateLimitedError(math.ceil(max(waits)))


def counted_by_the_database() -> bool:
    """Whether the counters live in PostgreSQL, so that a statement can count them itself in
    its own round trip (``COUNTING``); with Redis they are counted on their own first."""
    return not settings.REDIS_URL


# Counting ``counts`` in a statement's own round trip: WITH queries to put first in it (``counted``:
# key, hits, seconds_left per counter; ``within_limits``: one row, ``ok``), with the parameters
# of ``counting_params``. The counters travel as lists, so the text is the same whatever their
# number, none included: one statement to prepare. Rows are locked in the lists' order, key
# order, so two requests sharing counters never deadlock. Each list is one comma-separated
# string (a key is a digest, never a comma): psycopg adapts a Python list in Python, and three
# lists cost a refusal 85 us of its ~430 us in-process; three strings cost nothing to speak of.
COUNTING = """counted AS (
    INSERT INTO mediqueue_ratelimit AS c (key, window_ends_at, hits)
    SELECT key, now() + period * interval '1 second', 1
    FROM unnest(
        string_to_array(%(rl_keys)s, ','), string_to_array(%(rl_periods)s, ',')::int[]
    ) WITH ORDINALITY AS t (key, period, n)
    ORDER BY n
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN c.window_ends_at <= now() THEN 1 ELSE c.hits + 1 END,
        window_ends_at = CASE WHEN c.window_ends_at <= now() THEN excluded.window_ends_at
                              ELSE c.window_ends_at END
    RETURNING key, hits, extract(epoch FROM window_ends_at - now())::float8 AS seconds_left
),
within_limits AS (
    SELECT coalesce(bool_and(counted.hits <= limits.allowed_hits), true) AS ok
    FROM counted JOIN unnest(
        string_to_array(%(rl_keys)s, ','), string_to_array(%(rl_allowed)s, ',')::int[]
    ) AS limits (key, allowed_hits) USING (key)
)"""

# The select-list items a statement WITH ``COUNTING`` returns for ``counted_results``.
COUNTED_RESULTS = (
    "ARRAY(SELECT hits FROM counted ORDER BY key) AS counted_hits, "
    "ARRAY(SELECT seconds_left FROM counted ORDER BY key) AS counted_seconds_left"
)


def counting_params(counts: list[Count]) -> dict:
    """The parameters of ``COUNTING`` for ``counts`` (none: nothing is counted)."""
    ordered = sorted(counts, key=lambda count: count.key)
    return {
        "rl_keys": ",".join(count.key for count in ordered),
        "rl_periods": ",".join(str(count.period_seconds) for count in ordered),
        "rl_allowed": ",".join(str(count.allowed_hits) for count in ordered),
    }


def counted_results(
    counts: list[Count], hits: list[int], seconds_left: list[float]
) -> list[tuple[int, float]]:
    """(hits, seconds left) per count of ``counts``, from COUNTED_RESULTS' arrays (key order)."""
    by_key = dict(
        zip(
            sorted(count.key for count in counts), zip(hits, seconds_left, strict=True), strict=True
        )
    )
    return [by_key[count.key] for count in counts]


def hit(counts: list[Count]) -> list[tuple[int, float]]:
    """Count one hit on each counter; return (hits in the window, seconds left in it) each."""
    if settings.REDIS_URL:
        return _hit_redis(counts)
    return _hit_postgresql(counts)


_HIT_SQL = f"WITH {COUNTING} SELECT {COUNTED_RESULTS}"

_PURGE_SQL = "DELETE FROM mediqueue_ratelimit WHERE window_ends_at <= now()"


def maybe_purge() -> None:
    """Now and then (PURGE_EVERY), delete the expired counters of every client: call once per
    counting on PostgreSQL."""
    if random.random() < 1 / PURGE_EVERY:
        run_as_own_transaction(_PURGE_SQL, {}, returns_rows=False)


def _hit_postgresql(counts: list[Count]) -> list[tuple[int, float]]:
    maybe_purge()
    (row,) = run_as_own_transaction(_HIT_SQL, counting_params(counts))
    hits, seconds_left = row
    return counted_results(counts, hits, seconds_left)


# INCR, and start the window on the first hit; a key found without an expiry (a crash between
# the two calls of an older version, or a manual SET) gets one too, so no counter is forever.
_HIT_LUA = """
local results = {}
for i, key in ipairs(KEYS) do
  local hits = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if hits == 1 or ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  results[#results + 1] = hits
  results[#results + 1] = ttl
end
return results
"""


def _hit_redis(counts: list[Count]) -> list[tuple[int, float]]:
    script = _redis_script(settings.REDIS_URL)
    flat = script(
        keys=[count.key for count in counts],
        args=[count.period_seconds * 1000 for count in counts],
    )
    return [(int(flat[i]), int(flat[i + 1]) / 1000) for i in range(0, len(flat), 2)]


@functools.cache
def _redis_script(url: str):
    import redis

    return redis.Redis.from_url(url).register_script(_HIT_LUA)


def client_address(request) -> str:
    """The address of the client, as the limits and the logs should see it.

    With no proxy declared (``MEDIQUEUE_NUM_PROXIES=0``) it is the connection's peer, and
    X-Forwarded-For, which any client can write, is ignored. Behind N proxies, each appending
    the address it saw, it is the Nth entry from the right: the one our outermost proxy wrote.
    """
    remote_address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.MEDIQUEUE_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote_address
    addresses = forwarded.split(",")
    return addresses[-min(proxies, len(addresses))].strip()
