"""Version stamps shared by every process of the service, to know when a cache went stale.

A process that commits a change stamps a new random version (``bump``) before its answer
leaves; a process about to serve from its cache compares the version it cached under with the
current one (``current``). A client that was told "booked" therefore never gets a listing cached
before its booking, whichever worker, or node, answers it (read-your-writes).

Where the stamps live:
- with ``REDIS_URL``: in Redis, shared by every app node (one GET per cached answer served, one
  SET per change);
- without: in a few bytes of shared memory (a file under /dev/shm), shared by every process of
  this machine using the same database; reading it costs no system call at all.

A stamp is 8 random bytes rather than a counter: two processes bumping at once would write
the same next number, and a cache filled between the two would look current.
"""

from __future__ import annotations

import functools
import hashlib
import mmap
import os
import tempfile
from pathlib import Path

from django.conf import settings

STAMP_BYTES = 8


def current(name: str) -> bytes:
    return _store(name, settings.REDIS_URL).read()


def bump(name: str) -> None:
    _store(name, settings.REDIS_URL).write(os.urandom(STAMP_BYTES))


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
    return directory / f"mediqueue-{os.getuid()}-{name}-{digest}"


class _SharedMemoryStamp:
    def __init__(self, path: Path) -> None:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(descriptor).st_size < STAMP_BYTES:
                os.ftruncate(descriptor, STAMP_BYTES)  # harmless if another process just did
            self._memory = mmap.mmap(descriptor, STAMP_BYTES)
        finally:
            os.close(descriptor)

    def read(self) -> bytes:
        return self._memory[:STAMP_BYTES]

    def write(self, stamp: bytes) -> None:
        self._memory[:STAMP_BYTES] = stamp


class _RedisStamp:
    def __init__(self, url: str, key: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._key = key

    def read(self) -> bytes:
        return self._redis.get(self._key) or b""

    def write(self, stamp: bytes) -> None:
        self._redis.set(self._key, stamp)
