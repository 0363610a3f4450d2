"""Version stamps shared by every process of the service, to know when a cache went stale, and
how far the leader's WAL had gone when it changed (for reads from replicas).

A process that commits a change stamps a new version (``bump``) before its answer leaves; a
process about to serve from its cache compares the version it cached under with the current
one (``current``). A client that was told "booked" therefore never gets a listing cached
before its booking, whichever worker, or node, answers it (read-your-writes).

A stamp is 8 random bytes, then the leader's WAL position (LSN) after the change committed, as
16 hex digits (``lsn_of``). The random part, not a counter: two processes bumping at once would
write the same next number, and a cache filled between the two would look current. The LSN
part only grows (but for ``UNKNOWN``, below): a bump keeps the larger of the stored and its own
(two writers may store theirs in either order, and the later-committed one must not be hidden
by the other). A replica
that has replayed up to the stamp's LSN holds every change acknowledged before the stamp was
read (mediqueue/replicas.py). Without replicas the LSN is 0 and nobody reads it.

Where the stamps live:
- with ``REDIS_URL``: in Redis, shared by every app node (one GET per cached answer served, one
  script call per change, which keeps the larger LSN atomically);
- without: in a few bytes of shared memory (a file under /dev/shm), shared by every process of
  this machine using the same database; reading it costs no system call at all, a bump takes
  the file's lock around its read-compare-write.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import mmap
import os
import tempfile
from pathlib import Path

from django.conf import settings

RANDOM_BYTES = 8
LSN_DIGITS = 16
STAMP_BYTES = RANDOM_BYTES + LSN_DIGITS
# A writer that could not read the leader's position stores the largest one: listings go to the
# leader until the next change, whose position (read after this commit) replaces it.
UNKNOWN = b"f" * LSN_DIGITS


def current(name: str) -> bytes:
    return _store(name, settings.REDIS_URL).read()


def bump(name: str, *, lsn: int = 0) -> None:
    """A new version of ``name``, whose LSN is at least ``lsn``."""
    _store(name, settings.REDIS_URL).write(os.urandom(RANDOM_BYTES), _lsn_text(lsn))


def lsn_of(stamp: bytes) -> int:
    """The WAL position a replica must have replayed to serve what ``stamp`` versions; 0 for a
    stamp without one (never bumped, or written by an older release)."""
    try:
        return int(stamp[RANDOM_BYTES:STAMP_BYTES], 16)
    except ValueError:
        return 0


def _lsn_text(lsn: int) -> bytes:
    # Fixed width: the texts then compare as the numbers do (Redis's script compares strings).
    return f"{lsn:0{LSN_DIGITS}x}".encode()


@functools.cache
def _store(name: str, redis_url: str):
    if redis_url:
        return _RedisStamp(redis_url, f"mediqueue:version:{name}")
    return _SharedMemoryStamp(_shared_memory_path(name))


def _shared_memory_path(name: str) -> Path:
    database = settings.DATABASES["default"]
    identity = "|".join(str(database.get(k, "")) for k in ("HOST", "PORT", "NAME"))
    digest = hashlib.blake2b(identity.encode(), digest_size=8).hexdigest()
    directory = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    return directory / f"mediqueue-{os.getuid()}-{name}-{digest}-v2"


class _SharedMemoryStamp:
    def __init__(self, path: Path) -> None:
        self._descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._descriptor).st_size < STAMP_BYTES:
            os.ftruncate(self._descriptor, STAMP_BYTES)  # harmless if another process just did
        self._memory = mmap.mmap(self._descriptor, STAMP_BYTES)

    def read(self) -> bytes:
        return self._memory[:STAMP_BYTES]

    def write(self, random: bytes, lsn: bytes) -> None:
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        try:
            stored = bytes(self._memory[RANDOM_BYTES:STAMP_BYTES])
            if stored != UNKNOWN:
                lsn = max(lsn, stored)
            # The LSN before the random part: a reader that sees the new random part (it reads
            # from the start) reads the new LSN after it too.
            self._memory[RANDOM_BYTES:STAMP_BYTES] = lsn
            self._memory[:RANDOM_BYTES] = random
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)


# KEYS[1] the stamp; ARGV[1] the random part, ARGV[2] this change's LSN (fixed-width hex),
# ARGV[3] the position of "unknown" (mediqueue.replicas.UNKNOWN_LSN), which any later one ends.
_BUMP_LUA = """
local lsn = ARGV[2]
local old = redis.call('GET', KEYS[1])
if old and string.len(old) == string.len(ARGV[1]) + string.len(lsn) then
  local old_lsn = string.sub(old, string.len(ARGV[1]) + 1)
  if old_lsn > lsn and old_lsn ~= ARGV[3] then lsn = old_lsn end
end
redis.call('SET', KEYS[1], ARGV[1] .. lsn)
"""


class _RedisStamp:
    def __init__(self, url: str, key: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._bump = self._redis.register_script(_BUMP_LUA)
        self._key = key

    def read(self) -> bytes:
        return self._redis.get(self._key) or b""

    def write(self, random: bytes, lsn: bytes) -> None:
        self._bump(keys=[self._key], args=[random, lsn, UNKNOWN])
