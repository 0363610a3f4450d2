"""Idempotent retries: the same ``Idempotency-Key`` with the same request gets the first answer.

A key belongs to a scope: the endpoint and the patient for a booking, the endpoint and the
booking for a cancel. Another patient using the same key has a key of their own, and a key a
stranger claimed first (with junk, or to squat it) never denies its owner.

The key is claimed with an INSERT in a transaction that also runs the booking (or cancel) and
stores its answer, all committed together. A retry that arrives while the first request is
still running blocks on the key's unique index until that request commits, then replays its
answer; if the first takes longer than ``MEDIQUEUE_IDEMPOTENCY_WAIT_MS`` the retry is told
409 ``idempotency_in_progress`` instead. Keys live ``MEDIQUEUE_IDEMPOTENCY_TTL_HOURS``; an
expired key is claimed afresh, and ``purge_idempotency_keys`` deletes the old rows.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from booking.errors import (
    IdempotencyInProgressError,
    IdempotencyMismatchError,
    InvalidIdempotencyKeyError,
)
from booking.models import IdempotencyRecord
from mediqueue.db import is_lock_timeout, set_lock_timeout
from mediqueue.error_handlers import error_body
from mediqueue.errors import MediQueueError

# 1 to 255 printable ASCII characters, as the schema publishes it.
KEY_PATTERN = r"^[ -~]{1,255}$"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: bool = False


def valid_key(raw: str) -> str:
    if re.fullmatch(KEY_PATTERN, raw) is None:
        raise InvalidIdempotencyKeyError()
    return raw


def key_scope(*parts: str) -> str:
    """The scope a key belongs to, as a digest: the table holds no userId nor reference."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def request_fingerprint(*, method: str, path: str, payload) -> str:
    canonical = json.dumps([method, path, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def answer_once(*, scope: str, key: str, fingerprint: str, action: Callable[[], Answer]) -> Answer:
    """Run ``action`` once per key of ``scope`` and store its answer, or replay the stored one.

    Domain errors (4xx) are answers too and are stored; server-side failures (5xx, such as
    ``busy``) are not, nor is a rate limit's 429: each says "not now" rather than anything
    about the request, so the transaction rolls back, the key is free, and a retry after the
    Retry-After seconds runs again (the error keeps its headers, which a stored answer lacks).
    """
    try:
        with transaction.atomic(durable=True):
            if not _claim(scope, key, fingerprint):
                return _replay(scope, key, fingerprint)
            try:
                answer = action()
            except MediQueueError as error:
                if not _is_an_answer(error):
                    raise
                answer = Answer(error.http_status, error_body(error.code, error.message))
            IdempotencyRecord.objects.filter(scope=scope, key=key).update(
                response_status=answer.status, response_body=json.dumps(answer.body)
            )
            return answer
    except OperationalError as error:
        if is_lock_timeout(error):
            raise IdempotencyInProgressError() from error
        raise


def _is_an_answer(error: MediQueueError) -> bool:
    return error.http_status < 500 and error.http_status != 429


def _claim(scope: str, key: str, fingerprint: str) -> bool:
    """Insert the key (or take over an expired one); False when a live record already holds it.

    The INSERT waits on a concurrent transaction holding the same key, up to the wait limit.
    """
    set_lock_timeout(f"{settings.MEDIQUEUE_IDEMPOTENCY_WAIT_MS}ms")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO booking_idempotencyrecord
                (scope, key, request_hash, response_status, response_body, created_at)
            VALUES (%(scope)s, %(key)s, %(hash)s, 0, '', now())
            ON CONFLICT (scope, key) DO UPDATE
                SET request_hash = excluded.request_hash, response_status = 0,
                    response_body = '', created_at = now()
                WHERE booking_idempotencyrecord.created_at < %(expired_before)s
            RETURNING id
            """,
            {
                "scope": scope,
                "key": key,
                "hash": fingerprint,
                "expired_before": _expired_before(),
            },
        )
        return cursor.fetchone() is not None


def _replay(scope: str, key: str, fingerprint: str) -> Answer:
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.request_hash != fingerprint:
        raise IdempotencyMismatchError()
    return Answer(record.response_status, json.loads(record.response_body), replayed=True)


def _expired_before():
    return timezone.now() - timedelta(hours=settings.MEDIQUEUE_IDEMPOTENCY_TTL_HOURS)


def purge_expired_keys() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=_expired_before()).delete()
    return deleted
