"""Booking and waiting-list references out of every log line.

A reference is the only key to a booking or an entry (DESIGN.md: never in a log line), and the
pages and endpoints carry it in their path, which Django's warnings (``Forbidden (CSRF cookie
not set.): /bookings/<ref>/cancel``), its request logger (``Service Unavailable: /api/…`` with
the request attached) and gunicorn's access log all write. Rather than chase each writer, the
log handlers' filter (``RedactReferences``) takes out every word shaped like a reference: 22
URL-safe characters, what ``secrets.token_urlsafe(16)`` makes for bookings, entries and notice
keys alike. It works on the decoded text, so percent-encoding (``/%62ookings/…``,
``/bookings%2f…``) hides nothing.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

MARK = "[reference]"

# A run of characters that may spell a path, percent-encoded or not.
_PATH_LIKE = re.compile(r"[A-Za-z0-9_%./-]{22,}")
_REFERENCE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")


def _redact_run(match: re.Match) -> str:
    run = match.group(0)
    decoded = unquote(run) if "%" in run else run
    redacted = _REFERENCE.sub(MARK, decoded)
    return run if redacted == decoded else redacted


def redact(text: str) -> str:
    """``text`` with every reference-shaped word, plain or percent-encoded, replaced by MARK."""
    return _PATH_LIKE.sub(_redact_run, text)


# What every LogRecord carries; anything else on a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})))


class RedactReferences(logging.Filter):
    """A handler filter: the record's message, its ``extra`` values (Django's request logger
    attaches the request itself) and its traceback, redacted before any formatter sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        for name, value in list(vars(record).items()):
            if name in _RECORD_ATTRIBUTES or value is None or isinstance(value, int | float):
                continue
            text = value if isinstance(value, str) else str(value)
            redacted = redact(text)
            if redacted is not text and redacted != text:
                setattr(record, name, redacted)  # else keep its type (a list stays a list)
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
